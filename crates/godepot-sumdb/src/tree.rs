//! Hashes of the tree read from tiles, and the RFC 6962 proofs built from them.
//!
//! Tiles are untrusted input: every check here builds a proof from tile hashes and then
//! verifies it against a tree hash from a signed note, so a forged tile can only make a check
//! fail, never pass. A needed tile that has not been added yields
//! [`SumdbError::MissingTile`]: the caller fetches it, adds it, and asks again.

use std::collections::HashMap;

use crate::hash::{HASH_SIZE, Hash, TreeHead, node_hash, record_hash};
use crate::{SumdbError, Tile};

/// The tiles known for one tree size.
#[derive(Debug, Clone)]
pub struct TileHashes {
    height: u8,
    size: u64,
    /// (level, index) → the tile's bytes.
    tiles: HashMap<(u8, u64), Vec<u8>>,
}

impl TileHashes {
    pub fn new(height: u8, size: u64) -> Self {
        TileHashes {
            height,
            size,
            tiles: HashMap::new(),
        }
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tile (width as of this tree size) holding hash `index` of tile level `level`.
    pub fn tile_for(&self, level: u8, index: u64) -> Tile {
        let h = u32::from(self.height);
        let at_level = self.size.checked_shr(h * u32::from(level)).unwrap_or(0);
        let tile_index = index >> h;
        let start = tile_index << h;
        let width = at_level.saturating_sub(start).min(1 << h) as u32;
        Tile {
            height: self.height,
            level: Some(level),
            index: tile_index,
            width,
        }
    }

    /// Adds a fetched hash tile after checking its size.
    pub fn add(&mut self, tile: &Tile, data: Vec<u8>) -> Result<(), SumdbError> {
        let want = tile.hash_bytes().unwrap_or(0);
        if tile.level.is_none() || tile.height != self.height || data.len() != want {
            return Err(SumdbError::BadTileSize {
                path: tile.path(),
                got: data.len(),
                want,
            });
        }
        let level = tile.level.unwrap_or(0);
        self.tiles.insert((level, tile.index), data);
        Ok(())
    }

    /// Hash `index` of tree level `level * height`, straight from a tile.
    fn stored(&self, level: u8, index: u64) -> Result<Hash, SumdbError> {
        let tile = self.tile_for(level, index);
        let pos = (index - (tile.index << self.height)) as usize * HASH_SIZE;
        let data = self
            .tiles
            .get(&(level, tile.index))
            .filter(|d| d.len() >= pos + HASH_SIZE)
            .ok_or(SumdbError::MissingTile(tile))?;
        let hash = data[pos..pos + HASH_SIZE].try_into().expect("32 bytes");
        self.require_ancestors(level, tile.index)?;
        Ok(hash)
    }

    /// Asks for every tile above a tile that is read, up to the top of the tree: the go
    /// command authenticates each tile it reads through its parents, so a cache that is to
    /// answer it offline must hold them. (Only full tiles have parents.)
    fn require_ancestors(&self, mut level: u8, mut tile_index: u64) -> Result<(), SumdbError> {
        let h = u32::from(self.height);
        loop {
            // The parent's hash of this tile is hash `tile_index` of the next tile level.
            let next = level + 1;
            let at_next = self.size.checked_shr(h * u32::from(next)).unwrap_or(0);
            if tile_index >= at_next {
                return Ok(());
            }
            let parent = self.tile_for(next, tile_index);
            let pos = (tile_index - (parent.index << self.height)) as usize * HASH_SIZE;
            let held = self
                .tiles
                .get(&(next, parent.index))
                .is_some_and(|d| d.len() >= pos + HASH_SIZE);
            if !held {
                return Err(SumdbError::MissingTile(parent));
            }
            (level, tile_index) = (next, parent.index);
        }
    }

    /// The hash of the complete subtree of `2^level` records starting at record
    /// `index << level`.
    fn subtree(&self, level: u32, index: u64) -> Result<Hash, SumdbError> {
        let h = u32::from(self.height);
        // Written without `%` so the code stays within the workspace's 1.85 toolchain floor
        // (clippy would suggest `is_multiple_of`, which is newer).
        let tile_level = level / h;
        if level == tile_level * h {
            return self.stored(tile_level as u8, index);
        }
        let left = self.subtree(level - 1, index * 2)?;
        let right = self.subtree(level - 1, index * 2 + 1)?;
        Ok(node_hash(&left, &right))
    }

    /// RFC 6962's MTH over records `lo..hi`, where the recursion keeps `lo` aligned.
    fn range_hash(&self, lo: u64, hi: u64) -> Result<Hash, SumdbError> {
        let len = hi - lo;
        if len.is_power_of_two() && lo & (len - 1) == 0 {
            return self.subtree(len.trailing_zeros(), lo >> len.trailing_zeros());
        }
        let k = split_point(len);
        Ok(node_hash(
            &self.range_hash(lo, lo + k)?,
            &self.range_hash(lo + k, hi)?,
        ))
    }

    /// The root hash of the tree.
    pub fn tree_hash(&self) -> Result<Hash, SumdbError> {
        if self.size == 0 {
            return Ok(sha2::Digest::finalize(sha2::Sha256::default()).into());
        }
        self.range_hash(0, self.size)
    }

    /// The root hash of the tree of the first `size` records, read from these tiles: how the
    /// go command checks that an older tree head is a prefix of this tree.
    pub fn prefix_hash(&self, size: u64) -> Result<Hash, SumdbError> {
        if size == 0 || size > self.size {
            return Err(SumdbError::ProofFailed(format!(
                "no prefix of size {size} in a tree of size {}",
                self.size
            )));
        }
        self.range_hash(0, size)
    }

    /// Checks that `head` is this tree (size and root hash).
    pub fn check_head(&self, head: &TreeHead) -> Result<(), SumdbError> {
        if head.size != self.size || self.tree_hash()? != head.hash {
            return Err(SumdbError::ProofFailed(format!(
                "tiles do not hash to the tree head of size {}",
                head.size
            )));
        }
        Ok(())
    }

    /// Checks that record `id` with content `data` is in the tree whose head is `head`
    /// (same size as these tiles).
    pub fn check_record(&self, id: u64, data: &[u8], head: &TreeHead) -> Result<(), SumdbError> {
        if id >= self.size || head.size != self.size {
            return Err(SumdbError::ProofFailed(format!(
                "record {id} is not in a tree of size {}",
                head.size
            )));
        }
        let mut proof = Vec::new();
        self.inclusion_path(id, 0, self.size, &mut proof)?;
        let root = root_from_path(id, self.size, record_hash(data), &mut proof.iter().rev());
        if root != Some(head.hash) {
            return Err(SumdbError::ProofFailed(format!(
                "record {id} is not in the tree of size {}",
                head.size
            )));
        }
        Ok(())
    }

    /// Checks that the tree `old` is a prefix of `new` (this tree).
    pub fn check_consistency(&self, old: &TreeHead, new: &TreeHead) -> Result<(), SumdbError> {
        let fail = || {
            SumdbError::ProofFailed(format!(
                "tree of size {} is not a prefix of the tree of size {}",
                old.size, new.size
            ))
        };
        if new.size != self.size || old.size > new.size {
            return Err(fail());
        }
        if old.size == 0 {
            return Ok(());
        }
        if old.size == new.size {
            return if old.hash == new.hash {
                Ok(())
            } else {
                Err(fail())
            };
        }
        let mut proof = Vec::new();
        self.consistency_path(old.size, 0, self.size, true, &mut proof)?;
        let mut rest = proof.iter().rev();
        let roots = roots_from_consistency(old.size, new.size, true, &old.hash, &mut rest);
        match roots {
            Some((o, n)) if rest.next().is_none() && o == old.hash && n == new.hash => Ok(()),
            _ => Err(fail()),
        }
    }

    /// RFC 6962 PATH(m, D[lo:hi]): deepest sibling first.
    fn inclusion_path(
        &self,
        m: u64,
        lo: u64,
        hi: u64,
        out: &mut Vec<Hash>,
    ) -> Result<(), SumdbError> {
        let n = hi - lo;
        if n == 1 {
            return Ok(());
        }
        let k = split_point(n);
        if m < k {
            self.inclusion_path(m, lo, lo + k, out)?;
            out.push(self.range_hash(lo + k, hi)?);
        } else {
            self.inclusion_path(m - k, lo + k, hi, out)?;
            out.push(self.range_hash(lo, lo + k)?);
        }
        Ok(())
    }

    /// RFC 6962 SUBPROOF(m, D[lo:hi], b): deepest first.
    fn consistency_path(
        &self,
        m: u64,
        lo: u64,
        hi: u64,
        whole: bool,
        out: &mut Vec<Hash>,
    ) -> Result<(), SumdbError> {
        let n = hi - lo;
        if m == n {
            if !whole {
                out.push(self.range_hash(lo, hi)?);
            }
            return Ok(());
        }
        let k = split_point(n);
        if m <= k {
            self.consistency_path(m, lo, lo + k, whole, out)?;
            out.push(self.range_hash(lo + k, hi)?);
        } else {
            self.consistency_path(m - k, lo + k, hi, false, out)?;
            out.push(self.range_hash(lo, lo + k)?);
        }
        Ok(())
    }
}

/// The largest power of two below `n` (n ≥ 2): where RFC 6962 splits a tree.
fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// Recomputes the root from a leaf and its inclusion path, consumed top sibling first.
fn root_from_path<'a>(
    m: u64,
    n: u64,
    leaf: Hash,
    path: &mut impl Iterator<Item = &'a Hash>,
) -> Option<Hash> {
    if n == 1 {
        return Some(leaf);
    }
    let k = split_point(n);
    let sibling = path.next()?;
    if m < k {
        Some(node_hash(&root_from_path(m, k, leaf, path)?, sibling))
    } else {
        Some(node_hash(
            sibling,
            &root_from_path(m - k, n - k, leaf, path)?,
        ))
    }
}

