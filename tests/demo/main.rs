//! `make demo`: real rotations, step by step, against throwaway servers: a PostgreSQL secret
//! on a PostgreSQL cluster, a Neo4j secret on a Neo4j server, and a JWT signing key, with
//! moto standing in for Secrets Manager; then the operator's lifecycle with `rotate`. Prints
//! what each step did, never a password or key; the servers stop when the demo exits.

mod operator;

use integration_tests::{
    PyJwt, SecretsManager, install_crypto_provider, moto, neo4j, postgres, sign_as_app, unique,
    unix_now,
};
use rotate_jwt::{JWKS, JwtEngine, KID, KeySet, NEXT_KID, token};
use rotation_core::{AWSCURRENT, AWSPREVIOUS, AwsSecretStore, Engine, Rotator, Step};
use serde_json::json;

/// Runs the four steps as Secrets Manager would, printing each outcome.
async fn rotate<E: Engine>(
    sm: &SecretsManager,
    engine: E,
    arn: &str,
    explain: fn(Step) -> &'static str,
) {
    let token = sm.start_rotation(arn).await;
    println!("  RotateSecret: new version {token}, labelled AWSPENDING, no value yet");
    let rotator: Rotator<AwsSecretStore, E> = Rotator::new(sm.store(), engine);
    for step in Step::ALL {
        let event = json!({"Step": step.as_str(), "SecretId": arn, "ClientRequestToken": token});
        match rotator.handle(&event).await {
            Ok(answer) => println!(
                "  {:<13} {:<16} {}",
                step.as_str(),
                answer["outcome"].as_str().unwrap_or_default(),
                explain(step)
            ),
            Err(e) => {
                eprintln!(
                    "  {:<13} FAILED           {e} ({})",
                    step.as_str(),
                    e.error_type()
                );
                std::process::exit(1);
            }
        }
    }
    sm.complete_rotation(arn, &token).await;
}

fn postgres_step(step: Step) -> &'static str {
    match step {
        Step::CreateSecret => "generated a new password and stored it as AWSPENDING",
        Step::SetSecret => {
            "logged in with AWSCURRENT and ran ALTER ROLE with a SCRAM verifier (no plaintext sent)"
        }
        Step::TestSecret => {
            "logged in with the AWSPENDING password, ran a query, and saw a wrong password refused"
        }
        Step::FinishSecret => "moved AWSCURRENT to the new version",
    }
}

fn neo4j_step(step: Step) -> &'static str {
    match step {
        Step::CreateSecret => "generated a new password and stored it as AWSPENDING",
        Step::SetSecret => {
            "logged in with AWSCURRENT and ran ALTER CURRENT USER SET PASSWORD (parameters only)"
        }
        Step::TestSecret => "logged in with the AWSPENDING password and ran SHOW CURRENT USER",
        Step::FinishSecret => "moved AWSCURRENT to the new version",
    }
}

fn jwt_step(step: Step) -> &'static str {
    match step {
        Step::CreateSecret => {
            "signs with the key published last time (or a new one), made the next key; the set keeps the key before"
        }
        Step::SetSecret => "nothing outside the secret to change",
        Step::TestSecret => {
            "signed tokens with the new and the current key; both verify against the new set"
        }
        Step::FinishSecret => "moved AWSCURRENT to the new version",
    }
}

/// The kids of a secret's verification set, newest first.
fn kids(secret: &serde_json::Value) -> String {
    let keys = KeySet::parse(&secret[JWKS]).unwrap();
    let kids: Vec<&str> = keys.keys().iter().map(|k| k.kid.as_str()).collect();
    kids.join(", ")
}

