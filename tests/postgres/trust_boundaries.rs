//! Admin credentials go only where the admin side says, never in a revealing form; and a
//! server that lets anyone in cannot pass testSecret.
//!
//! The user secret is often writable by an application team, the admin secret only by DBAs.
//! A second cluster stands for a server the application team controls: it logs every
//! connection, so a test can prove the admin login never reached it.

use crate::fixture::Fixture;

use integration_tests::{
    PgCluster, SecretsManager, attacker_postgres, moto, postgres, tls_postgres, unique,
};
use rotate_postgres::{PostgresEngine, Settings, TrustSettings};
use rotation_core::{AWSCURRENT, AwsRds, Step};
use serde_json::{Value, json};

async fn create_secret(value: &Value) -> String {
    SecretsManager::connect()
        .await
        .create(&unique("admin"), &value.to_string())
        .await
}

/// Settings of a function deployed for the admin secret `admin_arn` (ADMIN_SECRET_ARN).
fn admin_settings(admin_arn: &str) -> Settings {
    let mut settings = Settings::default();
    settings.login.strategy.admin_secret = Some(admin_arn.to_owned());
    settings
}

/// The engine as the function builds it (RDS endpoints looked up, here in moto), configured
/// by `settings`.
async fn deployed(settings: Settings) -> PostgresEngine {
    rotate_postgres::engine(settings)
        .with_directory(AwsRds::from_config(&moto().sdk_config().await))
}

/// A user role on the attacker's cluster, and a secret for it naming `admin_arn`.
async fn pointed_at_attacker(admin_arn: &str) -> Fixture {
    let attacker = attacker_postgres();
    let user = unique("app");
    let password = format!("initial-{}", unique("pw"));
    attacker.create_role(&user, &password).await;
    let mut secret = attacker.secret(&user, &password);
    secret["masterarn"] = admin_arn.into();
    let engine = deployed(admin_settings(admin_arn)).await;
    Fixture::existing(attacker, &user, &password, secret, engine).await
}

#[tokio::test]
async fn a_user_secret_pointing_at_another_server_never_receives_the_admin_login() {
    let admin = unique("admin");
    let admin_password = format!("admin-{}", unique("pw"));
    postgres().create_admin(&admin, &admin_password).await;
    for (admin_secret, error_type, message) in [
        // Shaped like an RDS-managed master secret, but not one: it names no server.
        (
            json!({"username": admin, "password": admin_password}),
            "AdminSecretUnusable",
            "not a master secret that RDS manages",
        ),
        // It names its server, on the same host as the attacker's but another port.
        (
            postgres().secret(&admin, &admin_password),
            "AdminHostMismatch",
            "which is not the admin secret's server",
        ),
    ] {
        let f = pointed_at_attacker(&create_secret(&admin_secret).await).await;
        let token = f.begin().await;
        let err = f
            .assert_rejected(Step::SetSecret, &token, error_type, message)
            .await;
        assert!(!err.to_string().contains(&admin_password));
        assert_eq!(
            attacker_postgres().logins_of(&admin),
            Vec::<String>::new(),
            "the admin login reached the server the user secret names"
        );
    }
}

#[tokio::test]
async fn admin_logins_never_answer_a_request_for_the_cleartext_password() {
    let attacker = attacker_postgres();
    let admin = unique("admin");
    let admin_password = format!("admin-{}", unique("pw"));
    attacker
        .create_admin_in_group(&admin, &admin_password, "cleartext_auth")
        .await;
    // The admin secret itself points at this server, without TLS: still no cleartext.
    let f =
        pointed_at_attacker(&create_secret(&attacker.secret(&admin, &admin_password)).await).await;
    let token = f.begin().await;
    let err = f
        .assert_rejected(
            Step::SetSecret,
            &token,
            "WeakAuthentication",
            "asked for the password in cleartext",
        )
        .await;
    assert!(!err.to_string().contains(&admin_password));
    assert_eq!(
        attacker.logins_of(&admin),
        Vec::<String>::new(),
        "the admin password reached the server"
    );
    assert!(!attacker.role_exists(&format!("{}_clone", f.user)).await);
}

