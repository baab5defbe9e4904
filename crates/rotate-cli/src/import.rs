//! `rotate import`: credentials from a `.env` file become secrets in the formats the rotation
//! functions rotate. Dry run by default; never overwrites a secret; never prints a value.

use std::collections::BTreeSet;

use rotation_core::{Engine, Secret, StepContext, sanitize};
use serde_json::{Map, Value, json};

use crate::cli::{EngineKind, Import};
use crate::dotenv::{self, EnvFile};
use crate::exit::{Exit, Stop};
use crate::session::{Session, shell_word};
use crate::settings::Settings;

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

/// The variable names of one way to spell a PostgreSQL login; the first name of a list that is
/// set is used.
struct PgShape {
    host: &'static str,
    port: &'static str,
    user: &'static [&'static str],
    password: &'static str,
    database: &'static [&'static str],
}

const POSTGRES_SHAPES: [PgShape; 3] = [
    PgShape {
        host: "POSTGRES_HOST",
        port: "POSTGRES_PORT",
        user: &["POSTGRES_USER"],
        password: "POSTGRES_PASSWORD",
        database: &["POSTGRES_DB"],
    },
    PgShape {
        host: "PGHOST",
        port: "PGPORT",
        user: &["PGUSER"],
        password: "PGPASSWORD",
        database: &["PGDATABASE"],
    },
    // The NBA seed's DB_USER/DB_NAME, and Laravel's DB_USERNAME/DB_DATABASE.
    PgShape {
        host: "DB_HOST",
        port: "DB_PORT",
        user: &["DB_USER", "DB_USERNAME"],
        password: "DB_PASSWORD",
        database: &["DB_NAME", "DB_DATABASE"],
    },
];
/// Names DB_* for a database other than PostgreSQL when it says so (Laravel).
const DB_CONNECTION: &str = "DB_CONNECTION";
const POSTGRES_CONNECTIONS: [&str; 3] = ["pgsql", "postgres", "postgresql"];
const DATABASE_URL: &str = "DATABASE_URL";
const NEO4J: [&str; 5] = [
    "NEO4J_URI",
    "NEO4J_USERNAME",
    "NEO4J_USER",
    "NEO4J_PASSWORD",
    "NEO4J_DATABASE",
];
const JWT: [&str; 2] = ["JWT_SECRET_KEY", "JWT_SECRET"];

/// What a .env file holds for each function.
pub struct ImportPlan {
    pub planned: Vec<Planned>,
    /// Variables no secret is made from.
    pub left: Vec<String>,
    /// Why a group of variables was passed over.
    pub notes: Vec<String>,
}

