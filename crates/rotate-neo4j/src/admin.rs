//! The admin secret of the alternating-users strategy: `username` and `password`, and
//! optionally a `uri`, which must name the user secret's host. We always connect to the user
//! secret's server, so admin credentials never go anywhere the user secret does not point.

use rotation_core::{
    LoginSecret, RotationError, Secret, StepContext, fetch_admin_secret, sanitize,
};

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
        let unusable = |reason: String| RotationError::AdminSecret {
            secret: sanitize(admin_secret),
            reason,
        };
        let admin = LoginSecret::from_json(&value).map_err(unusable)?;
        if let Some(uri) = admin.string(&["uri"]).map_err(unusable)? {
            let admin_uri = BoltUri::parse(&uri).map_err(unusable)?;
            if !admin_uri.host.eq_ignore_ascii_case(&user.uri.host) {
                return Err(RotationError::AdminHostMismatch {
                    secret: sanitize(ctx.secret_id),
                    admin_host: sanitize(&admin_uri.host),
                    user_host: sanitize(&user.uri.host),
                });
            }
        }
        Ok(Self {
            username: admin.username.clone(),
            password: admin.password.clone(),
        })
    }
}
