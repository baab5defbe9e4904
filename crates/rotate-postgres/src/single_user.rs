//! Single user: the role changes its own password, logging in with whichever stored password
//! the server still accepts.

use rotation_core::{
    AWSCURRENT, AWSPENDING, AWSPREVIOUS, Applied, FailureKind, RotationError, Secret, sanitize,
    scrub,
};
use tracing::info;

use crate::connect::error_text;
use crate::engine::PostgresEngine;
use crate::secret::PgSecret;
use crate::sql;

pub async fn apply(
    engine: &PostgresEngine,
    current: &PgSecret,
    pending: &PgSecret,
    previous: Option<&PgSecret>,
) -> Result<Applied, RotationError> {
    let mut candidates: Vec<(&str, &Secret)> = vec![
        (AWSPENDING, &pending.password),
        (AWSCURRENT, &current.password),
    ];
    if let Some(previous) = previous.filter(|p| p.password != current.password) {
        candidates.push((AWSPREVIOUS, &previous.password));
    }
    let tls = engine.tls_for(pending);
    let mut refused = Vec::new();
    for (stage, password) in candidates {
        match engine
            .login(pending, &pending.username, password, tls)
            .await
        {
            Ok(_) if stage == AWSPENDING => {
                info!("the pending password already logs in; nothing to change");
                return Ok(Applied::AlreadyInPlace);
            }
            Ok(client) => {
                let (statement, verifier) = sql::set_password(&pending.username, &pending.password);
                client
                    .batch_execute(&statement)
                    .await
                    .map_err(|e| RotationError::Server {
                        kind: FailureKind::Statement,
                        detail: format!(
                            "changing the password of role \"{}\" failed: {}",
                            sanitize(&pending.username),
                            error_text(&e, [password, &pending.password, &verifier])
                        ),
                    })?;
                info!(logged_in_with = stage, role = %sanitize(&pending.username), "set the pending password");
                return Ok(Applied::Changed);
            }
            // Only a refused password is worth trying the next one for; an unreachable
            // server or a TLS failure will not change with another password, and each
            // further attempt would only add another timeout.
            Err(f) if f.kind == FailureKind::LoginRefused => {
                refused.push(format!("{stage}: {}", f.detail))
            }
            Err(f) => return Err(f.into()),
        }
    }
    Err(RotationError::NoWorkingCredentials {
        attempts: scrub(&refused.join("; "), [&pending.password]),
    })
}
