//! `rotate import`: each seed's `.env` shape becomes secrets in the functions' formats, which
//! the functions then check and rotate; dry run by default, never an overwrite, never a value
//! on the terminal.

use std::path::PathBuf;

use integration_tests::{SecretsManager, moto, neo4j, postgres, rotate, unique};
use rotation_core::AWSCURRENT;
use serde_json::{Value, json};

fn env_file(text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("{}.env", unique("dotenv")));
    std::fs::write(&path, text).unwrap();
    path
}

async fn tags(sm: &SecretsManager, name: &str) -> Vec<(String, String)> {
    let out = sm
        .client
        .describe_secret()
        .secret_id(name)
        .send()
        .await
        .unwrap();
    let mut tags: Vec<(String, String)> = out
        .tags()
        .iter()
        .map(|t| (t.key().unwrap().to_owned(), t.value().unwrap().to_owned()))
        .collect();
    tags.sort();
    tags
}

#[tokio::test]
async fn the_nba_seed_s_db_variables_become_a_postgres_secret_that_checks_and_rotates() {
    let user = unique("nba");
    let password = unique("local_dev_password");
    postgres().create_role(&user, &password).await;
    let path = env_file(&format!(
        "# .env.local (not committed)\nNBA_MCP_ENV=local\nUSE_LOCAL_CREDENTIALS=true\nDB_HOST=127.0.0.1\nDB_PORT={}\nDB_USER={user}\nDB_PASSWORD={password}\nDB_NAME=postgres\nAWS_ACCESS_KEY_ID=AKIAXXXXXXX\n",
        postgres().port
    ));
    let prefix = unique("nba-mcp-production");
    let path_arg = path.to_str().unwrap();
    let sm = SecretsManager::connect().await;

    let dry = rotate(
        &["import", "--env-file", path_arg, "--prefix", &prefix],
        &[],
    )
    .await
    .expect(0);
    assert!(
        dry.stdout.contains(&format!("+ {prefix}/postgres")),
        "{dry:?}"
    );
    assert!(
        dry.stdout
            .contains("from DB_HOST, DB_PORT, DB_USER, DB_PASSWORD, DB_NAME"),
        "{dry:?}"
    );
    assert!(dry.stdout.contains("not imported (no rotation function for them): AWS_ACCESS_KEY_ID, NBA_MCP_ENV, USE_LOCAL_CREDENTIALS"), "{dry:?}");
    assert!(dry.stdout.contains("dry run: nothing created"), "{dry:?}");
    assert!(!dry.text().contains(&password));
    let name = format!("{prefix}/postgres");
    assert!(
        sm.value(&name, AWSCURRENT).await.is_none(),
        "a dry run created {name}"
    );

    let applied = rotate(
        &[
            "import",
            "--env-file",
            path_arg,
            "--prefix",
            &prefix,
            "--apply",
        ],
        &[],
    )
    .await
    .expect(0);
    assert!(!applied.text().contains(&password));
    assert_eq!(
        sm.value(&name, AWSCURRENT).await.unwrap(),
        json!({"engine": "postgres", "host": "127.0.0.1", "port": postgres().port, "username": user, "password": password, "dbname": "postgres"})
    );
    assert_eq!(
        tags(&sm, &name).await,
        [
            (
                "imported-from".to_owned(),
                path.file_name().unwrap().to_str().unwrap().to_owned()
            ),
            ("managed-by".into(), "rotate".into()),
            ("rotation-engine".into(), "postgres".into())
        ]
    );
    rotate(&["check", "--secret-id", &name], &[])
        .await
        .expect(0);
    rotate(&["run", "--secret-id", &name], &[]).await.expect(0);
    let rotated = sm.value(&name, AWSCURRENT).await.unwrap();
    assert!(
        postgres()
            .can_login(&user, rotated["password"].as_str().unwrap())
            .await
    );
}