/// Rotates a JWT signing key twice and checks that a token signed between the rotations
/// still verifies after the second, with this crate's verifier and with PyJWT.
async fn jwt_demo(sm: &SecretsManager) -> bool {
    println!("\nJWT signing key: ES256, secret created as the placeholder {{\"alg\": \"ES256\"}}");
    let arn = sm
        .create("demo/jwt", &json!({"alg": "ES256"}).to_string())
        .await;
    let engine = || JwtEngine::from_env().expect("configuration");
    rotate(sm, engine(), &arn, jwt_step).await;
    let first = sm.value(&arn, AWSCURRENT).await.unwrap();
    println!("  first key: kid {}", first[KID].as_str().unwrap());
    let published_next = first[NEXT_KID].as_str().unwrap_or("none").to_owned();
    println!("  next key, published in the set already: kid {published_next}");
    let token = sign_as_app(
        &first,
        &json!({"sub": "demo-user", "exp": unix_now() + 900}),
    );
    println!("  an application signs a token with it (kid in the header; 15 minutes to live)");

    rotate(sm, engine(), &arn, jwt_step).await;
    let second = sm.value(&arn, AWSCURRENT).await.unwrap();
    let promoted = second[KID] == published_next.as_str();
    println!(
        "  new key:   kid {} (the published next key: {})",
        second[KID].as_str().unwrap(),
        if promoted { "yes" } else { "NO" }
    );
    println!("  verification set (jwks) now holds: {}", kids(&second));
    let ours = KeySet::parse(&second[JWKS])
        .ok()
        .and_then(|keys| token::verify(&keys, &token, unix_now()).ok())
        .is_some();
    let theirs = PyJwt::verify(&second[JWKS], &[&token]).remove(0);
    let pyjwt_ok = matches!(theirs, integration_tests::Verdict::Valid(_));
    let say = |ok: bool| if ok { "verifies" } else { "DOES NOT VERIFY" };
    println!("  the token from before the rotation, checked against the new jwks:");
    println!("    rotate-jwt's verifier: {}", say(ours));
    println!("    PyJWT (independent):   {}", say(pyjwt_ok));
    let fresh = sign_as_app(
        &second,
        &json!({"sub": "demo-user", "exp": unix_now() + 900}),
    );
    let cached = PyJwt::verify(&first[JWKS], &[&fresh]).remove(0);
    let cached_ok = matches!(cached, integration_tests::Verdict::Valid(_));
    println!(
        "  a token signed with the new key, against the set cached before the rotation: {}",
        say(cached_ok)
    );
    ours && pyjwt_ok && promoted && cached_ok
}

/// Prints the checks and says whether they all hold.
fn report(old_refused: bool, new_accepted: bool, previous_is_old: bool) -> bool {
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
        if previous_is_old { "yes" } else { "NO" }
    );
    old_refused && new_accepted && previous_is_old
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    install_crypto_provider();
    println!("Secrets Manager: moto at {}", moto().endpoint);
    let sm = SecretsManager::connect().await;
    let password_of =
        |v: Option<serde_json::Value>| v.unwrap()["password"].as_str().unwrap().to_owned();

    let pg = postgres();
    println!(
        "\nPostgreSQL: throwaway cluster, SCRAM authentication, 127.0.0.1:{}",
        pg.port
    );
    let user = unique("demo_app");
    let password = format!("first-{}", unique("pw"));
    pg.create_role(&user, &password).await;
    let arn = sm
        .create("demo/postgres", &pg.secret(&user, &password).to_string())
        .await;
    println!("  role \"{user}\" and secret {arn} (password not shown)");
    rotate(
        &sm,
        rotate_postgres::engine(rotate_postgres::Settings::from_env().expect("configuration")),
        &arn,
        postgres_step,
    )
    .await;
    let new_password = password_of(sm.value(&arn, AWSCURRENT).await);
    let pg_ok = report(
        !pg.can_login(&user, &password).await,
        pg.can_login(&user, &new_password).await,
        password_of(sm.value(&arn, AWSPREVIOUS).await) == password,
    );

    println!(
        "\nNeo4j: Community 5.26 server, authentication on, {}",
        neo4j().uri()
    );
    let user = unique("demo_graph");
    let password = format!("first-{}", unique("pw"));
    neo4j().create_user(&user, &password).await;
    let arn = sm
        .create("demo/neo4j", &neo4j().secret(&user, &password).to_string())
        .await;
    println!("  user \"{user}\" and secret {arn} (password not shown)");
    rotate(
        &sm,
        rotate_neo4j::engine(rotate_neo4j::settings_from_env().expect("configuration")),
        &arn,
        neo4j_step,
    )
    .await;
    let new_password = password_of(sm.value(&arn, AWSCURRENT).await);
    let neo4j_ok = report(
        !neo4j().can_login(&user, &password).await,
        neo4j().can_login(&user, &new_password).await,
        password_of(sm.value(&arn, AWSPREVIOUS).await) == password,
    );

    let jwt_ok = jwt_demo(&sm).await;
    let operator_ok = operator::operator_demo(&sm).await;

    let ok = pg_ok && neo4j_ok && jwt_ok && operator_ok;
    println!(
        "\n{}",
        if ok {
            "All rotations complete. Stopping the servers."
        } else {
            "A rotation check FAILED."
        }
    );
    std::process::exit(if ok { 0 } else { 1 });
}
