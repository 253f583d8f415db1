//! The `h1:` directory hash that go.sum and the checksum database record
//! (dirhash `Hash1`).
//!
//! The hash is SHA-256 over a text summary: one line `"<hex sha256>  <name>\n"` per
//! file, names sorted bytewise. Summarising per-file digests (rather than hashing
//! the zip bytes) makes the hash independent of compression and entry order.

use std::fmt::Write as _;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::error::ModuleError;

/// Hashes `files` given as (name, SHA-256 of content) and returns `"h1:<base64>"`.
/// Sorts names itself. A name containing `'\n'` would make the summary ambiguous,
/// so it is an error, as in Go.
pub fn hash1(files: &[(String, [u8; 32])]) -> Result<String, ModuleError> {
    let mut sorted: Vec<&(String, [u8; 32])> = files.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut summary = Sha256::new();
    let mut line = String::new();
    for (name, digest) in sorted {
        if name.contains('\n') {
            return Err(ModuleError::NewlineInFileName { name: name.clone() });
        }
        line.clear();
        for b in digest {
            let _ = write!(line, "{b:02x}");
        }
        let _ = writeln!(line, "  {name}");
        summary.update(line.as_bytes());
    }
    let encoded = base64::engine::general_purpose::STANDARD.encode(summary.finalize());
    Ok(format!("h1:{encoded}"))
}

/// The `h1:` hash go.sum records on `<version>/go.mod` lines: [`hash1`] of a
/// single file named `go.mod`.
pub fn hash_go_mod(content: &[u8]) -> String {
    let digest: [u8; 32] = Sha256::digest(content).into();
    hash1(&[("go.mod".to_owned(), digest)])
        .unwrap_or_else(|_| unreachable!("the name go.mod has no newline"))
}

/// SHA-256 of `content`, the per-file input to [`hash1`].
pub fn sha256(content: &[u8]) -> [u8; 32] {
    Sha256::digest(content).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash1_table() {
        fn check(files: &[(&str, &[u8])], expect: Result<&str, ()>) {
            let files: Vec<(String, [u8; 32])> = files
                .iter()
                .map(|(n, c)| (n.to_string(), sha256(c)))
                .collect();
            assert_eq!(
                hash1(&files).as_deref().map_err(|_| ()),
                expect,
                "{files:?}"
            );
        }
        // SHA-256 of the empty summary.
        check(&[], Ok("h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="));
        check(&[("a\nb", b"")], Err(()));
        // Order of input does not matter.
        let ab = hash1(&[("a".into(), sha256(b"1")), ("b".into(), sha256(b"2"))]).unwrap();
        check(&[("b", b"2"), ("a", b"1")], Ok(ab.as_str()));
    }

    #[test]
    fn go_mod_hash_matches_known_go_sum_line() {
        // From rsc.io/quote v1.5.2's go.sum entry for its go.mod.
        assert_eq!(
            hash_go_mod(b"module \"rsc.io/quote\"\n\nrequire \"rsc.io/sampler\" v1.3.0\n"),
            "h1:LzX7hefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0="
        );
    }
}
