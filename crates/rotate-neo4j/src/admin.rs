//! The admin secret of the alternating-users strategy: `username` and `password`, and
//! optionally a `uri`, which must name the user secret's host. We always connect to the user
//! secret's server, so admin credentials never go anywhere the user secret does not point.

use rotation_core::{RotationError, Secret, StepContext, fetch_admin_secret, sanitize};
use serde_json::Value;

use crate::secret::{BoltUri, Neo4jSecret};

pub struct AdminLogin {
    pub username: String,
    pub password: Secret,
}

impl AdminLogin {
    pub async fn fetch(
        ctx: &StepContext<'_>,
        admin_secret: &str,
        user: &Neo4jSecret,
    ) -> Result<Self, RotationError> {
        let value = fetch_admin_secret(ctx, admin_secret).await?;
        let unusable = |reason: &str| RotationError::AdminSecret {
            secret: sanitize(admin_secret),
            reason: reason.into(),
        };
        let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(value.expose()) else {
            return Err(unusable("its value is not a JSON object"));
        };
        let text = |key: &str| {
            fields
                .get(key)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        let username = text("username")
            .or_else(|| text("user"))
            .ok_or_else(|| unusable("it has no \"username\" string"))?;
        let password = text("password").ok_or_else(|| unusable("it has no \"password\" string"))?;
        if let Some(uri) = text("uri") {
            let admin_uri = BoltUri::parse(uri).map_err(|reason| unusable(&reason))?;
            if !admin_uri.host.eq_ignore_ascii_case(&user.uri.host) {
                return Err(RotationError::AdminHostMismatch {
                    secret: sanitize(ctx.secret_id),
                    admin_host: sanitize(&admin_uri.host),
                    user_host: sanitize(&user.uri.host),
                });
            }
        }
        Ok(Self {
            username: username.to_owned(),
            password: Secret::new(password),
        })
    }
}
