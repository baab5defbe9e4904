//! The command line, as `rotate --help` shows it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Check, inspect, repair and run Secrets Manager rotations of PostgreSQL, Neo4j and JWT
/// secrets, and import credentials from .env files. Never prints a secret value.
///
/// Exit status: 0 all is well (or a dry run planned its changes); 1 a check failed, the
/// secret is in a bad state, or the command refused to act and changed nothing; 2 the
/// command line is wrong; 3 a call to AWS or a rotation step failed.
///
/// The engines read the functions' settings (PGSSLMODE, PGSSLROOTCERT, ROTATION_STRATEGY,
/// ADMIN_SECRET_ARN, PASSWORD_LENGTH, JWT_ALGORITHM, ...) from this shell's environment, or
/// with --function ARN from that function's configuration, as the function itself sees them.
#[derive(Debug, Parser)]
#[command(name = "rotate", version)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct Global {
    /// AWS region (else AWS_REGION or the profile's).
    #[arg(long, global = true)]
    pub region: Option<String>,
    /// Named profile from the AWS config files (else AWS_PROFILE or the default chain).
    #[arg(long, global = true)]
    pub profile: Option<String>,
    /// Secrets Manager endpoint (a VPC endpoint, or a local emulator). Lambda and RDS, which
    /// status and RDS-managed admin secrets ask, take theirs from AWS_ENDPOINT_URL_LAMBDA,
    /// AWS_ENDPOINT_URL_RDS or AWS_ENDPOINT_URL.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Print the result as one JSON document instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Preflight before turning rotation on: parse the secret, reach its server with the
    /// function's TLS rules, log in with AWSCURRENT, and check any admin secret's rights.
    /// Changes nothing.
    Check(Target),
    /// Rotation settings, every labelled version, and known bad states with the command that
    /// fixes each.
    Status(SecretOnly),
    /// Clear a stuck rotation: find which version the server accepts, then move the labels so
    /// that AWSCURRENT holds it and no stale AWSPENDING remains. A dry run without --apply.
    Repair(Repair),
    /// A whole rotation here, without Lambda: the same four steps with the same libraries,
    /// leaving the secret as a Lambda rotation would.
    Run(Target),
    /// Create secrets in the functions' formats from a .env file. A dry run without --apply.
    Import(Import),
}

#[derive(Debug, Args)]
pub struct SecretOnly {
    /// Name or ARN of the secret.
    #[arg(long)]
    pub secret_id: String,
}

#[derive(Debug, Args)]
pub struct Target {
    /// Name or ARN of the secret.
    #[arg(long)]
    pub secret_id: String,
    /// Which function rotates the secret; else told from the secret's value.
    #[arg(long, value_enum)]
    pub engine: Option<EngineKind>,
    /// Configure the engine as this rotation function is configured (its environment:
    /// ROTATION_STRATEGY, ADMIN_SECRET_ARN, PGSSLMODE, ...), instead of from this shell's
    /// environment. It must be the function the secret names, if it names one.
    #[arg(long, value_name = "ARN")]
    pub function: Option<String>,
}

#[derive(Debug, Args)]
pub struct Repair {
    #[command(flatten)]
    pub target: Target,
    /// Make the planned label moves.
    #[arg(long)]
    pub apply: bool,
}

#[derive(Debug, Args)]
pub struct Import {
    /// The .env file to read.
    #[arg(long, value_name = "PATH")]
    pub env_file: PathBuf,
    /// Secret names start with this, e.g. myapp-prod makes myapp-prod/postgres.
    #[arg(long, value_name = "APP-ENV")]
    pub prefix: String,
    /// Name of the JWT secret instead of PREFIX/jwt (e.g. jwt/secret_key).
    #[arg(long, value_name = "NAME")]
    pub jwt_secret_name: Option<String>,
    /// Create the secrets.
    #[arg(long)]
    pub apply: bool,
    /// Turn on rotation with this function for every secret created.
    #[arg(long, value_name = "ARN", requires = "days")]
    pub rotation_function: Option<String>,
    /// Days between rotations, with --rotation-function.
    #[arg(long, value_name = "N", requires = "rotation_function", value_parser = clap::value_parser!(i64).range(1..=1000))]
    pub days: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EngineKind {
    Postgres,
    Neo4j,
    Jwt,
}

impl EngineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Postgres => "postgres",
            Self::Neo4j => "neo4j",
            Self::Jwt => "jwt",
        }
    }
}
