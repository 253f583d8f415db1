//! The one type that holds a token in clear.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq as _;

/// Every token starts with this, so that secret scanners (and people) recognise one,
/// and so that the audit log can tell a token typed into a user-name field.
pub(crate) const TOKEN_PREFIX: &str = "gdp_";

/// A token in clear: what a client presents, or what `add` hands out once.
///
/// No `Display`, no `Serialize`, a redacted `Debug`: it cannot reach a log line, a
/// response or a file by accident; [`Secret::expose`] is the one deliberate way out.
/// No `PartialEq` either: secrets are compared only as digests, in constant time.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// 256 random bits from the operating system, as `gdp_` + unpadded base64url
    /// (47 characters: safe in `.netrc`, URLs and shells without quoting).
    pub(crate) fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes)?;
        Ok(Self(format!(
            "{TOKEN_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(bytes)
        )))
    }

    /// The token itself, for printing it once to whoever created it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// SHA-256 of the token: all the token store keeps.
    pub(crate) fn digest(&self) -> [u8; 32] {
        godepot_module::sha256(self.0.as_bytes())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Compares two digests in constant time.
pub(crate) fn digests_equal(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_are_random_prefixed_and_never_shown_by_debug() {
        let a = Secret::generate().unwrap();
        let b = Secret::generate().unwrap();
        assert_ne!(a.expose(), b.expose());
        assert!(a.expose().starts_with(TOKEN_PREFIX));
        assert_eq!(a.expose().len(), TOKEN_PREFIX.len() + 43);
        assert_eq!(format!("{a:?}"), "Secret(<redacted>)");
        assert!(!format!("{:?}", Some(&a)).contains(a.expose()));
    }
}
