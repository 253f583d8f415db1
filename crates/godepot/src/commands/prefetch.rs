//! `godepot prefetch`.

use std::path::{Path, PathBuf};

use crate::failure::Failure;

#[derive(Debug, clap::Args)]
pub(crate) struct PrefetchArgs {
    /// The store to work on.
    #[arg(long, env = "GODEPOT_DATA_DIR", value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
}

pub(crate) fn run(_config: Option<&Path>, _args: PrefetchArgs) -> Result<(), Failure> {
    Err(Failure::runtime("godepot prefetch is not implemented yet"))
}
