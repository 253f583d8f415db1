//! `godepot ls`: what the store holds.

use std::path::{Path, PathBuf};

use godepot_bundle::ls::{Listing, list};

use crate::datadir;
use crate::failure::Failure;
use crate::progress::human_bytes;

/// List held modules and versions with their sizes, and a total.
///
/// Examples:
///   godepot ls                      # everything
///   godepot ls 'example.com/*'      # GOPRIVATE-style globs over leading path elements
///   godepot ls github.com/acme      # or a plain prefix
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct LsArgs {
    /// The store to work on.
    #[arg(long, env = "GODEPOT_DATA_DIR", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,

    /// Only modules matching: comma-separated globs (as in GOPRIVATE) or a plain prefix.
    #[arg(value_name = "PATTERN")]
    pub(crate) pattern: Option<String>,

    /// Print the listing as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn run(_config: Option<&Path>, args: LsArgs) -> Result<(), Failure> {
    let root = datadir::existing(args.data_dir)?;
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

/// One line per version (`module version size files`), then the total.
fn render(listing: &Listing) -> String {
    let width = listing
        .modules
        .iter()
        .map(|m| m.path.len())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for module in &listing.modules {
        for v in &module.versions {
            out.push_str(&format!(
                "{:width$}  {:<24} {:>10}  {}\n",
                module.path,
                v.version,
                human_bytes(v.bytes),
                v.files.join(",")
            ));
        }
    }
    out.push_str(&format!(
        "total: {} modules, {} versions, {}\n",
        listing.total_modules,
        listing.total_versions,
        human_bytes(listing.total_bytes)
    ));
    out
}
