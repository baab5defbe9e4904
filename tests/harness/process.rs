//! Child processes that end when the test binary ends.

use std::io::Write;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;

/// Keeps the write end of each watchdog's standard input open for the life of this process.
/// When the process exits the kernel closes them, and each watchdog cleans up after itself.
static LIFELINES: Mutex<Vec<(Child, ChildStdin)>> = Mutex::new(Vec::new());

/// Runs `script` under `sh` once this process is gone: the shell blocks reading its
/// standard input, which only this process holds open.
pub fn on_exit(script: &str) {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("cat >/dev/null; {script}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn a cleanup watchdog with sh");
    let stdin = child.stdin.take().unwrap();
    LIFELINES.lock().unwrap().push((child, stdin));
}

/// Keeps a child alive until this process exits; its standard input closes then.
pub fn keep_until_exit(mut child: Child) {
    let stdin = child
        .stdin
        .take()
        .expect("child was spawned with a piped stdin");
    LIFELINES.lock().unwrap().push((child, stdin));
}

/// Keeps a child that watches its own standard input (held elsewhere) from being reaped
/// early; it ends when this process exits and that input closes.
pub fn keep_running(child: Child) {
    static RUNNING: Mutex<Vec<Child>> = Mutex::new(Vec::new());
    RUNNING.lock().unwrap().push(child);
}

/// Runs a command to completion and panics with its output if it fails.
pub fn run(command: &mut Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{what}: could not start {:?}: {e}", command.get_program()));
    if !output.status.success() {
        let _ = std::io::stderr().write_all(&output.stdout);
        let _ = std::io::stderr().write_all(&output.stderr);
        panic!("{what} failed with {}", output.status);
    }
}

/// Single-quotes a path for `sh`.
pub fn shell_quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "'\\''"))
}
