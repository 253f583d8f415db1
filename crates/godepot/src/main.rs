//! The `godepot` binary: command line, configuration, logging, and error rendering. The
//! only crate that prints; everything it runs lives in the library crates.

mod cli;
mod commands;
mod config;
mod datadir;
mod discover;
#[cfg(test)]
mod docs_tests;
mod duration;
mod failure;
mod hangup;
mod logging;
mod memory;
mod policy;
mod progress;
mod settings;
mod storage;
mod version;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    memory::limit_arenas();
    let cli = cli::Cli::parse();
    let result = config::ConfigFile::load(cli.config.as_deref()).and_then(|file| {
        let file = &file;
        match cli.command {
            cli::Command::Serve(args) => commands::serve::run(file, *args),
            cli::Command::Prefetch(args) => commands::prefetch::run(file, args),
            cli::Command::Export(args) => commands::export::run(file, args),
            cli::Command::Import(args) => commands::import::run(file, args),
            cli::Command::Verify(args) => commands::verify::run(file, args),
            cli::Command::Diff(args) => commands::diff::run(args),
            cli::Command::Check(args) => commands::check::run(file, args),
            cli::Command::Audit(args) => commands::audit::run(file, args),
            cli::Command::Ls(args) => commands::ls::run(file, args),
            cli::Command::Token(args) => commands::token::run(file, args),
            cli::Command::Rm(args) => commands::rm::run(file, args),
            cli::Command::Doctor(args) => commands::doctor::run(file, args),
            cli::Command::Gc(args) => commands::gc::run(file, args),
            cli::Command::Sync(args) => commands::sync::run(file, args),
            cli::Command::Reindex(args) => commands::reindex::run(file, args),
            cli::Command::Health(args) => commands::health::run(file, args),
            cli::Command::Completions(args) => commands::completions::run(args),
            cli::Command::Man(args) => commands::man::run(args),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            failure.render();
            ExitCode::from(failure.exit_code())
        }
    }
}
