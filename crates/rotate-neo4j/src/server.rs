//! Neo4j's part of a rotation: Bolt logins and the administration commands rotation needs.
//! Every rule about which credential goes where lives in [`rotation_core::LoginEngine`].

use async_trait::async_trait;
use neo4rs::query;
use rotation_core::{
    AdminRights, Bound, Credentials, EndpointError, Identity, LoginEngine, LoginFailure,
    LoginSecret, LoginSettings, RotationError, Secret, Server, UserChange, sanitize,
};
use tracing::info;

use crate::connect::{Session, login};
use crate::cypher;
use crate::endpoint::Neo4jEndpoint;
use crate::roles::{RoleChanges, Roles, roles};

/// Neo4j sets no documented limit on user names; this keeps them sane.
const MAX_USERNAME_BYTES: usize = 255;
/// Built-in roles that administer the DBMS or its users: a user holding one is no
/// application user, and neither it nor a clone acting with its roles may be managed from a
/// user secret.
const ADMIN_ROLES: [&str; 1] = ["admin"];

/// Neo4j's `dbms.security.auth_minimum_password_length` default.
pub const MIN_PASSWORD_LENGTH: usize = 8;

/// The rotation engine for Neo4j secrets.
pub type Neo4jEngine = LoginEngine<Neo4j>;

pub fn engine(settings: LoginSettings) -> Neo4jEngine {
    LoginEngine::new(Neo4j, settings)
}

/// Reads the settings every engine reads, with `PASSWORD_LENGTH` at least Neo4j's minimum.
pub fn settings_from_env() -> Result<LoginSettings, RotationError> {
    LoginSettings::from_lookup(MIN_PASSWORD_LENGTH, |name| std::env::var(name).ok())
}

pub struct Neo4j;

impl Neo4j {
    /// `user`'s roles as `SHOW USERS` lists them; `None` when there is no such user.
    async fn user_roles(
        &self,
        admin: &Session,
        user: &str,
        bound: Bound,
    ) -> Result<Option<Roles>, RotationError> {
        let listed: Vec<Option<Vec<String>>> = admin
            .column(
                cypher::SYSTEM_DATABASE,
                query(cypher::USER_ROLES).param("user", user),
                "roles",
                &format!("reading the roles of \"{}\"", sanitize(user)),
                bound,
            )
            .await?;
        Ok(listed.into_iter().next().map(roles))
    }

    async fn role_changes(
        &self,
        admin: &Session,
        clone: &str,
        base: &str,
        bound: Bound,
    ) -> Result<RoleChanges, RotationError> {
        Ok(RoleChanges::between(
            &self.user_roles(admin, base, bound).await?.flatten(),
            &self.user_roles(admin, clone, bound).await?.flatten(),
        ))
    }
}

#[async_trait]
impl Server for Neo4j {
    type Endpoint = Neo4jEndpoint;
    type Session = Session;

