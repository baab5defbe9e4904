//! Secrets Manager drives the rotation: RotateSecret on moto names the function, and the four
//! steps reach the real release binary through the Lambda Runtime API, as on AWS. Afterwards
//! the database or the keys are checked, and the function's log is searched for secrets.

use integration_tests::{
    PyJwt, RunningFunction, SecretsManager, install_crypto_provider, neo4j, postgres, sign_as_app,
    unique,
};
use rotate_jwt::{ALG, JWKS, KID, SIGNING_KEY};
use rotation_core::{AWSCURRENT, AWSPREVIOUS, Step};
use serde_json::{Value, json};

async fn connect() -> SecretsManager {
    install_crypto_provider();
    SecretsManager::connect().await
}

fn password(value: &Value) -> String {
    value["password"].as_str().unwrap().to_owned()
}

/// The function answered every step and logged each, without the given secrets.
fn assert_log(function: &RunningFunction, secrets: &[&str]) {
    let log = function.log();
    for step in Step::ALL {
        assert!(
            log.contains(step.as_str()),
            "no {} in the log:\n{log}",
            step.as_str()
        );
    }
    for secret in secrets {
        assert!(
            !log.contains(secret),
            "a secret value reached the function's log"
        );
    }
}

#[tokio::test]
async fn rotate_secret_drives_the_postgres_function() {
    let sm = connect().await;
    let pg = postgres();
    let user = unique("svc_app");
    let old = format!("old-{}", unique("pw"));
    pg.create_role(&user, &old).await;
    let arn = sm
        .create(&unique("pg"), &pg.secret(&user, &old).to_string())
        .await;
    let function = RunningFunction::start("rotate-postgres", &[("PGSSLMODE", "disable")]);

    sm.rotate_with(&arn, &function.arn).await.unwrap();
    let new = password(&sm.value(&arn, AWSCURRENT).await.unwrap());
    assert_ne!(new, old);
    assert!(pg.can_login(&user, &new).await, "the new password logs in");
    assert!(
        !pg.can_login(&user, &old).await,
        "the old password is refused"
    );
    assert_eq!(password(&sm.value(&arn, AWSPREVIOUS).await.unwrap()), old);

    // The next scheduled rotation, by the same running function.
    sm.rotate_with(&arn, &function.arn).await.unwrap();
    let newer = password(&sm.value(&arn, AWSCURRENT).await.unwrap());
    assert!(pg.can_login(&user, &newer).await);
    assert_log(&function, &[&old, &new, &newer]);
}

#[tokio::test]
async fn rotate_secret_drives_the_neo4j_function() {
    let sm = connect().await;
    let user = unique("svc_graph");
    let old = format!("old-{}", unique("pw"));
    neo4j().create_user(&user, &old).await;
    let arn = sm
        .create(&unique("neo4j"), &neo4j().secret(&user, &old).to_string())
        .await;
    let function = RunningFunction::start("rotate-neo4j", &[]);

    sm.rotate_with(&arn, &function.arn).await.unwrap();
    let new = password(&sm.value(&arn, AWSCURRENT).await.unwrap());
    assert!(
        neo4j().can_login(&user, &new).await,
        "the new password logs in"
    );
    assert!(
        !neo4j().can_login(&user, &old).await,
        "the old password is refused"
    );
    assert_log(&function, &[&old, &new]);
}

#[tokio::test]
async fn rotate_secret_drives_the_jwt_function() {
    let sm = connect().await;
    let arn = sm.create(&unique("jwt"), r#"{"alg": "RS256"}"#).await;
    let function = RunningFunction::start("rotate-jwt", &[("JWT_RSA_KEY_BITS", "3072")]);

    sm.rotate_with(&arn, &function.arn).await.unwrap();
    let first = sm.value(&arn, AWSCURRENT).await.unwrap();
    assert_eq!(first[ALG], "RS256");
    let before = sign_as_app(&first, &json!({"sub": "before", "exp": 4_000_000_000u64}));

    sm.rotate_with(&arn, &function.arn).await.unwrap();
    let second = sm.value(&arn, AWSCURRENT).await.unwrap();
    assert_ne!(second[KID], first[KID]);
    let verdict = PyJwt::verify(&second[JWKS], &[&before]).remove(0);
    assert_eq!(verdict.claims()["sub"], "before");
    let private_line = first[SIGNING_KEY].as_str().unwrap().lines().nth(2).unwrap();
    assert_log(&function, &[private_line]);
}

#[tokio::test]
async fn a_failing_step_reports_its_error_type_through_the_service() {
    let sm = connect().await;
    let arn = sm
        .create(
            &unique("wrong"),
            &json!({"engine": "mysql", "host": "127.0.0.1", "username": "u", "password": "p-secret-1"})
                .to_string(),
        )
        .await;
    let function = RunningFunction::start("rotate-postgres", &[]);
    let before = sm.snapshot(&arn).await;
    let err = sm.rotate_with(&arn, &function.arn).await.unwrap_err();
    assert!(
        err.contains("rotation function failed at createSecret: WrongEngine"),
        "{err}"
    );
    let after = sm.snapshot(&arn).await;
    assert_eq!(
        after.values().filter(|(_, value)| value.is_some()).count(),
        before.len(),
        "no value was stored"
    );
    assert!(!function.log().contains("p-secret-1"));
}
