//! The `godepot` binary: command line, configuration, logging, and error rendering. The
//! only crate that prints; everything it runs lives in the library crates.

mod cli;
mod config;
mod discover;
mod duration;
mod failure;
mod logging;
mod serve;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let result = match cli.command {
        cli::Command::Serve(args) => serve::run(cli.config.as_deref(), args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.render();
            ExitCode::from(failure.exit_code())
        }
    }
}
