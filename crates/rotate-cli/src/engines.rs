//! Which function rotates a secret, and that function's engine, configured from the same
//! environment variables the deployed function reads.

use rotate_neo4j::Neo4j;
use rotate_postgres::Postgres;
use rotation_core::{AwsRds, Inspect, RotationError, Secret, Server, StepContext, sanitize};
use serde_json::Value;

use crate::aws::SecretState;
use crate::cli::{EngineKind, Target};
use crate::exit::Stop;
use crate::session::Session;
use crate::settings::Settings;

/// The engine `chosen` on the command line, else the one the AWSCURRENT value names or looks
/// like. A wrong guess is caught by the engine itself, which checks the value's `engine`.
pub fn engine_kind(chosen: Option<EngineKind>, current: &Secret) -> Result<EngineKind, Stop> {
    if let Some(kind) = chosen {
        return Ok(kind);
    }
    let fields = match serde_json::from_str::<Value>(current.expose()) {
        Ok(Value::Object(fields)) => fields,
        // A bare string is a signing key kept as the apps read it.
        Ok(Value::String(_)) | Err(_) if !current.expose().trim_start().starts_with('{') => {
            return Ok(EngineKind::Jwt);
        }
        _ => return Err(unknown("it is not a JSON object")),
    };
    if let Some(engine) = fields.get("engine").and_then(Value::as_str) {
        return match engine {
            e if <Postgres as Server>::ENGINES.contains(&e) => Ok(EngineKind::Postgres),
            e if <Neo4j as Server>::ENGINES.contains(&e) => Ok(EngineKind::Neo4j),
            "jwt" => Ok(EngineKind::Jwt),
            other => Err(unknown(&format!("its \"engine\" is {:?}", sanitize(other)))),
        };
    }
    let has = |key: &str| fields.contains_key(key);
    if has(rotate_jwt::SIGNING_KEY) || has(rotate_jwt::JWKS) {
        Ok(EngineKind::Jwt)
    } else if has("uri") {
        Ok(EngineKind::Neo4j)
    } else if has("host") {
        Ok(EngineKind::Postgres)
    } else {
        Err(unknown(
            "it names no \"engine\", \"host\", \"uri\" or \"signing_key\"",
        ))
    }
}

fn unknown(why: &str) -> Stop {
    Stop::refused(format!(
        "cannot tell which function rotates this secret: {why}; name it with --engine postgres|neo4j|jwt"
    ))
}

/// What a command that works on one secret's credentials starts from: the AWSCURRENT value,
/// the engine it is for, and the settings that engine is to be built with.
pub struct Chosen {
    pub current: Secret,
    pub kind: EngineKind,
    pub settings: Settings,
}

impl Chosen {
    pub async fn for_secret(
        session: &Session,
        target: &Target,
        state: &SecretState,
    ) -> Result<Self, Stop> {
        let current = StepContext::new(&state.arn, &session.api.store)
            .current()
            .await?;
        let kind = engine_kind(target.engine, &current)?;
        let settings = Settings::load(
            session,
            target.function.as_deref(),
            state.function.as_deref(),
        )
        .await?;
        Ok(Self {
            current,
            kind,
            settings,
        })
    }

    /// The engine, as [`build`] makes it.
    pub fn engine(
        &self,
        config: &aws_config::SdkConfig,
    ) -> Result<Box<dyn Inspect>, RotationError> {
        build(self.kind, config, &self.settings)
    }
}

/// The engine of `kind`, configured by `settings` as the function is by its environment.
pub fn build(
    kind: EngineKind,
    config: &aws_config::SdkConfig,
    settings: &Settings,
) -> Result<Box<dyn Inspect>, RotationError> {
    let lookup = |name: &str| settings.lookup(name);
    Ok(match kind {
        EngineKind::Postgres => Box::new(
            rotate_postgres::engine(rotate_postgres::Settings::from_lookup(lookup)?)
                .with_directory(AwsRds::from_config(config)),
        ),
        EngineKind::Neo4j => Box::new(rotate_neo4j::engine(rotate_neo4j::Settings::from_lookup(
            rotate_neo4j::MIN_PASSWORD_LENGTH,
            lookup,
        )?)),
        EngineKind::Jwt => Box::new(
            rotate_jwt::JwtEngine::new(rotate_jwt::Settings::from_lookup(lookup)?)
                .with_s3_from(config),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(value: &str) -> Result<EngineKind, String> {
        engine_kind(None, &Secret::new(value)).map_err(|e| e.message)
    }

    #[test]
    fn tells_the_engine_from_the_value() {
        assert_eq!(
            kind(r#"{"engine":"aurora-postgresql"}"#),
            Ok(EngineKind::Postgres)
        );
        assert_eq!(kind(r#"{"engine":"neo4j"}"#), Ok(EngineKind::Neo4j));
        assert_eq!(
            kind(r#"{"host":"db","username":"u","password":"p"}"#),
            Ok(EngineKind::Postgres)
        );
        assert_eq!(
            kind(r#"{"uri":"bolt://db:7687","username":"u"}"#),
            Ok(EngineKind::Neo4j)
        );
        assert_eq!(
            kind(r#"{"alg":"ES256","signing_key":"…"}"#),
            Ok(EngineKind::Jwt)
        );
        assert_eq!(kind("a-bare-hmac-key-of-some-length"), Ok(EngineKind::Jwt));
    }

    #[test]
    fn refuses_to_guess() {
        for value in [r#"{"engine":"mysql"}"#, r#"{"api_key":"x"}"#, "{not json"] {
            let e = kind(value).unwrap_err();
            assert!(e.contains("--engine"), "{e}");
        }
        assert_eq!(
            engine_kind(Some(EngineKind::Neo4j), &Secret::new("x")).unwrap(),
            EngineKind::Neo4j
        );
    }
}
