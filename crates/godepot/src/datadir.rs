//! The data directory of every command: `--data-dir` (or `GODEPOT_DATA_DIR`, folded in by
//! clap; for serve and prefetch also the config file), else the platform default.

use std::path::PathBuf;

use godepot_store::LocalStore;

use crate::config;
use crate::failure::Failure;

pub(crate) fn resolve(flag: Option<PathBuf>) -> Result<PathBuf, Failure> {
    match flag {
        Some(dir) => Ok(dir),
        None => config::default_data_dir(),
    }
}

/// A data directory that must already exist (reading commands never create one).
pub(crate) fn existing(flag: Option<PathBuf>) -> Result<PathBuf, Failure> {
    let dir = resolve(flag)?;
    if !dir.is_dir() {
        return Err(
            Failure::config(format!("data directory {} does not exist", dir.display()))
                .hint("pass --data-dir with the store to work on"),
        );
    }
    Ok(dir)
}

/// Opens (creating if needed) the store for writing.
pub(crate) fn open_store(flag: Option<PathBuf>) -> Result<LocalStore, Failure> {
    let dir = resolve(flag)?;
    LocalStore::open(&dir).map_err(|e| {
        Failure::runtime(format!("cannot open data directory {}: {e}", dir.display()))
            .hint("pass --data-dir with a writable directory")
    })
}
