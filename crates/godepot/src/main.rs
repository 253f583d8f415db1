//! The `godepot` binary: command line, configuration, logging, and error rendering. The
//! only crate that prints; everything it runs lives in the library crates.

mod cli;
mod commands;
mod config;
mod datadir;
mod discover;
mod duration;
mod failure;
mod logging;
mod memory;
mod progress;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    memory::limit_arenas();
    let cli = cli::Cli::parse();
    let config = cli.config.as_deref();
    let result = match cli.command {
        cli::Command::Serve(args) => commands::serve::run(config, args),
        cli::Command::Prefetch(args) => commands::prefetch::run(config, args),
        cli::Command::Export(args) => commands::export::run(config, args),
        cli::Command::Import(args) => commands::import::run(config, args),
        cli::Command::Verify(args) => commands::verify::run(config, args),
        cli::Command::Ls(args) => commands::ls::run(config, args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.render();
            ExitCode::from(failure.exit_code())
        }
    }
}
