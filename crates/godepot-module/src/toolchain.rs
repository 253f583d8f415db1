//! Go toolchains as modules: since Go 1.21 the go command downloads a toolchain as the module
//! `golang.org/toolchain` at `v0.0.1-go<version>.<goos>-<goarch>`, so a module proxy serves
//! toolchains like any other module (and the checksum database vouches for them).

use crate::{ModuleError, ModulePath, Version};

/// The module path the go command fetches toolchains from.
pub const TOOLCHAIN_MODULE: &str = "golang.org/toolchain";

/// The toolchain module and version for a Go release on one platform.
///
/// `go` may be written `go1.22.3`, `1.22.3`, `go1.23rc1`; `goos`/`goarch` as the go command
/// names them (`linux`, `amd64`).
pub fn toolchain_version(
    go: &str,
    goos: &str,
    goarch: &str,
) -> Result<(ModulePath, Version), ModuleError> {
    let release = go.strip_prefix("go").unwrap_or(go);
    let invalid = |reason: &str| ModuleError::InvalidVersion {
        path: TOOLCHAIN_MODULE.to_string(),
        version: go.to_string(),
        reason: reason.to_string(),
    };
    let well_formed = release.starts_with(|c: char| c.is_ascii_digit())
        && release
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.')
        && !release.contains("..")
        && !release.ends_with('.');
    if !well_formed {
        return Err(invalid(
            "not a Go release (want e.g. go1.22.3 or go1.23rc1)",
        ));
    }
    let platform_ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
    };
    if !platform_ok(goos) || !platform_ok(goarch) {
        return Err(invalid("platform must be GOOS/GOARCH, e.g. linux/amd64"));
    }
    let module = ModulePath::parse(TOOLCHAIN_MODULE)?;
    let version = Version::for_module(&module, &format!("v0.0.1-go{release}.{goos}-{goarch}"))?;
    Ok((module, version))
}

/// The go command's name for the platform this program was built for.
pub fn host_platform() -> (&'static str, &'static str) {
    let goos = match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    };
    let goarch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "loongarch64" => "loong64",
        "powerpc64" => "ppc64",
        other => other,
    };
    (goos, goarch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(go: &str, goos: &str, goarch: &str, expect: &str) {
        let got = match toolchain_version(go, goos, goarch) {
            Ok((m, v)) => format!("{m}@{v}"),
            Err(_) => "error".to_string(),
        };
        assert_eq!(got, expect, "{go} {goos}/{goarch}");
    }

    #[test]
    fn toolchain_versions() {
        check(
            "go1.22.3",
            "linux",
            "amd64",
            "golang.org/toolchain@v0.0.1-go1.22.3.linux-amd64",
        );
        check(
            "1.22.3",
            "darwin",
            "arm64",
            "golang.org/toolchain@v0.0.1-go1.22.3.darwin-arm64",
        );
        check(
            "go1.23rc1",
            "windows",
            "386",
            "golang.org/toolchain@v0.0.1-go1.23rc1.windows-386",
        );
        check(
            "go1.99.0",
            "linux",
            "amd64",
            "golang.org/toolchain@v0.0.1-go1.99.0.linux-amd64",
        );
        check("gox", "linux", "amd64", "error");
        check("go1..2", "linux", "amd64", "error");
        check("go1.2/../x", "linux", "amd64", "error");
        check("go1.22.3", "Linux", "amd64", "error");
        check("go1.22.3", "linux", "", "error");
    }
}
