//! End-to-end rotations of Neo4j secrets: the real `rotate-neo4j` engine, a real Neo4j 5.26
//! server with authentication on, and moto as Secrets Manager reached through the AWS SDK.

use std::time::{Duration, Instant};

use integration_tests::{LogCapture, Phase, Rotation, assert_no_credential_lost, neo4j, unique};
use rotate_neo4j::{Neo4jEngine, Settings};
use rotation_core::{AWSCURRENT, AWSPENDING, AWSPREVIOUS, Outcome, Step};
use serde_json::{Value, json};

/// A Neo4j user with a password, and a secret for it (edited by `edit`).
struct Graph {
    r: Rotation<Neo4jEngine>,
    user: String,
    password: String,
}

impl Graph {
    async fn new() -> Self {
        Self::with(|_| {}, Settings::default()).await
    }

    /// A user and its secret, edited by `edit`; a `masterarn` it names is configured as the
    /// function's admin secret (ADMIN_SECRET_ARN), as whoever deploys the function does.
    async fn with(edit: impl FnOnce(&mut Value), mut settings: Settings) -> Self {
        let user = unique("graph");
        let password = format!("initial-{}", unique("pw"));
        neo4j().create_user(&user, &password).await;
        let mut secret = neo4j().secret(&user, &password);
        edit(&mut secret);
        if settings.strategy.admin_secret.is_none() {
            settings.strategy.admin_secret = secret["masterarn"].as_str().map(str::to_owned);
        }
        let r = Rotation::new(&secret, rotate_neo4j::engine(settings)).await;
        Self { r, user, password }
    }

    fn login_of(value: &Value) -> (String, String) {
        (
            value["username"].as_str().unwrap().into(),
            value["password"].as_str().unwrap().into(),
        )
    }

    /// Expects the step to fail, the secret and the user's password unchanged.
    async fn assert_rejected(
        &self,
        step: Step,
        token: &str,
        error_type: &str,
        message: &str,
    ) -> String {
        let err = self
            .r
            .assert_rejected(step, token, error_type, message)
            .await;
        assert!(
            neo4j().can_login(&self.user, &self.password).await,
            "the failed step changed the password"
        );
        let text = err.to_string();
        assert!(!text.contains(&self.password));
        text
    }
}

#[tokio::test]
async fn a_single_user_rotation_changes_the_password_and_keeps_everything_else() {
    let g = Graph::with(
        |s| s["team"] = json!({"owner": "graph", "n": [1, 2]}),
        Settings::default(),
    )
    .await;
    let token = g.r.sm.start_rotation(&g.r.arn).await;
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
        assert_eq!(g.r.step(step, &token).await.unwrap(), first, "{step:?}");
        assert_eq!(
            g.r.step(step, &token).await.unwrap(),
            again,
            "{step:?} run twice"
        );
    }
    g.r.sm.complete_rotation(&g.r.arn, &token).await;
    let current = g.r.value(AWSCURRENT).await;
    let (user, new_password) = Graph::login_of(&current);
    assert_eq!(user, g.user);
    assert!(
        neo4j().can_login(&g.user, &new_password).await,
        "the new password is refused"
    );
    assert!(
        !neo4j().can_login(&g.user, &g.password).await,
        "the old password still logs in"
    );
    assert_eq!(Graph::login_of(&g.r.value(AWSPREVIOUS).await).1, g.password);
    let mut expected = neo4j().secret(&g.user, &new_password);
    expected["team"] = json!({"owner": "graph", "n": [1, 2]});
    assert_eq!(current, expected);

    // A second rotation.
    let (_, second) = Graph::login_of(&g.r.rotate().await);
    assert!(neo4j().can_login(&g.user, &second).await);
    assert!(!neo4j().can_login(&g.user, &new_password).await);
}