/// Recomputes (old root, new root) from a consistency proof, consumed top first.
fn roots_from_consistency<'a>(
    m: u64,
    n: u64,
    whole: bool,
    old_root: &Hash,
    proof: &mut impl Iterator<Item = &'a Hash>,
) -> Option<(Hash, Hash)> {
    if m == n {
        return if whole {
            Some((*old_root, *old_root))
        } else {
            let h = proof.next()?;
            Some((*h, *h))
        };
    }
    let k = split_point(n);
    let top = proof.next()?;
    if m <= k {
        let (old, new) = roots_from_consistency(m, k, whole, old_root, proof)?;
        Some((old, node_hash(&new, top)))
    } else {
        let (old, new) = roots_from_consistency(m - k, n - k, false, old_root, proof)?;
        Some((node_hash(top, &old), node_hash(top, &new)))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    impl TileHashes {
        /// The bytes held for a tile position.
        pub(crate) fn held(&self, level: u8, index: u64) -> &[u8] {
            &self.tiles[&(level, index)]
        }
    }

    /// Builds every tile of a tree of `n` records straight from the definition, the way a
    /// database server would.
    pub(crate) fn tiles_for(records: &[Vec<u8>], height: u8) -> TileHashes {
        let n = records.len() as u64;
        let mut tiles = TileHashes::new(height, n);
        let mut level_hashes: Vec<Hash> = records.iter().map(|r| record_hash(r)).collect();
        let mut level = 0u8;
        while !level_hashes.is_empty() {
            let chunk = 1usize << height;
            for (i, group) in level_hashes.chunks(chunk).enumerate() {
                let tile = tiles.tile_for(level, (i * chunk) as u64);
                tiles.add(&tile, group.concat()).unwrap();
            }
            // Next tile level: hashes of complete subtrees of 2^height entries.
            level_hashes = level_hashes.chunks_exact(chunk).map(mth).collect();
            level += 1;
        }
        tiles
    }

    pub(crate) fn mth(hashes: &[Hash]) -> Hash {
        if hashes.len() == 1 {
            return hashes[0];
        }
        let k = split_point(hashes.len() as u64) as usize;
        node_hash(&mth(&hashes[..k]), &mth(&hashes[k..]))
    }

    pub(crate) fn records(n: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| format!("example.com/m{i} v1.0.0 h1:x=\n").into_bytes())
            .collect()
    }

    #[test]
    fn tree_hash_inclusion_and_consistency_hold_for_many_sizes() {
        // Height 2 makes multi-level tiles appear with few records.
        for height in [2u8, 8] {
            for n in [1usize, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 64, 65, 300] {
                let recs = records(n);
                let tiles = tiles_for(&recs, height);
                let leaves: Vec<Hash> = recs.iter().map(|r| record_hash(r)).collect();
                let head = TreeHead {
                    size: n as u64,
                    hash: mth(&leaves),
                };
                tiles.check_head(&head).unwrap();
                for id in [0, n / 2, n - 1] {
                    tiles.check_record(id as u64, &recs[id], &head).unwrap();
                }
                assert!(tiles.check_record(0, b"forged\n", &head).is_err());
                for m in [1usize, n / 3 + 1, n - 1, n]
                    .into_iter()
                    .filter(|&m| m >= 1)
                {
                    let old = TreeHead {
                        size: m as u64,
                        hash: mth(&leaves[..m]),
                    };
                    tiles.check_consistency(&old, &head).unwrap();
                    let forged = TreeHead {
                        size: m as u64,
                        hash: record_hash(b"no"),
                    };
                    assert!(
                        tiles.check_consistency(&forged, &head).is_err(),
                        "n={n} m={m}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_missing_tile_is_named() {
        let tiles = TileHashes::new(8, 300);
        match tiles.tree_hash() {
            Err(SumdbError::MissingTile(t)) => assert_eq!(t.path(), "tile/8/1/000.p/1"),
            other => panic!("{other:?}"),
        }
        assert_eq!(tiles.tile_for(0, 299).path(), "tile/8/0/001.p/44");
        assert_eq!(tiles.tile_for(1, 0).path(), "tile/8/1/000.p/1");
    }

    #[test]
    fn a_forged_tile_fails_the_head_check() {
        let recs = records(10);
        let leaves: Vec<Hash> = recs.iter().map(|r| record_hash(r)).collect();
        let head = TreeHead {
            size: 10,
            hash: mth(&leaves),
        };
        let mut tiles = TileHashes::new(8, 10);
        let mut forged = leaves.concat();
        forged[0] ^= 1;
        tiles.add(&tiles.tile_for(0, 0), forged).unwrap();
        assert!(tiles.check_head(&head).is_err());
        assert!(tiles.add(&tiles.tile_for(0, 0), vec![0; 31]).is_err());
    }
}
