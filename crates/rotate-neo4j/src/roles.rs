//! Keeping the clone's roles equal to the original user's.
//!
//! A role granted to the original after the clone was made must reach the clone too, and a
//! role taken away must go: otherwise the two users' rights drift apart and applications
//! fail on every other rotation. Community Edition has no roles (`SHOW USERS` reports
//! `null`), so there the two are always equal.

use std::collections::BTreeSet;

use crate::cypher::PUBLIC_ROLE;

/// The roles a user holds, `None` where the server has no roles.
pub type Roles = Option<BTreeSet<String>>;

/// The roles as `SHOW USERS` lists them, without `PUBLIC`, which every user holds implicitly
/// and which cannot be granted.
pub fn roles(listed: Option<Vec<String>>) -> Roles {
    listed.map(|roles| roles.into_iter().filter(|r| r != PUBLIC_ROLE).collect())
}

/// What to grant to and revoke from the clone so it holds exactly the original's roles.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RoleChanges {
    pub grant: Vec<String>,
    pub revoke: Vec<String>,
}

impl RoleChanges {
    pub fn between(original: &Roles, clone: &Roles) -> Self {
        let empty = BTreeSet::new();
        let original = original.as_ref().unwrap_or(&empty);
        let clone = clone.as_ref().unwrap_or(&empty);
        Self {
            grant: original.difference(clone).cloned().collect(),
            revoke: clone.difference(original).cloned().collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.grant.is_empty() && self.revoke.is_empty()
    }

    /// Why the two users differ, for testSecret's error.
    pub fn describe(&self, clone: &str, original: &str) -> String {
        let list = |roles: &[String]| roles.join(", ");
        let mut parts = Vec::new();
        if !self.grant.is_empty() {
            parts.push(format!(
                "lacks {} that \"{original}\" has",
                list(&self.grant)
            ));
        }
        if !self.revoke.is_empty() {
            parts.push(format!(
                "has {} that \"{original}\" has not",
                list(&self.revoke)
            ));
        }
        format!("\"{clone}\" {}", parts.join(" and "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> Roles {
        Some(names.iter().map(|n| n.to_string()).collect())
    }

    #[test]
    fn grants_what_is_missing_and_revokes_what_is_extra() {
        let changes = RoleChanges::between(&set(&["reader", "writer"]), &set(&["reader", "admin"]));
        assert_eq!(changes.grant, ["writer"]);
        assert_eq!(changes.revoke, ["admin"]);
        assert_eq!(
            changes.describe("app_clone", "app"),
            "\"app_clone\" lacks writer that \"app\" has and has admin that \"app\" has not"
        );
        // A clone that was just created holds no role yet.
        assert_eq!(
            RoleChanges::between(&set(&["reader"]), &set(&[])).grant,
            ["reader"]
        );
    }

    #[test]
    fn public_and_community_edition_need_nothing() {
        assert_eq!(roles(Some(vec!["PUBLIC".into()])), set(&[]));
        assert!(RoleChanges::between(&None, &None).is_empty());
        assert!(
            RoleChanges::between(
                &roles(Some(vec!["PUBLIC".into(), "r".into()])),
                &set(&["r"])
            )
            .is_empty()
        );
    }
}
