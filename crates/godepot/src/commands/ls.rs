//! `godepot ls`.

use std::path::{Path, PathBuf};

use crate::failure::Failure;

#[derive(Debug, clap::Args)]
pub(crate) struct LsArgs {
    /// The store to work on.
    #[arg(long, env = "GODEPOT_DATA_DIR", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
}

pub(crate) fn run(_config: Option<&Path>, _args: LsArgs) -> Result<(), Failure> {
    Err(Failure::runtime("godepot ls is not implemented yet"))
}
