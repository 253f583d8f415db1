//! Changing a bundle the way an attacker or a bad disk would, to test that import notices.

use std::io::{Read, Write};
use std::path::Path;

/// Reads the bundle's tar entries (path and bytes), lets `edit` change them, and writes them
/// to `out` as a bundle again (tar + zstd).
pub fn rewrite_bundle(bundle: &Path, out: &Path, edit: impl FnOnce(&mut Vec<(String, Vec<u8>)>)) {
    let decoder = zstd::stream::read::Decoder::new(std::fs::File::open(bundle).unwrap()).unwrap();
    let mut archive = tar::Archive::new(decoder);
    let mut entries = Vec::new();
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().to_string_lossy().into_owned();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        entries.push((path, data));
    }
    edit(&mut entries);
    let encoder =
        zstd::stream::write::Encoder::new(std::fs::File::create(out).unwrap(), 3).unwrap();
    let mut tar = tar::Builder::new(encoder);
    for (path, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, path, data.as_slice()).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap().flush().unwrap();
}
