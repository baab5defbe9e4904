//! Single-user rotations.

use crate::fixture::{Fixture, login_settings};

use integration_tests::{Phase, assert_no_credential_lost, postgres, unique};
use rotate_postgres::Settings;
use rotation_core::{
    AWSCURRENT, AWSPENDING, AWSPREVIOUS, LoginSettings, Outcome, PasswordPolicy, Step,
};
use serde_json::json;

#[tokio::test]
async fn a_full_rotation_changes_the_password_and_keeps_everything_else() {
    let f = Fixture::new().await;
    let mut secret = postgres().secret(&f.user, &f.password);
    secret["team"] = json!({"owner": "data", "tags": ["a", "b"]});
    f.sm.put_current(&f.arn, &secret.to_string()).await;

    let token = f.sm.start_rotation(&f.arn).await;
    let expected = [
        (Step::CreateSecret, Outcome::Created, Outcome::PendingExists),
        (Step::SetSecret, Outcome::Applied, Outcome::AlreadyApplied),
        (Step::TestSecret, Outcome::Tested, Outcome::Tested),
        (
            Step::FinishSecret,
            Outcome::Finished,
            Outcome::AlreadyCurrent,
        ),
    ];
    for (step, first, again) in expected {
        assert_eq!(f.step(step, &token).await.unwrap(), first, "{step:?}");
        assert_eq!(
            f.step(step, &token).await.unwrap(),
            again,
            "{step:?} run twice"
        );
    }
    let current = f.sm.value(&f.arn, AWSCURRENT).await.unwrap();
    let new_password = current["password"].as_str().unwrap();
    assert_ne!(new_password, f.password);
    assert_eq!(new_password.len(), 32);
    assert!(
        f.can_login(new_password).await,
        "the new password is refused"
    );
    assert!(
        !f.can_login(&f.password).await,
        "the old password still logs in"
    );
    assert_eq!(f.password_at(AWSPREVIOUS).await, f.password);
    let mut expected_secret = secret.clone();
    expected_secret["password"] = new_password.into();
    assert_eq!(
        current, expected_secret,
        "keys other than the password changed"
    );
    let mut labels = f.sm.stages(&f.arn).await[&token].clone();
    labels.sort();
    assert_eq!(labels, [AWSCURRENT, AWSPENDING]);
}

/// PostgreSQL logs every refused password, and monitoring (RDS's own, GuardDuty) reads those
/// lines as someone guessing: a healthy rotation must not add any.
#[tokio::test]
async fn a_rotation_makes_no_failed_login() {
    let f = Fixture::new().await;
    f.rotate().await;
    let refused = format!("password authentication failed for user \"{}\"", f.user);
    let lines: Vec<_> = postgres()
        .server_log()
        .lines()
        .filter(|line| line.contains(&refused))
        .map(str::to_owned)
        .collect();
    assert_eq!(lines, Vec::<String>::new());
}

#[tokio::test]
async fn a_second_rotation_works_and_moves_awsprevious_along() {
    let f = Fixture::new().await;
    let first = f.rotate().await;
    let second = f.rotate().await;
    assert_ne!(first, second);
    assert!(f.can_login(&second).await);
    assert!(!f.can_login(&first).await);
    assert!(!f.can_login(&f.password).await);
    assert_eq!(f.password_at(AWSPREVIOUS).await, first);
}

#[tokio::test]
async fn a_crash_after_alter_role_is_healed_by_the_retry() {
    let f = Fixture::new().await;
    let token = f.begin().await;
    let pending = f.password_at(AWSPENDING).await;
    // The state a crash leaves when ALTER ROLE committed but setSecret never returned.
    postgres().set_password(&f.user, &pending).await;
    assert!(!f.can_login(&f.password).await);
    assert_no_credential_lost(&f.sm, &f.arn, postgres(), Phase::Interrupted).await;

    assert_eq!(
        f.step(Step::SetSecret, &token).await.unwrap(),
        Outcome::AlreadyApplied
    );
    f.step(Step::TestSecret, &token).await.unwrap();
    f.step(Step::FinishSecret, &token).await.unwrap();
    f.sm.complete_rotation(&f.arn, &token).await;
    assert_eq!(f.password_at(AWSCURRENT).await, pending);
    assert_no_credential_lost(&f.sm, &f.arn, postgres(), Phase::Settled).await;
}

