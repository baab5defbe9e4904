//! Reading `.env` files the way the dotenv loaders teams use read them: comments, blank
//! lines, `export`, single and double quotes, inline comments after unquoted values. Errors
//! name the line, never its text, which may hold a password.

use std::collections::BTreeMap;

use rotation_core::Secret;

/// Variable → value, the last assignment winning as in dotenv.
pub type EnvFile = BTreeMap<String, Secret>;

pub fn parse(text: &str) -> Result<EnvFile, String> {
    let mut vars = EnvFile::new();
    let mut lines = text.lines().enumerate();
    while let Some((index, line)) = lines.next() {
        let number = index + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line
            .strip_prefix("export ")
            .map(str::trim_start)
            .unwrap_or(line);
        let (name, rest) = line
            .split_once('=')
            .ok_or_else(|| format!("line {number} is not NAME=value"))?;
        let name = name.trim();
        let valid = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            return Err(format!("line {number} does not start with a variable name"));
        }
        let rest = rest.trim_start();
        let value = match rest.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let mut body = rest[1..].to_owned();
                // A quoted value may span lines.
                loop {
                    if let Some(end) = closing_quote(&body, quote) {
                        let after = body[end + 1..].trim();
                        if !(after.is_empty() || after.starts_with('#')) {
                            return Err(format!("line {number} has text after its closing quote"));
                        }
                        body.truncate(end);
                        break;
                    }
                    let (_, next) = lines.next().ok_or_else(|| {
                        format!("line {number} opens a quote that is never closed")
                    })?;
                    body.push('\n');
                    body.push_str(next);
                }
                match quote {
                    '"' => unescape(&body),
                    _ => body,
                }
            }
            _ => strip_comment(rest).trim_end().to_owned(),
        };
        vars.insert(name.to_owned(), Secret::new(value));
    }
    Ok(vars)
}

/// Where the quote closing a value opened with `quote` is; a backslash escapes in "…" only.
fn closing_quote(body: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in body.char_indices() {
        match c {
            '\\' if quote == '"' && !escaped => escaped = true,
            c if c == quote && !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

fn unescape(body: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// An unquoted value ends where a `#` follows whitespace.
fn strip_comment(value: &str) -> &str {
    let bytes = value.as_bytes();
    for i in 0..bytes.len() {
        if bytes[i] == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &value[..i];
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(vars: &EnvFile, name: &str) -> String {
        vars[name].expose().to_owned()
    }

    #[test]
    fn reads_the_shapes_teams_write() {
        let vars = parse(concat!(
            "# NBA MCP Configuration\r\n",
            "\n",
            "DB_HOST=nba-stats.xxx.rds.amazonaws.com\r\n",
            "export AWS_DEFAULT_REGION=us-east-1\n",
            "export AWS_ACCESS_KEY_ID=\"your-access-key\"\n",
            "CORS_ORIGINS=https://devskyy.com,https://app.devskyy.com\n",
            "VAULT_NAMESPACE=devskyy  # Optional\n",
            "PASSWORD=pa#ss\n",
            "SINGLE='it''s'\n",
            "RAW='no \\n escapes # here'\n",
            "ESCAPED=\"a \\\"quoted\\\" \\\\ word\\n\"\n",
            "MULTI=\"line one\nline two\"\n",
            "EMPTY=\n",
            "DB_HOST=localhost\n",
        ))
        .unwrap_err();
        // 'it''s' is two quoted strings back to back, which dotenv does not join.
        assert_eq!(vars, "line 9 has text after its closing quote");

        let vars = parse(concat!(
            "DB_HOST=nba-stats.xxx.rds.amazonaws.com\r\n",
            "export AWS_DEFAULT_REGION=us-east-1\n",
            "export AWS_ACCESS_KEY_ID=\"your-access-key\"\n",
            "CORS_ORIGINS=https://devskyy.com,https://app.devskyy.com\n",
            "VAULT_NAMESPACE=devskyy  # Optional\n",
            "PASSWORD=pa#ss\n",
            "RAW='no \\n escapes # here'\n",
            "ESCAPED=\"a \\\"quoted\\\" \\\\ word\\n\" # note\n",
            "MULTI=\"line one\nline two\"\n",
            "EMPTY=\n",
            "DB_HOST=localhost\n",
        ))
        .unwrap();
        assert_eq!(get(&vars, "DB_HOST"), "localhost");
        assert_eq!(get(&vars, "AWS_DEFAULT_REGION"), "us-east-1");
        assert_eq!(get(&vars, "AWS_ACCESS_KEY_ID"), "your-access-key");
        assert_eq!(
            get(&vars, "CORS_ORIGINS"),
            "https://devskyy.com,https://app.devskyy.com"
        );
        assert_eq!(get(&vars, "VAULT_NAMESPACE"), "devskyy");
        assert_eq!(get(&vars, "PASSWORD"), "pa#ss");
        assert_eq!(get(&vars, "RAW"), "no \\n escapes # here");
        assert_eq!(get(&vars, "ESCAPED"), "a \"quoted\" \\ word\n");
        assert_eq!(get(&vars, "MULTI"), "line one\nline two");
        assert_eq!(get(&vars, "EMPTY"), "");
    }

    #[test]
    fn errors_name_the_line_not_its_text() {
        for (text, expected) in [
            ("A=1\nhunter2-password\n", "line 2 is not NAME=value"),
            ("1X=hunter2\n", "line 1 does not start with a variable name"),
            ("A=\"hunter2\n", "line 1 opens a quote that is never closed"),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e, expected);
            assert!(!e.contains("hunter2"));
        }
    }
}
