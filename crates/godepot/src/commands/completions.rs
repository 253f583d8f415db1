//! `godepot completions SHELL`: shell completions, generated from the same clap definitions
//! as the command line itself, so they can never name a flag that does not exist.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::failure::Failure;

/// Print a completion script for a shell on stdout.
///
/// Examples:
///   godepot completions bash > /etc/bash_completion.d/godepot
///   godepot completions zsh  > "${fpath[1]}/_godepot"
///   godepot completions fish > ~/.config/fish/completions/godepot.fish
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_name = "SHELL")]
    pub(crate) shell: Shell,
}

pub(crate) fn run(args: CompletionsArgs) -> Result<(), Failure> {
    let mut command = crate::cli::Cli::command();
    clap_complete::generate(args.shell, &mut command, "godepot", &mut std::io::stdout());
    Ok(())
}
