//! The HTML pages, as maud templates: checked at compile time, and every value interpolated
//! is escaped (module paths and go.mod text come from whoever published a module). No
//! script, no external asset: the style sheet is inline, so the pages work in an air gap.

use std::time::{Duration, SystemTime};

use godepot_index::SearchPage;
use maud::{DOCTYPE, Markup, html};

use super::view::{ModuleView, Stats};

const STYLE: &str = "
body { font-family: system-ui, sans-serif; margin: 0; color: #1d232a; background: #f6f7f9; }
header { background: #1d3557; color: #fff; padding: 0.8rem 1.5rem; display: flex; gap: 1.5rem; align-items: center; }
header a { color: #fff; text-decoration: none; font-weight: 600; font-size: 1.2rem; }
header form { margin-left: auto; }
main { max-width: 72rem; margin: 1.5rem auto; padding: 0 1.5rem; }
section { background: #fff; border: 1px solid #dde1e6; border-radius: 6px; padding: 1rem 1.25rem; margin-bottom: 1.25rem; }
h1 { font-size: 1.5rem; margin-top: 0; word-break: break-all; }
h1 code { font-size: inherit; }
h2 { font-size: 1.1rem; margin-top: 0; }
code, pre { font-family: ui-monospace, monospace; font-size: 0.9rem; }
pre { background: #f0f2f5; padding: 0.75rem; overflow-x: auto; border-radius: 4px; }
table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
th, td { text-align: left; padding: 0.35rem 0.6rem; border-bottom: 1px solid #eceff2; vertical-align: top; }
td.h1 { font-family: ui-monospace, monospace; font-size: 0.8rem; word-break: break-all; }
.tag { display: inline-block; padding: 0 0.4rem; border-radius: 3px; font-size: 0.75rem; margin-left: 0.3rem; }
.retracted { background: #fff3cd; color: #7a5b00; }
.blocked { background: #f8d7da; color: #842029; }
.ok { color: #146c43; } .bad { color: #b02a37; }
input[type=search] { padding: 0.35rem 0.5rem; width: 18rem; border-radius: 4px; border: 1px solid #b8c0c8; }
button { padding: 0.35rem 0.8rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.3rem 1rem; margin: 0; }
dt { color: #5a6470; }
.pages a, .pages span { margin-right: 0.6rem; }
";

fn layout(title: &str, query: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · godepot" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                header {
                    a href="/" { "godepot" }
                    (search_form(query))
                }
                main { (body) }
            }
        }
    }
}

fn search_form(query: &str) -> Markup {
    html! {
        form action="/search" method="get" role="search" {
            input type="search" name="q" value=(query) placeholder="module path or part of it" aria-label="search modules";
            " "
            button type="submit" { "Search" }
        }
    }
}

/// `/`: what this server is and how it is doing.
pub(crate) fn home(stats: &Stats, goproxy: &str) -> Markup {
    let body = html! {
        section {
            h1 { "godepot module proxy" }
            p { "An offline-first Go module proxy: it serves the go command's module downloads from its store, fetching what it does not hold (when online) and keeping it." }
            p { "Point the go command at it:" }
            pre { "export GOPROXY=" (goproxy) }
            (search_form(""))
        }
        section {
            h2 { "Server" }
            dl {
                dt { "Mode" } dd { (stats.mode) }
                dt { "Upstream" } dd { (stats.upstream) }
                @if let Some(t) = &stats.store {
                    dt { "Store" }
                    dd { (count(t.modules, "module")) ", " (count(t.versions, "version")) ", " (human_bytes(t.bytes)) }
                }
                dt { "Index" } dd { (stats.index) }
            }
        }
        (checksum_databases(stats))
        (failures(stats))
    };
    layout("Home", "", body)
}

fn checksum_databases(stats: &Stats) -> Markup {
    html! {
        section {
            h2 { "Checksum databases" }
            @if stats.checksum_databases.is_empty() {
                p { "None proxied." }
            } @else {
                table {
                    tr { th { "Name" } th { "Verifying" } th { "Largest tree verified" } }
                    @for db in &stats.checksum_databases {
                        tr {
                            td { code { (db.name) } }
                            td { @if db.verifying { span.ok { "yes (key configured)" } } @else { "no key: passed through" } }
                            td { @match db.verified_tree { Some(n) => (n), None => "none yet" } }
                        }
                    }
                }
            }
        }
    }
}

fn failures(stats: &Stats) -> Markup {
    html! {
        section {
            h2 { "Recent upstream failures" }
            @if stats.recent_failures.is_empty() {
                p.ok { "None since start-up." }
            } @else {
                table {
                    tr { th { "When" } th { "Request" } th { "Status" } th { "What failed" } }
                    @for f in &stats.recent_failures {
                        tr {
                            td { (when(f.at)) }
                            td { code { (f.path) } }
                            td.bad { (f.status) }
                            td { (f.message) }
                        }
                    }
                }
            }
        }
    }
}

/// `/search?q=...`.
pub(crate) fn search(page: &SearchPage, rebuilding: bool) -> Markup {
    let body = html! {
        section {
            h1 { "Modules matching “" (page.query) "”" }
            @if rebuilding {
                p.bad { "The index is being rebuilt: some modules may be missing for now." }
            }
            p { (page.total) " found." }
            @if !page.modules.is_empty() {
                table {
                    tr { th { "Module" } th { "Versions" } th { "Size" } th { "Last added" } }
                    @for m in &page.modules {
                        tr {
                            td { a href={ "/module/" (m.path) } { code { (m.path) } } }
                            td { (m.versions) }
                            td { (human_bytes(m.bytes)) }
                            td { (when(m.updated)) }
                        }
                    }
                }
            }
            @if page.pages() > 1 {
                p.pages {
                    @if page.page > 1 {
                        a href={ "/search?q=" (query_escape(&page.query)) "&page=" (page.page - 1) } { "← previous" }
                    }
                    span { "page " (page.page) " of " (page.pages()) }
                    @if page.page < page.pages() {
                        a href={ "/search?q=" (query_escape(&page.query)) "&page=" (page.page + 1) } { "next →" }
                    }
                }
            }
        }
    };
    layout("Search", &page.query, body)
}

/// `/module/<path>`.
pub(crate) fn module(view: &ModuleView) -> Markup {
    let m = &view.module;
    let body = html! {
        section {
            h1 { code { (m.path) } }
            p { (count(m.versions, "version")) " held, " (human_bytes(m.bytes)) "." }
            pre { (view.go_get) }
        }
        section {
            h2 { "Versions" }
            table {
                tr {
                    th { "Version" } th { "Added" } th { ".info" } th { ".mod" } th { ".zip" }
                    th { "Licence" } th { "h1:" } th { "Hits" } th { "Last access" }
                }
                @for v in &view.versions {
                    tr {
                        td {
                            code { (v.row.version) }
                            @if v.retracted { span.tag.retracted title="retracted by the module's newest go.mod" { "retracted" } }
                            @if v.blocked { span.tag.blocked title="refused by this server's policy" { "blocked" } }
                        }
                        td { (when(v.row.added)) }
                        td { (size(v.row.info_size)) }
                        td { (size(v.row.mod_size)) }
                        td { (size(v.row.zip_size)) }
                        td {
                            @match (&v.row.license, v.row.license_confidence) {
                                (Some(l), Some(c)) => span title={ "detected from the licence files, " (c) "% confidence" } { (l) },
                                (Some(l), None) => (l),
                                (None, _) => "–",
                            }
                        }
                        td.h1 { (v.row.h1.as_deref().unwrap_or("–")) }
                        td { (v.row.hits) }
                        td { @match v.row.last_access { Some(t) => (when(t)), None => "never" } }
                    }
                }
            }
        }
        @if let (Some(version), Some(text)) = (&view.go_mod_version, &view.go_mod) {
            section {
                h2 { "go.mod of " code { (version) } }
                pre { (text) }
            }
        }
    };
    layout(&m.path, &m.path, body)
}

/// A page saying what could not be shown.
pub(crate) fn message(title: &str, text: &str) -> Markup {
    layout(title, "", html! { section { h1 { (title) } p { (text) } } })
}

fn count(n: u64, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}

fn size(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "–".to_string(), human_bytes)
}

pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    match unit {
        0 => format!("{n} B"),
        _ => format!("{value:.1} {}", UNITS[unit]),
    }
}

fn when(secs: i64) -> String {
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64);
    httpdate::fmt_http_date(t)
}

/// A query parameter's value, percent-encoded (maud then escapes it for the attribute).
fn query_escape(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_as_people_read_them() {
        assert_eq!(human_bytes(12), "12 B");
        assert_eq!(human_bytes(2048), "2.0 KiB");
        assert_eq!(human_bytes(5 << 20), "5.0 MiB");
    }
}
