//! `make demo`: one real rotation of a PostgreSQL secret, step by step, on a throwaway
//! PostgreSQL cluster and moto standing in for Secrets Manager. Prints what each step did,
//! never a password; both servers stop when the demo exits.

use integration_tests::{SecretsManager, install_crypto_provider, moto, postgres, unique};
use rotate_postgres::PostgresEngine;
use rotation_core::{AWSCURRENT, AWSPREVIOUS, Rotator, Step};
use serde_json::json;

fn explain(step: Step, outcome: &str) -> &'static str {
    match (step, outcome) {
        (Step::CreateSecret, "created") => "generated a new password and stored it as AWSPENDING",
        (Step::SetSecret, "applied") => {
            "logged in with AWSCURRENT and ran ALTER ROLE with a SCRAM verifier (no plaintext sent)"
        }
        (Step::TestSecret, "tested") => "logged in with the AWSPENDING password and ran a query",
        (Step::FinishSecret, "finished") => "moved AWSCURRENT to the new version",
        _ => "(see outcome)",
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    install_crypto_provider();
    let pg = postgres();
    println!(
        "PostgreSQL  throwaway cluster, SCRAM authentication, 127.0.0.1:{}",
        pg.port
    );
    println!("Secrets Manager  moto at {}", moto().endpoint);

    let user = unique("demo_app");
    let password = format!("first-{}", unique("pw"));
    pg.create_role(&user, &password).await;
    let sm = SecretsManager::connect().await;
    let arn = sm
        .create("demo/postgres", &pg.secret(&user, &password).to_string())
        .await;
    println!("\nrole \"{user}\" and secret {arn} (password not shown)");

    let token = sm.start_rotation(&arn).await;
    println!("RotateSecret: new version {token}, labelled AWSPENDING, no value yet\n");

    let rotator = Rotator::new(
        sm.store(),
        PostgresEngine::from_env().expect("configuration"),
    );
    for step in Step::ALL {
        let event = json!({"Step": step.as_str(), "SecretId": arn, "ClientRequestToken": token});
        match rotator.handle(&event).await {
            Ok(answer) => {
                let outcome = answer["outcome"].as_str().unwrap_or_default();
                println!(
                    "  {:<13} {:<9} {}",
                    step.as_str(),
                    outcome,
                    explain(step, outcome)
                );
            }
            Err(e) => {
                eprintln!(
                    "  {:<13} FAILED    {} ({})",
                    step.as_str(),
                    e,
                    e.error_type()
                );
                std::process::exit(1);
            }
        }
    }
    sm.complete_rotation(&arn, &token).await;

    let new_password = sm.value(&arn, AWSCURRENT).await.unwrap()["password"]
        .as_str()
        .unwrap()
        .to_owned();
    let previous = sm.value(&arn, AWSPREVIOUS).await.unwrap()["password"]
        .as_str()
        .unwrap()
        .to_owned();
    let old_refused = !pg.can_login(&user, &password).await;
    let new_accepted = pg.can_login(&user, &new_password).await;
    println!();
    println!(
        "  old password (now AWSPREVIOUS): {}",
        if old_refused {
            "refused, as it should be"
        } else {
            "STILL ACCEPTED"
        }
    );
    println!(
        "  new password (now AWSCURRENT):  {}",
        if new_accepted { "accepted" } else { "REFUSED" }
    );
    println!(
        "  AWSPREVIOUS holds the old value: {}",
        if previous == password { "yes" } else { "NO" }
    );
    let ok = old_refused && new_accepted && previous == password;
    println!(
        "\n{}",
        if ok {
            "Rotation complete. Stopping the servers."
        } else {
            "Rotation check FAILED."
        }
    );
    std::process::exit(if ok { 0 } else { 1 });
}
