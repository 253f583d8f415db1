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
}

/// A module and its versions, newest first (semver order).
#[derive(Debug, Clone, Serialize)]
pub struct ModuleDetail {
    pub module: ModuleSummary,
    pub versions: Vec<VersionRow>,
}

/// The `LIKE` pattern for "contains `text`", with its wildcards taken literally.
fn contains_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
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
    /// Modules whose path contains `text` (ASCII case-insensitively), those starting with it
    /// first, then by path; `page` counts from 1. A scan of the module paths, no more: see
    /// `docs/index.md` for the figures at 100,000 versions.
    pub fn search(&self, text: &str, page: u64, per_page: u64) -> Result<SearchPage, IndexError> {
        let page = page.max(1);
        let per_page = per_page.clamp(1, 500);
        let contains = contains_pattern(text);
        let prefix = format!("{}%", &contains[1..contains.len() - 1]);
        let conn = self.read();
        let total: i64 = conn.query_row(
            "SELECT count(*) FROM modules WHERE path LIKE ?1 ESCAPE '\\'",
            [&contains],
            |row| row.get(0),
        )?;
        let mut stmt = conn.prepare_cached(
            "SELECT path, versions, bytes, updated FROM modules
             WHERE path LIKE ?1 ESCAPE '\\'
             ORDER BY path LIKE ?2 ESCAPE '\\' DESC, path
             LIMIT ?3 OFFSET ?4",
        )?;
        let offset = (page - 1).saturating_mul(per_page);
        let modules = stmt
            .query_map(
                params![contains, prefix, per_page as i64, offset as i64],
                summary,
            )?
            .collect::<Result<_, _>>()?;
        Ok(SearchPage {
            query: text.to_string(),
            page,
            per_page,
            total: total as u64,
            modules,
        })
    }

    /// A module and its versions, or `None` when the index holds none of it.
    pub fn module(&self, path: &str) -> Result<Option<ModuleDetail>, IndexError> {
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
            "SELECT version, info_size, mod_size, zip_size, h1, added, last_access, hits
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

#[cfg(test)]
mod tests {
    use super::contains_pattern;

    #[test]
    fn like_wildcards_are_taken_literally() {
        assert_eq!(contains_pattern("a_b%c\\"), "%a\\_b\\%c\\\\%");
    }
}
