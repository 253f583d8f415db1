//! The case encoding of module paths and versions in proxy URLs and cache paths.
//!
//! Module paths may contain upper case, but the proxy protocol must work on
//! case-insensitive file systems, so every upper-case letter is written as `!`
//! followed by its lower-case form (`Azure` -> `!azure`). The encoding is only
//! unambiguous because valid paths never contain `!` or non-ASCII; decoding
//! therefore rejects raw upper case and stray `!`.

use crate::error::ModuleError;
use crate::path::{check_path, check_version_element};

/// Encodes a module path for use in a URL or file name, after checking it
/// (`module.EscapePath`).
pub fn escape_path(path: &str) -> Result<String, ModuleError> {
    check_path(path)?;
    Ok(encode_upper(path))
}

/// Decodes an encoded module path and checks the result (`module.UnescapePath`).
pub fn unescape_path(escaped: &str) -> Result<String, ModuleError> {
    let invalid = |reason: String| ModuleError::InvalidEscape {
        escaped: escaped.to_owned(),
        reason,
    };
    let path = decode_upper(escaped).map_err(|r| invalid(r.into()))?;
    check_path(&path).map_err(|e| match e {
        ModuleError::InvalidPath { reason, .. } => {
            invalid(format!("malformed module path: {reason}"))
        }
        other => invalid(other.to_string()),
    })?;
    Ok(path)
}

/// Encodes a version for use in a URL or file name (`module.EscapeVersion`).
/// Versions need not be semver here (queries like `master` pass through), but
/// they must be a valid file-name element without `!`.
pub fn escape_version(v: &str) -> Result<String, ModuleError> {
    let disallowed = check_version_element(v).is_err() || v.contains('!');
    if disallowed {
        return Err(ModuleError::MalformedVersion {
            version: v.to_owned(),
            reason: "disallowed version string".into(),
        });
    }
    Ok(encode_upper(v))
}

/// Decodes an encoded version and checks that it is a valid file-name element
/// (`module.UnescapeVersion`).
pub fn unescape_version(escaped: &str) -> Result<String, ModuleError> {
    let invalid = |reason: String| ModuleError::InvalidEscape {
        escaped: escaped.to_owned(),
        reason,
    };
    let v = decode_upper(escaped).map_err(|r| invalid(r.into()))?;
    check_version_element(&v).map_err(invalid)?;
    Ok(v)
}

/// Callers have already rejected `!` and non-ASCII, which keeps this reversible.
fn encode_upper(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 4);
    for c in s.chars() {
        if c.is_ascii_uppercase() {
            out.push('!');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

fn decode_upper(escaped: &str) -> Result<String, &'static str> {
    let mut out = String::with_capacity(escaped.len());
    let mut chars = escaped.chars();
    while let Some(c) = chars.next() {
        match c {
            c if !c.is_ascii() => return Err("non-ASCII character"),
            c if c.is_ascii_uppercase() => return Err("unescaped upper-case letter"),
            '!' => match chars.next() {
                Some(l) if l.is_ascii_lowercase() => out.push(l.to_ascii_uppercase()),
                _ => return Err("'!' not followed by a lower-case letter"),
            },
            c => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_table() {
        fn check(v: &str, expect: Result<&str, ()>) {
            let got = escape_version(v);
            assert_eq!(
                got.as_deref().map_err(|_| ()),
                expect,
                "escape_version({v:?})"
            );
            if let Ok(escaped) = got {
                assert_eq!(
                    unescape_version(&escaped).as_deref(),
                    Ok(v),
                    "round trip {v:?}"
                );
            }
        }
        check("v1.0.0", Ok("v1.0.0"));
        check("v1.0.0-RC1", Ok("v1.0.0-!r!c1"));
        check("master", Ok("master"));
        check("v1.0.0!", Err(()));
        check("v1/0", Err(()));
        check("", Err(()));
        check("..", Err(()));
    }

    #[test]
    fn unescape_errors() {
        fn check(escaped: &str, expect: &str) {
            let got = unescape_path(escaped).map_err(|e| e.to_string());
            assert_eq!(got, Err(expect.to_owned()), "unescape_path({escaped:?})");
        }
        check(
            "github.com/A/b",
            r#"invalid escaped string "github.com/A/b": unescaped upper-case letter"#,
        );
        check(
            "github.com/!/b",
            r#"invalid escaped string "github.com/!/b": '!' not followed by a lower-case letter"#,
        );
        check(
            "cache",
            r#"invalid escaped string "cache": malformed module path: missing dot in first path element"#,
        );
    }
}
