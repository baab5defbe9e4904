//! `rotate`: the operator's tool for the rotation functions, on the same libraries.

mod aws;
mod check;
mod cli;
mod dotenv;
mod engines;
mod exit;
mod import;
mod output;
mod repair;
mod run;
mod session;
mod settings;
mod status;

use std::process::ExitCode;

use clap::Parser;
use serde_json::json;

use crate::cli::{Cli, Command};
use crate::exit::{Exit, Stop};
use crate::session::Session;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    // aws-lc-rs is the crypto provider for every TLS connection (rustls also sees ring, which
    // neo4rs enables).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    let session = Session::new(&cli.global).await;
    let result = match &cli.command {
        Command::Check(target) => check::check(&session, target).await,
        Command::Status(target) => status::status(&session, target).await,
        Command::Repair(args) => repair::repair(&session, args).await,
        Command::Run(target) => run::run(&session, target).await,
        Command::Import(args) => import::import(&session, args).await,
    };
    let exit = match result {
        Ok(exit) => exit,
        Err(Stop { exit, message }) => {
            if session.out.json {
                session
                    .out
                    .document(&json!({"error": message, "exit": exit as u8}));
            } else {
                let label = if exit == Exit::Problem {
                    "refused"
                } else {
                    "error"
                };
                eprintln!("rotate: {label}: {message}");
            }
            exit
        }
    };
    ExitCode::from(exit as u8)
}
