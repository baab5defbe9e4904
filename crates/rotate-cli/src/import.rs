//! `rotate import`: credentials from a `.env` file become secrets in the formats the rotation
//! functions rotate. Dry run by default; never overwrites a secret; never prints a value.

use std::collections::BTreeSet;

use rotation_core::{Secret, sanitize};
use serde_json::{Map, Value, json};

use crate::cli::{EngineKind, Import};
use crate::dotenv::{self, EnvFile};
use crate::exit::{Exit, Stop};
use crate::session::{Session, shell_word};

/// One secret to create.
pub struct Planned {
    pub name: String,
    pub kind: EngineKind,
    /// The variables it was made from.
    pub from: Vec<String>,
    /// What it holds, without the password or key.
    pub summary: String,
    pub value: Secret,
}

/// The variable names of each PostgreSQL shape: host, port, user, password, database.
const POSTGRES_SHAPES: [[&str; 5]; 3] = [
    [
        "POSTGRES_HOST",
        "POSTGRES_PORT",
        "POSTGRES_USER",
        "POSTGRES_PASSWORD",
        "POSTGRES_DB",
    ],
    ["PGHOST", "PGPORT", "PGUSER", "PGPASSWORD", "PGDATABASE"],
    ["DB_HOST", "DB_PORT", "DB_USER", "DB_PASSWORD", "DB_NAME"],
];
const DATABASE_URL: &str = "DATABASE_URL";
const NEO4J: [&str; 5] = [
    "NEO4J_URI",
    "NEO4J_USERNAME",
    "NEO4J_USER",
    "NEO4J_PASSWORD",
    "NEO4J_DATABASE",
];
const JWT: [&str; 2] = ["JWT_SECRET_KEY", "JWT_SECRET"];

/// What `vars` holds for each function, and the variables left out.
pub fn plan(
    vars: &EnvFile,
    prefix: &str,
    jwt_name: Option<&str>,
) -> Result<(Vec<Planned>, Vec<String>), String> {
    let mut planned = Vec::new();
    let mut used = BTreeSet::new();
    let text = |name: &str| vars.get(name).map(|v| v.expose()).filter(|v| !v.is_empty());

    if let Some(url) = text(DATABASE_URL)
        .filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
    {
        let fields = postgres_url(url).map_err(|why| format!("{DATABASE_URL} {why}"))?;
        planned.push(postgres(prefix, fields, vec![DATABASE_URL.into()])?);
        used.insert(DATABASE_URL.to_owned());
    } else if let Some(shape) = POSTGRES_SHAPES
        .iter()
        .find(|shape| text(shape[0]).is_some())
    {
        let [host, port, user, password, database] = shape.map(text);
        let fields = PgFields {
            host: host.unwrap_or_default().to_owned(),
            port: port
                .map(|p| {
                    p.parse::<u16>()
                        .map_err(|_| format!("{} is not a port number", shape[1]))
                })
                .transpose()?,
            user: user
                .ok_or_else(|| format!("{} is set but {} is not", shape[0], shape[2]))?
                .to_owned(),
            password: Secret::new(
                password.ok_or_else(|| format!("{} is set but {} is not", shape[0], shape[3]))?,
            ),
            database: database.map(str::to_owned),
            sslmode: None,
        };
        let from = shape
            .iter()
            .filter(|n| vars.contains_key(**n))
            .map(|n| n.to_string())
            .collect();
        planned.push(postgres(prefix, fields, from)?);
    }
    for p in &planned {
        used.extend(p.from.iter().cloned());
    }

    if let Some(uri) = text(NEO4J[0]) {
        let user = text(NEO4J[1])
            .or(text(NEO4J[2]))
            .ok_or("NEO4J_URI is set but neither NEO4J_USERNAME nor NEO4J_USER is")?;
        let password = text(NEO4J[3]).ok_or("NEO4J_URI is set but NEO4J_PASSWORD is not")?;
        let mut value =
            json!({"engine": "neo4j", "uri": uri, "username": user, "password": password});
        if let Some(database) = text(NEO4J[4]) {
            value["database"] = json!(database);
        }
        let from: Vec<String> = NEO4J
            .iter()
            .filter(|n| vars.contains_key(**n))
            .map(|n| n.to_string())
            .collect();
        used.extend(from.iter().cloned());
        planned.push(Planned {
            name: format!("{prefix}/neo4j"),
            kind: EngineKind::Neo4j,
            summary: format!("user \"{}\" at {}", sanitize(user), sanitize(uri)),
            from,
            value: Secret::new(value.to_string()),
        });
    }

    if let Some(name) = JWT.iter().find(|n| text(n).is_some()) {
        let key = text(name).unwrap_or_default();
        used.insert(name.to_string());
        planned.push(Planned {
            name: jwt_name
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{prefix}/jwt")),
            kind: EngineKind::Jwt,
            summary: format!(
                "a {}-character signing key, kept as the plain string apps read",
                key.chars().count()
            ),
            from: vec![name.to_string()],
            value: Secret::new(key),
        });
    }
    let left: Vec<String> = vars
        .keys()
        .filter(|k| !used.contains(*k))
        .cloned()
        .collect();
    Ok((planned, left))
}

