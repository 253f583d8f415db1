//! `lookup` answers: a record and the signed tree head it is in.
//!
//! ```text
//! <record id>
//! <module> <version> h1:<hash>
//! <module> <version>/go.mod h1:<hash>
//!
//! <signed tree head note>
//! ```

use crate::SumdbError;

/// A parsed `lookup` answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupAnswer<'a> {
    /// The record's index in the tree.
    pub id: u64,
    /// The record data (its go.sum lines, each ending in a newline): what the leaf hashes.
    pub data: &'a str,
    /// The signed tree head note.
    pub note: &'a [u8],
}

/// One go.sum line of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumLine<'a> {
    pub module: &'a str,
    /// The version, or `<version>/go.mod` for the hash of the go.mod alone.
    pub version: &'a str,
    pub hash: &'a str,
}

impl<'a> LookupAnswer<'a> {
    pub fn parse(answer: &'a [u8]) -> Result<Self, SumdbError> {
        let bad = |why: &str| SumdbError::BadRecord(why.to_string());
        let text = std::str::from_utf8(answer).map_err(|_| bad("not UTF-8"))?;
        let (id, rest) = text.split_once('\n').ok_or_else(|| bad("no record id"))?;
        let canonical = !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_digit())
            && (id == "0" || !id.starts_with('0'));
        let id: u64 = match canonical.then(|| id.parse().ok()).flatten() {
            Some(id) => id,
            None => return Err(bad("bad record id")),
        };
        let end = rest
            .find("\n\n")
            .ok_or_else(|| bad("no blank line after the record"))?;
        let data = &rest[..=end];
        if data.len() < 2 {
            return Err(bad("empty record"));
        }
        let note = &answer[answer.len() - (rest.len() - end - 2)..];
        let answer = LookupAnswer { id, data, note };
        answer.lines()?;
        Ok(answer)
    }

    /// The go.sum lines of the record.
    pub fn lines(&self) -> Result<Vec<SumLine<'a>>, SumdbError> {
        self.data
            .lines()
            .map(|line| {
                let fields: Vec<&str> = line.split(' ').collect();
                match fields.as_slice() {
                    [module, version, hash] if hash.starts_with("h1:") => Ok(SumLine {
                        module,
                        version,
                        hash,
                    }),
                    _ => Err(SumdbError::BadRecord(format!("bad go.sum line {line:?}"))),
                }
            })
            .collect()
    }

    /// The hash the record gives for `module` at `version` (`version` may end in `/go.mod`).
    pub fn hash_of(&self, module: &str, version: &str) -> Option<&'a str> {
        let lines = self.lines().ok()?;
        lines
            .into_iter()
            .find(|l| l.module == module && l.version == version)
            .map(|l| l.hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse() {
        let raw = b"17\nexample.com/m v1.0.0 h1:abc=\nexample.com/m v1.0.0/go.mod h1:def=\n\ngo.sum database tree\n20\nAAAA\n\n\xe2\x80\x94 sum.test xyz\n";
        let a = LookupAnswer::parse(raw).unwrap();
        assert_eq!(a.id, 17);
        assert_eq!(
            a.data,
            "example.com/m v1.0.0 h1:abc=\nexample.com/m v1.0.0/go.mod h1:def=\n"
        );
        assert!(a.note.starts_with(b"go.sum database tree\n20\n"));
        assert_eq!(a.hash_of("example.com/m", "v1.0.0/go.mod"), Some("h1:def="));
        assert_eq!(a.hash_of("example.com/m", "v1.0.1"), None);
        for bad in [
            &b"x\nm v h1:a\n\nnote"[..],
            b"01\nm v h1:a\n\nn",
            b"1\nm v\n\nn",
            b"1\n\nn",
        ] {
            assert!(
                LookupAnswer::parse(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