#[tokio::test]
async fn a_crash_after_the_password_change_is_healed_by_the_retry() {
    let g = Graph::new().await;
    let token = g.r.begin().await;
    let (_, pending) = Graph::login_of(&g.r.value(AWSPENDING).await);
    // The state a crash leaves when the server changed the password but setSecret never returned.
    neo4j().set_password(&g.user, &pending).await;
    assert_no_credential_lost(&g.r.sm, &g.r.arn, neo4j(), Phase::Interrupted).await;
    assert_eq!(
        g.r.step(Step::SetSecret, &token).await.unwrap(),
        Outcome::AlreadyApplied
    );
    g.r.step(Step::TestSecret, &token).await.unwrap();
    g.r.step(Step::FinishSecret, &token).await.unwrap();
    g.r.sm.complete_rotation(&g.r.arn, &token).await;
    assert_no_credential_lost(&g.r.sm, &g.r.arn, neo4j(), Phase::Settled).await;
}

#[tokio::test]
async fn alternating_users_take_turns_and_the_previous_user_keeps_working() {
    let admin = unique("admin");
    let admin_password = format!("admin-{}", unique("pw"));
    neo4j().create_user(&admin, &admin_password).await;
    let g0 = Graph::new().await;
    let admin_arn =
        g0.r.sm
            .create(
                &unique("admin"),
                &neo4j().secret(&admin, &admin_password).to_string(),
            )
            .await;
    // Community Edition has no roles, so any user may administer users: the admin here is an
    // ordinary user, as on Community.
    let g = Graph::with(
        |s| s["masterarn"] = admin_arn.clone().into(),
        Settings::default(),
    )
    .await;
    let clone = format!("{}_clone", g.user);

    let token = g.r.sm.start_rotation(&g.r.arn).await;
    for step in Step::ALL {
        g.r.step(step, &token).await.unwrap();
        g.r.step(step, &token).await.unwrap();
    }
    g.r.sm.complete_rotation(&g.r.arn, &token).await;
    let (user1, pw1) = Graph::login_of(&g.r.value(AWSCURRENT).await);
    assert_eq!(user1, clone);
    assert!(neo4j().can_login(&clone, &pw1).await);
    assert!(
        neo4j().can_login(&g.user, &g.password).await,
        "the previous user must keep working"
    );

    let (user2, pw2) = Graph::login_of(&g.r.rotate().await);
    assert_eq!(user2, g.user);
    assert!(neo4j().can_login(&g.user, &pw2).await);
    assert!(neo4j().can_login(&clone, &pw1).await);

    let (user3, pw3) = Graph::login_of(&g.r.rotate().await);
    assert_eq!(user3, clone);
    assert!(neo4j().can_login(&clone, &pw3).await);
    assert!(!neo4j().can_login(&clone, &pw1).await);
}

/// User names that would break a Cypher statement built by pasting (backticks, quotes,
/// comment and statement syntax, parameter syntax) rotate through alternating users, and no
/// other user changes: every name travels as a parameter.
#[tokio::test]
async fn hostile_user_names_rotate_and_change_nothing_else() {
    let admin = unique("admin");
    let admin_password = format!("admin-{}", unique("pw"));
    neo4j().create_user(&admin, &admin_password).await;
    let admin_arn = integration_tests::SecretsManager::connect()
        .await
        .create(
            &unique("admin"),
            &neo4j().secret(&admin, &admin_password).to_string(),
        )
        .await;
    // Neo4j itself accepts only ASCII user names without whitespace, ',' or ':'.
    for hostile in [
        "back`tick",
        "o'neil",
        "quo\"te",
        "x`SET/**/PASSWORD/**/'owned'//",
        "y'})DROP/**/USER/**/neo4j//",
        "z$user\\n",
    ] {
        let g = Graph::with(
            |s| {
                let user = format!("{hostile}_{}", unique("u"));
                s["username"] = user.clone().into();
                s["masterarn"] = admin_arn.clone().into();
            },
            Settings::default(),
        )
        .await;
        let (user, _) = Graph::login_of(&g.r.value(AWSCURRENT).await);
        neo4j().create_user(&user, &g.password).await;
        let (first, pw1) = Graph::login_of(&g.r.rotate().await);
        assert_eq!(first, format!("{user}_clone"), "{hostile}");
        assert!(neo4j().can_login(&first, &pw1).await, "{hostile}");
        let (second, pw2) = Graph::login_of(&g.r.rotate().await);
        assert_eq!(second, user, "{hostile}");
        assert!(neo4j().can_login(&second, &pw2).await, "{hostile}");
        assert!(
            neo4j().can_login(&admin, &admin_password).await,
            "{hostile}"
        );
        assert!(!neo4j().user_exists("owned").await);
        integration_tests::reliability::record(
            "Hostile input: Cypher injection in user names",
            "backticks, quotes, comments, parameters",
            "Neo4j, alternating users",
        );
    }
    assert!(neo4j().user_exists("neo4j").await);
}