struct PgFields {
    host: String,
    port: Option<u16>,
    user: String,
    password: Secret,
    database: Option<String>,
    sslmode: Option<String>,
}

fn postgres(prefix: &str, f: PgFields, from: Vec<String>) -> Result<Planned, String> {
    if f.host.is_empty() {
        return Err(format!("{} names no host", from.join("/")));
    }
    let mut value = Map::new();
    value.insert("engine".into(), json!("postgres"));
    value.insert("host".into(), json!(f.host));
    value.insert("port".into(), json!(f.port.unwrap_or(5432)));
    value.insert("username".into(), json!(f.user));
    value.insert("password".into(), json!(f.password.expose()));
    if let Some(database) = &f.database {
        value.insert("dbname".into(), json!(database));
    }
    if let Some(mode) = &f.sslmode {
        value.insert("sslmode".into(), json!(mode));
    }
    Ok(Planned {
        name: format!("{prefix}/postgres"),
        kind: EngineKind::Postgres,
        summary: format!(
            "user \"{}\" at {}:{}, database {}{}",
            sanitize(&f.user),
            sanitize(&f.host),
            f.port.unwrap_or(5432),
            sanitize(f.database.as_deref().unwrap_or("postgres")),
            f.sslmode
                .as_deref()
                .map(|m| format!(", sslmode {}", sanitize(m)))
                .unwrap_or_default()
        ),
        from,
        value: Secret::new(Value::Object(value).to_string()),
    })
}

/// `postgres[ql]://user:password@host:port/database?sslmode=…`, percent-decoded. Errors never
/// quote the URL: it holds the password.
fn postgres_url(url: &str) -> Result<PgFields, String> {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (userinfo, hostport) = authority
        .rsplit_once('@')
        .ok_or("has no user name (user:password@host)")?;
    let (user, password) = userinfo
        .split_once(':')
        .ok_or("has no password (user:password@host)")?;
    if hostport.contains(',') {
        return Err("names several hosts; make one secret per host".into());
    }
    let (host, port) = match hostport.strip_prefix('[') {
        Some(v6) => {
            let (host, after) = v6.split_once(']').ok_or("has an unclosed [ in its host")?;
            (host.to_owned(), after.strip_prefix(':'))
        }
        None => match hostport.rsplit_once(':') {
            Some((host, port)) => (host.to_owned(), Some(port)),
            None => (hostport.to_owned(), None),
        },
    };
    let port = port
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<u16>()
                .map_err(|_| "has a port that is not a number")
        })
        .transpose()?;
    let mut sslmode = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        if let Some(("sslmode", mode)) = pair.split_once('=') {
            sslmode = Some(decode(mode)?);
        }
    }
    Ok(PgFields {
        host: decode(&host)?,
        port,
        user: decode(user)?,
        password: Secret::new(decode(password)?),
        database: Some(decode(path)?).filter(|d| !d.is_empty()),
        sslmode,
    })
}

