//! TLS: what a secret asks for is what it gets.

use crate::fixture::Fixture;

use integration_tests::{LogCapture, postgres, self_signed_postgres, tls_postgres, unique};
use rotate_postgres::{Settings, TlsPolicy, TrustSettings};
use rotation_core::Step;
use serde_json::json;

#[tokio::test]
async fn ssl_true_against_a_server_without_tls_fails_and_changes_nothing() {
    let f = Fixture::new().await;
    let mut secret = postgres().secret(&f.user, &f.password);
    secret["ssl"] = true.into();
    f.sm.put_current(&f.arn, &secret.to_string()).await;
    let token = f.begin().await;
    f.assert_rejected(
        Step::SetSecret,
        &token,
        "TlsFailure",
        "server does not support TLS",
    )
    .await;
    f.assert_rejected(Step::TestSecret, &token, "TlsFailure", "TLS login to")
        .await;
}

#[tokio::test]
async fn a_secret_silent_on_tls_falls_back_to_plaintext_with_a_warning() {
    let (logs, _guard) = LogCapture::start();
    let f = Fixture::new().await;
    let mut secret = postgres().secret(&f.user, &f.password);
    secret.as_object_mut().unwrap().remove("ssl");
    f.sm.put_current(&f.arn, &secret.to_string()).await;
    let new_password = f.rotate().await;
    assert!(f.can_login(&new_password).await);
    let text = logs.text();
    assert!(
        text.contains("WARN")
            && text.contains("falling back to an unencrypted connection")
            && text.contains("the server offers no TLS"),
        "{text}"
    );
}

/// A role on the TLS cluster, with a secret for `host` carrying `tls_keys`.
async fn on_tls_cluster(host: &str, tls_keys: serde_json::Value, settings: Settings) -> Fixture {
    let cluster = tls_postgres();
    let user = unique("tls");
    let password = format!("initial-{}", unique("pw"));
    let mut secret = cluster.secret(&user, &password);
    secret["host"] = host.into();
    let object = secret.as_object_mut().unwrap();
    object.remove("ssl");
    object.extend(tls_keys.as_object().unwrap().clone());
    Fixture::on(cluster, &user, &password, secret, settings).await
}

/// setSecret and testSecret both fail on the certificate, and change nothing.
async fn assert_certificate_refused(f: &Fixture) {
    let token = f.begin().await;
    for step in [Step::SetSecret, Step::TestSecret] {
        f.assert_rejected(step, &token, "TlsFailure", "invalid peer certificate")
            .await;
    }
}

fn trusting(ca: &Option<std::path::PathBuf>) -> Settings {
    Settings {
        trust: TrustSettings {
            ca_file: ca.clone(),
        },
        ..Settings::default()
    }
}

#[tokio::test]
async fn verify_full_with_the_test_ca_rotates() {
    let (logs, _guard) = LogCapture::start();
    let settings = trusting(&tls_postgres().ca_file);
    for keys in [json!({"ssl": true}), json!({"sslmode": "verify-full"})] {
        let f = on_tls_cluster("localhost", keys, settings.clone()).await;
        let new_password = f.rotate().await;
        assert!(f.can_login(&new_password).await);
        assert!(!f.can_login(&f.password).await);
    }
    assert!(
        !logs.text().contains("falling back"),
        "a verified TLS rotation fell back"
    );
    // The bundle vouched for the server: the system store, slow to read, was never needed.
    assert!(
        !logs.text().contains(SYSTEM_ROOTS_LOADED),
        "the system's roots were read"
    );
}

#[tokio::test]
async fn a_certificate_for_another_host_name_is_refused() {
    let f = on_tls_cluster(
        "127.0.0.1",
        json!({"ssl": true}),
        trusting(&tls_postgres().ca_file),
    )
    .await;
    assert_certificate_refused(&f).await;
}

#[tokio::test]
async fn verify_ca_accepts_the_chain_without_the_host_name() {
    let f = on_tls_cluster(
        "127.0.0.1",
        json!({"sslmode": "verify-ca"}),
        trusting(&tls_postgres().ca_file),
    )
    .await;
    let new_password = f.rotate().await;
    assert!(f.can_login(&new_password).await);
}

const SYSTEM_ROOTS_LOADED: &str = "loaded the system's root certificates";

#[tokio::test]
async fn an_unknown_ca_is_refused() {
    let (logs, _guard) = LogCapture::start();
    let f = on_tls_cluster(
        "localhost",
        json!({"ssl": true}),
        trusting(&tls_postgres().other_ca_file),
    )
    .await;
    assert_certificate_refused(&f).await;
    // Trusted roots are the bundle's and the system's: the system's were asked too.
    assert!(logs.text().contains(SYSTEM_ROOTS_LOADED), "{}", logs.text());
}

