//! The database: tables, the triggers that keep each module's sums, and the format version.
//!
//! `versions` holds one row per version with any artifact held; `modules` one row per module
//! with its count of versions and bytes, kept by triggers on `versions` so that search (a scan
//! of `modules`) and totals never aggregate versions. `modules.folded` is the path in ASCII
//! lower case, so search is `instr` over it (a byte search, several times faster than `LIKE`). `meta` holds the format version and two
//! counters: `dirty` goes up whenever the index may have fallen behind the files, `clean` is
//! set to the `dirty` a rebuild started from once it finished, so the index is current when
//! they are equal.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use crate::IndexError;

/// Bumped whenever the tables change; an index of another format is rebuilt.
pub(crate) const FORMAT: i64 = 2;

const TABLES: &str = "
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE versions (
    module TEXT NOT NULL,
    version TEXT NOT NULL,
    info_size INTEGER,
    mod_size INTEGER,
    zip_size INTEGER,
    h1 TEXT,
    added INTEGER NOT NULL,
    last_access INTEGER,
    hits INTEGER NOT NULL DEFAULT 0,
    license TEXT,
    license_confidence INTEGER,
    PRIMARY KEY (module, version)
) WITHOUT ROWID;
CREATE TABLE modules (
    path TEXT NOT NULL UNIQUE,
    folded TEXT NOT NULL,
    versions INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    updated INTEGER NOT NULL
);
CREATE VIRTUAL TABLE module_trigrams USING fts5(path, tokenize = 'trigram');
CREATE TRIGGER module_added AFTER INSERT ON modules BEGIN
    INSERT INTO module_trigrams (rowid, path) VALUES (NEW.rowid, NEW.path);
END;
CREATE TRIGGER module_removed AFTER DELETE ON modules BEGIN
    DELETE FROM module_trigrams WHERE rowid = OLD.rowid;
END;
CREATE TRIGGER version_added AFTER INSERT ON versions BEGIN
    INSERT INTO modules (path, folded, versions, bytes, updated)
    VALUES (NEW.module, lower(NEW.module), 1,
            coalesce(NEW.info_size, 0) + coalesce(NEW.mod_size, 0) + coalesce(NEW.zip_size, 0),
            NEW.added)
    ON CONFLICT (path) DO UPDATE SET
        versions = versions + 1,
        bytes = bytes + excluded.bytes,
        updated = max(updated, excluded.updated);
END;
CREATE TRIGGER version_changed AFTER UPDATE OF info_size, mod_size, zip_size ON versions BEGIN
    UPDATE modules SET bytes = bytes
        - (coalesce(OLD.info_size, 0) + coalesce(OLD.mod_size, 0) + coalesce(OLD.zip_size, 0))
        + (coalesce(NEW.info_size, 0) + coalesce(NEW.mod_size, 0) + coalesce(NEW.zip_size, 0))
    WHERE path = NEW.module;
END;
CREATE TRIGGER version_removed AFTER DELETE ON versions BEGIN
    UPDATE modules SET
        versions = versions - 1,
        bytes = bytes
            - (coalesce(OLD.info_size, 0) + coalesce(OLD.mod_size, 0) + coalesce(OLD.zip_size, 0))
    WHERE path = OLD.module;
    DELETE FROM modules WHERE path = OLD.module AND versions <= 0;
END;
";

/// A connection with the settings every use wants: WAL (readers beside the writer, other
/// processes too), `synchronous=NORMAL` (no fsync per commit: the index is derived, and a
/// crash is caught by the writers' markers), and a wait on a busy database (a server and an
/// import write the same index).
pub(crate) fn connect(db: &Path) -> Result<Connection, IndexError> {
    let conn = Connection::open(db)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

/// Makes the tables current: creates them when missing, or drops and re-creates them when
/// of another format, marking the index dirty. Says whether it did either.
pub(crate) fn prepare(conn: &mut Connection) -> Result<bool, IndexError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let has_meta: bool = tx.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'meta'",
        [],
        |row| row.get(0),
    )?;
    let format = match has_meta {
        true => get(&tx, "format")?,
        false => None,
    };
    if format == Some(FORMAT) {
        return Ok(false);
    }
    if format.is_some() {
        tracing::info!(
            from = format,
            to = FORMAT,
            "module index of an older format: rebuilding"
        );
    }
    tx.execute_batch(
        "DROP TABLE IF EXISTS meta; DROP TABLE IF EXISTS versions; DROP TABLE IF EXISTS modules; DROP TABLE IF EXISTS module_trigrams;",
    )?;
    tx.execute_batch(TABLES)?;
    set(&tx, "format", FORMAT)?;
    set(&tx, "dirty", 1)?;
    set(&tx, "clean", 0)?;
    tx.commit()?;
    Ok(true)
}

pub(crate) fn get(conn: &Connection, key: &str) -> Result<Option<i64>, IndexError> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |row| {
            row.get(0)
        })
        .optional()?)
}

pub(crate) fn set(conn: &Connection, key: &str, value: i64) -> Result<(), IndexError> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

/// Says the index may have fallen behind the files, until the next rebuild finishes.
pub(crate) fn mark_dirty(conn: &Connection) -> Result<(), IndexError> {
    conn.execute("UPDATE meta SET value = value + 1 WHERE key = 'dirty'", [])?;
    Ok(())
}

pub(crate) fn is_dirty(conn: &Connection) -> Result<bool, IndexError> {
    Ok(get(conn, "dirty")? != get(conn, "clean")?)
}

/// Whether SQLite says the file is not a database it can read (as opposed to busy or I/O).
pub(crate) fn is_damaged(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
    )
}

/// Removes the database with its WAL and shared-memory files.
pub(crate) fn remove(db: &Path) -> Result<(), IndexError> {
    for suffix in ["", "-wal", "-shm"] {
        let path = std::path::PathBuf::from(format!("{}{suffix}", db.display()));
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(IndexError::io(&path)(e)),
        }
    }
    Ok(())
}
