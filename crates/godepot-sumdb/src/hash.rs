//! RFC 6962 hashing, as the checksum database's tree uses it, and the tree head note text.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};

use crate::SumdbError;

pub const HASH_SIZE: usize = 32;

/// A tree hash.
pub type Hash = [u8; HASH_SIZE];

/// The first line of a tree head note.
const TREE_HEAD_TITLE: &str = "go.sum database tree";

/// The hash of a record (a leaf): SHA-256(0x00 || data).
pub fn record_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// The hash of an interior node: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// A tree head: the size of the tree and the hash of its root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeHead {
    pub size: u64,
    pub hash: Hash,
}

impl TreeHead {
    /// Parses `go.sum database tree\n<N>\n<base64 hash>\n` (the text of a verified note).
    /// Extra lines after the hash are allowed, as the go command allows them.
    pub fn parse(text: &str) -> Result<TreeHead, SumdbError> {
        let bad = |why: &str| SumdbError::BadTreeHead(why.to_string());
        let mut lines = text.split('\n');
        if lines.next() != Some(TREE_HEAD_TITLE) {
            return Err(bad("wrong first line"));
        }
        let size = lines.next().ok_or_else(|| bad("no size"))?;
        if size.is_empty()
            || !size.bytes().all(|b| b.is_ascii_digit())
            || (size.len() > 1 && size.starts_with('0'))
        {
            return Err(bad("bad size"));
        }
        let size = size.parse().map_err(|_| bad("size out of range"))?;
        let hash = STANDARD
            .decode(lines.next().ok_or_else(|| bad("no hash"))?)
            .map_err(|_| bad("hash is not base64"))?;
        let hash: Hash = hash.try_into().map_err(|_| bad("hash is not 32 bytes"))?;
        if !text.ends_with('\n') {
            return Err(bad("no final newline"));
        }
        Ok(TreeHead { size, hash })
    }

    /// The note text for this tree head.
    pub fn text(&self) -> String {
        format!(
            "{TREE_HEAD_TITLE}\n{}\n{}\n",
            self.size,
            STANDARD.encode(self.hash)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_heads_round_trip() {
        let head = TreeHead {
            size: 300,
            hash: record_hash(b"x"),
        };
        assert_eq!(TreeHead::parse(&head.text()).unwrap(), head);
        assert!(TreeHead::parse("go.sum database tree\n012\nAAAA\n").is_err());
        assert!(TreeHead::parse("other tree\n1\nAAAA\n").is_err());
    }
}
