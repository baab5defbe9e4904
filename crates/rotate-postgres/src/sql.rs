//! Statement text. Values are escaped literals or identifiers, never pasted.

use postgres_protocol::escape::{escape_identifier, escape_literal};
use rotation_core::Secret;

/// Proves a login works and tells who we are.
pub const WHO_AM_I: &str = "SELECT current_user::text";

/// `ALTER ROLE` takes no bind parameters, so the role is a quoted identifier and the password
/// a quoted literal. The literal is a SCRAM-SHA-256 verifier computed here: the server stores
/// it as given, and the plaintext never reaches the server or its statement log.
pub fn set_password(role: &str, password: &Secret) -> (String, Secret) {
    let verifier = Secret::new(postgres_protocol::password::scram_sha_256(
        password.expose().as_bytes(),
    ));
    let statement = format!(
        "ALTER ROLE {} WITH PASSWORD {}",
        escape_identifier(role),
        escape_literal(verifier.expose())
    );
    (statement, verifier)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_the_role_and_sends_only_a_verifier() {
        let (statement, verifier) = set_password("we\"ird user", &Secret::new("plain'text"));
        assert!(
            statement
                .starts_with("ALTER ROLE \"we\"\"ird user\" WITH PASSWORD 'SCRAM-SHA-256$4096:")
        );
        assert!(statement.contains(verifier.expose()));
        assert!(!statement.contains("plain"));
    }
}
