//! Developer tasks for the godepot workspace.
//!
//! `cargo run --release -p xtask -- bench [--quick] [--out DIR]` runs the benchmark harness
//! described in `BENCHMARKS.md`: godepot side by side with nginx serving the same files.

mod bench;

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
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Bench(args) => bench::run(args),
    }
}
