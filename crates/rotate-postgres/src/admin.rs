//! The admin secret of the alternating-users strategy.
//!
//! It may be a full PostgreSQL secret or an RDS-managed master secret holding only
//! `username` and `password`; either way we connect to the *user* secret's server, and refuse
//! when the admin secret names another host, so admin credentials never go anywhere the user
//! secret does not point.

use rotation_core::{
    LoginSecret, RotationError, Secret, StepContext, fetch_admin_secret, sanitize,
};

use crate::secret::PgSecret;
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
        let admin = LoginSecret::from_json(&value).map_err(unusable)?;
        let admin_host = admin.string(&["host"]).map_err(unusable)?;
        if let Some(host) = admin_host.filter(|h| !h.eq_ignore_ascii_case(&user.host)) {
            return Err(RotationError::AdminHostMismatch {
                secret: sanitize(ctx.secret_id),
                admin_host: sanitize(&host),
                user_host: sanitize(&user.host),
            });
        }
        let tls =
            TlsPolicy::from_secret(admin.get("sslmode"), admin.get("ssl")).map_err(unusable)?;
        Ok(Self {
            username: admin.username.clone(),
            password: admin.password.clone(),
            tls,
        })
    }
}
