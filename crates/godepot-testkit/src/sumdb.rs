//! A test checksum database over a fixture universe, written as static files that
//! [`crate::FixtureUpstream`] serves under `/sumdb/<name>/…` (or that any file server serves
//! as the database's own root).
//!
//! It follows the go command's protocol: a fresh Ed25519 key in the signed-note format
//! (`<name>+<hash>+<base64(0x01 || key)>`), records of two go.sum lines (the zip's and the
//! go.mod's h1 hashes), an RFC 6962 tree stored in tiles of height 8, `latest` as a signed tree
//! head, and `lookup/<module>@<version>` answers. Filler records around the universe's make
//! the tree span a full tile and two tile levels, so both full and partial tiles are served.
//!
//! Written independently of godepot's own sumdb crate, on purpose: this is the oracle side.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha256};

use crate::semver::escape;
use crate::universe::Universe;

const HEIGHT: u32 = 8;
const FILLER_BEFORE: usize = 100;
const FILLER_AFTER: usize = 180;
/// Enough records after the universe's that the tree has several tiles at level 1.
const GROWING_FILLER_AFTER: usize = 70_000;

/// A test checksum database, written under `<universe root>/sumdb/<name>/`.
#[derive(Debug, Clone)]
pub struct TestSumdb {
    pub name: String,
    /// Where its files are: the database's root.
    pub dir: PathBuf,
    /// The verifier key, usable as `GOSUMDB` (and godepot's `--sumdb`).
    pub key: String,
    /// Number of records in the tree.
    pub size: u64,
    /// `(module, version)` of every universe record, with its record id.
    pub records: Vec<(String, String, u64)>,
    /// The tree size of each lookup answer's signed head.
    pub lookup_heads: Vec<u64>,
    /// Record hashes, and the signing key's seed: for [`TestSumdb::signed_head`].
    leaves: Vec<[u8; 32]>,
    seed: u8,
}

impl TestSumdb {
    /// Builds the database over every version of `universe` that has a `.mod` (and its zip,
    /// when the universe has one), signs it with a key derived from `seed`, and writes it
    /// under `<universe root>/sumdb/<name>/`.
    pub fn build(universe: &Universe, name: &str, seed: u8) -> TestSumdb {
        Self::build_with(universe, name, seed, FILLER_AFTER, false)
    }

    /// Like [`TestSumdb::build`], for a database that kept growing while it was asked: the
    /// tree spans several tiles of level 1 (over 65,536 records), and each lookup answer
    /// carries a different tree head, as lookups fetched minutes apart (or cached by a proxy
    /// at different times) do. Partial tiles are served for every one of those heads.
    pub fn build_growing(universe: &Universe, name: &str, seed: u8) -> TestSumdb {
        Self::build_with(universe, name, seed, GROWING_FILLER_AFTER, true)
    }

    fn build_with(
        universe: &Universe,
        name: &str,
        seed: u8,
        filler_after: usize,
        growing: bool,
    ) -> TestSumdb {
        let key = SigningKey::from_bytes(&[seed; 32]);
        let dir = universe.root.join("sumdb").join(name);
        let mut texts: Vec<String> = (0..FILLER_BEFORE).map(filler).collect();
        let mut records = Vec::new();
        for module in &universe.modules {
            for v in &module.versions {
                let Ok(go_mod) = fs::read(universe.artifact(&module.path, &v.version, "mod"))
                else {
                    continue;
                };
                let mut text = String::new();
                if let Ok(zip) = fs::read(universe.artifact(&module.path, &v.version, "zip")) {
                    text.push_str(&format!(
                        "{} {} {}\n",
                        module.path,
                        v.version,
                        zip_hash(&zip)
                    ));
                }
                text.push_str(&format!(
                    "{} {}/go.mod {}\n",
                    module.path,
                    v.version,
                    h1(&[("go.mod".to_string(), go_mod)])
                ));
                records.push((module.path.clone(), v.version.clone(), texts.len() as u64));
                texts.push(text);
            }
        }
        texts.extend((FILLER_BEFORE..FILLER_BEFORE + filler_after).map(filler));
        let mut db = TestSumdb {
            name: name.to_string(),
            dir,
            key: verifier_key(name, &key),
            size: texts.len() as u64,
            records,
            lookup_heads: Vec::new(),
            leaves: texts.iter().map(|t| leaf_hash(t.as_bytes())).collect(),
            seed,
        };
        db.lookup_heads = db.write(&texts, growing);
        db
    }

