//! A throwaway PostgreSQL cluster with password (SCRAM) authentication, never `trust`: with
//! `trust` any password logs in and a rotation test would prove nothing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use postgres_protocol::escape::{escape_identifier, escape_literal};
use tokio_postgres::{Client, NoTls};

use crate::process::{on_exit, run, shell_quote};
use crate::unique;

pub struct PgCluster {
    pub port: u16,
    superuser_password: String,
    dir: PathBuf,
    /// With TLS: the test CA that signed the server's certificate (for `localhost` only).
    pub ca_file: Option<PathBuf>,
    /// With TLS: a CA that signed nothing the server holds.
    pub other_ca_file: Option<PathBuf>,
}

/// The plaintext cluster of this test binary, started on first use.
pub fn postgres() -> &'static PgCluster {
    static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| PgCluster::start(false))
}

/// A second cluster with TLS on, its certificate made at test time.
pub fn tls_postgres() -> &'static PgCluster {
    static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| PgCluster::start(true))
}

/// A test CA, and a server certificate it signs for the DNS name `localhost` only, so that
/// connecting to 127.0.0.1 is a host-name mismatch.
fn make_certificates(dir: &Path) {
    let openssl =
        |args: &[&str], what: &str| run(Command::new("openssl").args(args).current_dir(dir), what);
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for ca in ["ca", "other-ca"] {
        let (key, crt, subject) = (
            format!("{ca}.key"),
            format!("{ca}.crt"),
            format!("/CN=rotation test {ca}"),
        );
        let mut args = vec![
            "req", "-x509", "-days", "2", "-subj", &subject, "-keyout", &key, "-out", &crt,
        ];
        args.extend(ec);
        args.extend([
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(&args, "make a test CA");
    }
    let mut args = vec![
        "req",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
    ];
    args.extend(ec);
    openssl(&args, "make the server key");
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.crt",
        ],
        "sign the server certificate",
    );
}

