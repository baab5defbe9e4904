//! `rotate check`: each thing the first rotation depends on, with a clear ✗ for each failure.

use integration_tests::{SecretsManager, neo4j, postgres, rotate, unique};
use serde_json::{Value, json};

use crate::{PgAdmin, PgSecret};

/// The checks of a `--json` run, as (check, ok, detail).
fn checks(doc: &Value) -> Vec<(String, bool, String)> {
    doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["check"].as_str().unwrap().to_owned(),
                c["ok"].as_bool().unwrap(),
                c["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn failed(doc: &Value) -> Vec<(String, String)> {
    checks(doc)
        .into_iter()
        .filter(|(_, ok, _)| !ok)
        .map(|(c, _, d)| (c, d))
        .collect()
}

#[tokio::test]
async fn a_working_secret_passes_every_check_and_nothing_changes() {
    let pg = PgSecret::new().await;
    let before = pg.sm().snapshot(pg.arn()).await;
    let run = rotate(&["check", "--secret-id", pg.arn()], &[])
        .await
        .expect(0);
    assert!(
        run.stdout
            .contains(&format!("check {} (postgres)", pg.arn())),
        "{run:?}"
    );
    for line in [
        "✓ AWSCURRENT parses as a postgres secret",
        "✓ the rotation strategy: single user",
        "✓ reach postgres at 127.0.0.1:",
        &format!("✓ log in as \"{}\" with AWSCURRENT: logged in", pg.user),
        "✓ the server checks the password: it proved it holds this password's verifier (SCRAM)",
        "all 5 checks passed",
    ] {
        assert!(run.stdout.contains(line), "missing {line:?} in {run:?}");
    }
    assert!(!run.text().contains(&pg.password));
    assert_eq!(pg.sm().snapshot(pg.arn()).await, before);
    assert!(postgres().can_login(&pg.user, &pg.password).await);
}

#[tokio::test]
async fn an_unreachable_host_is_named() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let pg = PgSecret::with(|s| s["port"] = json!(port)).await;
    let run = rotate(&["--json", "check", "--secret-id", pg.arn()], &[])
        .await
        .expect(1);
    let doc = run.json();
    assert_eq!(doc["ok"], false);
    let failed = failed(&doc);
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0].0, format!("reach postgres at 127.0.0.1:{port}"));
    assert!(failed[0].1.contains("ServerUnreachable"), "{failed:?}");
}

#[tokio::test]
async fn a_wrong_password_is_named_as_refused() {
    let pg = PgSecret::new().await;
    postgres()
        .set_password(&pg.user, &unique("changed-by-hand"))
        .await;
    let run = rotate(&["--json", "check", "--secret-id", pg.arn()], &[])
        .await
        .expect(1);
    let failed = failed(&run.json());
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(
        failed[0].0,
        format!("log in as \"{}\" with AWSCURRENT", pg.user)
    );
    assert!(failed[0].1.contains("(LoginRefused)"), "{failed:?}");
    assert!(!run.text().contains(&pg.password));
}

#[tokio::test]
async fn tls_the_secret_asks_for_is_not_dropped_to_pass_a_check() {
    // The cluster has no TLS; the secret requires it.
    let pg = PgSecret::with(|s| {
        s["ssl"] = json!(true);
        s["sslmode"] = json!("require");
    })
    .await;
    let run = rotate(&["--json", "check", "--secret-id", pg.arn()], &[])
        .await
        .expect(1);
    let failed = failed(&run.json());
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(failed[0].0.starts_with("reach postgres"), "{failed:?}");
    assert!(failed[0].1.contains("(TlsFailure)"), "{failed:?}");
}