pub fn plan(vars: &EnvFile, prefix: &str, jwt_name: Option<&str>) -> Result<ImportPlan, String> {
    let mut planned = Vec::new();
    let mut notes = Vec::new();
    let text = |name: &str| vars.get(name).map(|v| v.expose()).filter(|v| !v.is_empty());
    let first = |names: &[&'static str]| names.iter().find_map(|n| text(n).map(|v| (*n, v)));

    let connection = text(DB_CONNECTION);
    let shapes = POSTGRES_SHAPES.iter().filter(|shape| {
        let other = shape.host == "DB_HOST"
            && connection.is_some_and(|c| !POSTGRES_CONNECTIONS.contains(&c));
        if other && text(shape.host).is_some() {
            notes.push(format!(
                "DB_* describe a {} database ({DB_CONNECTION}), which no function here rotates",
                sanitize(connection.unwrap_or_default())
            ));
        }
        !other
    });
    let shapes: Vec<&PgShape> = shapes.collect();
    if let Some(url) = text(DATABASE_URL)
        .filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"))
    {
        let fields = postgres_url(url).map_err(|why| format!("{DATABASE_URL} {why}"))?;
        planned.push(postgres(prefix, fields, vec![DATABASE_URL.into()])?);
    } else if let Some(shape) = shapes.into_iter().find(|shape| text(shape.host).is_some()) {
        let missing = |what: &str| format!("{} is set but {what} is not", shape.host);
        let (user_name, user) =
            first(shape.user).ok_or_else(|| missing(&shape.user.join(" or ")))?;
        let password = text(shape.password).ok_or_else(|| missing(shape.password))?;
        let database = first(shape.database);
        let fields = PgFields {
            host: text(shape.host).unwrap_or_default().to_owned(),
            port: text(shape.port)
                .map(|p| {
                    p.parse::<u16>()
                        .map_err(|_| format!("{} is not a port number", shape.port))
                })
                .transpose()?,
            user: user.to_owned(),
            password: Secret::new(password),
            database: database.map(|(_, d)| d.to_owned()),
            sslmode: None,
        };
        let mut from = vec![shape.host, shape.port, user_name, shape.password];
        from.extend(database.map(|(name, _)| name));
        let from = from
            .into_iter()
            .filter(|n| vars.contains_key(*n))
            .map(str::to_owned)
            .collect();
        planned.push(postgres(prefix, fields, from)?);
    }

    if let Some(uri) = text(NEO4J[0]) {
        let user = text(NEO4J[1])
            .or(text(NEO4J[2]))
            .ok_or("NEO4J_URI is set but neither NEO4J_USERNAME nor NEO4J_USER is")?;
        let password = text(NEO4J[3]).ok_or("NEO4J_URI is set but NEO4J_PASSWORD is not")?;
        if uri.contains('@') {
            return Err(
                "NEO4J_URI carries credentials (user:password@); keep them in NEO4J_USERNAME and NEO4J_PASSWORD only".into(),
            );
        }
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
    let used: BTreeSet<&String> = planned.iter().flat_map(|p| &p.from).collect();
    let left = vars.keys().filter(|k| !used.contains(k)).cloned().collect();
    Ok(ImportPlan {
        planned,
        left,
        notes,
    })
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
        .map_err(|e| Stop::refused(format!("cannot read {path}: {e}")))?;
    let vars = dotenv::parse(&text).map_err(|e| Stop::refused(format!("{path}: {e}")))?;
    let plan = plan(&vars, &args.prefix, args.jwt_secret_name.as_deref())
        .map_err(|e| Stop::refused(format!("{path}: {e}")))?;
    if plan.planned.is_empty() {
        return Err(Stop::refused(format!(
            "{path} holds no credentials these functions rotate (DATABASE_URL, POSTGRES_*, PG*, DB_*, NEO4J_*, JWT_SECRET_KEY or JWT_SECRET){}",
            plan.notes
                .iter()
                .map(|n| format!("; {n}"))
                .collect::<String>()
        )));
    }
    // Each value goes through its function's own parsing first, with the settings the
    // functions read, so nothing is stored that the first rotation would reject.
    let settings = Settings::load(session, args.rotation_function.as_deref(), None).await?;
    for p in &plan.planned {
        let engine = crate::engines::build(p.kind, &session.config, &settings)?;
        let ctx = StepContext::new(&p.name, &session.api.store);
        engine.build_pending(&ctx, &p.value).map_err(|e| {
            Stop::refused(format!(
                "{path}: {} would not rotate: {e} ({})",
                p.name,
                e.error_type()
            ))
        })?;
    }
    let mut existing = Vec::new();
    for p in &plan.planned {
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
        for p in &plan.planned {
            let created_so_far = |e: Stop, done: &[String]| match done.is_empty() {
                true => e,
                false => Stop {
                    exit: e.exit,
                    message: format!(
                        "{} (created: {}; delete them, or finish the import by hand)",
                        e.message,
                        done.join(", ")
                    ),
                },
            };
            let arn = create(session, p, &file)
                .await
                .map_err(|e| created_so_far(e, &created))?;
            created.push(p.name.clone());
            if let (Some(function), Some(days)) = (&args.rotation_function, args.days) {
                session
                    .api
                    .enable_rotation(&arn, function, days)
                    .await
                    .map_err(|e| created_so_far(e, &created))?;
            }
        }
    }
    report(session, args, &plan, &existing, &created);
    Ok(if existing.is_empty() {
        Exit::Ok
    } else {
        Exit::Problem
    })
}

async fn create(session: &Session, p: &Planned, file: &str) -> Result<String, Stop> {
    let tags = [
        ("managed-by".to_owned(), "rotate".to_owned()),
        ("rotation-engine".to_owned(), p.kind.as_str().to_owned()),
        ("imported-from".to_owned(), file.to_owned()),
    ];
    let description = format!(
        "{} credentials imported from {file} by rotate",
        p.kind.as_str()
    );
    session
        .api
        .create(&p.name, &p.value, &description, &tags)
        .await
}

fn report(
    session: &Session,
    args: &Import,
    plan: &ImportPlan,
    existing: &[String],
    created: &[String],
) {
    let (planned, left) = (&plan.planned, &plan.left);
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
                "created": created.contains(&p.name),
                "rotation": rotation,
            })).collect::<Vec<_>>(),
            "not_imported": left,
            "notes": plan.notes,
        }));
        return;
    }
    println!(
        "{} {}",
        out.bold("import"),
        sanitize(&args.env_file.display().to_string())
    );
    for p in planned.iter() {
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
        println!(
            "  rotation: {rotation}; Secrets Manager tries the function's testSecret step at once and rotates on the schedule"
        );
    }
    for note in &plan.notes {
        println!("  note: {note}");
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
        let ImportPlan { planned, left, .. } = plan(
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
        let ImportPlan { planned, left, .. } = plan(
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
    fn laravel_names_and_its_db_connection_are_honoured() {
        let laravel =
            "DB_HOST=db\nDB_PORT=5432\nDB_USERNAME=app\nDB_PASSWORD=pw\nDB_DATABASE=shop\n";
        let ImportPlan { planned, .. } =
            plan(&vars(&format!("DB_CONNECTION=pgsql\n{laravel}")), "p", None).unwrap();
        assert_eq!(value(&planned[0])["username"], "app");
        assert_eq!(value(&planned[0])["dbname"], "shop");
        assert_eq!(
            planned[0].from,
            [
                "DB_HOST",
                "DB_PORT",
                "DB_USERNAME",
                "DB_PASSWORD",
                "DB_DATABASE"
            ]
        );

        let ImportPlan {
            planned,
            left,
            notes,
        } = plan(&vars(&format!("DB_CONNECTION=mysql\n{laravel}")), "p", None).unwrap();
        assert!(planned.is_empty());
        assert_eq!(left.len(), 6);
        assert_eq!(
            notes,
            ["DB_* describe a mysql database (DB_CONNECTION), which no function here rotates"]
        );
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
            (
                "NEO4J_URI=neo4j+s://neo4j:hunter2@db:7687\nNEO4J_USER=neo4j\nNEO4J_PASSWORD=hunter2\n",
                "NEO4J_URI carries credentials (user:password@); keep them in NEO4J_USERNAME and NEO4J_PASSWORD only",
            ),
        ] {
            let e = plan(&vars(text), "p", None).err().unwrap();
            assert_eq!(e, expected);
        }
    }
}
