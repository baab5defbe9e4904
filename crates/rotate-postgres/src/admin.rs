//! The admin secret of the alternating-users strategy.
//!
//! It may be a full PostgreSQL secret or an RDS-managed master secret holding only
//! `username` and `password`; either way we connect to the *user* secret's server, and refuse
//! when the admin secret names another host, so admin credentials never go anywhere the user
//! secret does not point.

use rotation_core::{RotationError, Secret, StepContext, fetch_admin_secret, sanitize};
use serde_json::Value;

use crate::secret::{PgSecret, USERNAME_KEYS, optional_str, required_str};
use crate::tls::TlsPolicy;

pub struct AdminLogin {
    pub username: String,
    pub password: Secret,
    pub tls: Option<TlsPolicy>,
}

impl AdminLogin {
    pub async fn fetch(
        ctx: &StepContext<'_>,
        admin_secret: &str,
        user: &PgSecret,
    ) -> Result<Self, RotationError> {
        let value = fetch_admin_secret(ctx, admin_secret).await?;
        let unusable = |reason: String| RotationError::AdminSecret {
            secret: sanitize(admin_secret),
            reason,
        };
        let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(value.expose()) else {
            return Err(unusable("its value is not a JSON object".into()));
        };
        let username = required_str(&fields, &USERNAME_KEYS).map_err(&unusable)?;
        let password = match fields.get("password") {
            Some(Value::String(p)) => Secret::new(p.clone()),
            _ => return Err(unusable("it has no \"password\" string".into())),
        };
        let admin_host = optional_str(&fields, &["host"]).map_err(&unusable)?;
        if let Some(host) = admin_host.filter(|h| !h.eq_ignore_ascii_case(&user.host)) {
            return Err(RotationError::AdminHostMismatch {
                secret: sanitize(ctx.secret_id),
                admin_host: sanitize(&host),
                user_host: sanitize(&user.host),
            });
        }
        let tls =
            TlsPolicy::from_secret(fields.get("sslmode"), fields.get("ssl")).map_err(&unusable)?;
        Ok(Self {
            username,
            password,
            tls,
        })
    }
}