/// A user secret whose `masterarn` names an admin secret for `admin`, with the function's
/// settings that allow that admin secret.
async fn alternating(admin_createrole: bool) -> (String, Vec<(&'static str, String)>, String) {
    let PgAdmin {
        name: admin,
        arn: admin_arn,
        ..
    } = PgAdmin::new(admin_createrole).await;
    let pg = PgSecret::with(|s| s["masterarn"] = json!(admin_arn)).await;
    let env = vec![
        ("ROTATION_STRATEGY", "alternating-users".to_owned()),
        ("ADMIN_SECRET_ARN", admin_arn.clone()),
    ];
    (pg.arn().to_owned(), env, admin)
}

#[tokio::test]
async fn an_admin_secret_with_the_rights_passes() {
    let (arn, env, admin) = alternating(true).await;
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = rotate(&["--json", "check", "--secret-id", &arn], &env)
        .await
        .expect(0);
    let checks = checks(&run.json());
    let rights = checks
        .iter()
        .find(|c| c.0.starts_with("the admin user may manage"))
        .unwrap();
    assert_eq!(rights.2, format!("\"{admin}\" has CREATEROLE"));
    assert!(
        checks
            .iter()
            .any(|c| c.0.starts_with("log in with the admin secret") && c.1)
    );
}

#[tokio::test]
async fn an_admin_without_createrole_is_caught_before_the_first_rotation() {
    let (arn, env, admin) = alternating(false).await;
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = rotate(&["check", "--secret-id", &arn], &env)
        .await
        .expect(1);
    assert!(
        run.stdout.contains(&format!(
            "✗ the admin user may manage \"{user}\" and \"{user}_clone\": \"{admin}\" lacks CREATEROLE",
            user = arn_user(&run.stdout)
        )),
        "{run:?}"
    );
    assert!(run.stdout.contains("1 of 7 checks failed"), "{run:?}");
}

/// The user name in the "log in as" line.
fn arn_user(text: &str) -> String {
    let start = text.find("log in as \"").unwrap() + "log in as \"".len();
    text[start..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn neo4j_and_jwt_secrets_are_checked_by_their_engines() {
    let sm = SecretsManager::connect().await;
    let user = unique("graph");
    let password = unique("pw-neo4j");
    neo4j().create_user(&user, &password).await;
    let arn = sm
        .create(
            &unique("graph"),
            &neo4j().secret(&user, &password).to_string(),
        )
        .await;
    let run = rotate(&["check", "--secret-id", &arn], &[]).await.expect(0);
    assert!(run.stdout.contains("(neo4j)"), "{run:?}");
    assert!(run.stdout.contains("all 4 checks passed"), "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("✓ log in as \"{user}\" with AWSCURRENT")),
        "{run:?}"
    );

    let bare = "k".repeat(48);
    let arn = sm.create(&unique("jwt"), &bare).await;
    let run = rotate(&["check", "--secret-id", &arn], &[]).await.expect(0);
    assert!(run.stdout.contains("(jwt)"), "{run:?}");
    assert!(run.stdout.contains("a bare key string"), "{run:?}");
    assert!(!run.text().contains(&bare));

    let arn = sm
        .create(
            &unique("jwt"),
            &json!({"alg": "ES256", "signing_key": "not a key"}).to_string(),
        )
        .await;
    let run = rotate(&["check", "--secret-id", &arn], &[]).await.expect(1);
    assert!(
        run.stdout
            .contains("✗ AWSCURRENT parses as a JWT signing key"),
        "{run:?}"
    );
    assert!(run.stdout.contains("(MalformedSecret)"), "{run:?}");
}

/// A server that lets the user in without asking for a password (trust authentication) would
/// pass any login: check says so, and repair will not decide anything from such a login.
#[tokio::test]
async fn a_server_that_does_not_check_passwords_fails_check_and_repair_refuses() {
    let attacker = integration_tests::attacker_postgres();
    let user = unique("trusted");
    let password = unique("pw");
    attacker
        .create_role_in_group(&user, &password, integration_tests::PgCluster::TRUST_AUTH)
        .await;
    let r = integration_tests::Rotation::new(
        &attacker.secret(&user, &password),
        rotate_postgres::engine(Default::default()),
    )
    .await;
    let run = rotate(&["check", "--secret-id", &r.arn], &[])
        .await
        .expect(1);
    assert!(
        run.stdout
            .contains("✗ the server checks the password: postgres at 127.0.0.1:")
            && run.stdout.contains("without asking for a password"),
        "{run:?}"
    );

    r.begin().await;
    let before = r.sm.snapshot(&r.arn).await;
    let run = rotate(&["repair", "--secret-id", &r.arn, "--apply"], &[])
        .await
        .expect(1);
    assert!(
        run.stderr
            .contains("cannot tell which stored credentials work"),
        "{run:?}"
    );
    assert!(
        run.stderr.contains("without asking for a password"),
        "{run:?}"
    );
    assert_eq!(r.sm.snapshot(&r.arn).await, before);
}

#[tokio::test]
async fn a_neo4j_admin_secret_is_checked_on_community_edition() {
    let sm = SecretsManager::connect().await;
    let admin = unique("admin");
    let admin_password = unique("admin-pw");
    neo4j().create_user(&admin, &admin_password).await;
    let admin_arn = sm
        .create(
            &unique("admin"),
            &neo4j().secret(&admin, &admin_password).to_string(),
        )
        .await;
    let user = unique("graph");
    let password = unique("pw-neo4j");
    neo4j().create_user(&user, &password).await;
    let mut secret = neo4j().secret(&user, &password);
    secret["masterarn"] = json!(admin_arn);
    let arn = sm.create(&unique("graph"), &secret.to_string()).await;
    let run = rotate(
        &["check", "--secret-id", &arn],
        &[("ADMIN_SECRET_ARN", &admin_arn)],
    )
    .await
    .expect(0);
    for line in [
        format!(
            "✓ the rotation strategy: alternating users: the admin secret {admin_arn} sets the password of \"{user}_clone\""
        ),
        format!("✓ log in with the admin secret {admin_arn}: logged in"),
        format!(
            "✓ the admin user may manage \"{user}\" and \"{user}_clone\": Community Edition has no roles: every user may manage users"
        ),
        "all 6 checks passed".to_owned(),
    ] {
        assert!(run.stdout.contains(&line), "missing {line:?}: {run:?}");
    }
    assert!(!run.text().contains(&admin_password) && !run.text().contains(&password));
}

/// The function refuses to change a user that can administer roles with admin credentials
/// (the application team writes the user secret); check says so before rotation is on.
#[tokio::test]
async fn a_user_the_function_would_refuse_to_manage_is_caught() {
    let admin_arn = PgAdmin::new(true).await.arn;
    let sm = SecretsManager::connect().await;
    let user = unique("powerful");
    let password = unique("pw");
    postgres().create_admin(&user, &password).await;
    let mut secret = postgres().secret(&user, &password);
    secret["masterarn"] = json!(admin_arn);
    let arn = sm.create(&unique("secret"), &secret.to_string()).await;
    let run = rotate(
        &["check", "--secret-id", &arn],
        &[("ADMIN_SECRET_ARN", &admin_arn)],
    )
    .await
    .expect(1);
    assert!(
        run.stdout.contains(&format!(
            "✗ the admin user may manage \"{user}\" and \"{user}_clone\": \"{user}\" is able to create and alter roles; the function refuses to change such a user with admin credentials"
        )),
        "{run:?}"
    );
}

/// With --function, the engine is configured as that function is, from its environment, which
/// only the deployer writes; it must be the function the secret names.
#[tokio::test]
async fn settings_come_from_the_function_the_operator_names() {
    let admin_arn = PgAdmin::new(true).await.arn;
    let pg = PgSecret::with(|s| s["masterarn"] = json!(admin_arn)).await;
    let function = integration_tests::moto().configured_function(
        &unique("rotate-postgres"),
        &[
            ("ROTATION_STRATEGY", "alternating-users"),
            ("ADMIN_SECRET_ARN", &admin_arn),
        ],
    );
    let token = pg.sm().start_rotation_with(pg.arn(), &function).await;
    pg.sm().complete_rotation(pg.arn(), &token).await;

    let run = rotate(
        &["check", "--secret-id", pg.arn(), "--function", &function],
        &[],
    )
    .await
    .expect(0);
    assert!(
        run.stdout
            .contains(&format!("settings: function {function}")),
        "{run:?}"
    );
    assert!(
        run.stdout
            .contains("✓ the rotation strategy: alternating users"),
        "{run:?}"
    );
    assert!(run.stdout.contains("all 7 checks passed"), "{run:?}");

    // Without --function the settings are this shell's, which allow no admin secret: the
    // function a secret names is not trusted to configure a check on the operator's behalf.
    let run = rotate(&["check", "--secret-id", pg.arn()], &[])
        .await
        .expect(1);
    assert!(
        run.stdout.contains("settings: this shell's environment"),
        "{run:?}"
    );
    assert!(run.stdout.contains("✗ the rotation strategy: "), "{run:?}");

    // Another function's configuration is not this secret's.
    let other = integration_tests::moto().configured_function(&unique("rotate-other"), &[]);
    let run = rotate(
        &["check", "--secret-id", pg.arn(), "--function", &other],
        &[],
    )
    .await
    .expect(1);
    assert!(
        run.stderr.contains(&format!(
            "the secret is rotated by {function}, not by --function {other}"
        )),
        "{run:?}"
    );
}