/// A single-user rotation of a new role in `group` of the attacker cluster, whose
/// authentication method that group chooses.
async fn on_attacker_in_group(prefix: &str, group: &str) -> Fixture {
    let attacker = attacker_postgres();
    let user = unique(prefix);
    let password = format!("initial-{}", unique("pw"));
    attacker.create_role_in_group(&user, &password, group).await;
    Fixture::existing(
        attacker,
        &user,
        &password,
        attacker.secret(&user, &password),
        rotate_postgres::engine(Settings::default()),
    )
    .await
}

#[tokio::test]
async fn test_secret_fails_where_the_server_lets_any_password_in() {
    let f = on_attacker_in_group("trusted", PgCluster::TRUST_AUTH).await;
    let token = f.begin().await;
    f.step(Step::SetSecret, &token).await.unwrap();
    f.assert_rejected(
        Step::TestSecret,
        &token,
        "TestFailed",
        "without asking for a password",
    )
    .await;
}

/// A password sent in cleartext and accepted does not show that the server checked it (a
/// server that accepts anything answers the same way), so testSecret then tries a wrong one;
/// a SCRAM login needs no such probe (single_user.rs).
#[tokio::test]
async fn a_user_who_logs_in_in_cleartext_is_proved_with_a_refused_wrong_password() {
    let f = on_attacker_in_group("cleartext", PgCluster::CLEARTEXT_AUTH).await;
    let new_password = f.rotate().await;
    assert!(f.can_login(&new_password).await);
    let refused: Vec<_> = attacker_postgres()
        .logins_of(&f.user)
        .into_iter()
        .filter(|line| line.contains("password authentication failed"))
        .collect();
    assert_eq!(refused.len(), 1, "{refused:?}");
}

// ---- RDS-managed admin secrets: their server comes from the RDS API ----

/// A DB identifier no other test uses (RDS allows letters, digits and hyphens).
fn rds_id(prefix: &str) -> String {
    unique(prefix).replace('_', "-")
}

/// An engine for admin secret `master` that trusts the TLS cluster's CA.
async fn rds_engine(master: &str) -> PostgresEngine {
    deployed(Settings {
        trust: TrustSettings {
            ca_file: tls_postgres().ca_file.clone(),
        },
        ..admin_settings(master)
    })
    .await
}

/// The master secret RDS made for `rds` (moto's answer for an instance or cluster), holding
/// a CREATEROLE admin of the TLS cluster that plays the RDS master user.
async fn master_secret(rds: &Value) -> String {
    let admin = unique("master");
    let admin_password = format!("master-{}", unique("pw"));
    tls_postgres().create_admin(&admin, &admin_password).await;
    let arn = rds["secret_arn"].as_str().unwrap().to_owned();
    SecretsManager::connect()
        .await
        .put_current(
            &arn,
            &json!({"username": admin, "password": admin_password}).to_string(),
        )
        .await;
    arn
}

/// A user of the TLS cluster whose secret reaches it at `host` with `sslmode`.
async fn rds_user(host: &str, sslmode: &str, masterarn: &str) -> Fixture {
    let cluster = tls_postgres();
    let user = unique("app");
    let password = format!("initial-{}", unique("pw"));
    cluster.create_role(&user, &password).await;
    let mut secret = cluster.secret(&user, &password);
    secret.as_object_mut().unwrap().remove("ssl");
    secret["host"] = host.into();
    secret["sslmode"] = sslmode.into();
    secret["masterarn"] = masterarn.into();
    Fixture::existing(
        cluster,
        &user,
        &password,
        secret,
        rds_engine(masterarn).await,
    )
    .await
}

#[tokio::test]
async fn an_rds_managed_master_secret_logs_in_at_its_db_instance() {
    // moto's RDS makes the master secret with the aws:rds:primaryDBInstanceArn tag, as RDS
    // does; the TLS cluster answers at the address DescribeDBInstances reports.
    let instance = moto().rds_instance(&rds_id("db"), "localhost", tls_postgres().port, &[]);
    let master = master_secret(&instance).await;
    let f = rds_user("localhost", "verify-full", &master).await;
    f.rotate().await;
    let current = f.value(AWSCURRENT).await;
    assert_eq!(current["username"], format!("{}_clone", f.user));
    assert!(
        tls_postgres()
            .can_login(
                &format!("{}_clone", f.user),
                current["password"].as_str().unwrap()
            )
            .await
    );

    // The same master secret, and a user secret that names another server: refused before
    // any admin login, and the error says where admin logins may go.
    let g = rds_user("127.0.0.1", "verify-ca", &master).await;
    let token = g.begin().await;
    g.assert_rejected(
        Step::SetSecret,
        &token,
        "AdminHostMismatch",
        &format!("localhost:{} (DB instance arn:", tls_postgres().port),
    )
    .await;
    assert!(
        !tls_postgres()
            .role_exists(&format!("{}_clone", g.user))
            .await
    );
}

