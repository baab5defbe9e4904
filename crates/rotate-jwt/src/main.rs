use rotate_jwt::JwtEngine;
use rotation_core::{AwsSecretStore, Rotator, init_tracing, serve, serve_error};

// Lambda sends one event at a time: one thread serves it, with no worker threads to start
// and no per-thread allocator arenas to fill.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_tracing();
    let store = AwsSecretStore::from_env().await;
    match JwtEngine::from_env() {
        Ok(engine) => {
            let engine = engine.with_s3_when_publishing().await;
            serve(Rotator::new(store, engine)).await
        }
        Err(error) => serve_error(rotate_jwt::ENGINE_NAME, error).await,
    }
}