    /// The database's signed tree head at `size` records, as a client that asked at that
    /// moment keeps it (`$GOPATH/pkg/sumdb/<name>/latest`). Nothing is served for it.
    pub fn signed_head(&self, size: u64) -> Vec<u8> {
        let key = SigningKey::from_bytes(&[self.seed; 32]);
        let head = format!(
            "go.sum database tree\n{size}\n{}\n",
            STANDARD.encode(mth(&self.leaves[..size as usize]))
        );
        sign_note(&self.name, &key, &head)
    }

    /// `GOSUMDB` value for `go` (and `--sumdb` for godepot): the verifier key.
    pub fn gosumdb(&self) -> String {
        self.key.clone()
    }

    /// Relative path (under the database root) of the lookup answer for `module@version`.
    pub fn lookup_path(module: &str, version: &str) -> String {
        format!("lookup/{}@{}", escape(module), escape(version))
    }

    /// Writes the database's files; returns the tree size of each lookup answer's head.
    fn write(&self, texts: &[String], growing: bool) -> Vec<u64> {
        let leaves = &self.leaves;
        let signed_head = |size: usize| self.signed_head(size as u64);
        put(&self.dir.join("supported"), b"");
        put(&self.dir.join("latest"), &signed_head(texts.len()));
        // Tile level L holds the hashes of complete subtrees of 2^(8L) records.
        let mut levels = vec![leaves.clone()];
        while levels.last().expect("level 0").len() >= 1 << HEIGHT {
            let next = levels
                .last()
                .expect("a level")
                .chunks_exact(1 << HEIGHT)
                .map(mth)
                .collect();
            levels.push(next);
        }
        let mut head_sizes = vec![texts.len()];
        for (n, (module, version, id)) in self.records.iter().enumerate() {
            // Growing: record n was looked up when the tree had grown by n steps past it.
            let size = if growing {
                (*id as usize + 1 + n * (texts.len() / self.records.len().max(1))).min(texts.len())
            } else {
                texts.len()
            };
            head_sizes.push(size);
            let mut answer = format!("{id}\n{}\n", texts[*id as usize]).into_bytes();
            answer.extend_from_slice(&signed_head(size));
            put(&self.dir.join(Self::lookup_path(module, version)), &answer);
        }
        // Every full tile, and the partial tiles at the right edge of every head served.
        for (level, hashes) in levels.iter().enumerate() {
            for (i, chunk) in hashes.chunks_exact(1 << HEIGHT).enumerate() {
                put(
                    &self.dir.join(tile_path(&level.to_string(), i, chunk.len())),
                    &chunk.concat(),
                );
            }
            for &size in &head_sizes {
                let count = size >> (HEIGHT as usize * level);
                let width = count % (1 << HEIGHT);
                if width > 0 {
                    let start = count - width;
                    put(
                        &self
                            .dir
                            .join(tile_path(&level.to_string(), start >> HEIGHT, width)),
                        &hashes[start..count].concat(),
                    );
                }
            }
        }
        // Data tiles: each record's text followed by a blank line's newline, as the go
        // command's server writes them.
        for (i, chunk) in texts.chunks(1 << HEIGHT).enumerate() {
            let data: String = chunk.iter().map(|t| format!("{t}\n")).collect();
            put(
                &self.dir.join(tile_path("data", i, chunk.len())),
                data.as_bytes(),
            );
        }
        head_sizes[1..].iter().map(|&n| n as u64).collect()
    }
}

