//! Alternating users: `name` and `name_clone` take turns. The admin secret's credentials set
//! the password of the user not in use, creating the clone on first use.
//!
//! AWS's template grants the original role to the clone once, so what the clone creates is
//! owned by the clone and grants made later to the original never reach it. Here the clone
//! *acts as* the original in every session (see [`sql::act_as`]): both users always have the
//! same rights and own the same objects.

use rotation_core::{Applied, FailureKind, RotationError, StepContext, base_username, sanitize};
use tracing::info;

use crate::admin::AdminLogin;
use crate::connect::error_text;
use crate::engine::{PostgresEngine, who_am_i};
use crate::secret::PgSecret;
use crate::sql;

pub async fn apply(
    engine: &PostgresEngine,
    ctx: &StepContext<'_>,
    admin_secret: &str,
    pending: &PgSecret,
) -> Result<Applied, RotationError> {
    let base = base_username(&pending.username);
    match engine.login_as_secret(pending).await {
        Ok(client) => {
            let (_, acting) = who_am_i(&client, &[&pending.password]).await?;
            if acting == base {
                info!(user = %sanitize(&pending.username), "the pending user already logs in and acts as {}; nothing to change", sanitize(base));
                return Ok(Applied::AlreadyInPlace);
            }
            info!(user = %sanitize(&pending.username), acting_as = %sanitize(&acting), "the pending user logs in but does not act as the original; repairing");
        }
        Err(f) if f.kind == FailureKind::LoginRefused => {}
        Err(f) => return Err(f.into()),
    }

    let admin = AdminLogin::fetch(ctx, admin_secret, pending).await?;
    // The user secret decides, unless the admin secret asks for more.
    let user_tls = engine.tls_for(pending);
    let tls = match admin.tls {
        Some(asked) => user_tls.stricter(engine.settings.tls_for(Some(asked))),
        None => user_tls,
    };
    let mut client = engine
        .login(pending, &admin.username, &admin.password, tls)
        .await
        .map_err(|f| RotationError::Server {
            kind: f.kind,
            detail: format!("with the admin secret's credentials: {}", f.detail),
        })?;

    let secrets = [&admin.password, &pending.password];
    let failed = |what: &str, e: tokio_postgres::Error, extra: &[&rotation_core::Secret]| {
        RotationError::Server {
            kind: FailureKind::Statement,
            detail: format!(
                "{what} \"{}\" as the admin user failed: {}",
                sanitize(&pending.username),
                error_text(&e, secrets.iter().copied().chain(extra.iter().copied()))
            ),
        }
    };
    // One transaction: a crash part way leaves either no change or all of it.
    let tx = client
        .transaction()
        .await
        .map_err(|e| failed("starting a transaction for", e, &[]))?;
    let exists = tx
        .query_opt(sql::ROLE_EXISTS, &[&pending.username])
        .await
        .map_err(|e| failed("looking up role", e, &[]))?
        .is_some();
    let (statement, verifier) = if exists {
        sql::set_password(&pending.username, &pending.password)
    } else {
        sql::create_role(&pending.username, &pending.password)
    };
    let action = if exists {
        "changing the password of role"
    } else {
        "creating role"
    };
    tx.batch_execute(&statement)
        .await
        .map_err(|e| failed(action, e, &[&verifier]))?;
    if pending.username != base {
        tx.batch_execute(&sql::act_as(&pending.username, base))
            .await
            .map_err(|e| failed(&format!("letting {} act as", sanitize(base)), e, &[]))?;
    }
    tx.commit()
        .await
        .map_err(|e| failed("committing the change to role", e, &[&verifier]))?;
    info!(user = %sanitize(&pending.username), created = !exists, "set the pending password with the admin secret");
    Ok(Applied::Changed)
}
