//! `rotate run`: a whole rotation without Lambda, leaving the secret as a Lambda rotation
//! would, and refusing while another rotation is under way.

use integration_tests::{SecretsManager, install_crypto_provider, moto, postgres, rotate, unique};
use rotation_core::{AWSCURRENT, AWSPREVIOUS};

use crate::{PENDING, PgSecret, holder, problems};

#[tokio::test]
async fn run_rotates_the_password_and_leaves_no_pending_label() {
    let pg = PgSecret::new().await;
    let old = holder(pg.sm(), pg.arn(), AWSCURRENT).await.unwrap();
    let run = rotate(&["run", "--secret-id", pg.arn()], &[])
        .await
        .expect(0);
    for step in [
        "✓ createSecret  created",
        "✓ setSecret     applied",
        "✓ testSecret    tested",
        "✓ finishSecret  finished",
    ] {
        assert!(run.stdout.contains(step), "missing {step:?}: {run:?}");
    }
    let new_password = pg.current_password().await;
    assert!(!run.text().contains(&new_password) && !run.text().contains(&pg.password));
    assert!(postgres().can_login(&pg.user, &new_password).await);
    assert!(!postgres().can_login(&pg.user, &pg.password).await);
    assert_eq!(holder(pg.sm(), pg.arn(), AWSPREVIOUS).await, Some(old));
    assert_eq!(holder(pg.sm(), pg.arn(), PENDING).await, None);
    // Rotation was never turned on: that is all status has to say.
    assert_eq!(
        problems(pg.arn()).await,
        (1, vec!["rotation-disabled".to_owned()])
    );
}

#[tokio::test]
async fn run_refuses_while_another_rotation_is_in_progress() {
    let pg = PgSecret::new().await;
    let token = pg.r.begin().await;
    let before = pg.sm().snapshot(pg.arn()).await;
    let run = rotate(&["run", "--secret-id", pg.arn()], &[])
        .await
        .expect(1);
    assert!(
        run.stderr.contains(&format!(
            "rotate: refused: another rotation is in progress: AWSPENDING is on version {token}"
        )),
        "{run:?}"
    );
    assert_eq!(pg.sm().snapshot(pg.arn()).await, before);
    assert!(postgres().can_login(&pg.user, &pg.password).await);
}

#[tokio::test]
async fn a_failed_step_stops_the_run_and_names_the_way_out() {
    let pg = PgSecret::new().await;
    postgres().set_password(&pg.user, "changed-by-a-dba").await;
    let run = rotate(&["--json", "run", "--secret-id", pg.arn()], &[])
        .await
        .expect(3);
    let doc = run.json();
    assert_eq!(doc["ok"], false);
    let steps = doc["steps"].as_array().unwrap();
    assert_eq!(steps.len(), 2, "{doc}");
    assert_eq!(steps[0]["outcome"], "created");
    assert!(
        steps[1]["error"]
            .as_str()
            .unwrap()
            .contains("(NoWorkingCredentials)"),
        "{doc}"
    );
    assert!(
        doc["hint"].as_str().unwrap().contains("repair --secret-id"),
        "{doc}"
    );
    assert_eq!(
        problems(pg.arn()).await.1,
        ["stuck-pending", "rotation-disabled"]
    );
}

#[tokio::test]
async fn run_rotates_a_jwt_key_set() {
    let sm = integration_tests::SecretsManager::connect().await;
    let arn = sm
        .create(&integration_tests::unique("jwt"), r#"{"alg": "ES256"}"#)
        .await;
    let run = rotate(
        &["--json", "run", "--secret-id", &arn, "--engine", "jwt"],
        &[],
    )
    .await
    .expect(0);
    let doc = run.json();
    let outcomes: Vec<&str> = doc["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        ["created", "nothing-to-apply", "tested", "finished"]
    );
    let current = sm.value(&arn, AWSCURRENT).await.unwrap();
    assert!(current["signing_key"].is_string());
    assert!(
        !run.text()
            .contains(current["signing_key"].as_str().unwrap())
    );
}

#[tokio::test]
async fn run_proceeds_when_awspending_was_left_on_the_current_version() {
    let pg = PgSecret::new().await;
    let token = pg.sm().start_rotation(pg.arn()).await;
    for step in rotation_core::Step::ALL {
        pg.r.step(step, &token).await.unwrap();
    }
    assert_eq!(problems(pg.arn()).await.1[0], "pending-on-current");
    rotate(&["run", "--secret-id", pg.arn()], &[])
        .await
        .expect(0);
    assert_eq!(holder(pg.sm(), pg.arn(), PENDING).await, None);
    assert_eq!(holder(pg.sm(), pg.arn(), AWSPREVIOUS).await, Some(token));
    assert!(
        postgres()
            .can_login(&pg.user, &pg.current_password().await)
            .await
    );
}

/// The tool acts as the function does: with `JWKS_BUCKET` set, the rotation it runs writes
/// the new public set to S3 (a secret with no schedule: the shortest cache lifetime).
#[tokio::test]
async fn run_publishes_the_public_set_as_the_function_does() {
    install_crypto_provider();
    let sm = SecretsManager::connect().await;
    let s3 = moto().s3().await;
    let bucket = unique("jwks").replace('_', "-");
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let name = unique("jwt/cli");
    sm.create(&name, r#"{"alg": "EdDSA"}"#).await;
    let endpoint = moto().endpoint.clone();
    let run = rotate(
        &["run", "--engine", "jwt", "--secret-id", &name],
        &[("JWKS_BUCKET", &bucket), ("AWS_ENDPOINT_URL_S3", &endpoint)],
    )
    .await
    .expect(0);
    assert!(run.stdout.contains("✓ finishSecret  finished"), "{run:?}");
    let object = s3
        .get_object()
        .bucket(&bucket)
        .key(format!("{name}/jwks.json"))
        .send()
        .await
        .expect("the set is published");
    assert_eq!(object.cache_control(), Some("public, max-age=7200"));
    let body = object.body.collect().await.unwrap().into_bytes();
    let set: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(set, sm.value(&name, AWSCURRENT).await.unwrap()["jwks"]);
}
