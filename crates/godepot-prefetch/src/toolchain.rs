//! Go toolchains as module versions: `golang.org/toolchain@v0.0.1-go<version>.<goos>-<goarch>`,
//! what the go command downloads when `GOTOOLCHAIN` asks for another release: the ones named
//! with `--toolchain`, and (unless turned off) the ones the inputs' go.mod and go.work files
//! make the go command switch to (`godepot_resolve::Resolution::toolchains`).

use godepot_resolve::{Input, ModSource, Problem, Query, Resolution, ResolveOptions, resolve};

use crate::PrefetchOptions;

/// A `--toolchain` or `--platform` value that names nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolchainError(pub String);

impl std::fmt::Display for ToolchainError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ToolchainError {}

/// A platform toolchains are gathered for, as the go command names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub goos: String,
    pub goarch: String,
}

impl Platform {
    /// This machine's.
    pub fn host() -> Self {
        let (goos, goarch) = godepot_module::host_platform();
        Platform {
            goos: goos.into(),
            goarch: goarch.into(),
        }
    }

    /// `GOOS/GOARCH` values; none means this machine's.
    pub fn parse_all(args: &[String]) -> Result<Vec<Platform>, ToolchainError> {
        if args.is_empty() {
            return Ok(vec![Platform::host()]);
        }
        args.iter()
            .map(|p| match p.split_once('/') {
                Some((goos, goarch)) => Ok(Platform {
                    goos: goos.into(),
                    goarch: goarch.into(),
                }),
                None => Err(ToolchainError(format!(
                    "--platform {p:?}: want GOOS/GOARCH, e.g. linux/amd64"
                ))),
            })
            .collect()
    }
}

/// One input per toolchain (`go1.22.3`) and platform.
pub fn toolchain_inputs<'a>(
    releases: impl IntoIterator<Item = &'a str>,
    platforms: &[Platform],
) -> Result<Vec<Input>, ToolchainError> {
    let mut inputs = Vec::new();
    for go in releases {
        for p in platforms {
            let (module, version) = godepot_module::toolchain_version(go, &p.goos, &p.goarch)
                .map_err(|e| ToolchainError(format!("toolchain {go}: {e}")))?;
            inputs.push(Input::Query {
                module,
                query: Query::Version(version),
            });
        }
    }
    Ok(inputs)
}

/// Resolves `inputs`, then (with [`PrefetchOptions::toolchains`]) the toolchains they name.
pub(crate) async fn resolve_all<S: ModSource + ?Sized>(
    inputs: &[Input],
    source: &S,
    options: &PrefetchOptions,
) -> Resolution {
    let mut resolution = resolve(inputs, source, &options.resolve()).await;
    if !options.toolchains || resolution.toolchains.is_empty() {
        return resolution;
    }
    let named = resolution.toolchains.iter().map(String::as_str);
    let named = match toolchain_inputs(named, &options.platforms) {
        Ok(named) => named,
        Err(e) => {
            resolution.problems.push(Problem::new("toolchains", e.0));
            return resolution;
        }
    };
    // A toolchain module has no dependencies.
    let just_these = ResolveOptions {
        query_deps: false,
        ..options.resolve()
    };
    let more = resolve(&named, source, &just_these).await;
    resolution.needs.extend(more.needs);
    resolution.problems.extend(more.problems);
    resolution.problems.sort();
    resolution.problems.dedup();
    resolution
}

#[cfg(test)]
mod tests {
    use godepot_resolve::{Input, MemorySource};

    use super::{Platform, resolve_all};
    use crate::PrefetchOptions;

    #[tokio::test]
    async fn the_toolchain_a_go_mod_names_is_needed_for_each_platform_unless_turned_off() {
        let tmp = tempfile::tempdir().unwrap();
        let go_mod = tmp.path().join("go.mod");
        std::fs::write(
            &go_mod,
            "module example.com/app\n\ngo 1.22.0\n\ntoolchain go1.22.6\n",
        )
        .unwrap();
        let inputs = [Input::parse_arg(go_mod.to_str().unwrap()).unwrap()];
        let mut source = MemorySource::new();
        for platform in ["linux-amd64", "darwin-arm64"] {
            let version = format!("v0.0.1-go1.22.6.{platform}");
            source = source.with(
                "golang.org/toolchain",
                &version,
                "module golang.org/toolchain\n",
            );
        }
        let platforms = ["linux/amd64", "darwin/arm64"].map(String::from);
        let mut options = PrefetchOptions {
            platforms: Platform::parse_all(&platforms).unwrap(),
            ..PrefetchOptions::default()
        };
        let got = resolve_all(&inputs, &source, &options).await;
        let zips: Vec<String> = got
            .needs
            .zips
            .iter()
            .map(|(m, v)| format!("{m}@{v}"))
            .collect();
        assert_eq!(
            zips,
            [
                "golang.org/toolchain@v0.0.1-go1.22.6.darwin-arm64",
                "golang.org/toolchain@v0.0.1-go1.22.6.linux-amd64",
            ]
        );
        assert!(got.problems.is_empty(), "{:?}", got.problems);

        options.toolchains = false;
        let got = resolve_all(&inputs, &source, &options).await;
        assert!(got.needs.zips.is_empty(), "{:?}", got.needs);
    }
}
