//! `rotate status` names each bad state with its fix; `rotate repair` clears each stuck state
//! after asking the server which credentials work, and status then reports the secret healthy.

use integration_tests::{SecretsManager, neo4j, postgres, rotate, unique};
use rotation_core::{AWSCURRENT, AWSPREVIOUS, Step};
use serde_json::json;

use crate::{PENDING, PgAdmin, PgSecret, enable_rotation, holder, problems};

#[tokio::test]
async fn a_scheduled_secret_with_no_rotation_under_way_is_healthy() {
    let pg = PgSecret::new().await;
    enable_rotation(pg.sm(), pg.arn()).await;
    let run = rotate(&["status", "--secret-id", pg.arn()], &[])
        .await
        .expect(0);
    for line in [
        "rotation       enabled",
        "schedule       every 30 days",
        "AWSCURRENT",
        "✓ healthy",
    ] {
        assert!(run.stdout.contains(line), "missing {line:?}: {run:?}");
    }
    let doc = rotate(&["--json", "status", "--secret-id", pg.arn()], &[])
        .await
        .expect(0)
        .json();
    assert_eq!(doc["healthy"], true);
    assert_eq!(doc["rotation"]["enabled"], true);
    assert_eq!(doc["rotation"]["automatically_after_days"], 30);
    assert!(
        doc["rotation"]["function"]
            .as_str()
            .unwrap()
            .starts_with("arn:aws:lambda:")
    );
    assert_eq!(doc["versions"].as_array().unwrap().len(), 1);
    assert_eq!(doc["versions"][0]["stages"], json!([AWSCURRENT]));
}

#[tokio::test]
async fn rotation_that_is_off_or_has_no_function_is_named_with_the_command_that_fixes_it() {
    let pg = PgSecret::new().await;
    let run = rotate(&["status", "--secret-id", pg.arn()], &[])
        .await
        .expect(1);
    assert!(
        run.stdout
            .contains("✗ rotation-disabled: rotation is not enabled"),
        "{run:?}"
    );
    assert!(
        run.stdout.contains(&format!(
            "fix: aws --region us-east-1 --endpoint-url {} secretsmanager rotate-secret --secret-id {} --rotation-lambda-arn FUNCTION_ARN --rotation-rules AutomaticallyAfterDays=30",
            integration_tests::moto().endpoint,
            pg.arn()
        )),
        "{run:?}"
    );

    // Rotation on, and then the function is deleted.
    // Nothing serves the function: moto's invocation of it times out after a second.
    let function =
        integration_tests::moto().register_function_with_timeout(&unique("rotate-postgres"), 1);
    let _ = pg
        .sm()
        .schedule_without_rotating(pg.arn(), &function.arn)
        .await;
    integration_tests::moto().delete_function(&function.arn);
    let run = rotate(&["status", "--secret-id", pg.arn()], &[])
        .await
        .expect(1);
    assert!(
        run.stdout
            .contains(&format!("{} (does not exist)", function.arn)),
        "{run:?}"
    );
    assert!(run.stdout.contains(&format!("✗ no-function: rotation is enabled but the rotation function {} does not exist: every rotation fails", function.arn)), "{run:?}");
    assert!(
        run.stdout.contains("--rotation-lambda-arn FUNCTION_ARN"),
        "{run:?}"
    );
}

#[tokio::test]
async fn an_empty_pending_version_is_named_and_repair_clears_it() {
    let pg = PgSecret::new().await;
    let token = pg.sm().start_rotation(pg.arn()).await;
    assert_eq!(
        problems(pg.arn()).await,
        (1, vec!["empty-pending".to_owned()])
    );
    let run = rotate(&["status", "--secret-id", pg.arn()], &[])
        .await
        .expect(1);
    assert!(
        run.stdout
            .contains(&format!("{token}  AWSPENDING (no value)")),
        "{run:?}"
    );
    assert!(
        run.stdout.contains(&format!(
            "fix: rotate --region us-east-1 --endpoint-url {} repair --secret-id {} --apply",
            integration_tests::moto().endpoint,
            pg.arn()
        )),
        "{run:?}"
    );

    let before = pg.sm().snapshot(pg.arn()).await;
    let dry = rotate(&["repair", "--secret-id", pg.arn()], &[])
        .await
        .expect(0);
    assert!(
        dry.stdout.contains(&format!(
            "AWSCURRENT works (\"{}\" logs in at 127.0.0.1:",
            pg.user
        )),
        "{dry:?}"
    );
    assert!(
        dry.stdout
            .contains(&format!("- remove AWSPENDING from version {token}")),
        "{dry:?}"
    );
    assert!(dry.stdout.contains("dry run: nothing changed"), "{dry:?}");
    assert_eq!(pg.sm().snapshot(pg.arn()).await, before);

    rotate(&["repair", "--secret-id", pg.arn(), "--apply"], &[])
        .await
        .expect(0);
    assert_eq!(problems(pg.arn()).await, (0, vec![]));
    assert!(
        postgres()
            .can_login(&pg.user, &pg.current_password().await)
            .await
    );
}

