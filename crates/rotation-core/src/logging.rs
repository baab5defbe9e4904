//! Log output as Lambda expects it (`AWS_LAMBDA_LOG_LEVEL`, `RUST_LOG`,
//! `AWS_LAMBDA_LOG_FORMAT`), with no secret at any level.
//!
//! Other crates print what passes through them at TRACE: the Lambda runtime the raw event
//! (RotationToken included), the AWS SDK each request and response (a `GetSecretValue`
//! response is the secret). Whatever level the environment asks for, only this project's own
//! crates log at TRACE; every other crate stops at DEBUG. Crates that log through the `log`
//! facade stop at INFO (see [`quiet_statement_logs`]).

use tracing::{Level, Metadata, level_filters::LevelFilter};
use tracing_subscriber::filter::{EnvFilter, FilterExt, filter_fn};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

/// The crates whose TRACE output is ours, and so known to hold no secret. A new crate of this
/// project logs at TRACE only once it is listed here.
const OWN_CRATES: [&str; 4] = [
    "rotation_core",
    "rotate_postgres",
    "rotate_neo4j",
    "rotate_jwt",
];

/// Installs the process-wide subscriber: level from `AWS_LAMBDA_LOG_LEVEL` (else `RUST_LOG`
/// directives, else INFO), JSON lines when `AWS_LAMBDA_LOG_FORMAT=JSON`, and the caps above.
pub fn init_tracing() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok();
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let _ = Registry::default()
        .with(layer(std::io::stdout, level.as_deref(), json))
        .try_init();
    quiet_statement_logs();
}

/// The formatting layer with its filter, writing to `writer`.
pub fn layer<S, W>(writer: W, level: Option<&str>, json: bool) -> Box<dyn Layer<S> + Send + Sync>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let requested = EnvFilter::builder()
        .with_default_directive(LevelFilter::INFO.into())
        .parse_lossy(directives(level.unwrap_or_default()));
    let capped = requested.and(filter_fn(allowed));
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(writer)
        .with_ansi(false)
        .with_target(true)
        .without_time();
    if json {
        fmt.json().with_filter(capped).boxed()
    } else {
        fmt.with_filter(capped).boxed()
    }
}

/// Lambda's level names as filter directives: FATAL has no tracing level and means ERROR.
fn directives(level: &str) -> String {
    if level.trim().eq_ignore_ascii_case("fatal") {
        "error".into()
    } else {
        level.trim().to_ascii_lowercase()
    }
}

/// Crates that pass on what a server says: a server the user secret names may be someone
/// else's, and its notices could forge log lines. Their warnings and errors still show.
const SERVER_ECHOING_CRATES: [&str; 1] = ["tokio_postgres"];

fn allowed(metadata: &Metadata<'_>) -> bool {
    let target = metadata.target();
    if in_crates(target, &SERVER_ECHOING_CRATES) {
        return *metadata.level() <= Level::WARN;
    }
    *metadata.level() != Level::TRACE || in_crates(target, &OWN_CRATES)
}

fn in_crates(target: &str, crates: &[&str]) -> bool {
    crates.iter().any(|name| {
        target
            .strip_prefix(name)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
    })
}

/// Caps records from crates that log through the `log` facade at INFO, whatever level is
/// asked for: tokio-postgres logs every statement's text at DEBUG, and an `ALTER ROLE`
/// statement carries the new password's verifier.
pub fn quiet_statement_logs() {
    log::set_max_level(log::LevelFilter::Info);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    fn logged(level: Option<&str>, json: bool) -> String {
        let buffer = Buffer::default();
        let subscriber = Registry::default().with(layer(buffer.clone(), level, json));
        tracing::subscriber::with_default(subscriber, || {
            tracing::trace!(target: "lambda_runtime::layers::api_response", "RotationToken=tok-1");
            tracing::trace!(target: "aws_smithy_runtime::client::orchestrator", "body=pw-1");
            tracing::debug!(target: "aws_smithy_runtime::client::orchestrator", "sending request");
            tracing::trace!(target: "rotation_core::rotator", "own trace line");
            tracing::trace!(target: "rotation_core_fake", "lookalike crate");
            tracing::info!(target: "rotate_postgres", "own info line");
            tracing::info!(target: "tokio_postgres::connection", "NOTICE: forged");
            tracing::warn!(target: "tokio_postgres::connection", "connection warning");
        });
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn other_crates_never_log_at_trace_whatever_is_asked() {
        for asked in [
            "TRACE",
            "trace",
            "aws_smithy_runtime=trace,lambda_runtime=trace",
            "aws_smithy_runtime::client::orchestrator=trace,trace",
        ] {
            let text = logged(Some(asked), false);
            assert!(
                !text.contains("tok-1") && !text.contains("pw-1"),
                "{asked}: {text}"
            );
            assert!(!text.contains("lookalike crate"), "{asked}: {text}");
        }
        let text = logged(Some("TRACE"), false);
        assert!(
            !text.contains("forged") && text.contains("connection warning"),
            "{text}"
        );
        let text = logged(Some("TRACE"), true);
        assert!(
            text.contains("sending request") && text.contains("own trace line"),
            "{text}"
        );
        assert!(text.starts_with('{'), "JSON lines: {text}");
    }

    #[test]
    fn the_level_defaults_to_info_and_understands_fatal() {
        let text = logged(None, false);
        assert!(
            text.contains("own info line") && !text.contains("sending request"),
            "{text}"
        );
        assert!(!logged(Some("FATAL"), false).contains("own info line"));
    }
}
