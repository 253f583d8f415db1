//! The licence of a module version, from the licence files at the root of its zip.
//!
//! A file is a licence file when its name, in any case, is `LICENSE`, `LICENCE`, `COPYING`
//! or `UNLICENSE`, alone, with a text extension (`.md`, `.txt`, `.markdown`, `.rst`) or a
//! licence name (`.LESSER`, `-APACHE`, `_MIT`, after `.`, `-` or `_`): the files pkg.go.dev and the go command's
//! licence checks look at, at the module root only (a vendored directory's licence is not
//! the module's). Each is compared with the SPDX licence texts by the spdx crate's
//! detection (an inlined copy of askalono; the texts are embedded in the binary as a
//! compressed cache, so nothing is read at run time), which gives the closest licence
//! and a score from 0 to 1. At [`THRESHOLD`] or above the file's licence is identified;
//! below it the file counts for nothing. A version whose licence files identify nothing
//! (or that has none) has an unknown licence.
//!
//! The detector is built once per process, on first use (decompressing the cache takes a
//! few hundred milliseconds); detection itself takes 10 to 150 ms per file (it compares the
//! text with every SPDX licence), so texts met before are answered from memory ([`seen`]).

mod seen;

use std::io::{Read, Seek};
use std::sync::LazyLock;

use godepot_policy::License;
use serde::Serialize;
use spdx::detection::scan::Scanner;
use spdx::detection::{Store, TextData};

/// The score from which a file's licence counts as identified.
pub const THRESHOLD: f32 = 0.9;

/// The most of a licence file that is read; licence texts are a few KiB (the GPL-3.0 is
/// 35 KiB), so more is not a licence text.
const MAX_FILE: u64 = 256 * 1024;

/// What the licence files of one version say.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Detected {
    /// Every licence file at the root, in zip order.
    pub files: Vec<FileLicense>,
}

/// One licence file and what it was found to be.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileLicense {
    /// The name below the module root (`LICENSE`).
    pub file: String,
    /// The SPDX identifiers identified (at [`THRESHOLD`] or above); empty when none was.
    pub licenses: Vec<String>,
    /// The best score found, identified or not.
    pub confidence: f32,
}

impl Detected {
    /// The version's licence for the policy and the index: the identified SPDX
    /// identifiers of all its files, sorted and without duplicates, or unknown.
    pub fn license(&self) -> License {
        let mut ids: Vec<String> = (self.files.iter())
            .flat_map(|f| f.licenses.iter().cloned())
            .collect();
        ids.sort();
        ids.dedup();
        match ids.is_empty() {
            true => License::Unknown,
            false => License::Identified(ids),
        }
    }
}

/// Whether `name` (a file directly at the module root) is a licence file.
pub fn is_license_file(name: &str) -> bool {
    const EXTENSIONS: [&str; 10] = [
        "MD", "TXT", "MARKDOWN", "RST", "LESSER", "APACHE", "MIT", "BSD", "GPL", "APACHE2",
    ];
    let upper = name.to_ascii_uppercase();
    ["LICENSE", "LICENCE", "COPYING", "UNLICENSE"]
        .iter()
        .any(|stem| {
            upper
                .strip_prefix(stem)
                .is_some_and(|rest| match rest.chars().next() {
                    None => true,
                    Some('-' | '_') => rest.len() > 1,
                    Some('.') => EXTENSIONS.contains(&&rest[1..]),
                    Some(_) => false,
                })
        })
}

static DETECTOR: LazyLock<Option<Store>> = LazyLock::new(|| Store::load_inline().ok());

/// The licences of one licence file's text. Texts met before in this process are not
/// scanned again ([`seen`]).
pub fn detect_text(file: &str, text: &str) -> FileLicense {
    let Some(store) = DETECTOR.as_ref() else {
        // The embedded cache did not load: nothing can be identified, which is "unknown".
        return FileLicense {
            file: file.to_owned(),
            licenses: Vec::new(),
            confidence: 0.0,
        };
    };
    let (licenses, confidence) = seen::found(text, |data| scan(store, data));
    FileLicense {
        file: file.to_owned(),
        licenses,
        confidence,
    }
}

/// The spdx crate's scan of one normalized text: the licences identified, the best score,
/// and whether the answer came from the first comparison alone (then it is a function of
/// the text's n-grams only, which [`seen`] relies on).
fn scan(store: &Store, data: &TextData) -> seen::Found {
    let scanner = Scanner::new(store)
        .confidence_threshold(THRESHOLD)
        .shallow_limit(SHALLOW)
        .optimize(true);
    let result = scanner.scan(data);
    let mut licenses = Vec::new();
    let mut confidence = result.score;
    if let Some(license) = result.license {
        licenses.push(license.name.to_owned());
    }
    for contained in &result.containing {
        if contained.score >= THRESHOLD && !licenses.iter().any(|l| l == contained.license.name) {
            licenses.push(contained.license.name.to_owned());
        }
        confidence = confidence.max(contained.score);
    }
    seen::Found {
        shallow: result.score > SHALLOW,
        licenses,
        confidence,
    }
}

/// Above this first score the scan stops at once (the spdx crate's default, set here
/// because [`seen`] depends on it).
const SHALLOW: f32 = 0.99;

/// The licence files at the root (`root`: `module@version/`, as every name in a module
/// zip starts) of the zip `zip`, detected. Files that are not valid UTF-8 are read
/// lossily; a zip that cannot be read is an error.
pub fn detect_zip<R: Read + Seek>(zip: R, root: &str) -> Result<Detected, zip::result::ZipError> {
    let mut archive = zip::ZipArchive::new(zip)?;
    let mut files = Vec::new();
    for i in 0..archive.len() {
        // Names from the central directory first: an entry is opened (a seek and a read of
        // its local header) only when its name is a licence file's.
        let Some(full) = archive.name_for_index(i) else {
            continue;
        };
        let full = full?;
        let Some(name) = full.strip_prefix(root) else {
            continue;
        };
        if name.contains('/') || !is_license_file(name) {
            continue;
        }
        let name = name.to_owned();
        let mut entry = archive.by_index(i)?;
        if !entry.is_file() {
            continue;
        }
        let mut bytes = Vec::new();
        (&mut entry).take(MAX_FILE).read_to_end(&mut bytes)?;
        files.push(detect_text(&name, &String::from_utf8_lossy(&bytes)));
    }
    Ok(Detected { files })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn licence_file_names() {
        for name in [
            "LICENSE",
            "license",
            "LICENSE.md",
            "LICENCE.txt",
            "COPYING",
            "COPYING.LESSER",
            "LICENSE-APACHE",
            "LICENSE_MIT",
            "UNLICENSE",
        ] {
            assert!(is_license_file(name), "{name}");
        }
        for name in [
            "LICENSES",
            "license.go",
            "README.md",
            "LICENSEE",
            "COPYRIGHT",
            "LICENSE-",
        ] {
            assert!(!is_license_file(name), "{name}");
        }
    }
}
