use rotation_core::{AwsSecretStore, Rotator, init_tracing, serve, serve_error};

// Lambda sends one event at a time: one thread serves it, with no worker threads to start
// and no per-thread allocator arenas to fill.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    // aws-lc-rs is the only provider this binary uses (the AWS SDK's, and rotate-jwt's
    // crypto); neo4rs turns on rustls's ring feature as well, so rustls must be told.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    init_tracing();
    let store = AwsSecretStore::from_env().await;
    match rotate_neo4j::settings_from_env() {
        Ok(settings) => serve(Rotator::new(store, rotate_neo4j::engine(settings))).await,
        Err(error) => {
            serve_error(<rotate_neo4j::Neo4j as rotation_core::Server>::NAME, error).await
        }
    }
}
