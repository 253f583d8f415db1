//! `godepot import`.

use std::path::{Path, PathBuf};

use crate::failure::Failure;

#[derive(Debug, clap::Args)]
pub(crate) struct ImportArgs {
    /// The store to work on.
    #[arg(long, env = "GODEPOT_DATA_DIR", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
}

pub(crate) fn run(_config: Option<&Path>, _args: ImportArgs) -> Result<(), Failure> {
    Err(Failure::runtime("godepot import is not implemented yet"))
}