#[tokio::test]
async fn a_user_secret_may_name_the_reader_endpoint_of_the_master_secret_s_cluster() {
    let cluster = moto().rds_cluster(
        &rds_id("aurora"),
        "localhost",
        "127.0.0.1",
        tls_postgres().port,
    );
    let master = master_secret(&cluster).await;
    // The application reads through the reader endpoint; the admin still logs in at the
    // writer, with verified TLS.
    let f = rds_user("127.0.0.1", "verify-ca", &master).await;
    f.rotate().await;
    let current = f.value(AWSCURRENT).await;
    assert_eq!(current["username"], format!("{}_clone", f.user));

    // A server that is none of the cluster's endpoints (same address, another port: the
    // attacker's) is refused before any admin login, the error listing what is allowed.
    let attacker = attacker_postgres();
    let user = unique("app");
    attacker.create_role(&user, "app-initial-pw").await;
    let mut secret = attacker.secret(&user, "app-initial-pw");
    secret["masterarn"] = master.clone().into();
    let g = Fixture::existing(
        attacker,
        &user,
        "app-initial-pw",
        secret,
        rds_engine(&master).await,
    )
    .await;
    let token = g.begin().await;
    g.assert_rejected(
        Step::SetSecret,
        &token,
        "AdminHostMismatch",
        &format!(
            "localhost:{0} or 127.0.0.1:{0} (DB cluster arn:",
            tls_postgres().port
        ),
    )
    .await;
}

// ---- the user secret names users; it may not name the admin's or a privileged one ----

#[tokio::test]
async fn a_user_secret_may_not_choose_its_admin_secret() {
    // Another team's secret, which the same function rotates and so may read.
    let other = Fixture::new().await;
    let admin = unique("admin");
    let admin_password = format!("admin-{}", unique("pw"));
    postgres().create_admin(&admin, &admin_password).await;
    let admin_arn = create_secret(&postgres().secret(&admin, &admin_password)).await;
    for (configured, message) in [
        (
            Some(admin_arn.clone()),
            "this function's admin secret (ADMIN_SECRET_ARN) is another one",
        ),
        (None, "this function has no ADMIN_SECRET_ARN"),
    ] {
        let user = unique("app");
        let mut secret = postgres().secret(&user, "app-initial-pw");
        secret["masterarn"] = other.arn.clone().into();
        secret["username"] = format!("{}_clone", other.user).into();
        let mut settings = Settings::default();
        settings.login.strategy.admin_secret = configured;
        let f = Fixture::with(&user, "app-initial-pw", secret, settings).await;
        let token = f.sm.start_rotation(&f.arn).await;
        (*f).assert_rejected(Step::CreateSecret, &token, "AdminSecretUnusable", message)
            .await;
        assert!(
            other.can_login(&other.password).await,
            "the other team's password changed"
        );
    }
}

