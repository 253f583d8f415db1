//! Turning a request path into a validated protocol request, before anything is touched.
//!
//! The go command percent-encodes paths, and module paths use `!` case encoding: so the path
//! is percent-decoded first, then case-decoded and validated. Validation after decoding is
//! what keeps `%2e%2e` and `%2F` from slipping past the checks.

use godepot_module::{ModulePath, Version};
use godepot_sumdb::{SumdbError, SumdbPath};
use percent_encoding::percent_decode_str;

/// The longest request path accepted. Module paths are far shorter in practice.
const MAX_PATH: usize = 2048;

/// A validated request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Healthz,
    Readyz,
    /// `/api/server`: this server's configuration, for clients (`godepot doctor`).
    ServerInfo,
    /// `/metrics`: the Prometheus exposition.
    Metrics,
    List(ModulePath),
    Latest(ModulePath),
    /// `.info` of a canonical version or of a query (branch, commit, shorthand).
    Info(ModulePath, String),
    Mod(ModulePath, Version),
    Zip(ModulePath, Version),
    /// `/sumdb/<name>/…`: a checksum database endpoint (whether `name` is proxied is the
    /// depot's call).
    Sumdb(String, SumdbPath),
    /// `/vulndb/…`: a file of the vulnerability database, plain or `.json.gz`.
    VulnDb(godepot_vulndb::DbPath),
}

/// Why a path was refused. `NotFound` is for well-formed paths that name no endpoint, so a
/// client with a proxy list moves on; `Invalid` is for malformed input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Invalid(String),
    NotFound(String),
}

pub fn parse(raw: &str) -> Result<Request, Refusal> {
    let invalid = |why: &str| Refusal::Invalid(why.to_string());
    if raw.len() > MAX_PATH * 3 {
        return Err(invalid("request path too long"));
    }
    // An encoded separator would let a path element smuggle a '/' (or '\\') past the split
    // into elements; the go command never sends one.
    if has_encoded_separator(raw) {
        return Err(invalid("encoded '/' or '\\' in request path"));
    }
    let decoded = percent_decode_str(raw)
        .decode_utf8()
        .map_err(|_| invalid("request path is not valid UTF-8"))?;
    if decoded.len() > MAX_PATH {
        return Err(invalid("request path too long"));
    }
    if decoded.chars().any(char::is_control) {
        return Err(invalid("request path contains control characters"));
    }
    let path = decoded
        .strip_prefix('/')
        .ok_or_else(|| invalid("request path must start with '/'"))?;
    match path {
        "healthz" => return Ok(Request::Healthz),
        "readyz" => return Ok(Request::Readyz),
        "api/server" => return Ok(Request::ServerInfo),
        "metrics" => return Ok(Request::Metrics),
        _ => {}
    }
    if let Some(rest) = path.strip_prefix("sumdb/") {
        return match SumdbPath::parse(rest) {
            Ok((name, endpoint)) => Ok(Request::Sumdb(name, endpoint)),
            Err(SumdbError::NoSuchEndpoint(why)) => Err(Refusal::NotFound(why)),
            Err(e) => Err(Refusal::Invalid(e.to_string())),
        };
    }
    if let Some(rest) = path.strip_prefix("vulndb/") {
        return match godepot_vulndb::DbPath::parse(rest) {
            Ok(file) => Ok(Request::VulnDb(file)),
            Err(e @ godepot_vulndb::PathError::BadId(_)) => Err(Refusal::Invalid(e.to_string())),
            Err(e) => Err(Refusal::NotFound(format!("not found: {e}"))),
        };
    }
    if path == "vulndb" {
        return Err(Refusal::NotFound(
            "not found: the vulnerability database is served under /vulndb/ (index/db.json, index/modules.json, ID/<id>.json)".into(),
        ));
    }
    if let Some(module) = path.strip_suffix("/@latest") {
        return Ok(Request::Latest(module_path(module)?));
    }
    let Some((module, file)) = path.split_once("/@v/") else {
        return Err(Refusal::NotFound(format!(
            "not found: {path:?} is not a module proxy path (want <module>/@v/list, <module>/@v/<version>.info|.mod|.zip or <module>/@latest)"
        )));
    };
    let module = module_path(module)?;
    if file == "list" {
        return Ok(Request::List(module));
    }
    let Some((version, ext)) = file.rsplit_once('.') else {
        return Err(unknown(file));
    };
    if !matches!(ext, "info" | "mod" | "zip") {
        return Err(unknown(file));
    }
    let version = godepot_module::unescape_version(version)
        .map_err(|e| Refusal::Invalid(format!("{module}: {e}")))?;
    if ext == "info" {
        return Ok(Request::Info(module, version));
    }
    let version =
        Version::for_module(&module, &version).map_err(|e| Refusal::Invalid(e.to_string()))?;
    Ok(if ext == "mod" {
        Request::Mod(module, version)
    } else {
        Request::Zip(module, version)
    })
}

