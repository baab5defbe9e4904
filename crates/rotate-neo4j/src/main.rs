use rotation_core::{AwsSecretStore, Rotator, init_tracing, serve, serve_error};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    // Both aws-lc-rs and ring are linked in; rustls needs to be told which one to use.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    init_tracing();
    let store = AwsSecretStore::from_env().await;
    match rotate_neo4j::settings_from_env() {
        Ok(settings) => serve(Rotator::new(store, rotate_neo4j::engine(settings))).await,
        Err(error) => serve_error(error).await,
    }
}
