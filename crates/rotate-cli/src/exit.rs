//! Exit statuses, as `rotate --help` documents them, and the error that carries one.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// All is well, or a dry run planned its changes.
    Ok = 0,
    /// A check failed, the secret is in a bad state, or the command refused and changed
    /// nothing.
    Problem = 1,
    /// A call to AWS or a rotation step failed.
    Failed = 3,
}

/// Why a command stopped. The message names the problem; never a secret value.
#[derive(Debug)]
pub struct Stop {
    pub exit: Exit,
    pub message: String,
}

impl Stop {
    pub fn refused(message: impl Into<String>) -> Self {
        Self {
            exit: Exit::Problem,
            message: message.into(),
        }
    }

    pub fn failed(message: impl fmt::Display) -> Self {
        Self {
            exit: Exit::Failed,
            message: message.to_string(),
        }
    }
}

impl From<rotation_core::RotationError> for Stop {
    fn from(e: rotation_core::RotationError) -> Self {
        Self::failed(format!("{e} ({})", e.error_type()))
    }
}

impl From<rotation_core::StoreError> for Stop {
    fn from(e: rotation_core::StoreError) -> Self {
        Self::failed(e)
    }
}
