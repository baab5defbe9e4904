//! Hostile names and passwords through a real server: whatever a role is called and whatever
//! characters a password holds, the statements quote them and the rotation works.

use integration_tests::{Rotation, install_crypto_provider, postgres};
use proptest::prelude::*;
use rotation_core::AWSCURRENT;

/// Characters that break naive quoting, alongside ordinary ones and non-ASCII letters.
const ROLE_CHARS: &str = "[a-zA-Z0-9_ '\"\\\\$;()éüß日本-]";

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    /// Any role name PostgreSQL keeps whole (up to 63 bytes, no NUL) rotates, with new
    /// passwords that may contain every ASCII punctuation character, quotes, backslashes and
    /// `$$` included.
    #[test]
    fn any_role_name_and_password_characters_rotate(
        suffix in proptest::string::string_regex(&format!("{ROLE_CHARS}{{1,20}}")).unwrap(),
        initial in "[ -~]{1,40}",
    ) {
        let name = format!("h{suffix}");
        prop_assume!(name.len() <= 63);
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let (old_refused, new_accepted, kept) = runtime.block_on(async {
            install_crypto_provider();
            let pg = postgres();
            let role = format!("{name}{}", &uuid::Uuid::new_v4().simple().to_string()[..4]);
            let role = if role.len() > 63 { name.clone() } else { role };
            pg.superuser()
                .await
                .batch_execute(&format!(
                    "DROP ROLE IF EXISTS {}",
                    postgres_protocol::escape::escape_identifier(&role)
                ))
                .await
                .unwrap();
            pg.create_role(&role, &initial).await;
            // Only a space is excluded: quotes, backslashes and '$' may all be generated.
            let settings = rotate_postgres::Settings::from_lookup(|k| {
                (k == "EXCLUDE_CHARACTERS").then(|| " ".to_owned())
            })
            .unwrap();
            let r = Rotation::new(&pg.secret(&role, &initial), rotate_postgres::engine(settings)).await;
            let current = r.rotate().await;
            let new_password = current["password"].as_str().unwrap().to_owned();
            (
                !pg.can_login(&role, &initial).await,
                pg.can_login(&role, &new_password).await,
                r.value(AWSCURRENT).await["username"] == role.as_str(),
            )
        });
        prop_assert!(old_refused, "the old password of {:?} still logs in", name);
        prop_assert!(new_accepted, "the new password of {:?} does not log in", name);
        prop_assert!(kept);
        // One row for the property however many cases it ran (a saved regression adds one).
        static RECORDED: std::sync::Once = std::sync::Once::new();
        RECORDED.call_once(|| integration_tests::reliability::record(
            "Hostile input: any role name and password characters",
            "generated names and passwords: quotes, backslashes, $, ;, non-ASCII, up to 63 bytes",
            "PostgreSQL, single user",
        ));
    }
}
