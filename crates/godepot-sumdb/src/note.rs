//! Signed notes, as the go command's checksum database writes them:
//!
//! ```text
//! <text, ending in a newline>
//!
//! — <signer name> <base64(4-byte key hash, big-endian || 64-byte Ed25519 signature)>
//! ```
//!
//! A verifier key is `<name>+<key hash, 8 hex digits>+<base64(0x01 || 32-byte public key)>`;
//! the key hash is the first 4 bytes (big-endian) of SHA-256(name + "\n" + 0x01 + public key).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::SumdbError;

/// The algorithm byte for Ed25519 keys in note keys.
const ALG_ED25519: u8 = 1;
/// Each signature line starts with an em dash and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// A parsed verifier key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    pub name: String,
    pub hash: u32,
    key: VerifyingKey,
}

impl VerifierKey {
    /// Parses `<name>+<hash>+<base64 key>`, checking that the hash matches the key.
    pub fn parse(text: &str) -> Result<Self, SumdbError> {
        let bad = || SumdbError::BadKey(text.to_string());
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(hash), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        if !valid_name(name) || hash.len() != 8 {
            return Err(bad());
        }
        let hash = u32::from_str_radix(hash, 16).map_err(|_| bad())?;
        let raw = STANDARD.decode(key).map_err(|_| bad())?;
        let [ALG_ED25519, public @ ..] = raw.as_slice() else {
            return Err(bad());
        };
        let public: [u8; 32] = public.try_into().map_err(|_| bad())?;
        if key_hash(name, &public) != hash {
            return Err(bad());
        }
        let key = VerifyingKey::from_bytes(&public).map_err(|_| bad())?;
        Ok(VerifierKey {
            name: name.to_string(),
            hash,
            key,
        })
    }
}

/// `<name>+<hash>+<base64 key>`, the text it was parsed from: public by design (it is what
/// goes in `GOSUMDB`).
impl std::fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut raw = vec![ALG_ED25519];
        raw.extend_from_slice(self.key.as_bytes());
        write!(
            f,
            "{}+{:08x}+{}",
            self.name,
            self.hash,
            STANDARD.encode(raw)
        )
    }
}

/// The key hash of a note key: it names which key made a signature.
pub fn key_hash(name: &str, public: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([ALG_ED25519]);
    h.update(public);
    let d = h.finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// A note name: non-empty, printable, no spaces and no `+`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && c != '+')
}

/// Checks that `msg` is a note signed by `key` and returns its text (with its final newline).
/// Signatures by other keys are ignored, as the go command does.
pub fn verify_note<'a>(msg: &'a [u8], key: &VerifierKey) -> Result<&'a str, SumdbError> {
    let (text, signatures) = split_note(msg)?;
    for line in signatures.lines() {
        let Some(rest) = line.strip_prefix(SIG_PREFIX) else {
            return Err(SumdbError::BadNote(
                "signature line without '\u{2014} '".into(),
            ));
        };
        let Some((name, sig)) = rest.split_once(' ') else {
            return Err(SumdbError::BadNote("signature line without a name".into()));
        };
        if name != key.name {
            continue;
        }
        let Ok(raw) = STANDARD.decode(sig) else {
            continue;
        };
        let Some((hash, sig)) = raw.split_first_chunk::<4>() else {
            continue;
        };
        if u32::from_be_bytes(*hash) != key.hash {
            continue;
        }
        let Ok(sig) = Signature::from_slice(sig) else {
            continue;
        };
        if key.key.verify_strict(text.as_bytes(), &sig).is_ok() {
            return Ok(text);
        }
    }
    Err(SumdbError::Unsigned(key.name.clone()))
}

/// Splits a note into its text and its signature block, at the last blank line.
pub fn split_note(msg: &[u8]) -> Result<(&str, &str), SumdbError> {
    let msg = std::str::from_utf8(msg).map_err(|_| SumdbError::BadNote("not UTF-8".into()))?;
    let i = msg
        .rfind("\n\n")
        .ok_or_else(|| SumdbError::BadNote("no blank line before the signatures".into()))?;
    let (text, signatures) = (&msg[..=i], &msg[i + 2..]);
    if signatures.is_empty() || !signatures.ends_with('\n') {
        return Err(SumdbError::BadNote("no signature lines".into()));
    }
    Ok((text, signatures))
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    /// A signer for tests: a fixed seed, so keys are stable.
    pub(crate) struct TestSigner {
        pub(crate) name: String,
        key: SigningKey,
    }

    impl TestSigner {
        pub(crate) fn new(name: &str, seed: u8) -> Self {
            TestSigner {
                name: name.to_string(),
                key: SigningKey::from_bytes(&[seed; 32]),
            }
        }

        pub(crate) fn verifier(&self) -> String {
            let public = self.key.verifying_key().to_bytes();
            let mut raw = vec![ALG_ED25519];
            raw.extend_from_slice(&public);
            format!(
                "{}+{:08x}+{}",
                self.name,
                key_hash(&self.name, &public),
                STANDARD.encode(raw)
            )
        }

        pub(crate) fn sign(&self, text: &str) -> Vec<u8> {
            let public = self.key.verifying_key().to_bytes();
            let mut raw = key_hash(&self.name, &public).to_be_bytes().to_vec();
            raw.extend_from_slice(&self.key.sign(text.as_bytes()).to_bytes());
            format!(
                "{text}\n{SIG_PREFIX}{} {}\n",
                self.name,
                STANDARD.encode(raw)
            )
            .into_bytes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testing::TestSigner;
    use super::*;

    #[test]
    fn signed_notes_verify_and_tampering_is_caught() {
        let signer = TestSigner::new("sum.test", 7);
        let key = VerifierKey::parse(&signer.verifier()).unwrap();
        let note = signer.sign("hello\nworld\n");
        assert_eq!(verify_note(&note, &key).unwrap(), "hello\nworld\n");

        let mut tampered = note.clone();
        tampered[0] = b'j';
        assert!(matches!(
            verify_note(&tampered, &key),
            Err(SumdbError::Unsigned(_))
        ));

        let other = TestSigner::new("sum.test", 8);
        let other_key = VerifierKey::parse(&other.verifier()).unwrap();
        assert!(verify_note(&note, &other_key).is_err());
    }

    #[test]
    fn keys_with_a_wrong_hash_or_shape_are_refused() {
        let good = TestSigner::new("sum.test", 7).verifier();
        assert_eq!(VerifierKey::parse(&good).unwrap().to_string(), good);
        let (name_hash, key) = good.rsplit_once('+').unwrap();
        let (name, _) = name_hash.split_once('+').unwrap();
        assert!(VerifierKey::parse(&format!("{name}+00000000+{key}")).is_err());
        assert!(VerifierKey::parse("sum.test").is_err());
        assert!(VerifierKey::parse("sum.test+zz+AQ==").is_err());
        assert!(VerifierKey::parse(&format!("other.name+{}", &good[9..])).is_err());
    }
}