    const NAME: &'static str = "neo4j";
    const ENGINES: &'static [&'static str] = &["neo4j"];
    const MAX_USERNAME_BYTES: usize = MAX_USERNAME_BYTES;
    const ADMIN_SERVER_KEY: &'static str = "uri";
    // Bolt does not tell whether the password was checked; a server without authentication
    // is caught anyway, as it reports no user name (testSecret compares it).
    const DRIFT_NEEDS_ADMIN: bool = true;

    fn endpoint(&self, secret: &LoginSecret) -> Result<Neo4jEndpoint, EndpointError> {
        Neo4jEndpoint::of_user(secret)
    }

    fn admin_endpoint(
        &self,
        admin: &LoginSecret,
        user: &Neo4jEndpoint,
    ) -> Result<Option<Neo4jEndpoint>, EndpointError> {
        Neo4jEndpoint::of_admin(admin, user)
    }

    async fn login(
        &self,
        endpoint: &Neo4jEndpoint,
        who: Credentials<'_>,
        bound: Bound,
    ) -> Result<Session, LoginFailure> {
        login(endpoint, who, bound).await
    }

    async fn identity(
        &self,
        session: &mut Session,
        bound: Bound,
    ) -> Result<Identity, RotationError> {
        let database = session.database.clone();
        let users: Vec<String> = session
            .column(
                &database,
                query(cypher::WHO_AM_I),
                "user",
                &format!("the test query on database \"{}\"", sanitize(&database)),
                bound,
            )
            .await?;
        let user = users.into_iter().next().unwrap_or_default();
        Ok(Identity {
            acting_as: user.clone(),
            user,
        })
    }

    async fn change_own_password(
        &self,
        session: &mut Session,
        _username: &str,
        old: &Secret,
        new: &Secret,
        bound: Bound,
    ) -> Result<(), RotationError> {
        let change = query(cypher::CHANGE_OWN_PASSWORD)
            .param("old", old.expose())
            .param("new", new.expose());
        session
            .run(
                change,
                "changing the user's own password",
                &[old, new],
                bound,
            )
            .await
    }

    async fn apply_as_admin(
        &self,
        admin: &mut Session,
        change: UserChange<'_>,
        bound: Bound,
    ) -> Result<bool, RotationError> {
        let user = change.user;
        // One read per user serves the existence check, the privilege check and the roles
        // to copy.
        let user_roles = self.user_roles(admin, user, bound).await?;
        let exists = user_roles.is_some();
        let base_roles = match change.act_as {
            Some(base) => Some((base, self.user_roles(admin, base, bound).await?.flatten())),
            None => None,
        };
        let checked = user_roles
            .as_ref()
            .map(|roles| (user, roles))
            .into_iter()
            .chain(base_roles.as_ref().map(|(base, roles)| (*base, roles)));
        for (name, roles) in checked {
            if let Some(role) = roles
                .iter()
                .flatten()
                .find(|r| ADMIN_ROLES.contains(&r.as_str()))
            {
                return Err(RotationError::PrivilegedUser {
                    user: sanitize(name),
                    reason: format!("it holds the role \"{}\"", sanitize(role)),
                });
            }
        }
        let mut created = false;
        if let Some(password) = change.password {
            let (statement, what) = if exists {
                (
                    cypher::SET_USER_PASSWORD,
                    "setting the password of the user",
                )
            } else {
                (cypher::CREATE_USER, "creating the user")
            };
            let run = query(statement)
                .param("user", user)
                .param("password", password.expose());
            admin.run(run, what, &[password], bound).await?;
            created = !exists;
        }
        // Re-asserted on every call, not only at creation: a crash after CREATE USER, or a
        // role granted to the original since, is put right by the next setSecret.
        if let Some((_, base_roles)) = &base_roles {
            // A user just created holds no role yet.
            let roles = RoleChanges::between(base_roles, &user_roles.flatten());
            for (statement, role, what) in roles
                .grant
                .iter()
                .map(|r| (cypher::GRANT_ROLE, r, "granting a role to the user"))
                .chain(
                    roles
                        .revoke
                        .iter()
                        .map(|r| (cypher::REVOKE_ROLE, r, "revoking a role from the user")),
                )
            {
                let run = query(statement)
                    .param("role", role.as_str())
                    .param("user", user);
                admin.run(run, what, &[], bound).await?;
            }
            if !roles.is_empty() {
                info!(user = %sanitize(user), granted = ?roles.grant, revoked = ?roles.revoke, "made the user's roles the original's");
            }
        }
        Ok(created)
    }

    async fn admin_rights(
        &self,
        admin: &mut Session,
        users: &[&str],
        bound: Bound,
    ) -> Result<AdminRights, RotationError> {
        for user in users {
            let roles = self.user_roles(admin, user, bound).await?.flatten();
            if let Some(role) = roles
                .iter()
                .flatten()
                .find(|r| ADMIN_ROLES.contains(&r.as_str()))
            {
                return Ok(AdminRights::Missing(format!(
                    "\"{}\" holds the {} role; the function refuses to change such a user with admin credentials",
                    sanitize(user),
                    sanitize(role)
                )));
            }
        }
        let editions: Vec<String> = admin
            .column(
                cypher::SYSTEM_DATABASE,
                query(cypher::EDITION),
                "edition",
                "reading the server's edition",
                bound,
            )
            .await?;
        if editions.iter().any(|e| e == "community") {
            return Ok(AdminRights::Sufficient(
                "Community Edition has no roles: every user may manage users".into(),
            ));
        }
        let privileges: Vec<String> = admin
            .column(
                cypher::SYSTEM_DATABASE,
                query(cypher::OWN_PRIVILEGES),
                "privilege",
                "reading the admin user's privileges",
                bound,
            )
            .await?;
        let missing = missing_admin_privileges(&privileges);
        Ok(match missing.is_empty() {
            true => AdminRights::Sufficient("it may manage users and their roles".into()),
            false => AdminRights::Missing(format!(
                "it lacks {} on the DBMS, which alternating users need (GRANT ... ON DBMS TO its role)",
                missing.join(", ")
            )),
        })
    }

    async fn drift(
        &self,
        _pending: &mut Session,
        identity: &Identity,
        base: &str,
        admin: Option<&mut Session>,
        bound: Bound,
    ) -> Result<Option<String>, RotationError> {
        let admin = admin.expect("the engine logs in as admin when DRIFT_NEEDS_ADMIN");
        let changes = self
            .role_changes(admin, &identity.user, base, bound)
            .await?;
        Ok((!changes.is_empty())
            .then(|| changes.describe(&sanitize(&identity.user), &sanitize(base))))
    }
}

