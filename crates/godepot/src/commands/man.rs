//! `godepot man --out DIR` (hidden): the manual pages, one per command and subcommand
//! (`godepot.1`, `godepot-serve.1`, `godepot-token-add.1`, …), rendered from the clap
//! definitions by clap_mangen. The definitions live in this binary crate, so this is where
//! they can be rendered; `cargo run -p xtask -- man` runs it into `target/man/`.

use std::path::{Path, PathBuf};

use clap::CommandFactory;

use crate::failure::Failure;

/// Write the manual pages (roff) into a directory.
#[derive(Debug, clap::Args)]
pub(crate) struct ManArgs {
    /// The directory to write `godepot*.1` into (created if absent).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: PathBuf,
}

pub(crate) fn run(args: ManArgs) -> Result<(), Failure> {
    write_pages(&args.out).map_err(|e| {
        Failure::runtime(format!(
            "cannot write man pages into {}: {e}",
            args.out.display()
        ))
    })
}

/// Every visible command's page into `dir`.
pub(crate) fn write_pages(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    clap_mangen::generate_to(crate::cli::Cli::command(), dir)
}
