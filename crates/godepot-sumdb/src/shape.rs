//! The exact shape every checksum-database answer must have, key or not, and the most
//! bytes it can take: what lets a reader refuse a hostile answer before reading it whole
//! (a bundle entry's header states its size).
//!
//! - a hash tile is exactly 32 bytes per hash, its width taken from its path;
//! - a data tile holds at most `width` records (each followed by a blank line, as the
//!   database serves them, and perhaps led by its id line) of at most [`MAX_RECORD`] bytes;
//! - a `lookup` answer is one record and a signed tree head;
//! - `latest` is a signed note of a tree head, with a signature line by the database it is
//!   filed under (checked against the key, when one is known, by [`crate::check`]);
//! - `supported` is empty.

use crate::note::split_note;
use crate::{LookupAnswer, SumdbError, SumdbPath, TreeHead};

/// The longest record: two go.sum lines. Module paths and versions are far shorter in
/// practice; this only bounds what a forger can make us read.
pub const MAX_RECORD: usize = 4 << 10;
/// The longest signed tree head note (a few signatures at most).
pub const MAX_NOTE: usize = 8 << 10;

/// The most bytes a well-formed answer at `endpoint` can have.
pub fn max_size(endpoint: &SumdbPath) -> u64 {
    let most = match endpoint {
        SumdbPath::Supported => 0,
        SumdbPath::Latest => MAX_NOTE,
        SumdbPath::Lookup(..) => 24 + MAX_RECORD + 1 + MAX_NOTE,
        SumdbPath::Tile(tile) => match tile.hash_bytes() {
            Some(exact) => exact,
            None => tile.width as usize * (MAX_RECORD + 1),
        },
    };
    most as u64
}

/// Checks that `data` has the shape of an answer of `database` at `endpoint`. It proves
/// nothing about the answer being genuine: that takes the key ([`crate::check`]).
pub fn check_shape(database: &str, endpoint: &SumdbPath, data: &[u8]) -> Result<(), SumdbError> {
    if data.len() as u64 > max_size(endpoint) {
        return Err(SumdbError::BadRecord(format!(
            "{} bytes, more than such an answer can have ({})",
            data.len(),
            max_size(endpoint)
        )));
    }
    match endpoint {
        SumdbPath::Supported if data.is_empty() => Ok(()),
        SumdbPath::Supported => Err(SumdbError::BadRecord("supported is not empty".into())),
        SumdbPath::Latest => tree_head_note(database, data).map(|_| ()),
        SumdbPath::Lookup(..) => {
            let answer = LookupAnswer::parse(data)?;
            if answer.data.len() > MAX_RECORD {
                return Err(SumdbError::BadRecord("record too long".into()));
            }
            tree_head_note(database, answer.note).map(|_| ())
        }
        SumdbPath::Tile(tile) => match tile.hash_bytes() {
            Some(want) if want != data.len() => Err(SumdbError::BadTileSize {
                path: tile.path(),
                got: data.len(),
                want,
            }),
            Some(_) => Ok(()),
            None => check_data_tile(tile.width as usize, data),
        },
    }
}

/// A tree head note with a signature line naming `database` (its signature is not
/// checked here).
pub fn tree_head_note(database: &str, note: &[u8]) -> Result<TreeHead, SumdbError> {
    let (text, signatures) = split_note(note)?;
    let head = TreeHead::parse(text)?;
    let named = signatures.lines().any(|line| {
        line.strip_prefix("\u{2014} ")
            .and_then(|rest| rest.split_once(' '))
            .is_some_and(|(name, _)| name == database)
    });
    if !named {
        return Err(SumdbError::Unsigned(database.to_owned()));
    }
    Ok(head)
}

/// At most `width` records, each of go.sum lines and each followed by a blank line.
fn check_data_tile(width: usize, data: &[u8]) -> Result<(), SumdbError> {
    let bad = |why: String| SumdbError::BadRecord(format!("data tile: {why}"));
    let text = std::str::from_utf8(data).map_err(|_| bad("not UTF-8".into()))?;
    let body = text
        .strip_suffix("\n\n")
        .ok_or_else(|| bad("does not end with a blank line".into()))?;
    let records: Vec<&str> = body.split("\n\n").collect();
    if records.len() > width {
        return Err(bad(format!(
            "{} records, more than its width {width}",
            records.len()
        )));
    }
    for record in records {
        if record.is_empty() || record.len() > MAX_RECORD {
            return Err(bad("a record is empty or too long".into()));
        }
        // Some servers lead each record with its id line, as in a lookup answer.
        let record = match record.split_once('\n') {
            Some((id, rest)) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => rest,
            _ => record,
        };
        let well_formed = record.lines().all(|line| {
            matches!(line.split(' ').collect::<Vec<_>>().as_slice(),
                [module, version, hash] if !module.is_empty() && !version.is_empty() && hash.starts_with("h1:"))
        });
        if !well_formed {
            return Err(bad("a record is not go.sum lines".into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(path: &str) -> SumdbPath {
        SumdbPath::parse(&format!("sum.test/{path}")).unwrap().1
    }

    const HEAD: &str = "go.sum database tree\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n\n";

    #[test]
    fn shapes() {
        let ok = |p: &SumdbPath, d: &[u8]| check_shape("sum.test", p, d).is_ok();
        let hash_tile = tile("tile/8/0/000.p/2");
        assert_eq!(max_size(&hash_tile), 64);
        assert!(ok(&hash_tile, &[0; 64]));
        assert!(!ok(&hash_tile, &[0; 65]));

        let data = tile("tile/8/data/000.p/2");
        let record = "example.com/m v1.0.0 h1:a=\nexample.com/m v1.0.0/go.mod h1:b=\n";
        assert!(ok(&data, format!("{record}\n").as_bytes()));
        assert!(ok(&data, format!("{record}\n{record}\n").as_bytes()));
        assert!(ok(&data, format!("7\n{record}\n8\n{record}\n").as_bytes()));
        assert!(!ok(&data, format!("x\n{record}\n").as_bytes()));
        assert!(!ok(
            &data,
            format!("{record}\n{record}\n{record}\n").as_bytes()
        ));
        assert!(!ok(&data, &vec![0; 4 << 20]));
        assert!(!ok(&data, b""));

        let latest = SumdbPath::Latest;
        assert!(ok(
            &latest,
            format!("{HEAD}\u{2014} sum.test AAAA\n").as_bytes()
        ));
        let other = format!("{HEAD}\u{2014} other.test AAAA\n");
        assert!(matches!(
            check_shape("sum.test", &latest, other.as_bytes()),
            Err(SumdbError::Unsigned(_))
        ));
        assert!(ok(&SumdbPath::Supported, b""));
        assert!(!ok(&SumdbPath::Supported, b"x"));
    }
}
