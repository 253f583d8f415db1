//! Tile coordinates and their paths.
//!
//! A tile of height `H` at level `L` holds up to `2^H` consecutive hashes of level `L*H` of
//! the tree (level 0: record hashes); tile `N` starts at hash `N * 2^H`. A tile narrower than
//! `2^H` (at the right edge of the tree) is partial and its path ends in `.p/<width>`. Data
//! tiles (`tile/H/data/N`) carry the records themselves. `N` is written in 3-digit groups, all
//! but the last prefixed with `x`: 1234067 is `x001/x234/067`.

use crate::SumdbError;

/// One tile. `level` is `None` for a data tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tile {
    pub height: u8,
    pub level: Option<u8>,
    pub index: u64,
    pub width: u32,
}

/// The height the go command uses.
pub const HEIGHT: u8 = 8;
/// The tallest tile accepted: 2^30 hashes is far past any real tile.
const MAX_HEIGHT: u8 = 30;
/// Levels beyond this would address more than 2^64 records.
const MAX_LEVEL: u8 = 63;

impl Tile {
    /// Hashes (or records) a full tile holds.
    pub fn full_width(&self) -> u32 {
        1 << self.height
    }

    pub fn is_full(&self) -> bool {
        self.width == self.full_width()
    }

    /// The bytes a hash tile must have; `None` for data tiles, whose size varies.
    pub fn hash_bytes(&self) -> Option<usize> {
        self.level
            .map(|_| self.width as usize * crate::hash::HASH_SIZE)
    }

    /// `tile/H/L/NNN[.p/W]`, relative to the database's root.
    pub fn path(&self) -> String {
        let level = match self.level {
            Some(l) => l.to_string(),
            None => "data".to_string(),
        };
        let mut path = format!("tile/{}/{level}/{}", self.height, index_path(self.index));
        if !self.is_full() {
            path.push_str(&format!(".p/{}", self.width));
        }
        path
    }

    /// Parses a tile path; only the canonical spelling (what [`Tile::path`] writes) is accepted,
    /// so one tile has one cache file.
    pub fn parse(path: &str) -> Result<Tile, SumdbError> {
        let bad = || SumdbError::BadTilePath(path.to_string());
        let rest = path.strip_prefix("tile/").ok_or_else(bad)?;
        let mut parts = rest.splitn(3, '/');
        let (Some(height), Some(level), Some(rest)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        let height: u8 = small_number(height).ok_or_else(bad)?;
        if height == 0 || height > MAX_HEIGHT {
            return Err(bad());
        }
        let level = match level {
            "data" => None,
            l => Some(
                small_number(l)
                    .filter(|&l| l <= MAX_LEVEL)
                    .ok_or_else(bad)?,
            ),
        };
        let (groups, width) = match rest.split_once(".p/") {
            Some((groups, width)) => (groups, small_number::<u32>(width).ok_or_else(bad)?),
            None => (rest, 1 << height),
        };
        if width == 0 || width > 1 << height {
            return Err(bad());
        }
        let index = parse_index(groups).ok_or_else(bad)?;
        let tile = Tile {
            height,
            level,
            index,
            width,
        };
        if tile.path() != path {
            return Err(bad());
        }
        Ok(tile)
    }
}

fn index_path(mut n: u64) -> String {
    let mut path = format!("{:03}", n % 1000);
    n /= 1000;
    while n > 0 {
        path = format!("x{:03}/{path}", n % 1000);
        n /= 1000;
    }
    path
}

fn parse_index(groups: &str) -> Option<u64> {
    let elements: Vec<&str> = groups.split('/').collect();
    let (last, leading) = elements.split_last()?;
    let mut n: u64 = 0;
    for group in leading {
        n = n
            .checked_mul(1000)?
            .checked_add(three_digits(group.strip_prefix('x')?)?)?;
    }
    n.checked_mul(1000)?.checked_add(three_digits(last)?)
}

fn three_digits(s: &str) -> Option<u64> {
    (s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok())?
}

/// A decimal number without sign or leading zeros (but "0" itself).
fn small_number<T: std::str::FromStr>(s: &str) -> Option<T> {
    let canonical = !s.is_empty()
        && s.len() <= 10
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok())?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        for (path, tile) in [
            ("tile/8/0/000", (Some(0), 0, 256)),
            ("tile/8/0/001.p/44", (Some(0), 1, 44)),
            ("tile/8/1/x001/234", (Some(1), 1234, 256)),
            ("tile/8/2/x001/x234/067.p/3", (Some(2), 1_234_067, 3)),
            ("tile/8/data/000.p/255", (None, 0, 255)),
        ] {
            let parsed = Tile::parse(path).unwrap();
            assert_eq!((parsed.level, parsed.index, parsed.width), tile, "{path}");
            assert_eq!(parsed.path(), path);
        }
    }

    #[test]
    fn non_canonical_or_hostile_paths_are_refused() {
        for path in [
            "tile/8/0/0",
            "tile/8/0/1234",
            "tile/8/0/001/234",
            "tile/8/0/x000/001",
            "tile/8/0/000.p/256",
            "tile/8/0/000.p/0",
            "tile/8/0/000.p/07",
            "tile/8/00/000",
            "tile/0/0/000",
            "tile/31/0/000",
            "tile/8/-1/000",
            "tile/8/0/../000",
            "tile/8/0/000/",
            "tile/8/0/000.p/",
            "tile/8/0/x18446744073709551/615",
            "tile/8/data",
            "tiles/8/0/000",
        ] {
            assert!(Tile::parse(path).is_err(), "{path}");
        }
    }
}