#[tokio::test]
async fn a_rotation_stuck_after_setsecret_is_finished_by_repair() {
    let pg = PgSecret::new().await;
    let token = pg.r.begin().await;
    pg.r.step(Step::SetSecret, &token).await.unwrap();
    // The server now holds the pending password; AWSCURRENT's is refused.
    assert!(!postgres().can_login(&pg.user, &pg.password).await);
    assert_eq!(
        problems(pg.arn()).await,
        (1, vec!["stuck-pending".to_owned()])
    );

    let run = rotate(
        &["--json", "repair", "--secret-id", pg.arn(), "--apply"],
        &[],
    )
    .await
    .expect(0);
    let doc = run.json();
    assert_eq!(doc["applied"], true);
    assert!(
        doc["reason"]
            .as_str()
            .unwrap()
            .starts_with("AWSPENDING works"),
        "{doc}"
    );
    assert_eq!(doc["moves"].as_array().unwrap().len(), 2);
    assert!(!run.text().contains(&pg.password));

    assert_eq!(problems(pg.arn()).await, (0, vec![]));
    assert_eq!(
        holder(pg.sm(), pg.arn(), AWSCURRENT).await.as_deref(),
        Some(token.as_str())
    );
    assert!(holder(pg.sm(), pg.arn(), AWSPREVIOUS).await.is_some());
    assert!(
        postgres()
            .can_login(&pg.user, &pg.current_password().await)
            .await
    );
}

#[tokio::test]
async fn a_rotation_stuck_before_setsecret_keeps_the_current_password() {
    let pg = PgSecret::new().await;
    let token = pg.r.begin().await;
    assert_eq!(
        problems(pg.arn()).await,
        (1, vec!["stuck-pending".to_owned()])
    );
    let current = holder(pg.sm(), pg.arn(), AWSCURRENT).await;
    rotate(&["repair", "--secret-id", pg.arn(), "--apply"], &[])
        .await
        .expect(0);
    assert_eq!(problems(pg.arn()).await, (0, vec![]));
    assert_eq!(holder(pg.sm(), pg.arn(), AWSCURRENT).await, current);
    assert!(!pg.sm().stages(pg.arn()).await[&token].contains(&PENDING.to_owned()));
    assert!(postgres().can_login(&pg.user, &pg.password).await);
}

#[tokio::test]
async fn pending_left_on_the_current_version_is_named_and_cleared() {
    let pg = PgSecret::new().await;
    let token = pg.sm().start_rotation(pg.arn()).await;
    for step in Step::ALL {
        pg.r.step(step, &token).await.unwrap();
    }
    // finishSecret moved AWSCURRENT; nothing took AWSPENDING off the version.
    assert_eq!(
        problems(pg.arn()).await,
        (1, vec!["pending-on-current".to_owned()])
    );
    let run = rotate(&["repair", "--secret-id", pg.arn(), "--apply"], &[])
        .await
        .expect(0);
    assert!(
        run.stdout.contains(&format!(
            "AWSPENDING was left on the current version {token}"
        )),
        "{run:?}"
    );
    assert_eq!(problems(pg.arn()).await, (0, vec![]));
}

#[tokio::test]
async fn repair_refuses_when_no_stored_password_works() {
    let pg = PgSecret::new().await;
    pg.r.begin().await;
    postgres()
        .set_password(&pg.user, &unique("set-by-hand"))
        .await;
    let before = pg.sm().snapshot(pg.arn()).await;
    let run = rotate(&["repair", "--secret-id", pg.arn(), "--apply"], &[])
        .await
        .expect(1);
    assert!(
        run.stderr.contains(
            "rotate: refused: no stored version works, so nothing was changed (AWSCURRENT: "
        ),
        "{run:?}"
    );
    assert!(run.stderr.contains("; AWSPENDING: "), "{run:?}");
    assert_eq!(pg.sm().snapshot(pg.arn()).await, before);
}

#[tokio::test]
async fn repair_refuses_when_the_server_cannot_be_reached() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let pg = PgSecret::with(|s| s["port"] = json!(port)).await;
    let sm = pg.sm();
    let token = sm.start_rotation(pg.arn()).await;
    sm.put_pending(
        pg.arn(),
        &token,
        &postgres().secret(&pg.user, "another").to_string(),
    )
    .await;
    let before = sm.snapshot(pg.arn()).await;
    let run = rotate(&["repair", "--secret-id", pg.arn(), "--apply"], &[])
        .await
        .expect(1);
    assert!(
        run.stderr.contains(
            "cannot tell which stored credentials work, so nothing was changed: AWSCURRENT:"
        ),
        "{run:?}"
    );
    assert!(run.stderr.contains("(ServerUnreachable)"), "{run:?}");
    assert_eq!(sm.snapshot(pg.arn()).await, before);
}

