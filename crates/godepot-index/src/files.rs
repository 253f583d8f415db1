//! One version's row, read from its files through the [`Store`] trait (a data directory or a
//! bucket alike): the sizes of `.info`, `.mod` and `.zip` (each
//! absent when not held), the `h1:` of the zip (its `.ziphash`), and when it was added (the
//! oldest modification time among them, which a rebuild finds again), and the licence its
//! zip's licence files carry (`godepot_license`; absent when the zip is not held, and until
//! the scans' worker has found it when [`Licences::Later`]).

use std::io;
use std::sync::{Arc, Mutex};
use std::time::UNIX_EPOCH;

use godepot_module::{ModulePath, Version};
use godepot_store::{Artifact, ArtifactBody, ArtifactKey, Kind, Store};
use rusqlite::{Connection, OptionalExtension, params};

use crate::IndexError;
use crate::scans::{Offer, Scans};

/// What the files of one version say.
#[derive(Debug, Default, PartialEq, Eq)]
struct Held {
    info: Option<u64>,
    go_mod: Option<u64>,
    zip: Option<u64>,
    h1: Option<String>,
    /// Seconds since the epoch.
    added: Option<i64>,
    /// The licence label (`MIT`, `Apache-2.0 AND MIT`, `unknown`) and the confidence of
    /// the detection in percent (the lowest among identified files; the best score when
    /// unknown).
    license: Option<(String, i64)>,
}

/// `known`: the zip's size and licence as the row has them; the licence is taken from there
/// when the zip held is of that size (see [`sync`]). Also returns the zip when its licence is
/// still to be found.
fn read_held(
    store: &dyn Store,
    module: &ModulePath,
    version: &Version,
    known: Option<(i64, (String, i64))>,
) -> Result<(Held, Option<Artifact>), IndexError> {
    let key = ArtifactKey::new(module.clone(), version.clone(), Kind::Info);
    let mut held = Held::default();
    let mut zip = None;
    for kind in [Kind::Info, Kind::Mod, Kind::Zip, Kind::ZipHash] {
        let key = key.with_kind(kind);
        let Some(artifact) = store.open(&key)? else {
            continue;
        };
        let size = Some(artifact.len);
        match kind {
            Kind::Info => held.info = size,
            Kind::Mod => held.go_mod = size,
            Kind::Zip => held.zip = size,
            Kind::ZipHash => {
                held.h1 = artifact
                    .read_all()
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .map(|s| s.trim().to_string())
                    .filter(|s| s.starts_with("h1:"));
                continue;
            }
        }
        let modified = artifact
            .modified
            .duration_since(UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs() as i64);
        held.added = match (held.added, modified) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        // The others are dropped unread (a bucket's stream ends there): their size is all.
        if kind == Kind::Zip {
            zip = Some(artifact);
        }
    }
    let zip = zip.and_then(|zip| match known {
        Some((size, license)) if size as u64 == zip.len => {
            held.license = Some(license);
            None
        }
        _ => Some(zip),
    });
    Ok((held, zip))
}

/// The licence of a held zip; `None` when it cannot be read as one (verify's business). A
/// zip not in a local file (a bucket's) is spooled to an unnamed file in the store's scratch
/// directory first, since the zip's directory is at its end: memory stays bounded whatever
/// its size.
fn license(store: &dyn Store, zip: Artifact, module: &str, version: &str) -> Option<(String, i64)> {
    let file = zip.into_file(store.scratch_dir()).ok()?;
    detect(io::BufReader::new(&file), module, version)
}

/// The licence label and confidence (see [`Held::license`]) of the zip `zip` of
/// `module@version`; `None` when it cannot be read as one.
pub(crate) fn detect(
    zip: impl io::Read + io::Seek,
    module: &str,
    version: &str,
) -> Option<(String, i64)> {
    let root = format!("{module}@{version}/");
    let detected = godepot_license::detect_zip(zip, &root).ok()?;
    let license = detected.license();
    let identified = detected.files.iter().filter(|f| !f.licenses.is_empty());
    let confidence = match license {
        godepot_policy::License::Identified(_) => identified.map(|f| f.confidence).reduce(f32::min),
        _ => detected.files.iter().map(|f| f.confidence).reduce(f32::max),
    };
    let percent = (f64::from(confidence.unwrap_or(0.0)) * 100.0).round() as i64;
    Some((license.label(), percent))
}

/// Where [`sync`] finds a zip's licence when the row does not have it yet.
pub(crate) enum Licences<'a> {
    /// Read now, before the row is written (rebuilds, refreshes: batch work).
    Now,
    /// A local file is handed to the scans' worker (the observer, inside a store's `put`);
    /// see [`crate::scans`].
    Later {
        scans: &'a Arc<Scans>,
        writer: &'a Arc<Mutex<Connection>>,
    },
}

/// Brings the row of `module@version` in step with its files; the caller holds the write
/// lock (a `BEGIN IMMEDIATE` transaction), so no other writer changes the row between the
/// look at the files and the write. Hits and last access survive an update.
pub(crate) fn sync(
    conn: &Connection,
    store: &dyn Store,
    module: &ModulePath,
    version: &Version,
    licences: Licences<'_>,
) -> Result<(), IndexError> {
    // A zip is written once, so the licence found in it when it was indexed holds while it
    // is there: its detection (tens of milliseconds for a large zip) is not repeated when
    // another file of the version arrives (the .ziphash stored right after every zip).
    let known = conn
        .query_row(
            "SELECT zip_size, license, license_confidence FROM versions
             WHERE module = ?1 AND version = ?2 AND zip_size IS NOT NULL AND license IS NOT NULL
               AND license_confidence IS NOT NULL",
            params![module.as_str(), version.as_str()],
            |row| Ok((row.get(0)?, (row.get(1)?, row.get(2)?))),
        )
        .optional()?;
    let (mut held, zip) = read_held(store, module, version, known)?;
    let (module, version) = (module.as_str(), version.as_str());
    if let Some(zip) = zip {
        held.license = match (licences, zip.body) {
            (Licences::Later { scans, writer }, ArtifactBody::File(file)) => {
                match scans.offer(writer, module, version, zip.len as i64, file) {
                    Offer::Deferred => None,
                    Offer::Inline(file) => detect(io::BufReader::new(&file), module, version),
                }
            }
            (_, body) => license(store, Artifact { body, ..zip }, module, version),
        };
    }
    let Some(added) = held.added else {
        // No .info, .mod or .zip: the version is not held (a lone .ziphash is not one).
        conn.execute(
            "DELETE FROM versions WHERE module = ?1 AND version = ?2",
            params![module, version],
        )?;
        return Ok(());
    };
    let size = |s: Option<u64>| s.map(|s| s as i64);
    conn.execute(
        "INSERT INTO versions (module, version, info_size, mod_size, zip_size, h1, added,
                               license, license_confidence)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (module, version) DO UPDATE SET
             info_size = excluded.info_size,
             mod_size = excluded.mod_size,
             zip_size = excluded.zip_size,
             h1 = excluded.h1,
             added = excluded.added,
             license = excluded.license,
             license_confidence = excluded.license_confidence",
        params![
            module,
            version,
            size(held.info),
            size(held.go_mod),
            size(held.zip),
            held.h1,
            added,
            held.license.as_ref().map(|l| l.0.as_str()),
            held.license.as_ref().map(|l| l.1),
        ],
    )?;
    Ok(())
}
