//! Which tiles the go command reads, so that a cache can hold them all before it goes offline.
//!
//! The go command checks every lookup against the largest tree head it has seen so far, and
//! each new head against the previous one. Lookups gathered over minutes (or from a caching
//! upstream) carry many different heads, and the go command meets them in no fixed order, so a
//! cache must hold the tiles for every head it may hold as "latest": for each head, the tiles
//! that authenticate its root, every record below it, and every smaller head.
//!
//! The arithmetic is the go command's own (its `tlog` package): stored-hash indexes, the tile
//! that holds each, and the parent tiles it reads to authenticate them. Widths matter: a tile
//! at the right edge of a tree is read as the partial tile of that tree's size.

use std::collections::{BTreeSet, HashSet};

use crate::Tile;

/// Where hash `n` of tree level `level` sits in the dense order of all stored hashes.
pub fn stored_hash_index(level: u32, n: u64) -> u64 {
    let mut n = n;
    for _ in 0..level {
        n = 2 * n + 1;
    }
    let mut i = 0;
    while n > 0 {
        i += n;
        n >>= 1;
    }
    i + u64::from(level)
}

/// The inverse of [`stored_hash_index`]: (level, n).
fn split_stored_hash_index(index: u64) -> (u32, u64) {
    // stored_hash_index(0, n) < 2n, so the record is in [index/2, index/2 + log2(index)].
    let mut n = index / 2;
    let mut at = stored_hash_index(0, n);
    loop {
        // Record n + 1 adds 1 + trailing_zeros(n + 1) hashes.
        let next = at + 1 + u64::from((n + 1).trailing_zeros());
        if next > index {
            break;
        }
        n += 1;
        at = next;
    }
    let level = (index - at) as u32;
    (level, n >> level)
}

/// The stored hashes of the complete subtrees that make up records `lo..hi`.
fn sub_tree_index(mut lo: u64, hi: u64) -> Vec<u64> {
    let mut need = Vec::new();
    while lo < hi {
        // The largest power of two k < hi - lo + 1, with level = log2 k.
        let mut level = 0;
        while (1u64 << (level + 1)) < hi - lo + 1 {
            level += 1;
        }
        need.push(stored_hash_index(level, lo >> level));
        lo += 1 << level;
    }
    need
}

/// The tile holding stored hash `index`, only as wide as needed to reach it.
fn tile_for_index(height: u8, index: u64) -> Tile {
    let h = u32::from(height);
    let (level, n) = split_stored_hash_index(index);
    let tile_level = level / h;
    let within = level - tile_level * h;
    let tile_index = (n << within) >> h;
    let n = n - ((tile_index << h) >> within);
    Tile {
        height,
        level: Some(tile_level as u8),
        index: tile_index,
        width: ((n + 1) << within) as u32,
    }
}

/// The tile `k` levels above `t`, as wide as it is in a tree of `size` records; `None` past
/// the top of the tree.
fn tile_parent(t: Tile, k: u8, size: u64) -> Option<Tile> {
    let h = u32::from(t.height);
    let level = t.level.unwrap_or(0) + k;
    let index = t.index >> (u32::from(k) * h);
    let mut width = 1u64 << h;
    let at_level = size.checked_shr(u32::from(level) * h).unwrap_or(0);
    let start = index << h;
    if start + width >= at_level {
        if start >= at_level {
            return None;
        }
        width = at_level - start;
    }
    Some(Tile {
        height: t.height,
        level: Some(level),
        index,
        width: width as u32,
    })
}

/// The tiles the go command fetches to read stored hashes `indexes` of the tree of `size`
/// records: those that authenticate the tree's root, then each index's tile and the parents
/// up to one already fetched.
pub fn tiles_read(height: u8, size: u64, indexes: &[u64]) -> Vec<Tile> {
    let mut seen = HashSet::new();
    let mut tiles = Vec::new();
    for x in sub_tree_index(0, size) {
        if let Some(t) = tile_parent(tile_for_index(height, x), 0, size)
            && seen.insert(t)
        {
            tiles.push(t);
        }
    }
    for &x in indexes {
        let tile = tile_for_index(height, x);
        let mut chain = Vec::new();
        for k in 0.. {
            match tile_parent(tile, k, size) {
                Some(p) if !seen.contains(&p) => chain.push(p),
                _ => break,
            }
        }
        for p in chain.into_iter().rev() {
            seen.insert(p);
            tiles.push(p);
        }
    }
    tiles
}

/// Every tile a go command may read to check `records` (by id) and tree heads of `sizes`,
/// taking any of those heads as its latest.
pub fn client_tiles(height: u8, sizes: &[u64], records: &[u64]) -> BTreeSet<Tile> {
    let mut sizes = sizes.to_vec();
    sizes.sort_unstable();
    sizes.dedup();
    let mut all = BTreeSet::new();
    for (i, &size) in sizes.iter().enumerate() {
        let mut indexes: Vec<u64> = records
            .iter()
            .filter(|&&id| id < size)
            .map(|&id| stored_hash_index(0, id))
            .collect();
        for &older in &sizes[..i] {
            indexes.extend(sub_tree_index(0, older));
        }
        all.extend(tiles_read(height, size, &indexes));
    }
    all
}

