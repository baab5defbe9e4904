//! Everything logged during a test, at TRACE, from every crate.

use std::io::Write;
use std::sync::{Arc, Mutex, Once};

use tracing::subscriber::DefaultGuard;
use tracing_subscriber::fmt::MakeWriter;

#[derive(Clone, Default)]
pub struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    /// Captures on this thread until the guard drops. Tests using it run on a current-thread
    /// runtime, so every task they spawn logs here too. Records from crates that use the `log`
    /// facade (tokio-postgres) are bridged in, capped as the functions cap them.
    pub fn start() -> (Self, DefaultGuard) {
        static BRIDGE: Once = Once::new();
        BRIDGE.call_once(|| {
            // tracing caches, per call site, whether anyone listens. With no global
            // subscriber, a call site first reached on another test's thread is switched off
            // for every thread. A global registry that listens to everything (and prints
            // nothing) keeps every call site on, so each thread's capture sees all events.
            let _ = tracing::subscriber::set_global_default(tracing_subscriber::registry());
            let _ = tracing_log::LogTracer::init();
            rotation_core::quiet_statement_logs();
        });
        let capture = Self::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(capture.clone())
            .finish();
        (
            capture.clone(),
            tracing::subscriber::set_default(subscriber),
        )
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
