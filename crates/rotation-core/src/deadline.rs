//! One deadline per invocation, taken from the Lambda context, and the bound it puts on each
//! call to a server.
//!
//! Lambda kills a function at its timeout without letting it answer, and Secrets Manager then
//! records only that the function timed out. Every wait in a step is cut so that the step
//! still answers with its own error (which server, which call) before that happens, whatever
//! `CONNECT_TIMEOUT_SECONDS` says.

use std::fmt;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Kept back from every call to a server: after a call fails, the step still has to report it
/// through the Runtime API, and a driver may need a moment to give up its connection.
const CALL_MARGIN: Duration = Duration::from_millis(1000);
/// Kept back from the whole step, which answers with a timeout of its own when even the
/// per-call bounds were not enough (a Secrets Manager call that hangs).
const STEP_MARGIN: Duration = Duration::from_millis(300);
/// Less than this is not worth starting a call with: a TCP and TLS handshake alone take longer.
const SHORTEST_CALL: Duration = Duration::from_millis(200);

/// When the invocation must have answered; `None` outside Lambda (tests, the operator's tool).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Deadline(Option<Instant>);

impl Deadline {
    /// No deadline: every bound is the configured one.
    pub const NONE: Self = Self(None);

    pub fn at(instant: Instant) -> Self {
        Self(Some(instant))
    }

    pub fn after(duration: Duration) -> Self {
        Self::at(Instant::now() + duration)
    }

    /// From `Lambda-Runtime-Deadline-Ms`: milliseconds since the Unix epoch, wall-clock time,
    /// turned into a monotonic instant so that a clock step cannot move it.
    pub fn from_epoch_millis(millis: u64) -> Self {
        let target = UNIX_EPOCH + Duration::from_millis(millis);
        let left = target
            .duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO);
        Self::after(left)
    }

    /// Time left, or `None` when there is no deadline.
    pub fn remaining(&self) -> Option<Duration> {
        self.0
            .map(|at| at.saturating_duration_since(Instant::now()))
    }

    /// How long the whole step may run and still answer in time.
    pub fn step_budget(&self) -> Option<Duration> {
        self.remaining()
            .map(|left| left.saturating_sub(STEP_MARGIN))
    }
}

/// The bound on one call to a server: the configured timeout, cut to what the deadline leaves.
/// Each call asks anew, so a step that spent time on earlier calls gets shorter bounds later.
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    per_call: Duration,
    deadline: Deadline,
}

/// How long one call may take, and whether the deadline rather than the setting decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    pub duration: Duration,
    pub cut_by_deadline: bool,
}

/// The deadline leaves too little time to start another call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exhausted {
    pub left: Duration,
}

impl Bound {
    pub fn new(per_call: Duration, deadline: Deadline) -> Self {
        Self { per_call, deadline }
    }

    pub fn limit(&self) -> Result<Limit, Exhausted> {
        let Some(left) = self.deadline.remaining() else {
            return Ok(Limit {
                duration: self.per_call,
                cut_by_deadline: false,
            });
        };
        let usable = left.saturating_sub(CALL_MARGIN);
        if usable < SHORTEST_CALL.min(self.per_call) {
            return Err(Exhausted { left });
        }
        Ok(Limit {
            duration: usable.min(self.per_call),
            cut_by_deadline: usable < self.per_call,
        })
    }
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} s", self.duration.as_secs_f32())?;
        if self.cut_by_deadline {
            write!(
                f,
                " (all the time left before the function's deadline; CONNECT_TIMEOUT_SECONDS is longer)"
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for Exhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "only {} ms were left before the function's deadline (raise the function's timeout)",
            self.left.as_millis()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_deadline_the_setting_decides() {
        let bound = Bound::new(Duration::from_secs(30), Deadline::NONE);
        assert_eq!(
            bound.limit(),
            Ok(Limit {
                duration: Duration::from_secs(30),
                cut_by_deadline: false
            })
        );
        assert_eq!(Deadline::NONE.step_budget(), None);
    }

    #[test]
    fn a_near_deadline_cuts_each_call_and_leaves_room_to_answer() {
        let bound = Bound::new(
            Duration::from_secs(30),
            Deadline::after(Duration::from_secs(3)),
        );
        let limit = bound.limit().unwrap();
        assert!(limit.cut_by_deadline);
        assert!(limit.duration <= Duration::from_secs(2), "{limit:?}");
        assert!(limit.duration > Duration::from_millis(1500), "{limit:?}");
        assert!(limit.to_string().contains("before the function's deadline"));

        let far = Bound::new(
            Duration::from_secs(5),
            Deadline::after(Duration::from_secs(60)),
        );
        assert_eq!(far.limit().unwrap().duration, Duration::from_secs(5));
    }

    #[test]
    fn no_call_starts_when_the_deadline_is_too_close() {
        let bound = Bound::new(
            Duration::from_secs(5),
            Deadline::after(Duration::from_millis(900)),
        );
        let exhausted = bound.limit().unwrap_err();
        assert!(
            exhausted.to_string().contains("ms were left"),
            "{exhausted}"
        );
        let passed = Deadline::from_epoch_millis(1_000);
        assert_eq!(passed.remaining(), Some(Duration::ZERO));
        assert_eq!(passed.step_budget(), Some(Duration::ZERO));
    }

    #[test]
    fn the_lambda_header_is_read_as_wall_clock_milliseconds() {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let left = Deadline::from_epoch_millis(now_ms + 10_000)
            .remaining()
            .unwrap();
        assert!(left > Duration::from_secs(9) && left <= Duration::from_secs(10));
    }
}