// ---- bad input: a clear error, nothing changed ----

#[tokio::test]
async fn malformed_uris_and_missing_keys_are_named() {
    for (edit, message) in [
        (json!({"uri": "bolt//127.0.0.1:7687"}), "has no scheme"),
        (
            json!({"uri": "http://127.0.0.1:7474"}),
            "unknown scheme \"http\"",
        ),
        (json!({"uri": "bolt://:7687"}), "no valid host"),
        (json!({"uri": null}), "no \"uri\" key"),
        (json!({"username": null}), "no \"username\" or \"user\" key"),
        (json!({"password": null}), "no \"password\" key"),
    ] {
        let g = Graph::with(
            |s| {
                for (k, v) in edit.as_object().unwrap() {
                    if v.is_null() {
                        s.as_object_mut().unwrap().remove(k);
                    } else {
                        s[k] = v.clone();
                    }
                }
            },
            Settings::default(),
        )
        .await;
        let token = g.r.sm.start_rotation(&g.r.arn).await;
        g.r.assert_rejected(Step::CreateSecret, &token, "MalformedSecret", message)
            .await;
    }
}

#[tokio::test]
async fn when_every_credential_is_refused_the_error_says_so() {
    let g = Graph::new().await;
    let token = g.r.begin().await;
    let outside = format!("outside-{}", unique("pw"));
    neo4j().set_password(&g.user, &outside).await;
    let err =
        g.r.assert_rejected(
            Step::SetSecret,
            &token,
            "NoWorkingCredentials",
            "AWSCURRENT: login to",
        )
        .await;
    assert!(err.to_string().contains("authentication failure"), "{err}");
    assert!(
        neo4j().can_login(&g.user, &outside).await,
        "the password changed"
    );
}

#[tokio::test]
async fn an_unreachable_server_fails_fast_with_the_reason() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let g = Graph::with(
        |s| s["uri"] = format!("bolt://127.0.0.1:{closed}").into(),
        Settings::default(),
    )
    .await;
    let token = g.r.begin().await;
    g.assert_rejected(
        Step::SetSecret,
        &token,
        "ServerUnreachable",
        &format!("127.0.0.1:{closed}"),
    )
    .await;
    g.assert_rejected(Step::TestSecret, &token, "ServerUnreachable", "login to")
        .await;
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_bound() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let settings = Settings {
        connect_timeout: Duration::from_secs(1),
        ..Settings::default()
    };
    let g = Graph::with(
        |s| s["uri"] = format!("bolt://127.0.0.1:{port}").into(),
        settings,
    )
    .await;
    let token = g.r.begin().await;
    let started = Instant::now();
    let err = g.r.step(Step::SetSecret, &token).await.unwrap_err();
    assert_eq!(err.error_type(), "Timeout", "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
    drop(silent);
}

#[tokio::test]
async fn a_missing_admin_secret_is_named_and_no_user_is_created() {
    let g = Graph::with(
        |s| s["masterarn"] = "no-such-neo4j-admin".into(),
        Settings::default(),
    )
    .await;
    let token = g.r.begin().await;
    g.assert_rejected(
        Step::SetSecret,
        &token,
        "AdminSecretUnusable",
        "no-such-neo4j-admin",
    )
    .await;
    assert!(!neo4j().user_exists(&format!("{}_clone", g.user)).await);
}

/// An admin user and a secret for it, edited by `edit`; answers its ARN and password.
async fn admin_secret(edit: impl FnOnce(&mut Value)) -> (String, String, String) {
    let admin = unique("admin");
    let admin_password = format!("admin-{}", unique("pw"));
    neo4j().create_user(&admin, &admin_password).await;
    let mut secret = neo4j().secret(&admin, &admin_password);
    edit(&mut secret);
    let arn = integration_tests::SecretsManager::connect()
        .await
        .create(&unique("admin"), &secret.to_string())
        .await;
    (arn, admin, admin_password)
}

