//! Developer tasks for the godepot workspace.
//!
//! `cargo run --release -p xtask -- bench [--quick] [--out DIR]` runs the benchmark harness
//! described in `BENCHMARKS.md`: godepot side by side with nginx serving the same files.
//! `cargo run -p xtask -- man` writes the manual pages into `target/man/`;
//! `cargo run -p xtask -- release [--check-reproducible]` the release binaries into `target/dist/`.

mod bench;
mod cargo;
mod man;
mod release;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "xtask", about = "Developer tasks for the godepot workspace")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Benchmark godepot against nginx serving the same store (see BENCHMARKS.md).
    Bench(bench::BenchArgs),
    /// Write the manual pages, one per command, into target/man/godepot*.1.
    Man(man::ManArgs),
    /// Build the static release binaries, their SHA-256 sums and release notes (target/dist/).
    Release(release::ReleaseArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Bench(args) => bench::run(args),
        Command::Man(args) => man::run(args),
        Command::Release(args) => release::run(args),
    }
}
