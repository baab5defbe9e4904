//! A real Neo4j Community server (5.26, embedded in `tests/neo4j-server`), authentication on,
//! Bolt on 127.0.0.1. Built by `make neo4j-server`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use neo4rs::{ConfigBuilder, Graph, query};

use crate::process::{keep_until_exit, on_exit, shell_quote};
use crate::{unique, workspace_root};

pub struct Neo4jServer {
    pub port: u16,
    admin_password: String,
}

/// The Neo4j server of this test binary, started on first use.
pub fn neo4j() -> &'static Neo4jServer {
    static SERVER: OnceLock<Neo4jServer> = OnceLock::new();
    SERVER.get_or_init(Neo4jServer::start)
}

impl Neo4jServer {
    fn start() -> Self {
        let target = workspace_root().join("tests/neo4j-server/target");
        let classpath = std::fs::read_to_string(target.join("classpath.txt"))
            .expect("the Neo4j test server is not built: run `make neo4j-server` (make test does)");
        let home = std::env::temp_dir().join(unique("rotation-neo4j"));
        let admin_password = uuid::Uuid::new_v4().simple().to_string();
        let log = std::fs::File::create(
            std::env::temp_dir().join(format!("{}.log", unique("neo4j-server"))),
        )
        .unwrap();
        let mut child = Command::new("java")
            .args([
                "-Xmx384m",
                "-XX:+UseSerialGC",
                "-XX:TieredStopAtLevel=1",
                "-cp",
            ])
            .arg(format!(
                "{}:{}",
                target.join("classes").display(),
                classpath.trim()
            ))
            .arg("rotation.neo4j.Main")
            .arg(&home)
            .env("NEO4J_INITIAL_PASSWORD", &admin_password)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("start java (make test installs it)");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ready: serde_json::Value = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("the Neo4j test server did not start; it printed {line:?}"));
        keep_until_exit(child);
        // The server shuts down when its standard input closes; then its files can go.
        on_exit(&format!(
            "sleep 15; rm -rf {}",
            shell_quote(&home.to_string_lossy())
        ));
        Self {
            port: ready["bolt_port"].as_u64().unwrap() as u16,
            admin_password,
        }
    }

    pub fn uri(&self) -> String {
        format!("bolt://127.0.0.1:{}", self.port)
    }

    async fn graph(&self, user: &str, password: &str) -> Result<Graph, neo4rs::Error> {
        let config = ConfigBuilder::default()
            .uri(self.uri())
            .user(user)
            .password(password)
            .db("system")
            .max_connections(1)
            .build()?;
        Graph::connect(config)
    }

    async fn admin(&self, statement: &str, user: &str, password: &str) {
        let graph = self.graph("neo4j", &self.admin_password).await.unwrap();
        graph
            .run(
                query(statement)
                    .param("user", user)
                    .param("password", password),
            )
            .await
            .unwrap();
    }

    pub async fn create_user(&self, user: &str, password: &str) {
        self.admin(
            "CREATE USER $user SET PASSWORD $password CHANGE NOT REQUIRED",
            user,
            password,
        )
        .await;
    }

    /// Changes a password as an administrator would, outside Secrets Manager.
    pub async fn set_password(&self, user: &str, password: &str) {
        self.admin(
            "ALTER USER $user SET PASSWORD $password CHANGE NOT REQUIRED",
            user,
            password,
        )
        .await;
    }

    pub async fn user_exists(&self, user: &str) -> bool {
        let graph = self.graph("neo4j", &self.admin_password).await.unwrap();
        let mut rows = graph
            .execute(
                query("SHOW USERS YIELD user WHERE user = $user RETURN user").param("user", user),
            )
            .await
            .unwrap();
        rows.next().await.unwrap().is_some()
    }

    /// Whether `user` logs in with `password`. Each refusal counts towards the server's
    /// lockout, as any login does.
    pub async fn can_login(&self, user: &str, password: &str) -> bool {
        self.login(user, password).await.is_ok()
    }

    /// As [`Self::can_login`], with the server's reason when the login fails.
    pub async fn login(&self, user: &str, password: &str) -> Result<(), String> {
        let attempt = async {
            let graph = self.graph(user, password).await?;
            graph.run(query("SHOW CURRENT USER")).await
        };
        match tokio::time::timeout(Duration::from_secs(10), attempt).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("no answer within 10 s".into()),
        }
    }

    /// Whether a refusal is the lockout (the default `dbms.security.auth_lock_time`, 5 s, after
    /// `auth_max_failed_attempts` failures in a row) rather than a wrong password.
    pub fn is_lockout(reason: &str) -> bool {
        reason.contains("too many times in a row")
    }

    /// A secret as teams store it.
    pub fn secret(&self, user: &str, password: &str) -> serde_json::Value {
        serde_json::json!({"uri": self.uri(), "username": user, "password": password, "database": "neo4j"})
    }
}
