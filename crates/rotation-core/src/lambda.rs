//! Running a [`Rotator`] as a Lambda function.

use std::sync::Arc;

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

use crate::deadline::Deadline;
use crate::engine::Engine;
use crate::error::RotationError;
use crate::rotator::Rotator;
use crate::store::SecretStore;

/// Serves rotation events until the runtime stops the process.
pub async fn serve<S, E>(rotator: Rotator<S, E>) -> Result<(), lambda_runtime::Error>
where
    S: SecretStore + 'static,
    E: Engine + 'static,
{
    let rotator = Arc::new(rotator);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let rotator = Arc::clone(&rotator);
        let deadline = Deadline::from_epoch_millis(event.context.deadline);
        async move { rotator.handle_until(&event.payload, deadline).await }
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
