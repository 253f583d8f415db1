//! The error type shared by the path, version and escaping checks.
//!
//! Messages are single lines in lower case, worded like the go command's, because
//! they end up verbatim in proxy responses that `go` prints to its users.

/// Why a module path, import path, file path or version was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModuleError {
    /// The string is not a valid module path (`module.CheckPath`).
    #[error("malformed module path {path:?}: {reason}")]
    InvalidPath { path: String, reason: String },
    /// The version is not acceptable for this module path (`module.Check`).
    #[error("{path}@{version}: invalid version: {reason}")]
    InvalidVersion {
        path: String,
        version: String,
        reason: String,
    },
    /// The string is not a valid case-encoded path or version.
    #[error("invalid escaped string {escaped:?}: {reason}")]
    InvalidEscape { escaped: String, reason: String },
    /// A module path given as bytes that are not UTF-8. `quoted` is rendered the way
    /// Go's `%q` renders it (`"\xff"`), since a Rust `String` cannot hold the bytes.
    #[error("malformed module path {quoted}: invalid UTF-8")]
    NonUtf8Path { quoted: String },
    /// The string is not a valid import path (`module.CheckImportPath`).
    #[error("malformed import path {path:?}: {reason}")]
    InvalidImportPath { path: String, reason: String },
    /// The string is not a valid file path inside a module (`module.CheckFilePath`).
    #[error("malformed file path {path:?}: {reason}")]
    InvalidFilePath { path: String, reason: String },
    /// A version that is valid semver but not in the canonical form the
    /// proxy protocol requires (e.g. `v1.2`, `v1.0.0+meta`).
    #[error("version {version:?} is not canonical (should be {canonical:?})")]
    NonCanonicalVersion { version: String, canonical: String },
    /// A version string that is not semver at all, or cannot be used in a URL.
    #[error("malformed version {version:?}: {reason}")]
    MalformedVersion { version: String, reason: String },
    /// A file name that the `h1:` hash format cannot represent.
    #[error("dirhash: file name {name:?} contains a newline")]
    NewlineInFileName { name: String },
}

/// Quotes bytes the way Go's `%q` verb does for strings: printable UTF-8 kept,
/// common escapes spelled out, and every byte of invalid UTF-8 as `\xNN`.
/// Only used where the go command's exact wording matters to a user.
pub(crate) fn go_quote(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::go_quote;

    #[test]
    fn go_quote_table() {
        fn check(input: &[u8], expect: &str) {
            assert_eq!(go_quote(input), expect, "input {input:?}");
        }
        check(b"", r#""""#);
        check(b"x.y/z", r#""x.y/z""#);
        check(b"\xff", r#""\xff""#);
        check(b"a\"b\\c", r#""a\"b\\c""#);
        check("испытание".as_bytes(), "\"испытание\"");
    }
}
