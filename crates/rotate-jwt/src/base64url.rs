//! base64url without padding: how JOSE encodes every binary value (RFC 7515 §2).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes strictly: padding, whitespace and the standard alphabet's `+` and `/` are refused,
/// so one key has one spelling and a `kid` or thumbprint comparison cannot be fooled.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_without_padding_and_refuses_other_spellings() {
        assert_eq!(encode(&[0xfb, 0xff]), "-_8");
        assert_eq!(decode("-_8"), Some(vec![0xfb, 0xff]));
        assert_eq!(decode("+/8="), None);
        assert_eq!(decode("-_8="), None);
        assert_eq!(decode("-_ 8"), None);
    }
}