#[tokio::test]
async fn the_neo4j_seed_s_variables_become_a_neo4j_secret() {
    let user = unique("graph");
    let password = unique("your-secure-password");
    neo4j().create_user(&user, &password).await;
    let path = env_file(&format!(
        "ENVIRONMENT=development\nNEO4J_URI={}\nNEO4J_USERNAME={user}\nNEO4J_PASSWORD=\"{password}\"\nNEO4J_DATABASE=neo4j\n",
        neo4j().uri()
    ));
    let prefix = unique("interlinked-aos-development");
    rotate(
        &[
            "import",
            "--env-file",
            path.to_str().unwrap(),
            "--prefix",
            &prefix,
            "--apply",
        ],
        &[],
    )
    .await
    .expect(0);
    let name = format!("{prefix}/neo4j");
    let sm = SecretsManager::connect().await;
    assert_eq!(
        sm.value(&name, AWSCURRENT).await.unwrap(),
        json!({"engine": "neo4j", "uri": neo4j().uri(), "username": user, "password": password, "database": "neo4j"})
    );
    rotate(&["check", "--secret-id", &name], &[])
        .await
        .expect(0);
}

#[tokio::test]
async fn the_devskyy_seed_s_jwt_key_and_database_url_keep_their_names_and_form() {
    let key = format!("your-super-secret-jwt-key-min-32-chars-{}", unique("k"));
    let path = env_file(&format!(
        "# Example .env contents\nJWT_SECRET_KEY={key}\nENCRYPTION_MASTER_KEY=def456\nDATABASE_URL=postgresql://app:p%40ss@db.example.com:5432/devskyy?sslmode=verify-full\nOPENAI_API_KEY=sk-x\n"
    ));
    let prefix = unique("devskyy");
    let jwt_name = format!("{}/jwt/secret_key", unique("devskyy"));
    let run = rotate(
        &[
            "--json",
            "import",
            "--env-file",
            path.to_str().unwrap(),
            "--prefix",
            &prefix,
            "--jwt-secret-name",
            &jwt_name,
            "--apply",
        ],
        &[],
    )
    .await
    .expect(0);
    assert!(
        !run.text().contains(&key)
            && !run.text().contains("p@ss")
            && !run.text().contains("p%40ss")
    );
    let doc = run.json();
    assert_eq!(doc["applied"], true);
    assert_eq!(
        doc["not_imported"],
        json!(["ENCRYPTION_MASTER_KEY", "OPENAI_API_KEY"])
    );
    let sm = SecretsManager::connect().await;
    // A plain string stays a plain string: the apps read it as they did from .env.
    assert_eq!(
        sm.value(&jwt_name, AWSCURRENT).await.unwrap(),
        Value::String(key)
    );
    assert_eq!(
        sm.value(&format!("{prefix}/postgres"), AWSCURRENT)
            .await
            .unwrap(),
        json!({"engine": "postgres", "host": "db.example.com", "port": 5432, "username": "app", "password": "p@ss", "dbname": "devskyy", "sslmode": "verify-full"})
    );
    rotate(&["run", "--secret-id", &jwt_name], &[])
        .await
        .expect(0);
}

#[tokio::test]
async fn postgres_variables_and_jwt_secret_with_rotation_turned_on() {
    let path = env_file(
        "export POSTGRES_HOST=db.internal\nexport POSTGRES_PORT=6432\nPOSTGRES_USER='app'\nPOSTGRES_PASSWORD='pw with spaces'\nPOSTGRES_DB=shop\nNEO4J_URI=neo4j+s://graph.internal:7687\nNEO4J_USER=reader\nNEO4J_PASSWORD=pw2\nJWT_SECRET=0123456789abcdef0123456789abcdef\n",
    );
    let prefix = unique("shop-prod");
    let function = &moto().lambda_arn;
    rotate(
        &[
            "import",
            "--env-file",
            path.to_str().unwrap(),
            "--prefix",
            &prefix,
            "--rotation-function",
            function,
            "--days",
            "90",
            "--apply",
        ],
        &[],
    )
    .await
    .expect(0);
    let sm = SecretsManager::connect().await;
    assert_eq!(
        sm.value(&format!("{prefix}/postgres"), AWSCURRENT)
            .await
            .unwrap(),
        json!({"engine": "postgres", "host": "db.internal", "port": 6432, "username": "app", "password": "pw with spaces", "dbname": "shop"})
    );
    assert_eq!(
        sm.value(&format!("{prefix}/neo4j"), AWSCURRENT)
            .await
            .unwrap()["username"],
        "reader"
    );
    for name in ["postgres", "neo4j", "jwt"] {
        let out = sm
            .client
            .describe_secret()
            .secret_id(format!("{prefix}/{name}"))
            .send()
            .await
            .unwrap();
        assert_eq!(out.rotation_enabled(), Some(true), "{name}");
        assert_eq!(out.rotation_lambda_arn(), Some(function.as_str()), "{name}");
        assert_eq!(
            out.rotation_rules()
                .and_then(|r| r.automatically_after_days()),
            Some(90),
            "{name}"
        );
    }
}

