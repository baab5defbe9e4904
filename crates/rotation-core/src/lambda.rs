//! Running a [`Rotator`] as a Lambda function.

use std::sync::Arc;

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

use crate::engine::Engine;
use crate::error::RotationError;
use crate::rotator::Rotator;
use crate::store::SecretStore;

/// Lambda's default subscriber (it honours `AWS_LAMBDA_LOG_LEVEL`, `RUST_LOG` and
/// `AWS_LAMBDA_LOG_FORMAT`), made safe for rotation: see [`quiet_statement_logs`].
pub fn init_tracing() {
    lambda_runtime::tracing::init_default_subscriber();
    quiet_statement_logs();
}

/// Caps records from crates that log through the `log` facade at INFO, whatever level is
/// asked for: tokio-postgres logs every statement's text at DEBUG, and an `ALTER ROLE`
/// statement carries the new password's verifier.
pub fn quiet_statement_logs() {
    log::set_max_level(log::LevelFilter::Info);
}

/// Serves rotation events until the runtime stops the process.
pub async fn serve<S, E>(rotator: Rotator<S, E>) -> Result<(), lambda_runtime::Error>
where
    S: SecretStore + 'static,
    E: Engine + 'static,
{
    let rotator = Arc::new(rotator);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let rotator = Arc::clone(&rotator);
        async move { rotator.handle(&event.payload).await }
    }))
    .await
}

/// Answers every event with a configuration error found at start-up, so each invocation
/// reports the bad setting by name instead of the process dying during init.
pub async fn serve_error(error: RotationError) -> Result<(), lambda_runtime::Error> {
    tracing::error!(error_type = error.error_type(), error = %error, "cannot rotate");
    let diagnostic = Diagnostic::from(error);
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<Value>| {
        let diagnostic = diagnostic.clone();
        async move { Err::<Value, _>(diagnostic) }
    }))
    .await
}