#[tokio::test]
async fn the_admin_never_changes_itself_or_a_privileged_role() {
    let admin = unique("admin");
    let admin_password = format!("admin-{}", unique("pw"));
    postgres().create_admin(&admin, &admin_password).await;
    let admin_arn = create_secret(&postgres().secret(&admin, &admin_password)).await;
    let ops = unique("ops");
    postgres()
        .superuser()
        .await
        .batch_execute(&format!("CREATE ROLE {ops} NOLOGIN CREATEROLE"))
        .await
        .unwrap();
    let member = unique("app");
    postgres().create_role(&member, "member-pw").await;
    postgres()
        .superuser()
        .await
        .batch_execute(&format!("GRANT {ops} TO {member}"))
        .await
        .unwrap();
    for (username, message) in [
        // The pending user would be the admin itself: the team would read its new password.
        (
            format!("{admin}_clone"),
            "it is the admin secret's own user".to_owned(),
        ),
        // A clone of a superuser would act as one.
        ("postgres".to_owned(), "it is a superuser".to_owned()),
        (
            member.clone(),
            format!("it is a member of \"{ops}\", which is able to create and alter roles"),
        ),
    ] {
        let mut secret = postgres().secret(&username, "team-chosen-pw");
        secret["masterarn"] = admin_arn.clone().into();
        let f = Fixture::existing(
            postgres(),
            &username,
            "team-chosen-pw",
            secret,
            deployed(admin_settings(&admin_arn)).await,
        )
        .await;
        let token = f.begin().await;
        let err = (*f)
            .assert_rejected(Step::SetSecret, &token, "PrivilegedUser", &message)
            .await;
        assert!(!err.to_string().contains(&admin_password));
        assert!(
            postgres().can_login(&admin, &admin_password).await,
            "{username}: the admin's password changed"
        );
        let pending_user = f.value(rotation_core::AWSPENDING).await["username"]
            .as_str()
            .unwrap()
            .to_owned();
        if pending_user != admin {
            assert!(
                !postgres().role_exists(&pending_user).await,
                "{username}: a clone was created"
            );
        }
    }
}

#[tokio::test]
async fn the_admin_never_runs_in_a_search_path_the_application_team_set() {
    // CVE-2018-1058's pattern: the team owns its database, puts its own schema first on the
    // database's search path, and defines "=" there, hoping the admin calls it.
    let attacker = attacker_postgres();
    let admin = unique("admin");
    let admin_password = format!("admin-{}", unique("pw"));
    attacker.create_admin(&admin, &admin_password).await;
    let user = unique("team");
    let password = format!("initial-{}", unique("pw"));
    attacker.create_role(&user, &password).await;
    let database = unique("teamdb");
    attacker
        .superuser()
        .await
        .batch_execute(&format!("CREATE DATABASE {database} OWNER {user}"))
        .await
        .unwrap();
    let (team, connection) = tokio_postgres::Config::new()
        .host("127.0.0.1")
        .port(attacker.port)
        .dbname(&database)
        .user(&user)
        .password(&password)
        .connect(tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    team.batch_execute(&format!(
        "CREATE SCHEMA evil; CREATE TABLE evil.calls (who text); \
         GRANT USAGE ON SCHEMA evil TO PUBLIC; GRANT INSERT ON evil.calls TO PUBLIC; \
         CREATE FUNCTION evil.trap(name, name) RETURNS boolean LANGUAGE sql \
           AS $$ INSERT INTO evil.calls VALUES (current_user::text) RETURNING true $$; \
         CREATE OPERATOR evil.= (LEFTARG = name, RIGHTARG = name, FUNCTION = evil.trap); \
         ALTER DATABASE {database} SET search_path = evil, pg_catalog"
    ))
    .await
    .unwrap();

    // The admin secret names no database, then (the DBAs' own choice) the team's.
    let mut without_dbname = attacker.secret(&admin, &admin_password);
    without_dbname.as_object_mut().unwrap().remove("dbname");
    let mut with_team_dbname = attacker.secret(&admin, &admin_password);
    with_team_dbname["dbname"] = database.clone().into();
    for admin_secret in [without_dbname, with_team_dbname] {
        let admin_arn = create_secret(&admin_secret).await;
        let mut secret = attacker.secret(&user, &password);
        secret["dbname"] = database.clone().into();
        secret["masterarn"] = admin_arn.clone().into();
        let f = Fixture::existing(
            attacker,
            &user,
            &password,
            secret,
            deployed(admin_settings(&admin_arn)).await,
        )
        .await;
        f.rotate().await;
    }
    let calls: i64 = team
        .query_one("SELECT count(*) FROM evil.calls", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(calls, 0, "the team's operator ran with the admin's rights");
    let logins = attacker.logins_of(&admin);
    assert!(
        logins
            .iter()
            .any(|l| l.contains(&format!("user={admin} database=postgres"))),
        "an admin secret that names no database logs in to \"postgres\": {logins:?}"
    );
}
