//! `xtask man`: the manual pages into `target/man/godepot*.1`. The clap definitions live in
//! the godepot binary crate, so the binary renders them (its hidden `man` command); this
//! task builds it and says where the pages went.

use std::path::PathBuf;
use std::process::{Command, ExitCode};

use crate::cargo::{build_godepot, workspace_root};

#[derive(clap::Args)]
pub(crate) struct ManArgs {
    /// Where the pages go [default: <workspace>/target/man].
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

pub(crate) fn run(args: ManArgs) -> ExitCode {
    let root = workspace_root();
    let out = args.out.unwrap_or_else(|| root.join("target").join("man"));
    let result = build_godepot(&root, &[], &[]).and_then(|godepot| {
        let status = Command::new(&godepot)
            .arg("man")
            .arg("--out")
            .arg(&out)
            .status()
            .map_err(|e| format!("cannot run {}: {e}", godepot.display()))?;
        match status.success() {
            true => Ok(()),
            false => Err(format!("{} man failed ({status})", godepot.display())),
        }
    });
    match result {
        Ok(()) => {
            println!(
                "man pages written to {} (read one with `man -l`)",
                out.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
