//! Alternating users: `name` and `name_clone` take turns, and act as one role.

use integration_tests::{LogCapture, postgres, unique};
use rotate_postgres::Settings;
use rotation_core::{
    AWSCURRENT, AWSPENDING, AWSPREVIOUS, LoginSettings, Outcome, Rotator, Step, StrategyConfig,
    StrategySetting,
};
use serde_json::{Value, json};
use tokio_postgres::Client;

use crate::fixture::{Fixture, login_settings};

/// `settings` with ADMIN_SECRET_ARN set to the admin secret `secret` names, as whoever deploys
/// the function sets it for the admin secret it may use.
fn configured_for(secret: &Value, mut settings: Settings) -> Settings {
    if settings.login.strategy.admin_secret.is_none() {
        settings.login.strategy.admin_secret = secret["masterarn"].as_str().map(str::to_owned);
    }
    settings
}

/// A user role, an admin role with CREATEROLE, an admin secret, and a user secret naming it.
struct Alternating {
    f: Fixture,
    admin_arn: String,
    admin_password: String,
}

impl Alternating {
    async fn new() -> Self {
        Self::with_admin(|admin, pw| postgres().secret(admin, pw), |_| {}).await
    }

    /// `admin_secret` makes the admin secret's JSON; `edit` changes the user secret.
    async fn with_admin(
        admin_secret: impl Fn(&str, &str) -> Value,
        edit: impl Fn(&mut Value),
    ) -> Self {
        Self::with_settings(admin_secret, edit, Settings::default()).await
    }

    async fn with_settings(
        admin_secret: impl Fn(&str, &str) -> Value,
        edit: impl Fn(&mut Value),
        settings: Settings,
    ) -> Self {
        let admin = unique("admin");
        let admin_password = format!("admin-{}", unique("pw"));
        postgres().create_admin(&admin, &admin_password).await;
        let user = unique("app");
        let password = format!("initial-{}", unique("pw"));
        let mut secret = postgres().secret(&user, &password);
        let sm = integration_tests::SecretsManager::connect().await;
        let admin_arn = sm
            .create(
                &unique("admin"),
                &admin_secret(&admin, &admin_password).to_string(),
            )
            .await;
        secret["masterarn"] = admin_arn.clone().into();
        edit(&mut secret);
        let f = Fixture::with(
            &user,
            &password,
            secret.clone(),
            configured_for(&secret, settings),
        )
        .await;
        Self {
            f,
            admin_arn,
            admin_password,
        }
    }

    fn clone_name(&self) -> String {
        format!("{}_clone", self.f.user)
    }

    async fn login_at(&self, stage: &str) -> (String, String) {
        let value = self.f.sm.value(&self.f.arn, stage).await.unwrap();
        (
            value["username"].as_str().unwrap().to_owned(),
            value["password"].as_str().unwrap().to_owned(),
        )
    }

    async fn session(&self, user: &str, password: &str) -> Client {
        postgres()
            .connect(user, password)
            .await
            .unwrap_or_else(|e| panic!("{user} cannot log in: {e}"))
    }
}

