//! Types and helpers that keep secret values out of logs, errors and panics.
//!
//! Every password, key and `RotationToken` travels as a [`Secret`]: it has no `Display`, its
//! `Debug` prints a placeholder, and the plaintext is reachable only through an explicit
//! [`Secret::expose`] call that is easy to audit.

use std::fmt;

use zeroize::Zeroize;

/// Placeholder printed wherever a secret value would have been.
pub const REDACTED: &str = "[REDACTED]";

/// Longest event field we echo into a log line or error; anything longer is cut.
const MAX_LOGGED_CHARS: usize = 200;
/// Longest server message we pass on: long enough for a cause chain, short enough that a
/// server cannot flood the log.
const MAX_SERVER_MESSAGE_CHARS: usize = 1000;

/// A string that must never be printed.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The plaintext, for the few places that must hand it to a server or to Secrets Manager.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl Drop for Secret {
    /// Wipes the buffer so a freed password does not linger in the heap.
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Makes an untrusted string (an event field, a server message) safe to put in one log line:
/// control characters are escaped, so a crafted `SecretId` cannot forge log entries, and the
/// length is capped.
pub fn sanitize(value: &str) -> String {
    one_line(value, MAX_LOGGED_CHARS)
}

/// A server's error text as it may appear in an error or log line: every given secret
/// replaced (see [`scrub`]), then made one line (see [`sanitize`]). A server's message is as
/// untrusted as an event field: the server may be someone else's.
pub fn server_message<'a>(message: &str, secrets: impl IntoIterator<Item = &'a Secret>) -> String {
    one_line(&scrub(message, secrets), MAX_SERVER_MESSAGE_CHARS)
}

fn one_line(value: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(value.len().min(max_chars));
    for (i, c) in value.chars().enumerate() {
        if i == max_chars {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Replaces every occurrence of the given secrets in `message` with [`REDACTED`].
///
/// Servers sometimes echo parts of a statement or a credential in their error text; this is the
/// last line of defence before such text reaches an error message.
pub fn scrub<'a>(message: &str, secrets: impl IntoIterator<Item = &'a Secret>) -> String {
    let mut out = message.to_owned();
    for secret in secrets {
        if !secret.is_empty() {
            out = out.replace(secret.expose(), REDACTED);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret([REDACTED])");
        assert_eq!(format!("{:?}", Some(&s)), "Some(Secret([REDACTED]))");
    }

    #[test]
    fn sanitize_escapes_line_breaks_and_caps_length() {
        assert_eq!(sanitize("arn\nFAKE LOG"), "arn\\nFAKE LOG");
        assert_eq!(sanitize("a\u{1b}[31m"), "a\\u{1b}[31m");
        let long = "x".repeat(500);
        assert_eq!(sanitize(&long).chars().count(), MAX_LOGGED_CHARS + 1);
    }

    #[test]
    fn server_messages_lose_secrets_and_line_breaks() {
        let pw = Secret::new("pw1");
        assert_eq!(
            server_message("FATAL: bad pw1\nLOG: forged", [&pw]),
            "FATAL: bad [REDACTED]\\nLOG: forged"
        );
        assert!(server_message(&"x".repeat(5000), []).chars().count() < 1100);
    }

    #[test]
    fn scrub_removes_every_secret_and_ignores_empty_ones() {
        let a = Secret::new("pw1");
        let b = Secret::new("");
        assert_eq!(
            scrub("bad pw1 and pw1", [&a, &b]),
            "bad [REDACTED] and [REDACTED]"
        );
    }
}
