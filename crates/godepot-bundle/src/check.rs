//! The checks every artifact passes before godepot lets it into a store, and that `verify`
//! repeats on what is held. Each failure is a sentence naming what is wrong.

use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use godepot_module::{MAX_GO_MOD, MAX_ZIP_FILE, check_go_mod_for, hash_go_mod, inspect_zip};
use godepot_store::{Artifact, ArtifactKey, Kind};

use crate::GoSums;
use crate::manifest::FileRecord;

/// Limits for the small artifact kinds, so a hostile file cannot make us read gigabytes.
const MAX_INFO: u64 = 1 << 20;
const MAX_ZIPHASH: u64 = 1 << 10;
/// A module's `@v/list`: ten thousand versions take a few hundred KiB.
pub(crate) const MAX_LIST: u64 = 16 << 20;

/// The most bytes an artifact of `kind` may have: what a source's stated size is checked
/// against before a byte is copied, and what every copy reads through.
pub(crate) fn max_size(kind: Kind) -> u64 {
    match kind {
        Kind::Zip => MAX_ZIP_FILE,
        Kind::Mod => MAX_GO_MOD,
        Kind::Info => MAX_INFO,
        Kind::ZipHash => MAX_ZIPHASH,
    }
}

/// Artifacts up to this size are read whole and checked in memory. A store is mostly small
/// files (`.info`, `.mod`, zips of a few KiB), and a zip's checks seek and read a dozen
/// times; from memory that is one read instead (and no scratch copy of an object).
pub(crate) const READ_WHOLE: u64 = 1 << 20;

/// An artifact opened for checking: in memory when small, else a local file.
pub(crate) enum Opened {
    Memory(Cursor<Vec<u8>>),
    File(File),
}

impl Opened {
    /// Opens a held artifact for [`inspect`] (and hashing after a rewind); an object too
    /// large to read into memory is copied to `scratch` first, as the zip check seeks.
    pub(crate) fn artifact(held: Artifact, scratch: &Path) -> io::Result<Opened> {
        if held.len > READ_WHOLE {
            return held.into_file(scratch).map(Opened::File);
        }
        let len = held.len;
        Self::read_whole(held.into_reader(), len)
    }

    /// Opens a file of a directory tree for [`inspect`].
    pub(crate) fn path(path: &Path) -> io::Result<Opened> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        if len > READ_WHOLE {
            return Ok(Opened::File(file));
        }
        Self::read_whole(Box::new(file), len)
    }

    /// Reads a small artifact whole, into room for its stated length and one byte more (a
    /// file that grew is read as it is, up to [`READ_WHOLE`] and a byte). `Take` so that the
    /// file's own `read_to_end` does not ask the kernel for the size once more.
    fn read_whole(reader: Box<dyn Read + Send>, len: u64) -> io::Result<Opened> {
        let mut data = Vec::with_capacity(len as usize + 1);
        reader.take(READ_WHOLE + 1).read_to_end(&mut data)?;
        Ok(Opened::Memory(Cursor::new(data)))
    }
}

impl Read for Opened {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Opened::Memory(cursor) => cursor.read(buf),
            Opened::File(file) => file.read(buf),
        }
    }
}

impl Seek for Opened {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self {
            Opened::Memory(cursor) => cursor.seek(pos),
            Opened::File(file) => file.seek(pos),
        }
    }
}

/// What an artifact's content turned out to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Facts {
    /// A module zip that passed the go command's rules; its `h1:`.
    Zip { h1: String },
    /// A go.mod; the `h1:` of `<version>/go.mod` lines.
    Mod { h1: String },
    /// An `.info` naming the right version; its `Time`, if any.
    Info { time: Option<String> },
    /// A `.ziphash`: the `h1:` it states.
    ZipHash { stated: String },
}

impl Facts {
    /// The hash go.sum and the manifest record, for zips and go.mod files.
    pub fn h1(&self) -> Option<&str> {
        match self {
            Facts::Zip { h1 } | Facts::Mod { h1 } => Some(h1),
            _ => None,
        }
    }
}

