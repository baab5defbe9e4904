//! End-to-end rotations of PostgreSQL secrets: the real `rotate-postgres` engine, real
//! PostgreSQL clusters with SCRAM authentication (one plain, one with TLS), and moto as
//! Secrets Manager reached through the AWS SDK.

mod alternating;
mod bad_input;
mod bounds;
mod fixture;
mod hostile;
mod logs;
mod single_user;
mod tls;
mod trust_boundaries;