#[tokio::test]
async fn sslmode_require_encrypts_without_checking_the_certificate() {
    // libpq's meaning of `require`; with a CA file configured it would check the chain.
    let f = on_tls_cluster(
        "localhost",
        json!({"sslmode": "require"}),
        Settings::default(),
    )
    .await;
    let new_password = f.rotate().await;
    assert!(f.can_login(&new_password).await);

    let g = on_tls_cluster(
        "localhost",
        json!({"sslmode": "require"}),
        trusting(&tls_postgres().other_ca_file),
    )
    .await;
    assert_certificate_refused(&g).await;
}

#[tokio::test]
async fn a_secret_silent_on_tls_uses_verified_tls_when_it_can() {
    let (logs, _guard) = LogCapture::start();
    let f = on_tls_cluster("localhost", json!({}), trusting(&tls_postgres().ca_file)).await;
    f.rotate().await;
    assert!(
        !logs.text().contains("falling back"),
        "fell back although TLS verified"
    );
}

/// A role on the TLS cluster that the server lets in over TLS only, and a secret for it on
/// `localhost` carrying `tls_keys`: a rotation that works proves TLS was used.
async fn tls_only(tls_keys: serde_json::Value, settings: Settings) -> Fixture {
    let cluster = tls_postgres();
    let user = unique("tls_only");
    let password = format!("initial-{}", unique("pw"));
    cluster.create_tls_only_role(&user, &password).await;
    let mut secret = cluster.secret(&user, &password);
    secret["host"] = "localhost".into();
    let object = secret.as_object_mut().unwrap();
    object.remove("ssl");
    object.extend(tls_keys.as_object().unwrap().clone());
    Fixture::existing(
        cluster,
        &user,
        &password,
        secret,
        rotate_postgres::engine(settings),
    )
    .await
}

#[tokio::test]
async fn a_secret_silent_on_tls_falls_back_to_unverified_tls_with_a_warning_and_pgsslmode_forbids_it()
 {
    let (logs, _guard) = LogCapture::start();
    // The certificate cannot be verified (another CA is trusted), and the server refuses
    // plaintext for this role: only unverified TLS can work.
    let f = tls_only(json!({}), trusting(&tls_postgres().other_ca_file)).await;
    f.rotate().await;
    let text = logs.text();
    assert!(
        text.contains("WARN") && text.contains("using TLS without verification"),
        "{text}"
    );
    assert!(
        !text.contains("falling back to an unencrypted connection"),
        "{text}"
    );

    // PGSSLMODE=verify-full: the same secret, and no fallback.
    let strict = Settings {
        default_tls: TlsPolicy::VerifyFull,
        ..trusting(&tls_postgres().other_ca_file)
    };
    let g = on_tls_cluster("localhost", json!({}), strict).await;
    assert_certificate_refused(&g).await;
}

#[tokio::test]
async fn a_server_that_demands_tls_is_reported_as_a_tls_problem_not_a_refused_login() {
    for keys in [json!({"ssl": false}), json!({"sslmode": "disable"})] {
        let f = tls_only(keys, Settings::default()).await;
        let token = f.begin().await;
        // Not Fixture::assert_rejected: its proof that the password is unchanged logs in
        // without TLS, which this role cannot.
        let err = (*f)
            .assert_rejected(Step::SetSecret, &token, "TlsFailure", "requires TLS")
            .await;
        assert!(err.to_string().contains("no encryption"), "{err}");
    }
}

#[tokio::test]
async fn postgres_s_own_self_signed_certificate_recipe_verifies_the_host_name_like_libpq() {
    // `openssl req -new -x509 ... -subj "/CN=localhost"`: a CA:TRUE certificate naming the
    // host only in its common name, given as the root certificate file.
    let cluster = self_signed_postgres();
    let settings = trusting(&cluster.ca_file);
    for (host, verifies) in [("localhost", true), ("127.0.0.1", false)] {
        let user = unique("self_signed");
        let password = format!("initial-{}", unique("pw"));
        let mut secret = cluster.secret(&user, &password);
        secret["host"] = host.into();
        secret.as_object_mut().unwrap().remove("ssl");
        secret["sslmode"] = "verify-full".into();
        let f = Fixture::on(cluster, &user, &password, secret, settings.clone()).await;
        if verifies {
            let new_password = f.rotate().await;
            assert!(f.can_login(&new_password).await);
            assert!(!f.can_login(&password).await);
        } else {
            assert_certificate_refused(&f).await;
        }
    }
}

#[tokio::test]
async fn an_unreadable_ca_bundle_is_a_configuration_error() {
    let f = on_tls_cluster(
        "localhost",
        json!({"ssl": true}),
        trusting(&Some("/nonexistent/rds-ca.pem".into())),
    )
    .await;
    let token = f.begin().await;
    f.assert_rejected(
        Step::SetSecret,
        &token,
        "ConfigurationError",
        "/nonexistent/rds-ca.pem",
    )
    .await;
}
