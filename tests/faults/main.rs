//! Faults injected into real rotations: the function's process killed, its database or
//! Secrets Manager unreachable or hanging, two rotations at once, and an application logging
//! in throughout. Every scenario ends with the invariant check (tests/harness/invariant.rs)
//! and is recorded for the README's "Reliability" table.

mod concurrent;
mod crash;
mod hammer;
mod outage;
mod subject;
