//! Statement text. Values are bind parameters where PostgreSQL allows them, and escaped
//! literals or identifiers where it does not (utility statements such as `ALTER ROLE`).

use postgres_protocol::escape::{escape_identifier, escape_literal};
use rotation_core::Secret;

/// Who we logged in as, and whose rights the session acts with.
pub const WHO_AM_I: &str = "SELECT session_user::text, current_user::text";

/// Every object named with its schema: the admin may be logged in to a database whose owner
/// set a search path of their own.
pub const ROLE_EXISTS: &str =
    "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) $1";

/// Roles that reach the server's files or programs: as good as superuser.
pub const POWERFUL_ROLES: [&str; 4] = [
    "rds_superuser",
    "pg_read_server_files",
    "pg_write_server_files",
    "pg_execute_server_program",
];

/// The role `$1` itself, else the first role it belongs to (directly or not), that can administer roles, bypass
/// row security, replicate, reach the server's files, or is the admin user itself: a role no
/// application team may have the admin change the password of, or let a clone act as.
pub const PRIVILEGED_MEMBERSHIP: &str = "SELECT r.rolname::text, r.rolsuper, r.rolcreaterole, r.rolreplication, r.rolbypassrls \
     FROM pg_catalog.pg_roles AS r \
     WHERE pg_catalog.pg_has_role($1, r.oid, 'MEMBER') \
       AND (r.rolsuper OR r.rolcreaterole OR r.rolreplication OR r.rolbypassrls \
            OR r.rolname OPERATOR(pg_catalog.=) session_user \
            OR r.rolname OPERATOR(pg_catalog.=) ANY ($2::text[])) \
     ORDER BY r.rolname OPERATOR(pg_catalog.<>) $1, r.rolname LIMIT 1";

/// The session's role and what it may do to role `$1`: superuser, CREATEROLE, the server
/// version, whether `$1` exists, and whether the session holds ADMIN OPTION on it (needed
/// besides CREATEROLE from PostgreSQL 16 on).
pub const ADMIN_RIGHTS: &str = "SELECT r.rolname::text, r.rolsuper, r.rolcreaterole, \
       pg_catalog.current_setting('server_version_num')::int, u.oid IS NOT NULL, \
       CASE WHEN u.oid IS NULL THEN false \
            ELSE pg_catalog.pg_has_role(r.oid, u.oid, 'MEMBER WITH ADMIN OPTION') END \
     FROM pg_catalog.pg_roles AS r \
     LEFT JOIN pg_catalog.pg_roles AS u ON u.rolname OPERATOR(pg_catalog.=) $1 \
     WHERE r.rolname OPERATOR(pg_catalog.=) current_user";

/// The first release in which changing another role needs ADMIN OPTION on it.
pub const ADMIN_OPTION_VERSION: i32 = 160000;

/// Opens the admin's transaction: bounded (see [`limits`]), and with a search path that only
/// the system catalogs and the session's own temporary objects are found in.
pub fn begin_admin(limit: std::time::Duration) -> String {
    format!(
        "BEGIN; {}; SET LOCAL search_path = pg_catalog, pg_temp",
        limits(limit)
    )
}

/// Kept between the server's own bound and the client's, so that the server normally gives up
/// first and says why (a lock, a slow statement) instead of the client guessing.
const SERVER_BOUND_LEAD_MS: u128 = 250;

/// Bounds every later statement of the session on the server: a statement that runs too long
/// or waits too long for a lock (another session altering the same role) is cancelled there
/// and changes nothing, instead of committing after the client gave up. The lock bound is the
/// shorter, so that a lock wait is reported as one.
pub fn limits(limit: std::time::Duration) -> String {
    let statement = limit
        .as_millis()
        .saturating_sub(SERVER_BOUND_LEAD_MS)
        .max(100);
    let lock = statement - 50;
    format!("SET statement_timeout = {statement}; SET lock_timeout = {lock}")
}

/// A SCRAM-SHA-256 verifier computed here. The server stores it as given, so the plaintext
/// never reaches the server or its statement log. Error text is scrubbed of it as of the
/// password.
pub fn verifier(password: &Secret) -> Secret {
    Secret::new(postgres_protocol::password::scram_sha_256(
        password.expose().as_bytes(),
    ))
}

/// Changes a role's password to the one `verifier` was made from.
pub fn set_password(role: &str, verifier: &Secret) -> String {
    format!(
        "ALTER ROLE {} WITH PASSWORD {}",
        escape_identifier(role),
        escape_literal(verifier.expose())
    )
}

/// Creates a login role with the password `verifier` was made from.
pub fn create_role(role: &str, verifier: &Secret) -> String {
    format!(
        "CREATE ROLE {} WITH LOGIN PASSWORD {}",
        escape_identifier(role),
        escape_literal(verifier.expose())
    )
}

/// Makes `clone` act as `base` in every session: a member of `base` whose sessions start with
/// `SET ROLE base`. Objects the clone creates then belong to `base`, and every privilege
/// granted to `base`, before or after, applies to the clone: the two users cannot drift.
/// Both statements are idempotent.
pub fn act_as(clone: &str, base: &str) -> String {
    format!(
        "GRANT {base_ident} TO {clone_ident}; ALTER ROLE {clone_ident} SET role TO {base_literal}",
        base_ident = escape_identifier(base),
        clone_ident = escape_identifier(clone),
        base_literal = escape_literal(base),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_the_role_and_sends_only_a_verifier() {
        let verifier = verifier(&Secret::new("plain'text"));
        for statement in [
            set_password("we\"ird user", &verifier),
            create_role("we\"ird user", &verifier),
        ] {
            assert!(
                statement.contains("\"we\"\"ird user\" WITH "),
                "{statement}"
            );
            assert!(
                statement.contains("PASSWORD 'SCRAM-SHA-256$4096:"),
                "{statement}"
            );
            assert!(statement.contains(verifier.expose()));
            assert!(!statement.contains("plain"));
        }
    }

    #[test]
    fn limits_let_the_server_give_up_first() {
        assert_eq!(
            limits(std::time::Duration::from_secs(5)),
            "SET statement_timeout = 4750; SET lock_timeout = 4700"
        );
        assert_eq!(
            limits(std::time::Duration::from_millis(200)),
            "SET statement_timeout = 100; SET lock_timeout = 50"
        );
    }

    #[test]
    fn act_as_quotes_both_names() {
        assert_eq!(
            act_as("o'b\"_clone", "o'b\""),
            "GRANT \"o'b\"\"\" TO \"o'b\"\"_clone\"; ALTER ROLE \"o'b\"\"_clone\" SET role TO 'o''b\"'"
        );
    }
}
