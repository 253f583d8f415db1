//! What the index answers: search over module paths, one module's versions, totals.

use std::cmp::Ordering;

use rusqlite::{OptionalExtension, Row, params};
use serde::Serialize;

use crate::{Index, IndexError};

/// What the store holds, in all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub modules: u64,
    pub versions: u64,
    /// Bytes of `.info`, `.mod` and `.zip` files.
    pub bytes: u64,
}

/// A module as a search lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ModuleSummary {
    pub path: String,
    pub versions: u64,
    pub bytes: u64,
    /// When its newest version was added (seconds since the epoch).
    pub updated: i64,
}

/// One page of search results.
#[derive(Debug, Clone, Serialize)]
pub struct SearchPage {
    pub query: String,
    /// From 1.
    pub page: u64,
    pub per_page: u64,
    /// Modules matching, on every page.
    pub total: u64,
    pub modules: Vec<ModuleSummary>,
}

impl SearchPage {
    pub fn pages(&self) -> u64 {
        self.total.div_ceil(self.per_page).max(1)
    }
}

/// One version as the index holds it. Sizes are absent for files not held (a version
/// gathered for module-graph pruning has only its `.mod`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionRow {
    pub version: String,
    pub info_size: Option<u64>,
    pub mod_size: Option<u64>,
    pub zip_size: Option<u64>,
    pub h1: Option<String>,
    /// Seconds since the epoch.
    pub added: i64,
    pub last_access: Option<i64>,
    pub hits: u64,
    /// The licence of the zip (`MIT`, `Apache-2.0 AND MIT`, `unknown`); absent when the
    /// zip is not held. See `godepot_license`.
    pub license: Option<String>,
    /// How sure the detection was, in percent.
    pub license_confidence: Option<u32>,
}

/// A module and its versions, newest first (semver order).
#[derive(Debug, Clone, Serialize)]
pub struct ModuleDetail {
    pub module: ModuleSummary,
    pub versions: Vec<VersionRow>,
}

fn summary(row: &Row<'_>) -> rusqlite::Result<ModuleSummary> {
    Ok(ModuleSummary {
        path: row.get(0)?,
        versions: row.get::<_, i64>(1)? as u64,
        bytes: row.get::<_, i64>(2)? as u64,
        updated: row.get(3)?,
    })
}

impl Index {
    /// Modules whose path contains `text` (ASCII case-insensitively; `%` and `_` are plain
    /// characters), those starting with it first, then by path; `page` counts from 1. One
    /// scan of the module paths, no more: see `docs/index.md` for the figures.
    pub fn search(&self, text: &str, page: u64, per_page: u64) -> Result<SearchPage, IndexError> {
        let page = page.max(1);
        let per_page = per_page.clamp(1, 500);
        let folded = text.to_ascii_lowercase();
        let offset = (page - 1).saturating_mul(per_page);
        let conn = self.read();
        // One scan: the window counts every match while LIMIT keeps one page.
        // Three characters or more: the trigram index finds the candidates; shorter texts
        // scan the module paths.
        let sql = if folded.chars().count() >= 3 {
            "SELECT path, versions, bytes, updated, count(*) OVER () FROM modules
             WHERE rowid IN (SELECT rowid FROM module_trigrams WHERE module_trigrams MATCH ?4)
               AND instr(folded, ?1) > 0
             ORDER BY instr(folded, ?1) = 1 DESC, path
             LIMIT ?2 OFFSET ?3"
        } else {
            "SELECT path, versions, bytes, updated, count(*) OVER () FROM modules
             WHERE instr(folded, ?1) > 0 AND ?4 IS NOT NULL -- ?4 unused: same parameters
             ORDER BY instr(folded, ?1) = 1 DESC, path
             LIMIT ?2 OFFSET ?3"
        };
        let phrase = format!("\"{}\"", text.replace('"', "\"\""));
        let mut stmt = conn.prepare_cached(sql)?;
        let mut total = 0;
        let modules = stmt
            .query_map(
                params![folded, per_page as i64, offset as i64, phrase],
                |row| {
                    total = row.get::<_, i64>(4)? as u64;
                    summary(row)
                },
            )?
            .collect::<Result<_, _>>()?;
        if total == 0 && offset > 0 {
            // A page past the end: count the matches on their own.
            total = conn.query_row(
                "SELECT count(*) FROM modules WHERE instr(folded, ?1) > 0",
                [&folded],
                |row| row.get::<_, i64>(0),
            )? as u64;
        }
        Ok(SearchPage {
            query: text.to_string(),
            page,
            per_page,
            total,
            modules,
        })
    }

    /// A module and its versions, or `None` when the index holds none of it.
    pub fn module(&self, path: &str) -> Result<Option<ModuleDetail>, IndexError> {
        // Licences are the one column filled after the row: those of zips already stored
        // are waited for.
        self.scans.settle();
        let conn = self.read();
        let module = conn
            .query_row(
                "SELECT path, versions, bytes, updated FROM modules WHERE path = ?1",
                [path],
                summary,
            )
            .optional()?;
        let Some(module) = module else {
            return Ok(None);
        };
        let mut stmt = conn.prepare_cached(
            "SELECT version, info_size, mod_size, zip_size, h1, added, last_access, hits,
                    license, license_confidence
             FROM versions WHERE module = ?1",
        )?;
        let size = |v: Option<i64>| v.map(|v| v as u64);
        let mut versions: Vec<VersionRow> = stmt
            .query_map([path], |row| {
                Ok(VersionRow {
                    version: row.get(0)?,
                    info_size: size(row.get(1)?),
                    mod_size: size(row.get(2)?),
                    zip_size: size(row.get(3)?),
                    h1: row.get(4)?,
                    added: row.get(5)?,
                    last_access: row.get(6)?,
                    hits: row.get::<_, i64>(7)? as u64,
                    license: row.get(8)?,
                    license_confidence: row
                        .get::<_, Option<i64>>(9)?
                        .map(|c| c.clamp(0, 100) as u32),
                })
            })?
            .collect::<Result<_, _>>()?;
        versions.sort_by(|a, b| newest_first(&a.version, &b.version));
        Ok(Some(ModuleDetail { module, versions }))
    }

    /// Modules, versions and bytes held: a sum over the module rows (the triggers keep
    /// their counts), never over versions.
    pub fn totals(&self) -> Result<Totals, IndexError> {
        let conn = self.read();
        Ok(conn.query_row(
            "SELECT count(*), coalesce(sum(versions), 0), coalesce(sum(bytes), 0) FROM modules",
            [],
            |row| {
                Ok(Totals {
                    modules: row.get::<_, i64>(0)? as u64,
                    versions: row.get::<_, i64>(1)? as u64,
                    bytes: row.get::<_, i64>(2)? as u64,
                })
            },
        )?)
    }
}

fn newest_first(a: &str, b: &str) -> Ordering {
    godepot_module::semver::compare(b, a).then_with(|| b.cmp(a))
}
