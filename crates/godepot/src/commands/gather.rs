//! What prefetch gathers and check looks for, named once: the inputs (projects, module
//! versions, list files), the toolchains, and how far the module graph is walked. `export`
//! parses its inputs here too.

use godepot_prefetch::{Platform, PrefetchOptions};
use godepot_resolve::Input;

use crate::failure::Failure;

#[derive(Debug, clap::Args)]
pub(crate) struct GatherArgs {
    /// What to gather for: go.mod, go.work or go.sum files; directories (every go.mod and
    /// go.work below them, skipping vendor, testdata and dot-dirs); module@version or
    /// module@latest; or files listing those, one per line (# starts a comment).
    #[arg(value_name = "INPUT", required_unless_present = "toolchain")]
    pub(crate) inputs: Vec<String>,

    /// A Go toolchain to gather (the `golang.org/toolchain` module the go command downloads
    /// for GOTOOLCHAIN), e.g. go1.22.3. Repeatable.
    #[arg(long, value_name = "GOVERSION")]
    pub(crate) toolchain: Vec<String>,

    /// Platforms of the toolchain downloads (--toolchain, and those the projects name), as
    /// GOOS/GOARCH. Repeatable [default: this machine's].
    #[arg(long, value_name = "GOOS/GOARCH")]
    pub(crate) platform: Vec<String>,

    /// Leave out the toolchains the projects' go.mod and go.work files name (their
    /// `toolchain` line, or a `go` line naming a release such as `go 1.22.6`), which the go
    /// command switches to with GOTOOLCHAIN=auto.
    #[arg(long)]
    pub(crate) no_toolchains: bool,

    /// For module@version inputs, only that version, not what it needs to build.
    #[arg(long)]
    pub(crate) no_deps: bool,

    /// Walk the whole unpruned module graph, not only what the go command loads: a superset
    /// for go commands not foreseen here. A go.mod that cannot be had outside the loaded
    /// graph is then a warning, not a failure.
    #[arg(long)]
    pub(crate) full_graph: bool,
}

impl GatherArgs {
    /// The inputs, with one per `--toolchain` and platform.
    pub(crate) fn inputs(&self) -> Result<Vec<Input>, Failure> {
        let mut inputs = parse_inputs(&self.inputs)?;
        let named = self.toolchain.iter().map(String::as_str);
        inputs.extend(
            godepot_prefetch::toolchain_inputs(named, &self.platforms()?)
                .map_err(|e| Failure::config(format!("--{e}")))?,
        );
        Ok(inputs)
    }

    /// How far to gather; `private` and `jobs` are prefetch's own.
    pub(crate) fn options(&self, private: String, jobs: usize) -> Result<PrefetchOptions, Failure> {
        Ok(PrefetchOptions {
            jobs,
            query_deps: !self.no_deps,
            full_graph: self.full_graph,
            toolchains: !self.no_toolchains,
            platforms: self.platforms()?,
            private,
        })
    }

    fn platforms(&self) -> Result<Vec<Platform>, Failure> {
        Platform::parse_all(&self.platform).map_err(|e| Failure::config(e.0))
    }
}

/// Parses input arguments as prefetch, export and check take them.
pub(crate) fn parse_inputs(args: &[String]) -> Result<Vec<Input>, Failure> {
    args.iter()
        .map(|arg| {
            Input::parse_arg(arg).map_err(|e| {
                Failure::config(e.to_string()).hint(
                    "give go.mod, go.work or go.sum files, directories, list files, or module@version",
                )
            })
        })
        .collect()
}
