//! The admin secret of the alternating-users strategy, and the one server its credentials may
//! be sent to.
//!
//! The user secret is often writable by an application team; the admin secret only by DBAs.
//! So the admin login's host, port and transport come from the admin side alone: the admin
//! secret's own server, or, for a master secret that RDS manages, the endpoint of the DB
//! instance or cluster named in its tags. The user secret may only agree with that; a user
//! secret that names any other server gets a refusal, and no login is attempted.

use tracing::info;

use crate::engine::{MAX_SECRET_BYTES, StepContext};
use crate::error::RotationError;
use crate::login_secret::LoginSecret;
use crate::rds::{DatabaseDirectory, RDS_CLUSTER_TAG, RDS_INSTANCE_TAG, RdsResource};
use crate::redact::{Secret, sanitize};
use crate::server::{Endpoint, Server};
use crate::store::{AWSCURRENT, StoreError};

/// Admin credentials, and where they may go.
pub struct AdminAccess<E> {
    pub username: String,
    pub password: Secret,
    pub endpoint: E,
}

/// Reads admin secret `admin_secret` and works out where its credentials may be sent, refusing
/// when `user` (the endpoint the user secret names) is not that server.
pub async fn locate_admin<S: Server>(
    server: &S,
    directory: Option<&dyn DatabaseDirectory>,
    ctx: &StepContext<'_>,
    admin_secret: &str,
    user: &S::Endpoint,
) -> Result<AdminAccess<S::Endpoint>, RotationError> {
    let unusable = |reason: String| RotationError::AdminSecret {
        secret: sanitize(admin_secret),
        reason,
    };
    let value = fetch_admin_secret(ctx, admin_secret).await?;
    let admin = LoginSecret::from_json(&value).map_err(unusable)?;
    let mismatch = |admin_server: String| RotationError::AdminHostMismatch {
        secret: sanitize(ctx.secret_id),
        admin_server: sanitize(&admin_server),
        user_server: sanitize(&user.address()),
    };
    let names_no_server = |why: &str| {
        unusable(format!(
            "it names no server (\"{}\"){why}; admin credentials go only to a server the admin side names, never to the host of a user secret",
            S::ADMIN_SERVER_KEY
        ))
    };

    let endpoint = match server
        .admin_endpoint(&admin, user)
        .map_err(|e| e.into_error(unusable))?
    {
        Some(endpoint) => {
            if !user.is_at(endpoint.host(), endpoint.port()) {
                return Err(mismatch(endpoint.address()));
            }
            info!(server = %sanitize(&endpoint.address()), "the admin secret names its server");
            endpoint
        }
        None => {
            let directory = directory.ok_or_else(|| names_no_server(""))?;
            let tags = ctx
                .store
                .describe(admin_secret)
                .await
                .map_err(|e| {
                    unusable(format!(
                        "it names no server (\"{}\"), and reading its tags to find the RDS database it belongs to failed (the function needs secretsmanager:DescribeSecret on it): {e}",
                        S::ADMIN_SERVER_KEY
                    ))
                })?
                .tags;
            let resource = RdsResource::from_tags(&tags).ok_or_else(|| {
                names_no_server(&format!(
                    " and is not a master secret that RDS manages (no {RDS_INSTANCE_TAG} or {RDS_CLUSTER_TAG} tag)"
                ))
            })?;
            let what = format!("{} {}", resource.kind(), sanitize(resource.arn()));
            let endpoints = directory.endpoints(&resource).await.map_err(|e| {
                unusable(format!(
                    "looking up RDS {what} failed (the function needs rds:DescribeDBInstances and rds:DescribeDBClusters): {}",
                    sanitize(&e)
                ))
            })?;
            if !endpoints.all().any(|a| user.is_at(&a.host, a.port)) {
                let listed: Vec<String> = endpoints
                    .all()
                    .map(|a| format!("{}:{}", a.host, a.port))
                    .collect();
                return Err(mismatch(format!("{} ({what})", listed.join(" or "))));
            }
            let endpoint = server
                .located_admin_endpoint(
                    &admin,
                    &endpoints.primary.host,
                    endpoints.primary.port,
                    user,
                )
                .map_err(|e| e.into_error(unusable))?;
            info!(server = %sanitize(&endpoint.address()), rds = %what, "the admin secret's server comes from RDS");
            endpoint
        }
    };
    Ok(AdminAccess {
        username: admin.username.clone(),
        password: admin.password.clone(),
        endpoint,
    })
}

/// The AWSCURRENT value of the admin secret, with errors that say which secret and why.
async fn fetch_admin_secret(
    ctx: &StepContext<'_>,
    admin_secret: &str,
) -> Result<Secret, RotationError> {
    let unusable = |reason: String| RotationError::AdminSecret {
        secret: sanitize(admin_secret),
        reason,
    };
    match ctx.store.get_value(admin_secret, AWSCURRENT, None).await {
        Ok(Some(value)) if value.expose().len() > MAX_SECRET_BYTES => Err(unusable(format!(
            "it is {} bytes, more than the {MAX_SECRET_BYTES} bytes Secrets Manager stores in a secret value",
            value.expose().len()
        ))),
        Ok(Some(value)) => Ok(value),
        Ok(None) => Err(unusable(
            "it does not exist or has no AWSCURRENT value".into(),
        )),
        Err(StoreError::Binary) => Err(unusable(
            "it holds a SecretBinary, not a SecretString".into(),
        )),
        Err(StoreError::Api { operation, message }) => Err(unusable(format!(
            "{operation} failed (the function needs secretsmanager:GetSecretValue on it): {message}"
        ))),
        Err(e @ StoreError::Timeout { .. }) => Err(e.for_stage(admin_secret, AWSCURRENT)),
    }
}
