//! Checking database answers with tiles the caller already holds (on disk, in a bundle),
//! and an artifact's hash against a record: shared by the depot's check of what it fetches
//! and by imports and `verify`, so every path into a store judges the same way.
//!
//! The depot fetches missing tiles asynchronously and drives [`TileHashes`] itself; callers
//! whose tiles are all at hand use [`prove`] with a lookup function instead.

use crate::tile::HEIGHT;
use crate::{LookupAnswer, SumdbError, Tile, TileHashes, TreeHead, VerifierKey, verify_note};

/// A proof over a tree of 2^63 records needs fewer tiles than this.
pub const MAX_TILE_ROUNDS: usize = 256;

/// Where godepot keeps a database's answers, relative to the store's metadata directory:
/// `sumdb/<name>/<rel>`, `<rel>` being the request path under the database's root.
pub fn cache_name(database: &str, rel: &str) -> String {
    format!("sumdb/{database}/{rel}")
}

/// The file (beside a database's cached answers) holding the largest tree head verified so
/// far. No request path maps to this name.
pub const VERIFIED_TREE: &str = "verified-tree";

/// The tree head signed in `note`, which must carry a valid signature by `key`.
pub fn verified_head(note: &[u8], key: &VerifierKey) -> Result<TreeHead, SumdbError> {
    TreeHead::parse(verify_note(note, key)?)
}

/// Runs `check` over the tree `head`, adding the tiles it asks for from `tile` until it can
/// decide. The tiles must also hash to `head`: a forged tile can only make a check fail.
pub fn prove(
    tiles: &mut TileHashes,
    head: &TreeHead,
    check: impl Fn(&TileHashes) -> Result<(), SumdbError>,
    mut tile: impl FnMut(&Tile) -> Option<Vec<u8>>,
) -> Result<(), SumdbError> {
    for _ in 0..MAX_TILE_ROUNDS {
        match tiles.check_head(head).and_then(|()| check(tiles)) {
            Err(SumdbError::MissingTile(needed)) => match tile(&needed) {
                Some(data) => tiles.add(&needed, data)?,
                None => return Err(SumdbError::MissingTile(needed)),
            },
            done => return done,
        }
    }
    Err(SumdbError::ProofFailed("proof needs too many tiles".into()))
}

/// Checks a lookup answer: signed by `key`, and its record in the tree it names.
pub fn verify_lookup<'a>(
    answer: &'a [u8],
    key: &VerifierKey,
    tile: impl FnMut(&Tile) -> Option<Vec<u8>>,
) -> Result<(LookupAnswer<'a>, TreeHead), SumdbError> {
    let parsed = LookupAnswer::parse(answer)?;
    let head = verified_head(parsed.note, key)?;
    let mut tiles = TileHashes::new(HEIGHT, head.size);
    prove(
        &mut tiles,
        &head,
        |t| t.check_record(parsed.id, parsed.data.as_bytes(), &head),
        tile,
    )?;
    Ok((parsed, head))
}

/// Checks that two verified tree heads belong to one log: the smaller is a prefix of the
/// larger (equal sizes must have equal hashes).
pub fn check_consistent(
    a: &TreeHead,
    b: &TreeHead,
    tile: impl FnMut(&Tile) -> Option<Vec<u8>>,
) -> Result<(), SumdbError> {
    let (old, new) = if a.size <= b.size { (a, b) } else { (b, a) };
    let mut tiles = TileHashes::new(HEIGHT, new.size);
    prove(&mut tiles, new, |t| t.check_consistency(old, new), tile)
}

/// Compares an artifact's `h1:` with what a record says of it; `Err` is the record's hash
/// (`None` when the record has no line for it), for the caller's message.
pub fn check_hash<'a>(
    answer: &LookupAnswer<'a>,
    module: &str,
    version: &str,
    go_mod: bool,
    h1: &str,
) -> Result<(), Option<&'a str>> {
    let line_version = if go_mod {
        format!("{version}/go.mod")
    } else {
        version.to_string()
    };
    match answer.hash_of(module, &line_version) {
        Some(want) if want == h1 => Ok(()),
        want => Err(want),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{node_hash, record_hash};
    use crate::note::testing::TestSigner;

    const RECORDS: [&str; 3] = [
        "example.com/a v1.0.0 h1:zipA=\nexample.com/a v1.0.0/go.mod h1:modA=\n",
        "example.com/b v1.0.0 h1:zipB=\nexample.com/b v1.0.0/go.mod h1:modB=\n",
        "example.com/c v1.0.0 h1:zipC=\nexample.com/c v1.0.0/go.mod h1:modC=\n",
    ];

    /// A three-record tree: one partial tile at level 0, and its signed head.
    fn tree(signer: &TestSigner) -> (Vec<u8>, TreeHead, Vec<u8>) {
        let leaves: Vec<_> = RECORDS.iter().map(|r| record_hash(r.as_bytes())).collect();
        let head = TreeHead {
            size: 3,
            hash: node_hash(&node_hash(&leaves[0], &leaves[1]), &leaves[2]),
        };
        (leaves.concat(), head, signer.sign(&head.text()))
    }

    #[test]
    fn lookups_verify_with_tiles_at_hand_and_hashes_are_compared() {
        let signer = TestSigner::new("sum.test", 5);
        let key = VerifierKey::parse(&signer.verifier()).unwrap();
        let (tile, head, note) = tree(&signer);
        let answer = [format!("1\n{}\n", RECORDS[1]).into_bytes(), note.clone()].concat();
        let have = |t: &Tile| (t.path() == "tile/8/0/000.p/3").then(|| tile.clone());

        let (record, got) = verify_lookup(&answer, &key, have).unwrap();
        assert_eq!(got, head);
        assert_eq!(
            check_hash(&record, "example.com/b", "v1.0.0", false, "h1:zipB="),
            Ok(())
        );
        assert_eq!(
            check_hash(&record, "example.com/b", "v1.0.0", true, "h1:other="),
            Err(Some("h1:modB="))
        );
        assert_eq!(
            check_hash(&record, "example.com/z", "v1.0.0", false, "h1:x="),
            Err(None)
        );

        assert!(matches!(
            verify_lookup(&answer, &key, |_| None),
            Err(SumdbError::MissingTile(_))
        ));
        let forged = [format!("1\n{}\n", RECORDS[0]).into_bytes(), note].concat();
        assert!(matches!(
            verify_lookup(&forged, &key, have),
            Err(SumdbError::ProofFailed(_))
        ));
        let other = VerifierKey::parse(&TestSigner::new("sum.test", 6).verifier()).unwrap();
        assert!(verify_lookup(&answer, &other, have).is_err());
    }

    #[test]
    fn tree_heads_of_one_log_are_consistent_and_a_fork_is_not() {
        let signer = TestSigner::new("sum.test", 5);
        let (tile, head, _) = tree(&signer);
        let have = |t: &Tile| (t.path() == "tile/8/0/000.p/3").then(|| tile.clone());
        let leaves: Vec<_> = RECORDS.iter().map(|r| record_hash(r.as_bytes())).collect();
        let older = TreeHead {
            size: 2,
            hash: node_hash(&leaves[0], &leaves[1]),
        };
        check_consistent(&older, &head, have).unwrap();
        check_consistent(&head, &older, have).unwrap();
        let fork = TreeHead {
            size: 2,
            hash: leaves[0],
        };
        assert!(check_consistent(&fork, &head, have).is_err());
    }
}