/// What alternating users ask of the admin user (SHOW USERS, CREATE and ALTER USER, GRANT
/// and REVOKE ROLE), as `SHOW PRIVILEGES` names the actions: each entry is met by any of its
/// actions, the broader grants including the narrower ones, and a DENY of any of them wins.
const ADMIN_ACTIONS: [&[&str]; 5] = [
    &["dbms_actions", "user_management", "show_user"],
    &["dbms_actions", "user_management", "create_user"],
    &[
        "dbms_actions",
        "user_management",
        "alter_user",
        "set_passwords",
    ],
    &["dbms_actions", "role_management", "assign_role"],
    &["dbms_actions", "role_management", "remove_role"],
];

/// The narrowest name of each privilege in [`ADMIN_ACTIONS`] that `privileges` ("GRANTED
/// action" or "DENIED action") does not grant, or denies.
fn missing_admin_privileges(privileges: &[String]) -> Vec<&'static str> {
    let held = |access: &str, any: &[&str]| {
        privileges
            .iter()
            .filter_map(|p| p.split_once(' '))
            .any(|(a, action)| a == access && any.contains(&action))
    };
    ADMIN_ACTIONS
        .iter()
        .filter(|any| !held("GRANTED", any) || held("DENIED", any))
        .map(|any| any[any.len() - 1])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_privileges_are_met_by_broader_grants_and_lost_to_any_deny() {
        let held =
            |privileges: &[&str]| privileges.iter().map(|p| p.to_string()).collect::<Vec<_>>();
        assert!(missing_admin_privileges(&held(&["GRANTED dbms_actions"])).is_empty());
        assert!(
            missing_admin_privileges(&held(&[
                "GRANTED user_management",
                "GRANTED role_management"
            ]))
            .is_empty()
        );
        assert_eq!(
            missing_admin_privileges(&held(&["GRANTED user_management", "GRANTED assign_role"])),
            ["remove_role"]
        );
        assert_eq!(
            missing_admin_privileges(&held(&["GRANTED dbms_actions", "DENIED set_passwords"])),
            ["set_passwords"]
        );
        assert_eq!(
            missing_admin_privileges(&held(&["DENIED create_user"])).len(),
            ADMIN_ACTIONS.len()
        );
    }
}