fn decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            out.push(hex.ok_or("has a malformed %-escape")?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "decodes to text that is not UTF-8".into())
}

pub async fn import(session: &Session, args: &Import) -> Result<Exit, Stop> {
    let path = sanitize(&args.env_file.display().to_string());
    let text = std::fs::read_to_string(&args.env_file)
        .map_err(|e| Stop::failed(format!("cannot read {path}: {e}")))?;
    let vars = dotenv::parse(&text).map_err(|e| Stop::refused(format!("{path}: {e}")))?;
    let (planned, left) = plan(&vars, &args.prefix, args.jwt_secret_name.as_deref())
        .map_err(|e| Stop::refused(format!("{path}: {e}")))?;
    if planned.is_empty() {
        return Err(Stop::refused(format!(
            "{path} holds no credentials these functions rotate (DATABASE_URL, POSTGRES_*, PG*, DB_*, NEO4J_*, JWT_SECRET_KEY or JWT_SECRET)"
        )));
    }
    let mut existing = Vec::new();
    for p in &planned {
        if session.api.exists(&p.name).await? {
            existing.push(p.name.clone());
        }
    }
    let file = args
        .env_file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| ".env".into());
    let mut created = Vec::new();
    if args.apply && existing.is_empty() {
        for p in &planned {
            let tags = vec![
                ("managed-by".to_owned(), "rotate".to_owned()),
                ("rotation-engine".to_owned(), p.kind.as_str().to_owned()),
                ("imported-from".to_owned(), file.clone()),
            ];
            let description = format!(
                "{} credentials imported from {file} by rotate",
                p.kind.as_str()
            );
            let arn = session
                .api
                .create(&p.name, &p.value, &description, &tags)
                .await?;
            if let (Some(function), Some(days)) = (&args.rotation_function, args.days) {
                session.api.enable_rotation(&arn, function, days).await?;
            }
            created.push(arn);
        }
    }
    report(session, args, &planned, &left, &existing, &created);
    Ok(if existing.is_empty() {
        Exit::Ok
    } else {
        Exit::Problem
    })
}