#[tokio::test]
async fn a_neo4j_rotation_stuck_after_setsecret_is_finished_by_repair() {
    let sm = SecretsManager::connect().await;
    let user = unique("graph");
    let password = unique("pw-neo4j");
    neo4j().create_user(&user, &password).await;
    let r = integration_tests::Rotation::new(
        &neo4j().secret(&user, &password),
        rotate_neo4j::engine(Default::default()),
    )
    .await;
    let token = r.begin().await;
    r.step(Step::SetSecret, &token).await.unwrap();
    assert_eq!(
        problems(&r.arn).await,
        (1, vec!["stuck-pending".to_owned()])
    );
    rotate(&["repair", "--secret-id", &r.arn, "--apply"], &[])
        .await
        .expect(0);
    assert_eq!(problems(&r.arn).await, (0, vec![]));
    let current = r.value(AWSCURRENT).await;
    assert!(
        neo4j()
            .can_login(&user, current["password"].as_str().unwrap())
            .await
    );
    drop(sm);
}

#[tokio::test]
async fn a_stuck_jwt_rotation_keeps_the_current_key() {
    let r = integration_tests::Rotation::from_text(
        r#"{"alg": "ES256"}"#,
        rotate_jwt::JwtEngine::new(Default::default()),
    )
    .await;
    r.rotate().await;
    let current = holder(&r.sm, &r.arn, AWSCURRENT).await;
    r.begin().await;
    assert_eq!(
        problems(&r.arn).await,
        (1, vec!["stuck-pending".to_owned()])
    );
    let run = rotate(&["repair", "--secret-id", &r.arn, "--apply"], &[])
        .await
        .expect(0);
    assert!(
        run.stdout.contains("AWSCURRENT works (ES256 signing key"),
        "{run:?}"
    );
    assert_eq!(problems(&r.arn).await, (0, vec![]));
    assert_eq!(holder(&r.sm, &r.arn, AWSCURRENT).await, current);
}

/// A pending value the application team rewrote to point elsewhere is judged as setSecret
/// judges it: not tried, so never promoted, and no password goes to the other server.
#[tokio::test]
async fn repair_never_tries_a_pending_value_that_points_at_another_server() {
    let pg = PgSecret::new().await;
    let token = pg.sm().start_rotation(pg.arn()).await;
    let elsewhere = integration_tests::attacker_postgres();
    let decoy = unique("decoy");
    elsewhere.create_role(&decoy, "decoy-password").await;
    let mut tampered = elsewhere.secret(&pg.user, "decoy-password");
    tampered["username"] = json!(pg.user);
    elsewhere.create_role(&pg.user, "decoy-password").await;
    pg.sm()
        .put_pending(pg.arn(), &token, &tampered.to_string())
        .await;
    // AWSCURRENT no longer logs in, so only the tampered value could "work".
    postgres()
        .set_password(&pg.user, &unique("set-by-hand"))
        .await;
    let before = pg.sm().snapshot(pg.arn()).await;
    let run = rotate(&["repair", "--secret-id", pg.arn(), "--apply"], &[])
        .await
        .expect(1);
    assert!(
        run.stderr
            .contains("AWSPENDING: its port differs from AWSCURRENT's, so it is not tried"),
        "{run:?}"
    );
    assert_eq!(pg.sm().snapshot(pg.arn()).await, before);
    assert!(
        elsewhere.logins_of(&pg.user).is_empty(),
        "{:?}",
        elsewhere.logins_of(&pg.user)
    );
}

