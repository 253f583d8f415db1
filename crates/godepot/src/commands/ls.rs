//! `godepot ls`: what the store holds.

use godepot_bundle::ls::{Listing, list};

use crate::config::ConfigFile;
use crate::datadir;
use crate::failure::Failure;
use crate::progress::{count, human_bytes};
use crate::settings::StoreSettings;

/// List held modules and versions with their sizes, and a total.
///
/// Examples:
///   godepot ls                      # everything
///   godepot ls 'example.com/*'      # GOPRIVATE-style globs over leading path elements
///   godepot ls github.com/acme      # or a plain prefix
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct LsArgs {
    #[command(flatten)]
    pub(crate) store: StoreSettings,

    /// Only modules matching: comma-separated globs (as in GOPRIVATE) or a plain prefix.
    #[arg(value_name = "PATTERN")]
    pub(crate) pattern: Option<String>,

    /// Print the listing as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn run(file: &ConfigFile, args: LsArgs) -> Result<(), Failure> {
    let root = datadir::existing(&file.merge(args.store)?)?;
    let listing = list(&root, args.pattern.as_deref())
        .map_err(|e| Failure::runtime(format!("cannot list {}: {e}", root.display())))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&listing).unwrap_or_default()
        );
    } else {
        print!("{}", render(&listing));
    }
    Ok(())
}

/// One line per version (`module version size files`, in aligned columns), then the total.
fn render(listing: &Listing) -> String {
    let rows: Vec<[String; 4]> = listing
        .modules
        .iter()
        .flat_map(|m| {
            m.versions.iter().map(|v| {
                [
                    m.path.clone(),
                    v.version.clone(),
                    human_bytes(v.bytes),
                    v.files.join(","),
                ]
            })
        })
        .collect();
    let width = |column: usize| rows.iter().map(|r| r[column].len()).max().unwrap_or(0);
    let (path, version, size) = (width(0), width(1), width(2));
    let mut out = String::new();
    for [p, v, s, files] in &rows {
        out.push_str(&format!("{p:path$}  {v:version$}  {s:>size$}  {files}\n"));
    }
    out.push_str(&format!(
        "total: {}, {} ({})",
        count(listing.total_modules as u64, "module"),
        count(listing.total_versions as u64, "version"),
        human_bytes(listing.total_bytes)
    ));
    if listing.sumdb_files > 0 {
        out.push_str(&format!(
            ", {} ({})",
            count(listing.sumdb_files as u64, "checksum database answer"),
            human_bytes(listing.sumdb_bytes)
        ));
    }
    out.push('\n');
    out
}