#[tokio::test]
async fn a_rotation_left_half_done_is_finished_with_awsprevious() {
    // An earlier rotation set the database to its pending password and then AWSCURRENT was
    // moved there by hand; the role now matches only AWSPREVIOUS of a later secret value.
    let f = Fixture::new().await;
    let mut stale = postgres().secret(&f.user, "not-the-real-one");
    stale["note"] = "put by hand".into();
    f.sm.put_current(&f.arn, &stale.to_string()).await;
    let token = f.begin().await;
    assert_eq!(
        f.step(Step::SetSecret, &token).await.unwrap(),
        Outcome::Applied
    );
    assert!(f.can_login(&f.password_at(AWSPENDING).await).await);
}

#[tokio::test]
async fn awkward_user_names_and_passwords_rotate() {
    let cases = [
        (
            "o'brien \"the\" \\admin",
            "it's a \"pass\\word\" with spaces",
        ),
        ("usér_ñame ÄÖÜ", "pässwörd-ünïcødé-密码"),
        ("trailing space ", "back\\\\slash''quote"),
    ];
    // Generated passwords may hold every punctuation character, quotes and backslash included.
    let settings = login_settings(LoginSettings {
        password_policy: PasswordPolicy {
            length: 64,
            ..PasswordPolicy::defaults("")
        },
        ..LoginSettings::default()
    });
    for (base, password) in cases {
        let user = format!("{base}{}", unique(""));
        let f = Fixture::with(
            &user,
            password,
            postgres().secret(&user, password),
            settings.clone(),
        )
        .await;
        let first = f.rotate().await;
        let second = f.rotate().await;
        assert!(f.can_login(&second).await, "{user:?}: new password refused");
        assert!(
            !f.can_login(&first).await && !f.can_login(password).await,
            "{user:?}: an old password still works"
        );
    }
}

#[tokio::test]
async fn the_user_and_database_key_names_are_kept() {
    let user = unique("team");
    let password = "team-initial-pw";
    let secret = json!({
        "host": "127.0.0.1", "port": postgres().port.to_string(), "user": user,
        "password": password, "database": "postgres", "ssl": "false"
    });
    let f = Fixture::with(&user, password, secret.clone(), Settings::default()).await;
    let new_password = f.rotate().await;
    assert!(f.can_login(&new_password).await);
    let mut expected = secret;
    expected["password"] = new_password.into();
    assert_eq!(f.sm.value(&f.arn, AWSCURRENT).await.unwrap(), expected);
}

#[tokio::test]
async fn the_plaintext_password_never_reaches_the_server() {
    let f = Fixture::new().await;
    let new_password = f.rotate().await;
    let log = postgres().server_log();
    assert!(
        log.contains(&format!("ALTER ROLE \"{}\"", f.user)),
        "statement logging is off; the check proves nothing"
    );
    assert!(
        !log.contains(&new_password),
        "the new password is in the server's statement log"
    );
}

#[tokio::test]
async fn a_lambda_event_with_a_rotation_token_rotates() {
    let f = Fixture::new().await;
    let token = f.sm.start_rotation(&f.arn).await;
    for step in Step::ALL {
        let answer = f
            .rotator
            .handle(&json!({
                "Step": step.as_str(), "SecretId": f.arn, "ClientRequestToken": token,
                "RotationToken": "opaque-rotation-token"
            }))
            .await
            .unwrap();
        assert_eq!(answer["step"], step.as_str());
    }
    assert!(f.can_login(&f.password_at(AWSCURRENT).await).await);
}

/// The checker the fault scenarios end with does catch a lost credential.
#[tokio::test]
async fn the_invariant_catches_a_password_no_version_holds() {
    let f = Fixture::new().await;
    postgres().set_password(&f.user, "held-by-no-version").await;
    let (sm, arn) = (f.sm.clone(), f.arn.clone());
    let check = tokio::spawn(async move {
        assert_no_credential_lost(&sm, &arn, postgres(), Phase::Interrupted).await
    });
    assert!(check.await.unwrap_err().is_panic());
}
