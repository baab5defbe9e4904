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
    /// With TLS: the root to trust for the server's certificate (a test CA's, or the
    /// self-signed certificate itself).
    pub ca_file: Option<PathBuf>,
    /// With TLS from a test CA: a CA that signed nothing the server holds.
    pub other_ca_file: Option<PathBuf>,
}

/// What sets one test cluster apart from the others.
struct Kind {
    certificate: Certificate,
    /// Lines added to postgresql.conf after the settings every cluster shares.
    settings: &'static str,
    groups: &'static [Group],
}

enum Certificate {
    None,
    /// Signed by a test CA for `localhost` only (see [`make_certificates`]).
    FromTestCa,
    /// PostgreSQL's documented quick recipe: self-signed, no subjectAltName, marked CA:TRUE.
    SelfSigned,
}

/// A NOLOGIN group role whose members log in under their own pg_hba.conf rule. The rule goes
/// before initdb's SCRAM rules, so it is the first match for members and only for them.
struct Group {
    name: &'static str,
    /// pg_hba.conf connection type: `host`, `hostssl` or `hostnossl`.
    connection: &'static str,
    method: &'static str,
}

const PLAIN: Kind = Kind {
    certificate: Certificate::None,
    settings: "",
    groups: &[],
};

const TLS: Kind = Kind {
    certificate: Certificate::FromTestCa,
    settings: "",
    groups: &[Group {
        name: PgCluster::TLS_REQUIRED,
        connection: "hostnossl",
        method: "reject",
    }],
};

const SELF_SIGNED: Kind = Kind {
    certificate: Certificate::SelfSigned,
    settings: "",
    groups: &[],
};

/// Logs every connection, so a test can tell which logins reached the server.
const ATTACKER: Kind = Kind {
    certificate: Certificate::None,
    settings: "log_connections = on\n",
    groups: &[
        Group {
            name: PgCluster::CLEARTEXT_AUTH,
            connection: "host",
            method: "password",
        },
        Group {
            name: PgCluster::TRUST_AUTH,
            connection: "host",
            method: "trust",
        },
    ],
};

/// The plaintext cluster of this test binary, started on first use.
pub fn postgres() -> &'static PgCluster {
    static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| PgCluster::start(&PLAIN))
}

/// A second cluster with TLS on, its certificate made at test time by a test CA. Members of
/// [`PgCluster::TLS_REQUIRED`] may only log in over TLS.
pub fn tls_postgres() -> &'static PgCluster {
    static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| PgCluster::start(&TLS))
}

/// A TLS cluster whose certificate is made as PostgreSQL's manual shows for a quick start:
/// self-signed for `CN=localhost`, no subjectAltName, so it is its own root (`ca_file`), as a
/// user would hand it over in PGSSLROOTCERT.
pub fn self_signed_postgres() -> &'static PgCluster {
    static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| PgCluster::start(&SELF_SIGNED))
}

/// A plaintext cluster standing for a server someone else controls: it asks members of
/// [`PgCluster::CLEARTEXT_AUTH`] for their password in cleartext, lets members of
/// [`PgCluster::TRUST_AUTH`] in with any password, and logs every connection
/// (see [`PgCluster::logins_of`]).
pub fn attacker_postgres() -> &'static PgCluster {
    static CLUSTER: OnceLock<PgCluster> = OnceLock::new();
    CLUSTER.get_or_init(|| PgCluster::start(&ATTACKER))
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

