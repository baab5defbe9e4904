use rotate_jwt::JwtEngine;
use rotation_core::{AwsSecretStore, Rotator, init_tracing, serve, serve_error};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let store = AwsSecretStore::from_env().await;
    match JwtEngine::from_env() {
        Ok(engine) => serve(Rotator::new(store, engine)).await,
        Err(error) => serve_error(error).await,
    }
}