/// PostgreSQL's server binaries: `PG_BIN`, else the newest Debian install.
fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        return dir.into();
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, bin)| bin)
        .expect("no PostgreSQL server found under /usr/lib/postgresql (run `make test`, which installs it, or set PG_BIN)")
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// PostgreSQL refuses to run as root; as root, its commands run as the `postgres` user.
fn server_command(program: &Path) -> Command {
    if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl PgCluster {
    fn start(tls: bool) -> Self {
        let bin = bin_dir();
        let dir = std::env::temp_dir().join(unique("rotation-pg"));
        let data = dir.join("data");
        std::fs::create_dir_all(&dir).unwrap();
        let superuser_password = uuid::Uuid::new_v4().simple().to_string();
        std::fs::write(dir.join("pwfile"), &superuser_password).unwrap();
        if tls {
            make_certificates(&dir);
            use std::os::unix::fs::PermissionsExt;
            // PostgreSQL refuses a private key that others can read.
            std::fs::set_permissions(
                dir.join("server.key"),
                std::fs::Permissions::from_mode(0o600),
            )
            .unwrap();
        }
        if running_as_root() {
            run(
                Command::new("chown")
                    .args(["-R", "postgres:postgres"])
                    .arg(&dir),
                "chown the cluster directory",
            );
        }
        run(
            server_command(&bin.join("initdb"))
                .arg("-D")
                .arg(&data)
                .args([
                    "-U",
                    "postgres",
                    "--auth=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ])
                .arg(format!("--pwfile={}", dir.join("pwfile").display())),
            "initdb",
        );
        let port = free_port();
        let settings = format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             password_encryption = 'scram-sha-256'\nfsync = off\nsynchronous_commit = off\n\
             full_page_writes = off\nshared_buffers = 16MB\nmax_connections = 60\n\
             log_statement = 'all'\nlog_min_error_statement = 'error'\n",
            dir.display()
        );
        let conf = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap();
        text.push_str(&settings);
        if tls {
            text.push_str(&format!(
                "ssl = on\nssl_cert_file = '{0}/server.crt'\nssl_key_file = '{0}/server.key'\n",
                dir.display()
            ));
        }
        std::fs::write(&conf, text).unwrap();
        let pg_ctl = bin.join("pg_ctl");
        let log = dir.join("server.log");
        run(
            server_command(&pg_ctl)
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(&log)
                .args(["-w", "-t", "60", "start"]),
            "pg_ctl start",
        );
        let stop = server_command(&pg_ctl);
        let stop_program: Vec<String> = std::iter::once(stop.get_program())
            .chain(stop.get_args())
            .map(|a| shell_quote(&a.to_string_lossy()))
            .collect();
        on_exit(&format!(
            "{} -D {} -m immediate stop; rm -rf {}",
            stop_program.join(" "),
            shell_quote(&data.to_string_lossy()),
            shell_quote(&dir.to_string_lossy())
        ));
        Self {
            port,
            superuser_password,
            ca_file: tls.then(|| dir.join("ca.crt")),
            other_ca_file: tls.then(|| dir.join("other-ca.crt")),
            dir,
        }
    }

    /// Everything the server logged, statements included (`log_statement = 'all'`).
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    pub async fn connect(
        &self,
        user: &str,
        password: &str,
    ) -> Result<Client, tokio_postgres::Error> {
        let (client, connection) = tokio_postgres::Config::new()
            .host("127.0.0.1")
            .port(self.port)
            .dbname("postgres")
            .user(user)
            .password(password)
            .connect(NoTls)
            .await?;
        tokio::spawn(connection);
        Ok(client)
    }

    pub async fn superuser(&self) -> Client {
        self.connect("postgres", &self.superuser_password)
            .await
            .expect("superuser login")
    }

    /// Creates a login role. The password travels as a SCRAM verifier, so that test set-up
    /// does not put plaintext passwords into the logs the leak tests inspect.
    pub async fn create_role(&self, name: &str, password: &str) {
        let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
        self.superuser()
            .await
            .batch_execute(&format!(
                "CREATE ROLE {} LOGIN PASSWORD {}",
                escape_identifier(name),
                escape_literal(&verifier)
            ))
            .await
            .expect("create role");
    }

    /// Changes a role's password as a DBA would, outside Secrets Manager (sent as a verifier).
    pub async fn set_password(&self, name: &str, password: &str) {
        let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
        self.superuser()
            .await
            .batch_execute(&format!(
                "ALTER ROLE {} PASSWORD {}",
                escape_identifier(name),
                escape_literal(&verifier)
            ))
            .await
            .expect("alter role");
    }

    /// An administrator as on RDS: not a superuser, but allowed to create and alter roles.
    pub async fn create_admin(&self, name: &str, password: &str) {
        self.create_role(name, password).await;
        self.superuser()
            .await
            .batch_execute(&format!(
                "ALTER ROLE {} CREATEROLE",
                escape_identifier(name)
            ))
            .await
            .expect("grant CREATEROLE");
    }

    pub async fn role_exists(&self, name: &str) -> bool {
        self.superuser()
            .await
            .query_opt("SELECT 1 FROM pg_roles WHERE rolname = $1", &[&name])
            .await
            .unwrap()
            .is_some()
    }

    /// Whether `user` can log in with `password` and run a query.
    pub async fn can_login(&self, user: &str, password: &str) -> bool {
        match self.connect(user, password).await {
            Ok(client) => client.simple_query("SELECT 1").await.is_ok(),
            Err(_) => false,
        }
    }

    /// A secret in AWS's format for a role of this cluster (which has no TLS).
    pub fn secret(&self, user: &str, password: &str) -> serde_json::Value {
        serde_json::json!({
            "engine": "postgres",
            "host": "127.0.0.1",
            "port": self.port,
            "username": user,
            "password": password,
            "dbname": "postgres",
            "ssl": false,
        })
    }
}
