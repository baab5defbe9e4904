//! PEM armour for private keys: the form every JWT library loads a signing key from.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

/// The PKCS#8 label; new keys are always written in this form.
pub const PKCS8: &str = "PRIVATE KEY";

/// Armours `der` under `label`, in 64-character lines as RFC 7468 writes them.
pub fn encode(label: &str, der: &[u8]) -> Zeroizing<String> {
    let body = Zeroizing::new(STANDARD.encode(der));
    let mut out = Zeroizing::new(format!("-----BEGIN {label}-----\n"));
    for line in body.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The label and DER content of the one PEM block in `text`. Errors say what is wrong with
/// the armour and never echo its content.
pub fn decode(text: &str) -> Result<(String, Zeroizing<Vec<u8>>), &'static str> {
    let text = text.trim();
    let rest = text
        .strip_prefix("-----BEGIN ")
        .ok_or("it does not start with a PEM \"-----BEGIN\" line")?;
    let (label, rest) = rest
        .split_once("-----")
        .ok_or("its PEM BEGIN line is not closed")?;
    let end = format!("-----END {label}-----");
    let body = rest
        .strip_suffix(end.as_str())
        .ok_or("its PEM END line is missing or names another label")?;
    let compact: Zeroizing<String> =
        Zeroizing::new(body.chars().filter(|c| !c.is_whitespace()).collect());
    let der = STANDARD
        .decode(compact.as_bytes())
        .map_err(|_| "its PEM body is not valid base64")?;
    Ok((label.to_owned(), Zeroizing::new(der)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_in_64_character_lines() {
        let der: Vec<u8> = (0..=255).collect();
        let pem = encode(PKCS8, &der);
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(pem.ends_with("-----END PRIVATE KEY-----\n"));
        assert!(pem.lines().all(|l| l.len() <= 64));
        let (label, back) = decode(&pem).unwrap();
        assert_eq!((label.as_str(), back.as_slice()), (PKCS8, der.as_slice()));
    }

    #[test]
    fn malformed_armour_is_named_without_its_content() {
        assert!(decode("MIIBVQIBADANBgkqhkiG9w0BAQEFAASC").is_err());
        let wrong_end = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----";
        assert_eq!(
            decode(wrong_end).unwrap_err(),
            "its PEM END line is missing or names another label"
        );
        let bad_body = "-----BEGIN PRIVATE KEY-----\nA*AA\n-----END PRIVATE KEY-----";
        assert_eq!(
            decode(bad_body).unwrap_err(),
            "its PEM body is not valid base64"
        );
    }
}

#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Whatever bytes are armoured under an RFC 7468 label, surrounding whitespace and
        /// all, the same label and bytes come back.
        #[test]
        fn armoured_bytes_come_back(
            label in "[A-Z0-9]([ -]?[A-Z0-9]){0,15}",
            der in proptest::collection::vec(any::<u8>(), 0..400),
            before in "\\s{0,3}",
            after in "\\s{0,3}",
        ) {
            let text = format!("{before}{}{after}", encode(&label, &der).as_str());
            let decoded = decode(&text).map(|(l, d)| (l, d.to_vec()));
            prop_assert!(decoded == Ok((label, der)));
        }

        /// Any text is refused or read as a block that armours again to the same label and
        /// bytes: what decode accepts is what encode writes, whitespace aside.
        #[test]
        fn any_text_is_refused_or_read_as_a_block(
            text in prop_oneof![
                "(?s).{0,80}",
                ("[A-Z ]{0,10}", "(?s).{0,40}", "[A-Z ]{0,10}").prop_map(|(a, body, b)| {
                    format!("-----BEGIN {a}-----{body}-----END {b}-----")
                }),
                ("[A-Z ]{0,10}", "[A-Za-z0-9+/=\\s]{0,60}").prop_map(|(label, body)| {
                    format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----")
                }),
            ],
        ) {
            if let Ok((label, der)) = decode(&text) {
                let again = decode(&encode(&label, &der)).map(|(l, d)| (l, d.to_vec()));
                prop_assert!(again == Ok((label, der.to_vec())));
            }
        }
    }
}
