use rotation_core::{
    AwsRds, AwsSecretStore, Rotator, aws_sdk_config, init_tracing, serve, serve_error,
};

// Lambda sends one event at a time: one thread serves it, with no worker threads to start
// and no per-thread allocator arenas to fill.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    // aws-lc-rs is the only provider this binary uses (the AWS SDK's, and rotate-jwt's
    // crypto); neo4rs turns on rustls's ring feature as well, so rustls must be told.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    init_tracing();
    let config = aws_sdk_config().await;
    let store = AwsSecretStore::from_config(&config);
    match rotate_postgres::Settings::from_env() {
        Ok(settings) => {
            let engine =
                rotate_postgres::engine(settings).with_directory(AwsRds::from_config(&config));
            serve(Rotator::new(store, engine)).await
        }
        Err(error) => {
            serve_error(
                <rotate_postgres::Postgres as rotation_core::Server>::NAME,
                error,
            )
            .await
        }
    }
}