#[tokio::test]
async fn import_never_overwrites_and_creates_nothing_when_one_name_is_taken() {
    let prefix = unique("taken");
    let sm = SecretsManager::connect().await;
    sm.create(
        &format!("{prefix}/jwt"),
        "already-here-and-in-use-0123456789",
    )
    .await;
    let path = env_file(
        "DATABASE_URL=postgres://u:secret-pw@db/app\nJWT_SECRET_KEY=another-key-0123456789012345678901\n",
    );
    let run = rotate(
        &[
            "import",
            "--env-file",
            path.to_str().unwrap(),
            "--prefix",
            &prefix,
            "--apply",
        ],
        &[],
    )
    .await
    .expect(1);
    assert!(run.stdout.contains(&format!("✗ {prefix}/jwt")), "{run:?}");
    assert!(
        run.stdout
            .contains("already exists: import never overwrites a secret"),
        "{run:?}"
    );
    assert!(!run.text().contains("secret-pw"));
    assert!(
        sm.value(&format!("{prefix}/postgres"), AWSCURRENT)
            .await
            .is_none()
    );
    assert_eq!(
        sm.value(&format!("{prefix}/jwt"), AWSCURRENT)
            .await
            .unwrap(),
        Value::String("already-here-and-in-use-0123456789".into())
    );
}

#[tokio::test]
async fn a_env_file_with_nothing_these_functions_rotate_is_refused() {
    // The finance MCP seed keeps OAuth client credentials: no function here rotates them.
    let path = env_file(
        "# OAuth2 credentials for MCP servers\nAUTH_SERVER_TOKEN_URL=https://auth.macrospire.com/oauth2/token\nMCP_CLIENT_ID=content-engine-client\nMCP_CLIENT_SECRET=content-engine-secret-2024\n",
    );
    let prefix = unique("finance-mcp");
    let run = rotate(
        &[
            "import",
            "--env-file",
            path.to_str().unwrap(),
            "--prefix",
            &prefix,
            "--apply",
        ],
        &[],
    )
    .await
    .expect(1);
    assert!(
        run.stderr
            .contains("holds no credentials these functions rotate (DATABASE_URL, POSTGRES_*"),
        "{run:?}"
    );
    assert!(!run.text().contains("content-engine-secret-2024"));
}

#[tokio::test]
async fn a_value_the_function_would_reject_is_not_stored() {
    let path = env_file(
        "DB_PASSWORD=pw-${DB_USER:-x}\nDATABASE_URL=postgresql://app:hunter2@db:5432/app?sslmode=sometimes\n",
    );
    let prefix = unique("bad-tls");
    let run = rotate(
        &[
            "import",
            "--env-file",
            path.to_str().unwrap(),
            "--prefix",
            &prefix,
            "--apply",
        ],
        &[],
    )
    .await
    .expect(1);
    assert!(
        run.stderr
            .contains(&format!("{prefix}/postgres would not rotate: "))
            && run.stderr.contains("(MalformedSecret)"),
        "{run:?}"
    );
    assert!(!run.text().contains("hunter2"));
    let sm = SecretsManager::connect().await;
    assert!(
        sm.value(&format!("{prefix}/postgres"), AWSCURRENT)
            .await
            .is_none()
    );
}

#[tokio::test]
async fn a_rotation_function_that_does_not_exist_stops_import_before_anything_is_created() {
    let path = env_file(
        "DATABASE_URL=postgres://app:pw@db/app\nJWT_SECRET_KEY=0123456789abcdef0123456789abcdef\n",
    );
    let prefix = unique("half");
    let path = path.to_str().unwrap();

    // A rotation function that does not exist: found out before anything is created.
    let nope = "arn:aws:lambda:us-east-1:123456789012:function:does-not-exist";
    let run = rotate(
        &[
            "import",
            "--env-file",
            path,
            "--prefix",
            &prefix,
            "--rotation-function",
            nope,
            "--days",
            "30",
            "--apply",
        ],
        &[],
    )
    .await
    .expect(3);
    assert!(run.stderr.contains("Function not found"), "{run:?}");
    let sm = SecretsManager::connect().await;
    assert!(
        sm.value(&format!("{prefix}/postgres"), AWSCURRENT)
            .await
            .is_none()
    );
}