async fn acting_as(client: &Client) -> String {
    client
        .query_one("SELECT current_user::text", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn rotations_alternate_between_the_user_and_its_clone() {
    let a = Alternating::new().await;
    let f = &a.f;

    // First rotation: the clone is created, every step run twice.
    let token = f.sm.start_rotation(&f.arn).await;
    for (step, first, again) in [
        (Step::CreateSecret, Outcome::Created, Outcome::PendingExists),
        (Step::SetSecret, Outcome::Applied, Outcome::AlreadyApplied),
        (Step::TestSecret, Outcome::Tested, Outcome::Tested),
        (
            Step::FinishSecret,
            Outcome::Finished,
            Outcome::AlreadyCurrent,
        ),
    ] {
        assert_eq!(f.step(step, &token).await.unwrap(), first, "{step:?}");
        assert_eq!(f.step(step, &token).await.unwrap(), again, "{step:?} again");
    }
    f.sm.complete_rotation(&f.arn, &token).await;
    let (clone, clone_pw1) = a.login_at(AWSCURRENT).await;
    assert_eq!(clone, a.clone_name());
    assert_eq!(
        a.login_at(AWSPREVIOUS).await,
        (f.user.clone(), f.password.clone())
    );
    assert!(postgres().can_login(&clone, &clone_pw1).await);
    assert!(
        postgres().can_login(&f.user, &f.password).await,
        "the previous user must keep working"
    );
    assert_eq!(
        acting_as(&a.session(&clone, &clone_pw1).await).await,
        f.user
    );
    let current = f.sm.value(&f.arn, AWSCURRENT).await.unwrap();
    assert_eq!(current["masterarn"], a.admin_arn.as_str());

    // Second rotation: back to the original user, with a new password.
    f.rotate().await;
    let (user, user_pw2) = a.login_at(AWSCURRENT).await;
    assert_eq!(user, f.user);
    assert!(postgres().can_login(&f.user, &user_pw2).await);
    assert!(!postgres().can_login(&f.user, &f.password).await);
    assert!(postgres().can_login(&clone, &clone_pw1).await);

    // Third: the clone again, its password changed rather than created.
    f.rotate().await;
    let (clone_again, clone_pw3) = a.login_at(AWSCURRENT).await;
    assert_eq!(clone_again, clone);
    assert!(postgres().can_login(&clone, &clone_pw3).await);
    assert!(!postgres().can_login(&clone, &clone_pw1).await);
}

#[tokio::test]
async fn both_users_act_with_the_same_rights_and_objects() {
    let a = Alternating::new().await;
    let f = &a.f;
    f.rotate().await;
    let (clone, clone_pw) = a.login_at(AWSCURRENT).await;
    let as_clone = a.session(&clone, &clone_pw).await;
    let as_user = a.session(&f.user, &f.password).await;
    let schema = unique("s");
    let su = postgres().superuser().await;
    su.batch_execute(&format!(
        "CREATE SCHEMA {schema} AUTHORIZATION \"{}\"",
        f.user
    ))
    .await
    .unwrap();

    // Made by the clone, used by the original, and the other way round.
    as_clone
        .batch_execute(&format!(
            "CREATE TABLE {schema}.by_clone (v int); INSERT INTO {schema}.by_clone VALUES (1)"
        ))
        .await
        .unwrap();
    as_user
        .batch_execute(&format!(
            "INSERT INTO {schema}.by_clone VALUES (2); UPDATE {schema}.by_clone SET v = v + 10"
        ))
        .await
        .unwrap();
    as_user
        .batch_execute(&format!(
            "CREATE TABLE {schema}.by_user (v int); INSERT INTO {schema}.by_user VALUES (1)"
        ))
        .await
        .unwrap();
    as_clone
        .batch_execute(&format!(
            "INSERT INTO {schema}.by_user VALUES (2); DELETE FROM {schema}.by_user WHERE v = 1"
        ))
        .await
        .unwrap();
    let owner: String = su
        .query_one("SELECT tableowner::text FROM pg_tables WHERE schemaname = $1 AND tablename = 'by_clone'", &[&schema])
        .await
        .unwrap()
        .get(0);
    assert_eq!(
        owner, f.user,
        "what the clone creates must belong to the original"
    );
    let sum: i64 = as_user
        .query_one(
            &format!("SELECT sum(v)::bigint FROM {schema}.by_clone"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(sum, 23);

    // A grant made to the original after the clone exists reaches the clone.
    su.batch_execute(&format!(
        "CREATE TABLE {schema}.granted_later (v int); ALTER TABLE {schema}.granted_later OWNER TO postgres; \
         GRANT SELECT, INSERT ON {schema}.granted_later TO \"{}\"",
        f.user
    ))
    .await
    .unwrap();
    as_clone
        .batch_execute(&format!("INSERT INTO {schema}.granted_later VALUES (7)"))
        .await
        .unwrap();
    let seen: i32 = as_clone
        .query_one(&format!("SELECT v FROM {schema}.granted_later"), &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(seen, 7);
    // And what the original was never granted stays out of reach of both.
    su.batch_execute(&format!(
        "CREATE TABLE {schema}.private (v int); ALTER TABLE {schema}.private OWNER TO postgres"
    ))
    .await
    .unwrap();
    assert!(
        as_clone
            .simple_query(&format!("SELECT * FROM {schema}.private"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_crash_between_steps_is_resumed_by_a_fresh_process() {
    let a = Alternating::new().await;
    let f = &a.f;
    let token = f.begin().await;
    f.step(Step::SetSecret, &token).await.unwrap();
    // A new process (new engine and store) picks the rotation up where it stopped.
    let settings = configured_for(&f.value(AWSCURRENT).await, Settings::default());
    let fresh = Rotator::new(f.sm.store(), rotate_postgres::engine(settings));
    for step in [Step::SetSecret, Step::TestSecret, Step::FinishSecret] {
        let event = rotation_core::RotationEvent {
            step,
            secret_id: f.arn.clone(),
            token: token.clone(),
            rotation_token: None,
        };
        fresh.run(&event).await.unwrap();
    }
    let (clone, pw) = a.login_at(AWSCURRENT).await;
    assert!(postgres().can_login(&clone, &pw).await);
}

#[tokio::test]
async fn a_clone_made_the_old_way_is_brought_into_line() {
    // AWS's template creates the clone as a plain member of the original, acting as itself.
    let a = Alternating::new().await;
    let f = &a.f;
    postgres()
        .superuser()
        .await
        .batch_execute(&format!(
            "CREATE ROLE \"{clone}\" LOGIN PASSWORD 'old-template-pw'; GRANT \"{user}\" TO \"{clone}\"",
            clone = a.clone_name(),
            user = f.user
        ))
        .await
        .unwrap();
    assert_eq!(
        acting_as(&a.session(&a.clone_name(), "old-template-pw").await).await,
        a.clone_name()
    );
    f.rotate().await;
    let (clone, pw) = a.login_at(AWSCURRENT).await;
    assert_eq!(acting_as(&a.session(&clone, &pw).await).await, f.user);
}

#[tokio::test]
async fn the_strategy_is_never_alternating_by_accident() {
    // No masterarn, but an admin secret configured: still single user under `auto`.
    let user = unique("app");
    let settings = login_settings(LoginSettings {
        strategy: StrategyConfig {
            admin_secret: Some("arn:some-admin".into()),
            ..StrategyConfig::default()
        },
        ..LoginSettings::default()
    });
    let f = Fixture::with(
        &user,
        "pw-one",
        postgres().secret(&user, "pw-one"),
        settings,
    )
    .await;
    let new_password = f.rotate().await;
    assert_eq!(
        f.sm.value(&f.arn, AWSCURRENT).await.unwrap()["username"],
        user.as_str()
    );
    assert!(postgres().can_login(&user, &new_password).await);
    assert!(!postgres().role_exists(&format!("{user}_clone")).await);

    // ROTATION_STRATEGY=single-user wins over masterarn.
    let settings = login_settings(LoginSettings {
        strategy: StrategyConfig {
            setting: StrategySetting::SingleUser,
            admin_secret: None,
        },
        ..LoginSettings::default()
    });
    let a = Alternating::with_settings(|admin, pw| postgres().secret(admin, pw), |_| {}, settings)
        .await;
    let new_password = a.f.rotate().await;
    assert_eq!(
        a.login_at(AWSCURRENT).await,
        (a.f.user.clone(), new_password)
    );
    assert!(!postgres().role_exists(&a.clone_name()).await);
}

#[tokio::test]
async fn rotation_strategy_alternating_users_takes_the_admin_secret_from_configuration() {
    let seed = Alternating::new().await;
    let user = unique("app");
    let settings = login_settings(LoginSettings {
        strategy: StrategyConfig {
            setting: StrategySetting::AlternatingUsers,
            admin_secret: Some(seed.admin_arn.clone()),
        },
        ..LoginSettings::default()
    });
    let f = Fixture::with(
        &user,
        "configured-pw",
        postgres().secret(&user, "configured-pw"),
        settings,
    )
    .await;
    f.rotate().await;
    let current = f.sm.value(&f.arn, AWSCURRENT).await.unwrap();
    assert_eq!(current["username"], format!("{user}_clone"));
    assert!(
        postgres()
            .can_login(
                &format!("{user}_clone"),
                current["password"].as_str().unwrap()
            )
            .await
    );
}

// ---- bad input: a clear error, nothing changed, no clone created ----

async fn assert_set_secret_rejected(a: &Alternating, error_type: &str, message: &str) {
    let f = &a.f;
    let token = f.begin().await;
    let err = f
        .assert_rejected(Step::SetSecret, &token, error_type, message)
        .await;
    assert!(
        !postgres().role_exists(&a.clone_name()).await,
        "a failed setSecret created the clone"
    );
    assert!(!err.to_string().contains(&a.admin_password));
}

#[tokio::test]
async fn a_missing_admin_secret_is_named() {
    let a = Alternating::with_admin(
        |a, p| postgres().secret(a, p),
        |s| s["masterarn"] = "no-such-admin-secret".into(),
    )
    .await;
    assert_set_secret_rejected(
        &a,
        "AdminSecretUnusable",
        "admin secret no-such-admin-secret cannot be used: it does not exist",
    )
    .await;
}

#[tokio::test]
async fn an_unreadable_admin_secret_is_named() {
    let a = Alternating::with_admin(|_, _| json!("not an object"), |_| {}).await;
    assert_set_secret_rejected(
        &a,
        "AdminSecretUnusable",
        "cannot be used: it is not a JSON object",
    )
    .await;
    let b = Alternating::with_admin(|admin, _| json!({"username": admin}), |_| {}).await;
    assert_set_secret_rejected(&b, "AdminSecretUnusable", "no \"password\"").await;
}

#[tokio::test]
async fn refused_admin_credentials_are_reported_as_such() {
    let a = Alternating::with_admin(
        |admin, _| postgres().secret(admin, "wrong-admin-pw"),
        |_| {},
    )
    .await;
    assert_set_secret_rejected(&a, "LoginRefused", "with the admin secret's credentials").await;
}

#[tokio::test]
async fn an_admin_secret_for_another_host_is_refused() {
    let a = Alternating::with_admin(
        |admin, pw| {
            let mut s = postgres().secret(admin, pw);
            s["host"] = "other-db.example.com".into();
            s
        },
        |_| {},
    )
    .await;
    assert_set_secret_rejected(
        &a,
        "AdminHostMismatch",
        &format!(
            "names the server 127.0.0.1:{}, which is not the admin secret's server other-db.example.com:{}",
            postgres().port,
            postgres().port
        ),
    )
    .await;
}

#[tokio::test]
async fn a_clone_name_over_63_bytes_is_refused_at_create_secret() {
    let long_user = format!("{}_{}", "u".repeat(45), unique("x")); // 45 + 1 + 12 = 58 bytes
    let a = Alternating::with_admin(
        |admin, pw| postgres().secret(admin, pw),
        |s| s["username"] = long_user.clone().into(),
    )
    .await;
    postgres().create_role(&long_user, &a.f.password).await;
    let f = &a.f;
    let token = f.sm.start_rotation(&f.arn).await;
    let before = f.sm.snapshot(&f.arn).await;
    let err = f.step(Step::CreateSecret, &token).await.unwrap_err();
    assert_eq!(err.error_type(), "MalformedSecret");
    assert!(
        err.to_string().contains("over the server's limit of 63"),
        "{err}"
    );
    assert_eq!(f.sm.snapshot(&f.arn).await, before);
}

#[tokio::test]
async fn no_secret_reaches_the_logs_in_alternating_rotations() {
    let (logs, _guard) = LogCapture::start();
    let a = Alternating::new().await;
    a.f.rotate().await;
    let (_, clone_pw) = a.login_at(AWSCURRENT).await;
    a.f.rotate().await;
    let (_, user_pw) = a.login_at(AWSCURRENT).await;
    let bad = Alternating::with_admin(
        |admin, _| postgres().secret(admin, "wrong-admin-pw-for-logs"),
        |_| {},
    )
    .await;
    let token = bad.f.sm.start_rotation(&bad.f.arn).await;
    bad.f.step(Step::CreateSecret, &token).await.unwrap();
    let pending = bad.f.sm.value(&bad.f.arn, AWSPENDING).await.unwrap()["password"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(bad.f.step(Step::SetSecret, &token).await.is_err());

    let text = logs.text();
    assert!(
        text.contains("applied the pending user with the admin secret"),
        "the capture missed our logs"
    );
    for secret in [
        &a.admin_password,
        &a.f.password,
        &clone_pw,
        &user_pw,
        &bad.admin_password,
        &pending,
        &"wrong-admin-pw-for-logs".to_owned(),
    ] {
        assert!(
            !text.contains(secret.as_str()),
            "a secret value reached the logs"
        );
    }
    assert!(!text.contains("SCRAM-SHA-256$"));
}

#[tokio::test]
async fn an_admin_secret_that_requires_tls_is_not_downgraded_by_the_user_secret() {
    // The user secret says "ssl": false; the admin secret asks for TLS, which this cluster lacks.
    let a = Alternating::with_admin(
        |admin, pw| {
            let mut s = postgres().secret(admin, pw);
            s["ssl"] = true.into();
            s
        },
        |_| {},
    )
    .await;
    assert_set_secret_rejected(
        &a,
        "TlsFailure",
        "with the admin secret's credentials: TLS login",
    )
    .await;
}