/// Alternating users: the clone's new password is set, AWSCURRENT still works too. Dropping
/// AWSPENDING would leave the clone's working password without a label; repair finishes the
/// rotation with the function's steps instead, which also proves the clone acts as the user.
#[tokio::test]
async fn an_alternating_rotation_stuck_after_setsecret_is_finished_not_dropped() {
    let admin_arn = PgAdmin::new(true).await.arn;
    let user = unique("app");
    let password = unique("pw");
    postgres().create_role(&user, &password).await;
    let mut secret = postgres().secret(&user, &password);
    secret["masterarn"] = json!(admin_arn);
    let mut settings = rotate_postgres::Settings::default();
    settings.login.strategy.admin_secret = Some(admin_arn.clone());
    let r = integration_tests::Rotation::new(&secret, rotate_postgres::engine(settings)).await;
    // The function is configured for this admin secret, as its deployer would; repair reads
    // that configuration, so no setting comes from this shell.
    let function = integration_tests::moto().configured_function(
        &unique("rotate-postgres"),
        &[("ADMIN_SECRET_ARN", &admin_arn)],
    );
    let token = r.sm.start_rotation_with(&r.arn, &function).await;
    r.step(Step::CreateSecret, &token).await.unwrap();
    r.step(Step::SetSecret, &token).await.unwrap();
    assert!(postgres().can_login(&user, &password).await);
    assert_eq!(
        problems(&r.arn).await,
        (1, vec!["stuck-pending".to_owned()])
    );

    let dry = rotate(
        &["repair", "--secret-id", &r.arn, "--function", &function],
        &[],
    )
    .await
    .expect(0);
    assert!(
        dry.stdout
            .contains(&format!("settings: function {function}")),
        "{dry:?}"
    );
    assert!(
        dry.stdout.contains(&format!(
            "- finish the rotation of version {token}: setSecret, testSecret and finishSecret"
        )),
        "{dry:?}"
    );
    rotate(
        &[
            "repair",
            "--secret-id",
            &r.arn,
            "--apply",
            "--function",
            &function,
        ],
        &[],
    )
    .await
    .expect(0);
    assert_eq!(problems(&r.arn).await, (0, vec![]));
    let current = r.value(AWSCURRENT).await;
    assert_eq!(current["username"], format!("{user}_clone"));
    assert!(
        postgres()
            .can_login(
                &format!("{user}_clone"),
                current["password"].as_str().unwrap()
            )
            .await
    );
    assert_eq!(r.value(AWSPREVIOUS).await["password"], password.as_str());
}

/// --endpoint-url is Secrets Manager's alone; when Lambda cannot be asked whether the function
/// exists, status says so and does not call the secret unhealthy.
#[tokio::test]
async fn a_function_that_cannot_be_looked_up_is_reported_as_not_checked() {
    let pg = PgSecret::new().await;
    enable_rotation(pg.sm(), pg.arn()).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let lambda = format!("http://127.0.0.1:{closed}");
    let env = [("AWS_ENDPOINT_URL_LAMBDA", lambda.as_str())];
    let run = rotate(&["status", "--secret-id", pg.arn()], &env)
        .await
        .expect(0);
    assert!(run.stdout.contains(" (not checked: "), "{run:?}");
    assert!(run.stdout.contains("✓ healthy"), "{run:?}");
}

/// PostgreSQL refuses a role without LOGIN (SQLSTATE 28000) whatever the password: that says
/// nothing about which password is right, so repair does not decide from it.
#[tokio::test]
async fn a_login_refused_for_another_reason_than_the_password_stops_repair() {
    let pg = PgSecret::new().await;
    pg.r.begin().await;
    postgres()
        .superuser()
        .await
        .batch_execute(&format!("ALTER ROLE \"{}\" NOLOGIN", pg.user))
        .await
        .unwrap();
    let before = pg.sm().snapshot(pg.arn()).await;
    let run = rotate(&["repair", "--secret-id", pg.arn(), "--apply"], &[])
        .await
        .expect(1);
    assert!(
        run.stderr.contains(
            "cannot tell which stored credentials work, so nothing was changed: AWSCURRENT: "
        ),
        "{run:?}"
    );
    assert!(run.stderr.contains("is not permitted to log in"), "{run:?}");
    assert_eq!(pg.sm().snapshot(pg.arn()).await, before);
}

#[tokio::test]
async fn a_pending_value_for_another_user_is_not_tried() {
    let pg = PgSecret::new().await;
    let token = pg.sm().start_rotation(pg.arn()).await;
    let other = unique("other");
    postgres().create_role(&other, "other-password").await;
    let pending = postgres().secret(&other, "other-password");
    pg.sm()
        .put_pending(pg.arn(), &token, &pending.to_string())
        .await;
    postgres()
        .set_password(&pg.user, &unique("set-by-hand"))
        .await;
    let run = rotate(&["repair", "--secret-id", pg.arn(), "--apply"], &[])
        .await
        .expect(1);
    assert!(
        run.stderr.contains(&format!("AWSPENDING: it names user \"{other}\", not \"{}\" that this rotation expects, so it is not tried", pg.user)),
        "{run:?}"
    );
}

/// Outside Lambda without credentials, the SDK's last resort (IMDS) refuses, and that is all
/// it says: the error names what to set instead.
#[tokio::test]
async fn missing_credentials_are_named_rather_than_imds() {
    let run = rotate(
        &["status", "--secret-id", "any/secret"],
        &[("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "")],
    )
    .await;
    assert_ne!(run.code, 0, "{run:?}");
    assert!(
        run.stderr
            .contains("no AWS credentials found: outside Lambda set AWS_ACCESS_KEY_ID"),
        "{run:?}"
    );
}
