//! [`Inspect`] for every login engine: the checks `rotate check` prints and the probes `rotate
//! repair` decides from, made with the same parsing, logins and admin rules as the steps.

use async_trait::async_trait;

use crate::engine::StepContext;
use crate::error::{FailureKind, RotationError};
use crate::inspect::{Finding, Inspect, Probe};
use crate::login_engine::LoginEngine;
use crate::redact::{Secret, sanitize};
use crate::server::{AdminRights, Credentials, Endpoint, PasswordCheck, Server};
use crate::store::{AWSCURRENT, AWSPENDING};
use crate::strategy::{Strategy, base_username};

#[async_trait]
impl<S: Server> Inspect for LoginEngine<S> {
    async fn preflight(&self, ctx: &StepContext<'_>, current: &Secret) -> Vec<Finding> {
        let mut findings = Vec::new();
        let parse = format!("AWSCURRENT parses as a {} secret", S::NAME);
        let current = match self.parse(ctx, AWSCURRENT, current) {
            Ok(parsed) => parsed,
            Err(e) => return vec![Finding::error(parse, &e)],
        };
        let user = sanitize(&current.username);
        let address = sanitize(&current.endpoint.address());
        findings.push(Finding::passed(
            parse,
            format!("user \"{user}\" at {address}"),
        ));

        let strategy = self.strategy(ctx, &current).and_then(|strategy| {
            let next = strategy.pending_username(ctx, &current.username, S::MAX_USERNAME_BYTES)?;
            Ok((strategy, next))
        });
        let check = "the rotation strategy";
        findings.push(match &strategy {
            Ok((Strategy::SingleUser, _)) => Finding::passed(
                check,
                format!("single user: \"{user}\" changes its own password"),
            ),
            Ok((Strategy::AlternatingUsers { admin_secret }, next)) => Finding::passed(
                check,
                format!(
                    "alternating users: the admin secret {} sets the password of \"{}\"",
                    sanitize(admin_secret),
                    sanitize(next)
                ),
            ),
            Err(e) => Finding::error(check, e),
        });

        let bound = self.bound(ctx);
        let who = Credentials::user(&current.username, &current.password);
        let reach = format!("reach {} at {address}", S::NAME);
        let login = format!("log in as \"{user}\" with AWSCURRENT");
        match self.server().login(&current.endpoint, who, bound).await {
            Ok(session) => {
                findings.push(Finding::passed(reach, "the server answered"));
                findings.push(Finding::passed(login, "logged in"));
                let check = "the server checks the password";
                match self.password_checked(&session, &current, bound).await {
                    Ok(Ok(PasswordCheck::Proven)) => findings.push(Finding::passed(
                        check,
                        "it proved it holds this password's verifier (SCRAM)",
                    )),
                    // Nothing more to learn without a failed login, which could lock the user.
                    Ok(Ok(PasswordCheck::Unknown)) if !S::WRONG_PASSWORD_PROBE => {}
                    Ok(Ok(_)) => {
                        findings.push(Finding::passed(check, "a random wrong password is refused"))
                    }
                    Ok(Err(unproven)) => findings.push(Finding::failed(check, unproven)),
                    Err(e) => findings.push(Finding::error(check, &e)),
                }
            }
            Err(f)
                if matches!(
                    f.kind,
                    FailureKind::LoginRefused | FailureKind::WeakAuthentication
                ) =>
            {
                findings.push(Finding::passed(reach, "the server answered"));
                findings.push(Finding::failed(
                    login,
                    format!("{} ({})", f.detail, f.kind.error_type()),
                ));
            }
            Err(f) => findings.push(Finding::failed(
                reach,
                format!("{} ({})", f.detail, f.kind.error_type()),
            )),
        }

        if let Ok((Strategy::AlternatingUsers { admin_secret }, next)) = &strategy {
            let users = [current.username.as_str(), next.as_str()];
            let base = base_username(&current.username);
            let targets = [current.username.as_str(), base];
            let admin_login = format!("log in with the admin secret {}", sanitize(admin_secret));
            match self
                .admin_session(ctx, admin_secret, &current, &targets, bound)
                .await
            {
                Ok(mut admin) => {
                    findings.push(Finding::passed(admin_login, "logged in"));
                    let rights = format!(
                        "the admin user may manage \"{}\" and \"{}\"",
                        sanitize(users[0]),
                        sanitize(users[1])
                    );
                    findings.push(
                        match self.server().admin_rights(&mut admin, &users, bound).await {
                            Ok(AdminRights::Sufficient(found)) => Finding::passed(rights, found),
                            Ok(AdminRights::Missing(missing)) => Finding::failed(rights, missing),
                            Err(e) => Finding::error(rights, &e),
                        },
                    );
                }
                Err(e) => findings.push(Finding::error(admin_login, &e)),
            }
        }
        findings
    }

    async fn probe(
        &self,
        ctx: &StepContext<'_>,
        stage: &str,
        value: &Secret,
        current: &Secret,
    ) -> Result<Probe, RotationError> {
        let current = self.parse(ctx, AWSCURRENT, current)?;
        let secret = self.parse(ctx, stage, value)?;
        // setSecret's rule: a version anyone with write access may have made is tried only on
        // the current value's server and transport, and only for its user or the alternate.
        if let Some(field) = current.endpoint.differs(&secret.endpoint) {
            return Ok(Probe::Refused(format!(
                "its {field} differs from AWSCURRENT's, so it is not tried"
            )));
        }
        // AWSPENDING must name the user the rotation expects, as setSecret requires; any
        // other version, one of the pair.
        if stage == AWSPENDING {
            let expected = self.strategy(ctx, &current)?.pending_username(
                ctx,
                &current.username,
                S::MAX_USERNAME_BYTES,
            )?;
            if secret.username != expected {
                return Ok(Probe::Refused(format!(
                    "it names user \"{}\", not \"{}\" that this rotation expects, so it is not tried",
                    sanitize(&secret.username),
                    sanitize(&expected)
                )));
            }
        }
        if base_username(&secret.username) != base_username(&current.username) {
            return Ok(Probe::Refused(format!(
                "it names user \"{}\", neither AWSCURRENT's user nor its alternate, so it is not tried",
                sanitize(&secret.username)
            )));
        }
        let bound = self.bound(ctx);
        let who = Credentials::user(&secret.username, &secret.password);
        let mut session = match self.server().login(&current.endpoint, who, bound).await {
            Ok(session) => session,
            Err(f) if f.wrong_password() => return Ok(Probe::Refused(f.detail)),
            Err(f) if f.refused_password() => return Ok(Probe::Unproven(f.detail)),
            Err(f) => return Err(f.into()),
        };
        if let Err(unproven) = self.password_checked(&session, &secret, bound).await? {
            return Ok(Probe::Unproven(unproven));
        }
        let identity = self.server().identity(&mut session, bound).await?;
        if identity.user != secret.username {
            return Ok(Probe::Unproven(format!(
                "logged in, but the server reports the user as \"{}\" instead of \"{}\"",
                sanitize(&identity.user),
                sanitize(&secret.username)
            )));
        }
        Ok(Probe::Accepted(format!(
            "\"{}\" logs in at {}",
            sanitize(&secret.username),
            sanitize(&current.endpoint.address())
        )))
    }
}