#[tokio::test]
async fn an_admin_secret_without_a_uri_is_never_sent_to_the_user_secret_s_server() {
    let (arn, _, admin_password) =
        admin_secret(|s| drop(s.as_object_mut().unwrap().remove("uri"))).await;
    let g = Graph::with(|s| s["masterarn"] = arn.clone().into(), Settings::default()).await;
    let token = g.r.begin().await;
    let err = g
        .assert_rejected(
            Step::SetSecret,
            &token,
            "AdminSecretUnusable",
            "it names no server (\"uri\")",
        )
        .await;
    assert!(!err.contains(&admin_password));
    assert!(!neo4j().user_exists(&format!("{}_clone", g.user)).await);
}

#[tokio::test]
async fn the_admin_login_keeps_the_admin_secret_s_tls_whatever_the_user_secret_says() {
    // The admin secret asks for TLS; this server has none. The user secret's bolt:// must
    // not carry the admin password over plaintext.
    let (arn, _, _) = admin_secret(|s| {
        let uri = s["uri"].as_str().unwrap().replace("bolt://", "bolt+s://");
        s["uri"] = uri.into();
    })
    .await;
    let g = Graph::with(|s| s["masterarn"] = arn.clone().into(), Settings::default()).await;
    let token = g.r.begin().await;
    g.assert_rejected(
        Step::SetSecret,
        &token,
        "TlsFailure",
        "with the admin secret's credentials",
    )
    .await;
    assert!(!neo4j().user_exists(&format!("{}_clone", g.user)).await);
}

#[tokio::test]
async fn a_pending_value_with_another_uri_scheme_is_refused() {
    let g = Graph::new().await;
    let token = g.r.sm.start_rotation(&g.r.arn).await;
    let mut pending = neo4j().secret(&g.user, "attacker-chosen-pw");
    pending["uri"] = neo4j().uri().replace("bolt://", "bolt+ssc://").into();
    g.r.sm
        .put_pending(&g.r.arn, &token, &pending.to_string())
        .await;
    g.assert_rejected(
        Step::SetSecret,
        &token,
        "PendingMismatch",
        "pending uri scheme differs",
    )
    .await;
}

#[tokio::test]
async fn the_admin_never_changes_its_own_password_for_a_user_secret() {
    let (arn, admin, admin_password) = admin_secret(|_| {}).await;
    // The team names the admin's clone, so that the pending user would be the admin itself.
    let g = Graph::with(
        |s| {
            s["masterarn"] = arn.clone().into();
            s["username"] = format!("{admin}_clone").into();
        },
        Settings::default(),
    )
    .await;
    let token = g.r.begin().await;
    g.r.assert_rejected(
        Step::SetSecret,
        &token,
        "PrivilegedUser",
        "it is the admin secret's own user",
    )
    .await;
    assert!(
        neo4j().can_login(&admin, &admin_password).await,
        "the admin's password changed"
    );
}

// ---- no secret in any log ----

#[tokio::test]
async fn no_password_reaches_the_logs_at_trace_level() {
    let (logs, _guard) = LogCapture::start();
    let g = Graph::new().await;
    let mut secrets = vec![g.password.clone()];
    secrets.push(Graph::login_of(&g.r.rotate().await).1);
    let token = g.r.begin().await;
    secrets.push(Graph::login_of(&g.r.value(AWSPENDING).await).1);
    let outside = format!("outside-{}", unique("pw"));
    neo4j().set_password(&g.user, &outside).await;
    secrets.push(outside);
    assert!(g.r.step(Step::SetSecret, &token).await.is_err());
    assert!(g.r.step(Step::TestSecret, &token).await.is_err());

    let text = logs.text();
    assert!(
        text.contains("step failed") && text.contains("step done"),
        "the capture missed our logs: {}",
        &text[..text.len().min(2000)]
    );
    for (i, secret) in secrets.iter().enumerate() {
        assert!(
            !text.contains(secret.as_str()),
            "secret #{i} reached the logs"
        );
    }
}