/// The tiles at the right edge of every tree from `from` to `to` records, as tiles of the
/// tree of `to`: full where `to` has filled them, else `to`'s partial edge tile. A go command
/// whose own latest head has any size in that range authenticates it (and proves records and
/// older heads in it) with its edge tiles, which are prefixes of these (a partial tile of
/// width `w` is the first `w` hashes of any wider tile at its place), plus the tiles the
/// records' own proofs read ([`client_tiles`]). Costs one level-0 tile per `2^height`
/// records of the range, and a few above.
pub fn span_tiles(height: u8, from: u64, to: u64) -> BTreeSet<Tile> {
    let mut tiles = BTreeSet::new();
    let h = u32::from(height);
    for level in 0u8.. {
        let shift = h * (u32::from(level) + 1);
        if shift >= 64 || (to >> (h * u32::from(level))) == 0 {
            break;
        }
        let edge = to >> shift;
        let edge_width = ((to >> (h * u32::from(level))) & ((1 << h) - 1)) as u32;
        for index in (from.min(to) >> shift)..=edge {
            let width = if index < edge { 1 << h } else { edge_width };
            if width > 0 {
                tiles.insert(Tile {
                    height,
                    level: Some(level),
                    index,
                    width,
                });
            }
        }
    }
    tiles
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::TileHashes;

    #[test]
    fn stored_hash_indexes_round_trip() {
        // The first stored hashes: record 0; record 1 and their parent; record 2; ...
        assert_eq!(stored_hash_index(0, 0), 0);
        assert_eq!(stored_hash_index(0, 1), 1);
        assert_eq!(stored_hash_index(1, 0), 2);
        assert_eq!(stored_hash_index(0, 2), 3);
        assert_eq!(stored_hash_index(0, 3), 4);
        assert_eq!(stored_hash_index(1, 1), 5);
        assert_eq!(stored_hash_index(2, 0), 6);
        for level in 0..20 {
            for n in [0, 1, 2, 3, 7, 100, 12345] {
                let i = stored_hash_index(level, n);
                assert_eq!(split_stored_hash_index(i), (level, n), "index {i}");
            }
        }
    }

    /// Every head in the span finds the tiles that authenticate it as prefixes of the
    /// spanned ones.
    #[test]
    fn spanned_tiles_cover_every_head_between() {
        let height = 2;
        let (from, to) = (37u64, 300u64);
        let spanned = span_tiles(height, from, to);
        let covers = |t: &Tile| {
            spanned
                .iter()
                .any(|s| s.level == t.level && s.index == t.index && s.width >= t.width)
        };
        for size in from..=to {
            for tile in tiles_read(height, size, &[]) {
                assert!(covers(&tile), "head {size}: {tile:?} not covered");
            }
        }
        // Nothing left of `from`'s edge at level 0.
        assert!(
            spanned
                .iter()
                .all(|t| t.level != Some(0) || t.index >= from >> 2)
        );
    }

    #[test]
    fn subtrees_cover_the_range() {
        for size in [1u64, 2, 3, 5, 8, 13, 255, 256, 257, 70_000] {
            let covered: u64 = sub_tree_index(0, size)
                .into_iter()
                .map(|x| 1u64 << split_stored_hash_index(x).0)
                .sum();
            assert_eq!(covered, size);
        }
    }

    /// The planned tiles are enough for this crate's own checks, which read the same hashes
    /// the go command reads: nothing is missing, whichever head is taken as the latest.
    #[test]
    fn planned_tiles_suffice_for_every_order() {
        use crate::hash::{TreeHead, record_hash};
        use crate::tree::tests::{mth, records, tiles_for};

        let height = 2; // small tiles, so that a small tree has several tile levels
        let recs = records(67);
        let leaves: Vec<_> = recs.iter().map(|r| record_hash(r)).collect();
        let head = |n: u64| TreeHead {
            size: n,
            hash: mth(&leaves[..n as usize]),
        };
        let whole = tiles_for(&recs, height);
        let sizes = [5u64, 18, 19, 40, 64, 67];
        let ids = [0u64, 3, 4, 17, 18, 39, 50, 66];
        let planned = client_tiles(height, &sizes, &ids);
        for &size in &sizes {
            let mut tiles = TileHashes::new(height, size);
            for t in &planned {
                let level = t.level.unwrap();
                if *t != tiles.tile_for(level, t.index << height) {
                    continue; // planned for another tree size
                }
                let bytes = t.hash_bytes().unwrap();
                tiles
                    .add(t, whole.held(level, t.index)[..bytes].to_vec())
                    .unwrap();
            }
            tiles.check_head(&head(size)).unwrap();
            for &id in ids.iter().filter(|&&id| id < size) {
                tiles
                    .check_record(id, &recs[id as usize], &head(size))
                    .unwrap();
            }
            for &older in sizes.iter().filter(|&&o| o < size) {
                assert_eq!(tiles.prefix_hash(older).unwrap(), head(older).hash);
            }
        }
    }
}
