//! Reading `.env` files the way the dotenv loaders teams use read them: comments, blank
//! lines, `export`, single and double quotes, inline comments after unquoted values, and
//! `${NAME}` (or `${NAME:-default}`) outside single quotes. Errors name the line and the
//! variable, never the text, which may hold a password.

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
        if !is_name(name) {
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
                    '"' => expand(&unescape(&body), &vars, number)?,
                    _ => body,
                }
            }
            _ => expand(strip_comment(rest).trim_end(), &vars, number)?,
        };
        vars.insert(name.to_owned(), Secret::new(value));
    }
    Ok(vars)
}

/// `value` with each `${NAME}` replaced by the value of NAME set earlier in the file, and
/// `${NAME:-default}` by the default when NAME is unset or empty. A NAME the file does not
/// set is an error rather than an empty string stored as part of a password; text between
/// `${` and `}` that is not a variable name stays as it is (a password may contain it).
fn expand(value: &str, vars: &EnvFile, number: usize) -> Result<String, String> {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let reference = after.find('}').map(|end| {
            let (name, default) = match after[..end].split_once(":-") {
                Some((name, default)) => (name, Some(default)),
                None => (&after[..end], None),
            };
            (end, name, default)
        });
        match reference {
            Some((end, name, default)) if is_name(name) => {
                match (vars.get(name).map(|v| v.expose()), default) {
                    (Some(""), Some(default)) => out.push_str(default),
                    (Some(value), _) => out.push_str(value),
                    (None, Some(default)) => out.push_str(default),
                    (None, None) => {
                        return Err(format!(
                            "line {number} uses ${{{name}}}, which the file does not set before it"
                        ));
                    }
                }
                rest = &after[end + 1..];
            }
            _ => {
                out.push_str("${");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

fn is_name(name: &str) -> bool {
    name.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
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
    fn expands_variables_set_earlier_in_the_file() {
        let vars = parse(concat!(
            "DB_USER=app\n",
            "DB_PASSWORD=s3cret\n",
            "DATABASE_URL=postgres://${DB_USER}:${DB_PASSWORD}@${DB_HOST:-localhost}:5432/app\n",
            "QUOTED=\"${DB_USER}\"\n",
            "LITERAL='${DB_USER}'\n",
            "PRICE=$5\n",
        ))
        .unwrap();
        assert_eq!(
            get(&vars, "DATABASE_URL"),
            "postgres://app:s3cret@localhost:5432/app"
        );
        assert_eq!(get(&vars, "QUOTED"), "app");
        assert_eq!(get(&vars, "LITERAL"), "${DB_USER}");
        assert_eq!(get(&vars, "PRICE"), "$5");
        let vars = parse("EMPTY=\nA=x${EMPTY}y\nB=${EMPTY:-d}\nPW=p${a b}q${1}\n").unwrap();
        assert_eq!(get(&vars, "A"), "xy");
        assert_eq!(get(&vars, "B"), "d");
        assert_eq!(get(&vars, "PW"), "p${a b}q${1}");
        assert_eq!(
            parse("URL=postgres://u:${DB_PASSWORD}@h/d\n").unwrap_err(),
            "line 1 uses ${DB_PASSWORD}, which the file does not set before it"
        );
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