fn has_encoded_separator(raw: &str) -> bool {
    raw.as_bytes().windows(3).any(|w| {
        w[0] == b'%'
            && matches!(
                (w[1], w[2].to_ascii_lowercase()),
                (b'2', b'f') | (b'5', b'c')
            )
    })
}

fn module_path(escaped: &str) -> Result<ModulePath, Refusal> {
    ModulePath::from_escaped(escaped).map_err(|e| Refusal::Invalid(e.to_string()))
}

fn unknown(file: &str) -> Refusal {
    Refusal::NotFound(format!(
        "not found: unknown request {file:?} (want list, <version>.info, .mod or .zip)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, expect: &str) {
        let got = match parse(raw) {
            Ok(r) => format!("{r:?}"),
            Err(Refusal::Invalid(_)) => "invalid".to_string(),
            Err(Refusal::NotFound(_)) => "not found".to_string(),
        };
        assert_eq!(got, expect, "parse({raw:?})");
    }

    #[test]
    fn requests() {
        check("/healthz", "Healthz");
        check("/api/server", "ServerInfo");
        check("/metrics", "Metrics");
        check(
            "/example.com/m/@v/list",
            r#"List(ModulePath("example.com/m"))"#,
        );
        check(
            "/example.com/m/@latest",
            r#"Latest(ModulePath("example.com/m"))"#,
        );
        check(
            "/example.com/%21camel%21case/@v/v1.0.0-%21beta.info",
            r#"Info(ModulePath("example.com/CamelCase"), "v1.0.0-Beta")"#,
        );
        check(
            "/example.com/m/@v/master.info",
            r#"Info(ModulePath("example.com/m"), "master")"#,
        );
        check(
            "/example.com/m/v2/@v/v2.1.0.mod",
            r#"Mod(ModulePath("example.com/m/v2"), Version("v2.1.0"))"#,
        );
        check(
            "/example.com/m/@v/v2.0.0+incompatible.zip",
            r#"Zip(ModulePath("example.com/m"), Version("v2.0.0+incompatible"))"#,
        );
        check(
            "/sumdb/sum.example/supported",
            r#"Sumdb("sum.example", Supported)"#,
        );
        check(
            "/vulndb/index/modules.json.gz",
            "VulnDb(DbPath { file: ModulesIndex, gzip: true })",
        );
        check(
            "/vulndb/ID/GO-2024-0001.json",
            r#"VulnDb(DbPath { file: Entry("GO-2024-0001"), gzip: false })"#,
        );
        check(
            "/sumdb/sum.example/tile/8/0/x001/002.p/3",
            r#"Sumdb("sum.example", Tile(Tile { height: 8, level: Some(0), index: 1002, width: 3 }))"#,
        );
    }

    #[test]
    fn bad_input_is_refused_before_anything_is_touched() {
        for raw in [
            "/example.com/../etc/@v/list",
            "/example.com/%2e%2e/etc/@v/list",
            "/example.com%2F..%2F/@v/list",
            "/example.com%2Ff/@v/list",
            "/example.com/f%2f@v%2flist",
            "/example.com/m%00/@v/list",
            "/example.com/!/@v/list",
            "/example.com/!!m/@v/list",
            "/example.com/!M/@v/list",
            "/example.com/m!/@v/list",
            "/Example.com/m/@v/list",
            "/example.com/m/@v/v1.zip",
            "/example.com/m/@v/1.0.0.mod",
            "/example.com/m/@v/v1.0.0.0.zip",
            "/example.com/m/@v/v2.0.0.zip",
            "/example.com/m/@v/..%2F..%2Fx.info",
            "/example.com/m/@v/%2e%2e.info",
            "/example.com/m/@v/v1.0.0%ff.info",
            "relative/@v/list",
            "/sumdb/../latest",
            "/sumdb/sum.example/%2e%2e/latest",
            "/sumdb/sum.example/lookup/../../etc@v1.0.0",
            "/sumdb/sum.example/tile/8/0/1",
            "/sumdb/sum.example",
            "/vulndb/ID/..json",
            "/vulndb/ID/%2e%2e.json",
            "/vulndb/ID/a%2Fb.json",
            "/vulndb/ID/-x.json",
            "/vulndb/ID/a/b.json",
        ] {
            check(raw, "invalid");
        }
        check(
            &format!("/example.com/{}/@v/list", "a".repeat(5000)),
            "invalid",
        );
        check("/example.com/m/@v/v1.0.0.tar", "not found");
        check("/example.com/m", "not found");
        check("/sumdb/sum.example/other", "not found");
        check("/vulndb/index/other.json", "not found");
        check("/vulndb", "not found");
        check("/vulndb/", "not found");
        check("/", "not found");
    }
}
