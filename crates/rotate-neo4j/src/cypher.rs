//! Statement text. Every value, user names included, is a parameter. Administration commands
//! run as single auto-commit statements on the `system` database, as Neo4j requires.

pub const SYSTEM_DATABASE: &str = "system";

/// Who we are logged in as. Works on any database, so it also proves access to the
/// secret's own database.
pub const WHO_AM_I: &str = "SHOW CURRENT USER YIELD user RETURN user";

/// A user changing its own password: the server checks `$old` itself.
pub const CHANGE_OWN_PASSWORD: &str = "ALTER CURRENT USER SET PASSWORD FROM $old TO $new";

pub const CREATE_USER: &str = "CREATE USER $user SET PASSWORD $password CHANGE NOT REQUIRED";
pub const SET_USER_PASSWORD: &str = "ALTER USER $user SET PASSWORD $password CHANGE NOT REQUIRED";

/// "community" or "enterprise".
pub const EDITION: &str = "CALL dbms.components() YIELD edition RETURN edition";

/// The privileges granted to and denied the session's user, as "GRANTED action" or "DENIED
/// action" (Enterprise Edition only).
pub const OWN_PRIVILEGES: &str =
    "SHOW USER PRIVILEGES YIELD action, access RETURN access + ' ' + action AS privilege";

/// The roles of a user; `null` on Community Edition, which has no roles.
pub const USER_ROLES: &str = "SHOW USERS YIELD user, roles WHERE user = $user RETURN roles";
pub const GRANT_ROLE: &str = "GRANT ROLE $role TO $user";

/// Every user has this role implicitly; it cannot be granted.
pub const PUBLIC_ROLE: &str = "PUBLIC";
pub const REVOKE_ROLE: &str = "REVOKE ROLE $role FROM $user";
