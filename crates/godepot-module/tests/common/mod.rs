//! Shared helpers for the conformance tests: locating the vectors, reading
//! txtar archives, and building zips (including ones the zip crate refuses to
//! write, such as duplicate names).

#![allow(dead_code, unreachable_pub)]

use std::path::PathBuf;

/// The conformance folder. Missing vectors are a failure, never a skip.
pub fn conformance_dir() -> PathBuf {
    let dir = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/conformance"
    ));
    assert!(
        dir.join("README.md").is_file(),
        "conformance vectors not found at {}: expected shared/ beside the checkout",
        dir.display()
    );
    dir
}

/// Every row of a jsonl file, parsed.
pub fn jsonl(rel: &str) -> Vec<serde_json::Value> {
    let path = conformance_dir().join(rel);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let rows: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{}: {e}: {l}", path.display())))
        .collect();
    assert!(!rows.is_empty(), "{} has no rows", path.display());
    rows
}

/// A txtar archive: header `key=value` lines and named sections (raw bytes).
pub struct Txtar {
    pub name: String,
    pub header: Vec<(String, Vec<u8>)>,
    pub files: Vec<(Vec<u8>, Vec<u8>)>,
}

impl Txtar {
    pub fn get(&self, key: &str) -> Option<&[u8]> {
        self.header
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_slice())
    }

    pub fn get_str(&self, key: &str) -> Option<String> {
        self.get(key)
            .map(|v| String::from_utf8_lossy(v).into_owned())
    }

    /// Sections other than `want`.
    pub fn content_files(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.files
            .iter()
            .filter(|(n, _)| n != b"want")
            .map(|(n, c)| (n.as_slice(), c.as_slice()))
    }

    pub fn want(&self) -> Option<String> {
        self.files
            .iter()
            .find(|(n, _)| n == b"want")
            .map(|(_, c)| String::from_utf8(c.clone()).unwrap())
    }
}

fn parse_txtar(name: String, data: &[u8]) -> Txtar {
    let mut header = Vec::new();
    let mut files: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    for line in data.split_inclusive(|&b| b == b'\n') {
        let bare = line.strip_suffix(b"\n").unwrap_or(line);
        if let Some(section) = bare
            .strip_prefix(b"-- ")
            .and_then(|s| s.strip_suffix(b" --"))
        {
            files.push((section.to_vec(), Vec::new()));
        } else if let Some((_, content)) = files.last_mut() {
            content.extend_from_slice(line);
        } else if let Some(eq) = bare.iter().position(|&b| b == b'=') {
            let key = String::from_utf8(bare[..eq].to_vec()).unwrap();
            let mut value = bare[eq + 1..].to_vec();
            // `path=\xff  # 0xFF`: the comment is annotation, not data.
            if let Some(hash) = value.windows(3).position(|w| w == b"  #") {
                value.truncate(hash);
            }
            header.push((key, value));
        }
    }
    Txtar {
        name,
        header,
        files,
    }
}

/// Every txtar file in a conformance subfolder, sorted by name.
pub fn txtar_dir(rel: &str) -> Vec<Txtar> {
    let dir = conformance_dir().join(rel);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "{} has no cases", dir.display());
    paths
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p).unwrap();
            parse_txtar(p.file_name().unwrap().to_string_lossy().into_owned(), &data)
        })
        .collect()
}

/// Builds a stored (uncompressed) zip by hand, so that any entry list — even
/// one with duplicate names — can be written.
pub fn raw_zip(entries: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for (name, data) in entries {
        let offset = out.len() as u32;
        let crc = crc32(data);
        let fixed = |sig: u32, buf: &mut Vec<u8>, central: bool| {
            buf.extend_from_slice(&sig.to_le_bytes());
            if central {
                buf.extend_from_slice(&20u16.to_le_bytes()); // version made by
            }
            buf.extend_from_slice(&20u16.to_le_bytes()); // version needed
            buf.extend_from_slice(&0x0800u16.to_le_bytes()); // flags: UTF-8 names
            buf.extend_from_slice(&0u16.to_le_bytes()); // method: stored
            buf.extend_from_slice(&[0, 0, 0x21, 0]); // time, date (1980-01-01)
            buf.extend_from_slice(&crc.to_le_bytes());
            buf.extend_from_slice(&(data.len() as u32).to_le_bytes());
            buf.extend_from_slice(&(data.len() as u32).to_le_bytes());
            buf.extend_from_slice(&(name.len() as u16).to_le_bytes());
            buf.extend_from_slice(&0u16.to_le_bytes()); // extra length
        };
        fixed(0x0403_4b50, &mut out, false);
        out.extend_from_slice(name);
        out.extend_from_slice(data);
        fixed(0x0201_4b50, &mut central, true);
        central.extend_from_slice(&[0; 6]); // comment len, disk, internal attrs
        central.extend_from_slice(&[0; 4]); // external attrs
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name);
    }
    let cd_offset = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]); // disk numbers
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Builds a deflate-compressed zip with the zip crate (unique names only).
pub fn deflate_zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        if name.ends_with('/') {
            w.add_directory(name.trim_end_matches('/'), opts).unwrap();
        } else {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
    }
    w.finish().unwrap().into_inner()
}