/// Reads an artifact from the start of `file` and checks it on its own terms: zips with the
/// go command's rules (prefix, paths, sizes), go.mod files (and the one inside a zip) must
/// parse and name `key`'s module as the go command requires, `.info` must be JSON naming
/// `key`'s version, `.ziphash` must be one `h1:` line.
pub fn inspect<R: Read + Seek>(key: &ArtifactKey, file: &mut R) -> Result<Facts, String> {
    file.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
    match key.kind {
        Kind::Zip => {
            let summary = inspect_zip(&mut *file, &key.module, &key.version)
                .map_err(|e| format!("invalid module zip: {e}"))?;
            check_zip_go_mod(key, summary.go_mod.as_deref())?;
            Ok(Facts::Zip { h1: summary.h1 })
        }
        Kind::Mod => {
            let data = read_limited(file, MAX_GO_MOD, "go.mod")?;
            check_go_mod_for(key.module.as_str(), &data)
                .map_err(|e| format!("invalid go.mod: {e}"))?;
            Ok(Facts::Mod {
                h1: hash_go_mod(&data),
            })
        }
        Kind::Info => {
            let data = read_limited(file, MAX_INFO, ".info")?;
            let value: serde_json::Value = serde_json::from_slice(&data)
                .map_err(|e| format!("invalid .info: not JSON: {e}"))?;
            let version = value.get("Version").and_then(|v| v.as_str());
            if version != Some(key.version.as_str()) {
                return Err(format!(
                    "invalid .info: it names version {version:?}, not {:?}",
                    key.version.as_str()
                ));
            }
            Ok(Facts::Info {
                time: value
                    .get("Time")
                    .and_then(|t| t.as_str())
                    .map(str::to_owned),
            })
        }
        Kind::ZipHash => {
            let data = read_limited(file, MAX_ZIPHASH, ".ziphash")?;
            let text = String::from_utf8_lossy(&data);
            let stated = text.trim();
            if !stated.starts_with("h1:") || stated.contains(char::is_whitespace) {
                return Err(format!("invalid .ziphash: {stated:?} is not one h1: hash"));
            }
            Ok(Facts::ZipHash {
                stated: stated.to_owned(),
            })
        }
    }
}

/// Checks an artifact's measured size, SHA-256 and facts against what the bundle's
/// manifest and the given go.sum files say it must be.
pub fn check_expected(
    key: &ArtifactKey,
    size: u64,
    sha256: &str,
    facts: &Facts,
    record: Option<&FileRecord>,
    go_sums: &GoSums,
) -> Result<(), String> {
    if let Some(record) = record {
        if record.size != size {
            return Err(format!(
                "size is {size} bytes, the manifest says {}",
                record.size
            ));
        }
        if record.sha256 != sha256 {
            return Err(format!(
                "SHA-256 is {sha256}, the manifest says {}",
                record.sha256
            ));
        }
        if record.h1.as_deref() != facts.h1() {
            return Err(format!(
                "h1 hash is {}, the manifest says {}",
                facts.h1().unwrap_or("(none)"),
                record.h1.as_deref().unwrap_or("(none)")
            ));
        }
    }
    if let Some(h1) = facts.h1() {
        go_sums.check(
            key.module.as_str(),
            key.version.as_str(),
            key.kind == Kind::Mod,
            h1,
        )?;
    }
    Ok(())
}

/// Whether a `.ziphash` agrees with the zip it belongs to.
pub fn check_ziphash(stated: &str, zip_h1: &str) -> Result<(), String> {
    if stated == zip_h1 {
        Ok(())
    } else {
        Err(format!(
            ".ziphash says {stated}, but the zip hashes to {zip_h1}"
        ))
    }
}

/// The go.mod inside a zip (if it has one) must name the module too: the go command reads
/// it when the module is replaced by a directory or vendored. `+incompatible` versions
/// predate modules, so theirs may name anything (or be absent).
fn check_zip_go_mod(key: &ArtifactKey, go_mod: Option<&[u8]>) -> Result<(), String> {
    if key.version.as_str().ends_with("+incompatible") {
        return Ok(());
    }
    let Some(data) = go_mod else {
        return Ok(());
    };
    check_go_mod_for(key.module.as_str(), data)
        .map(|_| ())
        .map_err(|e| format!("invalid module zip: its go.mod: {e}"))
}

fn read_limited<R: Read>(file: &mut R, limit: u64, what: &str) -> Result<Vec<u8>, String> {
    let mut data = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut data)
        .map_err(|e| format!("reading {what}: {e}"))?;
    if data.len() as u64 > limit {
        return Err(format!("{what} is larger than {limit} bytes"));
    }
    Ok(data)
}

#[cfg(test)]
mod tests;
