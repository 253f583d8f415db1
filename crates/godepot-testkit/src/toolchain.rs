//! A fake Go toolchain as the go command downloads one: the module `golang.org/toolchain` at
//! `v0.0.1-go<version>.<goos>-<goarch>`, whose zip holds `bin/go` (here a shell script that
//! prints a recognisable version line), `bin/gofmt`, `lib/` and `pkg/tool/<goos>_<goarch>/`.
//! The go command sets the execute bits itself after unpacking.

use std::process::Command;

use crate::universe::UniverseBuilder;

/// The toolchain module's path.
pub const MODULE: &str = "golang.org/toolchain";

/// What the fake `bin/go` prints for `go version` (and any other command).
pub fn banner(go_version: &str) -> String {
    format!("go version go{go_version} godepot-fixture-toolchain")
}

/// The host's `GOOS` and `GOARCH`, as the go command under test sees them.
pub fn host_platform() -> (String, String) {
    crate::gocmd::require_go();
    let out = Command::new("go")
        .args(["env", "GOOS", "GOARCH"])
        .env("GOTOOLCHAIN", "local")
        .env_remove("GOOS")
        .env_remove("GOARCH")
        .output()
        .expect("go env GOOS GOARCH");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut lines = text.lines();
    let goos = lines.next().expect("GOOS").trim().to_string();
    let goarch = lines.next().expect("GOARCH").trim().to_string();
    (goos, goarch)
}

/// The module version of the toolchain for `go_version` on the host.
pub fn version(go_version: &str) -> String {
    let (goos, goarch) = host_platform();
    format!("v0.0.1-go{go_version}.{goos}-{goarch}")
}

/// Adds the fake toolchain for `go_version` (e.g. `1.99.0`) on the host's platform.
pub fn add_fake_toolchain(builder: UniverseBuilder, go_version: &str) -> UniverseBuilder {
    let (goos, goarch) = host_platform();
    let script = format!("#!/bin/sh\necho \"{}\"\n", banner(go_version));
    builder
        .module(MODULE)
        .version(&version(go_version))
        .no_go_mod()
        .file("bin/go", script.clone())
        .file("bin/gofmt", "#!/bin/sh\nexit 0\n")
        .file("lib/time/README", "fixture toolchain\n")
        .file(
            &format!("pkg/tool/{goos}_{goarch}/README"),
            "fixture toolchain\n",
        )
        .file("VERSION", format!("go{go_version}\n"))
}
