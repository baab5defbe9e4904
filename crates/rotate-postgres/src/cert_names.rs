//! Matching a server certificate to the host the secret names, by libpq's rules.
//!
//! webpki looks only at subject alternative names. libpq falls back to the subject's common
//! name when a certificate has no DNS or IP alternative name, which is exactly the
//! certificate PostgreSQL's documentation tells people to make
//! (`openssl req -new -x509 ... -subj "/CN=dbhost.yourdomain.com"`). Users who followed it
//! expect `verify-full` to work here as it does with `psql`.

use std::net::IpAddr;
use std::time::Duration;

use x509_cert::Certificate;
use x509_cert::der::asn1::{Ia5StringRef, PrintableStringRef, Utf8StringRef};
use x509_cert::der::oid::AssociatedOid;
use x509_cert::der::oid::db::rfc4519::CN;
use x509_cert::der::{Any, Decode};
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

/// The names a certificate holds that libpq compares with the host.
#[derive(Debug, Default, PartialEq, Eq)]
struct Names {
    dns: Vec<String>,
    ips: Vec<IpAddr>,
    common_names: Vec<String>,
}

fn parse(der: &[u8]) -> Result<Certificate, String> {
    Certificate::from_der(der).map_err(|e| format!("cannot parse the server certificate: {e}"))
}

fn names(certificate: &Certificate) -> Result<Names, String> {
    let tbs = &certificate.tbs_certificate;
    let mut names = Names::default();
    for extension in tbs.extensions.iter().flatten() {
        if extension.extn_id != SubjectAltName::OID {
            continue;
        }
        let alt = SubjectAltName::from_der(extension.extn_value.as_bytes())
            .map_err(|e| format!("cannot parse the certificate's alternative names: {e}"))?;
        for name in alt.0 {
            match name {
                GeneralName::DnsName(dns) => names.dns.push(dns.as_str().to_owned()),
                GeneralName::IpAddress(octets) => {
                    let bytes = octets.as_bytes();
                    if let Ok(v4) = <[u8; 4]>::try_from(bytes) {
                        names.ips.push(IpAddr::from(v4));
                    } else if let Ok(v6) = <[u8; 16]>::try_from(bytes) {
                        names.ips.push(IpAddr::from(v6));
                    }
                }
                _ => {}
            }
        }
    }
    for rdn in &tbs.subject.0 {
        for attribute in rdn.0.iter().filter(|a| a.oid == CN) {
            if let Some(text) = directory_string(&attribute.value) {
                names.common_names.push(text);
            }
        }
    }
    Ok(names)
}

fn directory_string(value: &Any) -> Option<String> {
    if let Ok(s) = value.decode_as::<Utf8StringRef<'_>>() {
        return Some(s.as_str().to_owned());
    }
    if let Ok(s) = value.decode_as::<PrintableStringRef<'_>>() {
        return Some(s.as_str().to_owned());
    }
    value
        .decode_as::<Ia5StringRef<'_>>()
        .ok()
        .map(|s| s.as_str().to_owned())
}

/// Whether the certificate names `host`: its DNS and IP alternative names when it has any,
/// else its common name.
pub fn names_host(der: &[u8], host: &str) -> Result<bool, String> {
    let names = names(&parse(der)?)?;
    if !names.dns.is_empty() || !names.ips.is_empty() {
        return Ok(match host.parse::<IpAddr>() {
            Ok(ip) => names.ips.contains(&ip),
            Err(_) => names.dns.iter().any(|pattern| name_matches(pattern, host)),
        });
    }
    // libpq compares the first common name only.
    Ok(names
        .common_names
        .first()
        .is_some_and(|pattern| name_matches(pattern, host)))
}

/// Whether `now` (seconds since the Unix epoch) is inside the certificate's validity period.
pub fn valid_at(der: &[u8], now: Duration) -> Result<bool, String> {
    let validity = parse(der)?.tbs_certificate.validity;
    Ok(validity.not_before.to_unix_duration() <= now
        && now <= validity.not_after.to_unix_duration())
}

/// libpq's comparison: case-insensitive, and a leading `*.` stands for exactly one label.
fn name_matches(pattern: &str, host: &str) -> bool {
    let host = host.trim_end_matches('.');
    let pattern = pattern.trim_end_matches('.');
    match pattern.strip_prefix('*') {
        Some(suffix) if suffix.starts_with('.') => {
            host.len() > suffix.len()
                && host[host.len() - suffix.len()..].eq_ignore_ascii_case(suffix)
                && !host[..host.len() - suffix.len()].contains('.')
        }
        _ => pattern.eq_ignore_ascii_case(host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_stand_for_one_label() {
        assert!(name_matches("db.example.com", "DB.Example.com"));
        assert!(name_matches("*.example.com", "db.example.com"));
        assert!(!name_matches("*.example.com", "a.db.example.com"));
        assert!(!name_matches("*.example.com", "example.com"));
        assert!(!name_matches("*.example.com", ".example.com"));
        assert!(!name_matches("db*.example.com", "db1.example.com"));
        assert!(name_matches("localhost.", "localhost"));
    }

    #[test]
    fn garbage_is_an_error_not_a_match() {
        assert!(names_host(b"not a certificate", "localhost").is_err());
        assert!(valid_at(b"", Duration::ZERO).is_err());
    }
}