/// The certificate of PostgreSQL's manual ("Creating Certificates"), made by its very command.
fn make_self_signed_certificate(dir: &Path) {
    run(
        Command::new("openssl")
            .args([
                "req",
                "-new",
                "-x509",
                "-days",
                "365",
                "-nodes",
                "-text",
                "-out",
                "server.crt",
                "-keyout",
                "server.key",
                "-subj",
                "/CN=localhost",
            ])
            .current_dir(dir),
        "make a self-signed server certificate",
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
    /// The group whose members the TLS cluster refuses over plaintext.
    pub const TLS_REQUIRED: &str = "tls_required";
    /// The group whose members the attacker's cluster asks for a cleartext password.
    pub const CLEARTEXT_AUTH: &str = "cleartext_auth";
    /// The group whose members the attacker's cluster lets in with any password.
    pub const TRUST_AUTH: &str = "trust_auth";

    fn start(kind: &Kind) -> Self {
        let bin = bin_dir();
        let dir = std::env::temp_dir().join(unique("rotation-pg"));
        let data = dir.join("data");
        std::fs::create_dir_all(&dir).unwrap();
        let superuser_password = uuid::Uuid::new_v4().simple().to_string();
        std::fs::write(dir.join("pwfile"), &superuser_password).unwrap();
        let (ca_file, other_ca_file) = match kind.certificate {
            Certificate::None => (None, None),
            Certificate::FromTestCa => {
                make_certificates(&dir);
                (Some(dir.join("ca.crt")), Some(dir.join("other-ca.crt")))
            }
            Certificate::SelfSigned => {
                make_self_signed_certificate(&dir);
                (Some(dir.join("server.crt")), None)
            }
        };
        let tls = ca_file.is_some();
        if tls {
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
        let mut settings = format!(
            "listen_addresses = '127.0.0.1'\nport = {port}\nunix_socket_directories = '{}'\n\
             password_encryption = 'scram-sha-256'\nfsync = off\nsynchronous_commit = off\n\
             full_page_writes = off\nshared_buffers = 16MB\nmax_connections = 60\n\
             log_statement = 'all'\nlog_min_error_statement = 'error'\n",
            dir.display()
        );
        if tls {
            settings.push_str(&format!(
                "ssl = on\nssl_cert_file = '{0}/server.crt'\nssl_key_file = '{0}/server.key'\n",
                dir.display()
            ));
        }
        settings.push_str(kind.settings);
        let conf = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap();
        text.push_str(&settings);
        std::fs::write(&conf, text).unwrap();
        let hba = data.join("pg_hba.conf");
        let mut rules: String = kind
            .groups
            .iter()
            .map(|g| {
                format!(
                    "{} all +{} 127.0.0.1/32 {}\n",
                    g.connection, g.name, g.method
                )
            })
            .collect();
        rules.push_str(&std::fs::read_to_string(&hba).unwrap());
        std::fs::write(&hba, rules).unwrap();
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
        let cluster = Self {
            port,
            superuser_password,
            dir,
            ca_file,
            other_ca_file,
        };
        let groups: String = kind
            .groups
            .iter()
            .map(|g| format!("CREATE ROLE {} NOLOGIN;", escape_identifier(g.name)))
            .collect();
        if !groups.is_empty() {
            cluster.execute_now(&groups);
        }
        cluster
    }

    /// Runs set-up SQL as the superuser before returning. Clusters start inside a test's
    /// runtime, which must not block on a future itself, so the SQL runs on a thread with a
    /// runtime of its own.
    fn execute_now(&self, sql: &str) {
        std::thread::scope(|scope| {
            scope.spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(self.execute(sql, "set up the cluster"));
            });
        });
    }

    async fn execute(&self, sql: &str, what: &str) {
        self.superuser()
            .await
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e:?}"));
    }

    /// Everything the server logged, statements included (`log_statement = 'all'`).
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// The lines of [`Self::server_log`] showing that a login as `user` reached the server's
    /// authentication, so a test can prove that one never did. PostgreSQL 15 logs, after the
    /// `%m [%p] ` prefix:
    ///
    /// ```text
    /// LOG:  connection authenticated: identity="NAME" method=password (/…/pg_hba.conf:1)
    /// LOG:  connection authorized: user=NAME database=postgres application_name=psql
    /// FATAL:  password authentication failed for user "NAME"
    /// FATAL:  pg_hba.conf rejects connection for host "127.0.0.1", user "NAME", database "postgres", no encryption
    /// ```
    ///
    /// The first two need `log_connections`, on in [`attacker_postgres`] only. A `trust` login
    /// has no "authenticated" line; "authorized" ends with ` application_name=…` and
    /// ` SSL enabled (…)` only when the client set one or uses TLS. A client that hangs up
    /// when asked for its password leaves just "connection received: host=127.0.0.1 port=N",
    /// which names no user: no line here means that no password, and no trusted session,
    /// reached the server, not that nobody connected.
    pub fn logins_of(&self, user: &str) -> Vec<String> {
        let marks = [
            format!("connection authenticated: identity=\"{user}\" method="),
            format!("connection authorized: user={user} database="),
            format!("password authentication failed for user \"{user}\""),
            // pg_hba.conf refusals, "rejects connection" and "no pg_hba.conf entry" alike.
            format!(", user \"{user}\", database \""),
        ];
        self.server_log()
            .lines()
            .filter(|line| marks.iter().any(|mark| line.contains(mark.as_str())))
            .map(str::to_owned)
            .collect()
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
        let sql = format!(
            "CREATE ROLE {} LOGIN PASSWORD {}",
            escape_identifier(name),
            escape_literal(&verifier)
        );
        self.execute(&sql, "create role").await;
    }

    /// A login role (as [`Self::create_role`]) that is a member of `group`, and so logs in
    /// under the group's pg_hba.conf rule (see [`attacker_postgres`]).
    pub async fn create_role_in_group(&self, name: &str, password: &str, group: &str) {
        self.create_role(name, password).await;
        let sql = format!(
            "GRANT {} TO {}",
            escape_identifier(group),
            escape_identifier(name)
        );
        self.execute(&sql, "grant the group").await;
    }

    /// A login role that the TLS cluster refuses over plaintext (SQLSTATE 28000, "pg_hba.conf
    /// rejects connection ... no encryption") and lets in over TLS.
    pub async fn create_tls_only_role(&self, name: &str, password: &str) {
        self.create_role_in_group(name, password, Self::TLS_REQUIRED)
            .await;
    }

    /// Changes a role's password as a DBA would, outside Secrets Manager (sent as a verifier).
    pub async fn set_password(&self, name: &str, password: &str) {
        let verifier = postgres_protocol::password::scram_sha_256(password.as_bytes());
        let sql = format!(
            "ALTER ROLE {} PASSWORD {}",
            escape_identifier(name),
            escape_literal(&verifier)
        );
        self.execute(&sql, "alter role").await;
    }

    /// An administrator as on RDS: not a superuser, but allowed to create and alter roles.
    pub async fn create_admin(&self, name: &str, password: &str) {
        self.create_role(name, password).await;
        self.allow_createrole(name).await;
    }

    /// An administrator (as [`Self::create_admin`]) that is a member of `group`.
    pub async fn create_admin_in_group(&self, name: &str, password: &str, group: &str) {
        self.create_role_in_group(name, password, group).await;
        self.allow_createrole(name).await;
    }

    async fn allow_createrole(&self, name: &str) {
        let sql = format!("ALTER ROLE {} CREATEROLE", escape_identifier(name));
        self.execute(&sql, "grant CREATEROLE").await;
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