fn filler(i: usize) -> String {
    let fake = STANDARD.encode(Sha256::digest(format!("filler {i}")));
    format!(
        "example.org/filler/m{i:03} v1.0.0 h1:{fake}\nexample.org/filler/m{i:03} v1.0.0/go.mod h1:{fake}\n"
    )
}

/// `tile/8/<level>/<index in 3-digit groups>[.p/<width>]`.
fn tile_path(level: &str, index: usize, width: usize) -> String {
    let mut n = index;
    let mut groups = format!("{:03}", n % 1000);
    n /= 1000;
    while n > 0 {
        groups = format!("x{:03}/{groups}", n % 1000);
        n /= 1000;
    }
    let mut path = format!("tile/{HEIGHT}/{level}/{groups}");
    if width < 1 << HEIGHT {
        path.push_str(&format!(".p/{width}"));
    }
    path
}

fn put(path: &Path, data: &[u8]) {
    fs::create_dir_all(path.parent().expect("parent")).expect("mkdir sumdb");
    fs::write(path, data).expect("write sumdb file");
}

fn leaf_hash(data: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

fn node_hash(l: &[u8; 32], r: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(l);
    h.update(r);
    h.finalize().into()
}

/// RFC 6962 Merkle tree hash.
fn mth(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => Sha256::digest(b"").into(),
        1 => leaves[0],
        n => {
            // The largest power of two below n.
            let mut k = 1;
            while k * 2 < n {
                k *= 2;
            }
            node_hash(&mth(&leaves[..k]), &mth(&leaves[k..]))
        }
    }
}

fn key_hash(name: &str, public: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([1u8]);
    h.update(public);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

fn verifier_key(name: &str, key: &SigningKey) -> String {
    let public = key.verifying_key().to_bytes();
    let mut raw = vec![1u8];
    raw.extend_from_slice(&public);
    format!(
        "{name}+{}+{}",
        hex(&key_hash(name, &public)),
        STANDARD.encode(raw)
    )
}

fn sign_note(name: &str, key: &SigningKey, text: &str) -> Vec<u8> {
    let public = key.verifying_key().to_bytes();
    let mut sig = key_hash(name, &public).to_vec();
    sig.extend_from_slice(&key.sign(text.as_bytes()).to_bytes());
    format!("{text}\n\u{2014} {name} {}\n", STANDARD.encode(sig)).into_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The go command's `h1:` hash of named files.
fn h1(files: &[(String, Vec<u8>)]) -> String {
    // Sorted by file name (not by line), as the go command's dirhash does.
    let mut files: Vec<&(String, Vec<u8>)> = files.iter().collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    let summary: String = files
        .iter()
        .map(|(name, data)| format!("{}  {name}\n", hex(&Sha256::digest(data))))
        .collect();
    format!("h1:{}", STANDARD.encode(Sha256::digest(summary)))
}

/// `h1:` of a module zip: its entries, names with the `module@version/` prefix.
pub fn zip_hash(zip: &[u8]) -> String {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("fixture zip");
    let mut files = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).expect("zip entry");
        if entry.is_dir() {
            continue;
        }
        let mut data = Vec::new();
        entry.read_to_end(&mut data).expect("read zip entry");
        let name = entry.name().expect("zip entry name").to_string();
        files.push((name, data));
    }
    h1(&files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_is_the_largest_power_of_two_below_n() {
        let l: Vec<[u8; 32]> = (0..5u8).map(|i| leaf_hash(&[i])).collect();
        let by_hand = node_hash(
            &node_hash(&node_hash(&l[0], &l[1]), &node_hash(&l[2], &l[3])),
            &l[4],
        );
        assert_eq!(mth(&l), by_hand);
        let three = node_hash(&node_hash(&l[0], &l[1]), &l[2]);
        assert_eq!(mth(&l[..3]), three);
        assert_eq!(tile_path("0", 1, 44), "tile/8/0/001.p/44");
        assert_eq!(tile_path("1", 1234, 256), "tile/8/1/x001/234");
    }
}
