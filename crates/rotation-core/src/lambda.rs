//! Running a [`Rotator`] as a Lambda function.

use std::sync::Arc;
use std::time::Instant;

use lambda_runtime::{Diagnostic, LambdaEvent, service_fn};
use serde_json::Value;

use crate::deadline::Deadline;
use crate::engine::Engine;
use crate::error::RotationError;
use crate::metrics::StepMetric;
use crate::rotator::Rotator;
use crate::store::SecretStore;

/// Serves rotation events until the runtime stops the process.
pub async fn serve<S, E>(rotator: Rotator<S, E>) -> Result<(), lambda_runtime::Error>
where
    S: SecretStore + 'static,
    E: Engine + 'static,
{
    let rotator = Arc::new(rotator);
    let function = function_name();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let rotator = Arc::clone(&rotator);
        let function = function.clone();
        let deadline = Deadline::from_epoch_millis(event.context.deadline);
        async move {
            let started = Instant::now();
            let result = rotator.handle_until(&event.payload, deadline).await;
            StepMetric {
                function,
                engine: rotator.engine().name(),
                step: StepMetric::step_of(&event.payload),
                duration: started.elapsed(),
                error_type: result.as_ref().err().map(RotationError::error_type),
            }
            .emit();
            result
        }
    }))
    .await
}

/// Answers every event with a configuration error found at start-up, so each invocation
/// reports the bad setting by name instead of the process dying during init, and counts as a
/// failed step of `engine` (an alarm on failed steps sees a misconfigured function too).
pub async fn serve_error(
    engine: &'static str,
    error: RotationError,
) -> Result<(), lambda_runtime::Error> {
    tracing::error!(error_type = error.error_type(), error = %error, "cannot rotate");
    let error_type = error.error_type();
    let diagnostic = Diagnostic::from(error);
    let function = function_name();
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let diagnostic = diagnostic.clone();
        StepMetric {
            function: function.clone(),
            engine,
            step: StepMetric::step_of(&event.payload),
            duration: std::time::Duration::ZERO,
            error_type: Some(error_type),
        }
        .emit();
        async move { Err::<Value, _>(diagnostic) }
    }))
    .await
}

/// The function's name, the `function` dimension of its metrics, as Lambda sets it.
fn function_name() -> String {
    std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_default()
}
