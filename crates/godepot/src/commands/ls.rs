//! `godepot ls`: what the store holds.

use godepot_bundle::ls::{Listing, SortBy, list};
use godepot_bundle::time::format_rfc3339;

use crate::config::ConfigFile;
use crate::failure::Failure;
use crate::progress::{count, human_bytes};
use crate::settings::StoreSettings;
use crate::storage::{self, StoreLocation};

/// List held modules and versions with their sizes, and a total.
///
/// Examples:
///   godepot ls                      # everything
///   godepot ls 'example.com/*'      # GOPRIVATE-style globs over leading path elements
///   godepot ls github.com/acme      # or a plain prefix
///   godepot ls --sort size          # what takes the space, largest first
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct LsArgs {
    #[command(flatten)]
    pub(crate) store: StoreSettings,

    /// Only modules matching: comma-separated globs (as in GOPRIVATE) or a plain prefix.
    #[arg(value_name = "PATTERN")]
    pub(crate) pattern: Option<String>,

    /// Order: name (modules by path, versions by semver), size (largest first), or time
    /// (most recently stored first, with the time shown).
    #[arg(long, value_enum, default_value_t = Sort::Name)]
    pub(crate) sort: Sort,

    /// Print the listing as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Sort {
    Name,
    Size,
    Time,
}

impl From<Sort> for SortBy {
    fn from(sort: Sort) -> SortBy {
        match sort {
            Sort::Name => SortBy::Name,
            Sort::Size => SortBy::Size,
            Sort::Time => SortBy::Time,
        }
    }
}

pub(crate) fn run(file: &ConfigFile, args: LsArgs) -> Result<(), Failure> {
    let location = file.merge(args.store)?.location()?;
    let (entries, sumdb) = storage::listing(&location)?;
    let mut listing = list(entries, &sumdb, args.pattern.as_deref())
        .map_err(|e| Failure::runtime(format!("cannot list {location}: {e}")))?;
    if let StoreLocation::Dir(root) = &location {
        add_licenses(root, &mut listing);
    }
    listing.sort(args.sort.into());
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&listing).unwrap_or_default()
        );
    } else {
        print!("{}", render(&listing, args.sort == Sort::Time));
    }
    Ok(())
}

/// Fills each version's licence from the module index (derived data: a listing without it
/// is still right, so an index that cannot be read or is behind is a warning).
fn add_licenses(root: &std::path::Path, listing: &mut Listing) {
    let index = match godepot_index::Index::open_at(&godepot_index::local_dir(root)) {
        Ok(index) => index,
        Err(e) => {
            tracing::warn!(error = %e, "cannot open the module index: licences not shown");
            return;
        }
    };
    if index.needs_rebuild().unwrap_or(true) {
        eprintln!(
            "warning: the module index is behind the files, some licences are not shown (godepot reindex brings it up to date)"
        );
    }
    // A server writing this store finds new zips' licences after storing them, and one
    // killed meanwhile leaves them unfound: those rows are read from the zips here. The
    // store is opened (a scratch directory claimed) only when a row lacks its licence.
    let mut store = None;
    for module in &mut listing.modules {
        let Ok(Some(mut detail)) = index.module(&module.path) else {
            continue;
        };
        let lacking = detail
            .versions
            .iter()
            .any(|row| row.zip_size.is_some() && row.license.is_none());
        if lacking
            && let Ok(path) = godepot_module::ModulePath::parse(&module.path)
            && let Ok(store) = store.get_or_insert_with(|| godepot_store::LocalStore::open(root))
        {
            match index.find_missing_licences(store, &path) {
                Ok(_) => detail = index.module(&module.path).ok().flatten().unwrap_or(detail),
                Err(e) => {
                    tracing::warn!(module = %module.path, error = %e, "licences not read from the zips")
                }
            }
        }
        for version in &mut module.versions {
            version.license = (detail.versions.iter())
                .find(|row| row.version == version.version)
                .and_then(|row| row.license.clone());
        }
    }
}

/// One line per version (`module version size licence files`, in aligned columns, the
/// licence `-` when the zip is not held or not known, the time stored after the files when
/// `times`), then the total.
fn render(listing: &Listing, times: bool) -> String {
    let rows: Vec<[String; 6]> = listing
        .modules
        .iter()
        .flat_map(|m| {
            m.versions.iter().map(|v| {
                [
                    m.path.clone(),
                    v.version.clone(),
                    human_bytes(v.bytes),
                    v.license.clone().unwrap_or_else(|| "-".into()),
                    v.files.join(","),
                    if times {
                        format!("  {}", format_rfc3339(v.stored))
                    } else {
                        String::new()
                    },
                ]
            })
        })
        .collect();
    let width = |column: usize| rows.iter().map(|r| r[column].len()).max().unwrap_or(0);
    let (path, version, size, license, kinds) = (width(0), width(1), width(2), width(3), width(4));
    let mut out = String::new();
    for [p, v, s, l, files, stored] in &rows {
        let files = if times {
            format!("{files:kinds$}")
        } else {
            files.clone()
        };
        out.push_str(&format!(
            "{p:path$}  {v:version$}  {s:>size$}  {l:license$}  {files}{stored}\n"
        ));
    }
    out.push_str(&format!(
        "total: {}, {} ({})",
        count(listing.total_modules as u64, "module"),
        count(listing.total_versions as u64, "version"),
        human_bytes(listing.total_bytes)
    ));
    if listing.sumdb_files > 0 {
        out.push_str(&format!(
            ", {} ({}); {} in all",
            count(listing.sumdb_files as u64, "checksum database answer"),
            human_bytes(listing.sumdb_bytes),
            human_bytes(listing.all_bytes)
        ));
    }
    out.push('\n');
    out
}