fn report(
    session: &Session,
    args: &Import,
    planned: &[Planned],
    left: &[String],
    existing: &[String],
    created: &[String],
) {
    let out = &session.out;
    let rotation = args.rotation_function.as_ref().map(|f| {
        format!(
            "every {} days with {}",
            args.days.unwrap_or_default(),
            sanitize(f)
        )
    });
    if out.json {
        out.document(&json!({
            "env_file": args.env_file.display().to_string(),
            "applied": !created.is_empty(),
            "secrets": planned.iter().map(|p| json!({
                "name": p.name,
                "engine": p.kind.as_str(),
                "from": p.from,
                "summary": p.summary,
                "exists": existing.contains(&p.name),
                "arn": created.iter().find(|arn| arn.contains(&format!(":secret:{}-", p.name))),
                "rotation": rotation,
            })).collect::<Vec<_>>(),
            "not_imported": left,
        }));
        return;
    }
    println!(
        "{} {}",
        out.bold("import"),
        sanitize(&args.env_file.display().to_string())
    );
    for p in planned {
        let mark = match (existing.contains(&p.name), created.is_empty()) {
            (true, _) => out.mark(false),
            (false, false) => out.mark(true),
            (false, true) => "+".to_owned(),
        };
        println!(
            "  {mark} {:<28} {:<8} from {}",
            sanitize(&p.name),
            p.kind.as_str(),
            p.from.join(", ")
        );
        println!("      {}", p.summary);
        if existing.contains(&p.name) {
            println!("      already exists: import never overwrites a secret");
        }
    }
    if let Some(rotation) = &rotation {
        println!("  rotation: {rotation}, first rotation on that schedule");
    }
    if !left.is_empty() {
        println!(
            "  not imported (no rotation function for them): {}",
            left.join(", ")
        );
    }
    if !existing.is_empty() {
        println!(
            "{} nothing created: {} already exist(s); choose another --prefix or delete them first",
            out.mark(false),
            existing.join(", ")
        );
    } else if created.is_empty() {
        let mut command = format!(
            "import --env-file {} --prefix {}",
            shell_word(&args.env_file.display().to_string()),
            shell_word(&args.prefix)
        );
        if let Some(name) = &args.jwt_secret_name {
            command.push_str(&format!(" --jwt-secret-name {}", shell_word(name)));
        }
        if let (Some(f), Some(d)) = (&args.rotation_function, args.days) {
            command.push_str(&format!(
                " --rotation-function {} --days {d}",
                shell_word(f)
            ));
        }
        println!(
            "dry run: nothing created. Create them with `{} --apply`",
            session.commands.rotate_command(&command)
        );
    } else {
        println!(
            "{} created {} secret(s); check each with `rotate check --secret-id NAME` before its first rotation",
            out.mark(true),
            created.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(text: &str) -> EnvFile {
        dotenv::parse(text).unwrap()
    }

    fn value(p: &Planned) -> Value {
        serde_json::from_str(p.value.expose()).unwrap()
    }

    #[test]
    fn a_database_url_becomes_a_postgres_secret() {
        let (planned, left) = plan(
            &vars("DATABASE_URL=postgresql://app%40corp:p%3Ass%2Fw@db.internal:6432/sales?sslmode=verify-full&application_name=x\nOPENAI_API_KEY=sk-1\n"),
            "shop-prod",
            None,
        )
        .unwrap();
        assert_eq!(planned.len(), 1);
        assert_eq!(planned[0].name, "shop-prod/postgres");
        assert_eq!(
            value(&planned[0]),
            json!({"engine": "postgres", "host": "db.internal", "port": 6432, "username": "app@corp", "password": "p:ss/w", "dbname": "sales", "sslmode": "verify-full"})
        );
        assert!(!planned[0].summary.contains("p:ss"));
        assert_eq!(left, ["OPENAI_API_KEY"]);
    }

    #[test]
    fn separate_variables_and_other_services() {
        let (planned, left) = plan(
            &vars("DB_HOST=localhost\nDB_USER=postgres\nDB_PASSWORD=local_dev_password\nDB_NAME=nba_stats\nNEO4J_URI=bolt+s://x.databases.neo4j.io:7687\nNEO4J_USER=neo4j\nNEO4J_PASSWORD=pw\nJWT_SECRET=abcdefghijklmnopqrstuvwxyz0123456789\n"),
            "nba",
            Some("jwt/secret_key"),
        )
        .unwrap();
        let names: Vec<&str> = planned.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["nba/postgres", "nba/neo4j", "jwt/secret_key"]);
        assert_eq!(value(&planned[0])["dbname"], "nba_stats");
        assert_eq!(value(&planned[0])["port"], 5432);
        assert_eq!(
            value(&planned[1]),
            json!({"engine": "neo4j", "uri": "bolt+s://x.databases.neo4j.io:7687", "username": "neo4j", "password": "pw"})
        );
        assert_eq!(
            planned[2].value.expose(),
            "abcdefghijklmnopqrstuvwxyz0123456789"
        );
        assert!(left.is_empty());
    }

    #[test]
    fn incomplete_shapes_are_named_without_values() {
        for (text, expected) in [
            (
                "POSTGRES_HOST=db\nPOSTGRES_USER=u\n",
                "POSTGRES_HOST is set but POSTGRES_PASSWORD is not",
            ),
            (
                "DATABASE_URL=postgres://u@db/x\n",
                "DATABASE_URL has no password (user:password@host)",
            ),
            (
                "DATABASE_URL=postgres://u:hunter2@db:x/y\n",
                "DATABASE_URL has a port that is not a number",
            ),
            (
                "NEO4J_URI=bolt://db\nNEO4J_PASSWORD=hunter2\n",
                "NEO4J_URI is set but neither NEO4J_USERNAME nor NEO4J_USER is",
            ),
        ] {
            let e = plan(&vars(text), "p", None).err().unwrap();
            assert_eq!(e, expected);
        }
    }
}
