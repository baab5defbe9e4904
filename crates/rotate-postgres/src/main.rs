use rotation_core::{
    AwsRds, AwsSecretStore, Rotator, aws_sdk_config, init_tracing, serve, serve_error,
};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Both aws-lc-rs and ring are linked in; rustls needs to be told which one to use.
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
        Err(error) => serve_error(error).await,
    }
}
