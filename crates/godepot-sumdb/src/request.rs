//! A request under `/sumdb/<name>/`, validated before anything is fetched.

use godepot_module::{ModulePath, Version, escape_path, escape_version, unescape_version};

use crate::{SumdbError, Tile};

/// What is asked of a checksum database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SumdbPath {
    Supported,
    Latest,
    Lookup(ModulePath, Version),
    Tile(Tile),
}

impl SumdbPath {
    /// Parses `<name>/<endpoint>` (the part after `/sumdb/`, percent-decoded) into the
    /// database name and the endpoint. Only canonical spellings pass, so one answer has
    /// one cache file, and no `..`, empty element or backslash ever reaches a file name.
    pub fn parse(path: &str) -> Result<(String, SumdbPath), SumdbError> {
        let invalid = |why: &str| SumdbError::BadRequest(format!("/sumdb/{path}: {why}"));
        if path
            .split('/')
            .any(|e| e.is_empty() || e == "." || e == "..")
            || path.contains('\\')
        {
            return Err(invalid("empty, '.' or '..' path element"));
        }
        let (name, rest) = path
            .split_once('/')
            .ok_or_else(|| invalid("no endpoint after the database name"))?;
        if !crate::note::valid_name(name) {
            return Err(invalid("invalid database name"));
        }
        let endpoint = match rest {
            "supported" => SumdbPath::Supported,
            "latest" => SumdbPath::Latest,
            _ if rest.starts_with("lookup/") => {
                let what = &rest["lookup/".len()..];
                let (module, version) = what
                    .rsplit_once('@')
                    .ok_or_else(|| invalid("lookup without '@<version>'"))?;
                let module =
                    ModulePath::from_escaped(module).map_err(|e| invalid(&e.to_string()))?;
                let version = unescape_version(version).map_err(|e| invalid(&e.to_string()))?;
                let version =
                    Version::for_module(&module, &version).map_err(|e| invalid(&e.to_string()))?;
                let parsed = SumdbPath::Lookup(module, version);
                if parsed.rel() != rest {
                    return Err(invalid("non-canonical lookup path"));
                }
                parsed
            }
            _ if rest.starts_with("tile/") => {
                SumdbPath::Tile(Tile::parse(rest).map_err(|e| invalid(&e.to_string()))?)
            }
            _ => {
                return Err(SumdbError::NoSuchEndpoint(format!(
                    "not found: /sumdb/{path} (want supported, latest, lookup/<module>@<version> or tile/…)"
                )));
            }
        };
        Ok((name.to_string(), endpoint))
    }

    /// The path relative to the database's root, as sent to it (and as cached).
    pub fn rel(&self) -> String {
        match self {
            SumdbPath::Supported => "supported".into(),
            SumdbPath::Latest => "latest".into(),
            SumdbPath::Lookup(m, v) => format!(
                "lookup/{}@{}",
                escape_path(m.as_str()).unwrap_or_default(),
                escape_version(v.as_str()).unwrap_or_default()
            ),
            SumdbPath::Tile(t) => t.path(),
        }
    }

    /// Whether the answer can never change: lookup records and full tiles.
    pub fn is_immutable(&self) -> bool {
        match self {
            SumdbPath::Lookup(..) => true,
            SumdbPath::Tile(t) => t.is_full(),
            SumdbPath::Supported | SumdbPath::Latest => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse() {
        let ok = |p: &str| SumdbPath::parse(p).unwrap();
        assert_eq!(
            ok("sum.test/supported"),
            ("sum.test".into(), SumdbPath::Supported)
        );
        assert_eq!(ok("sum.test/latest").1, SumdbPath::Latest);
        assert_eq!(
            ok("sum.test/lookup/example.com/!upper@v1.0.0-!beta")
                .1
                .rel(),
            "lookup/example.com/!upper@v1.0.0-!beta"
        );
        assert_eq!(
            ok("sum.test/tile/8/0/x001/234.p/5").1.rel(),
            "tile/8/0/x001/234.p/5"
        );
        assert!(ok("sum.test/tile/8/0/000").1.is_immutable());
        assert!(!ok("sum.test/tile/8/0/000.p/3").1.is_immutable());
    }

    #[test]
    fn tricks_are_refused() {
        for p in [
            "sum.test/../latest",
            "../etc/passwd",
            "sum.test//latest",
            "sum.test/lookup/../../x@v1.0.0",
            "sum.test/lookup/example.com/m@v1",
            "sum.test/lookup/example.com/M@v1.0.0",
            "sum.test/tile/8/0/../../latest",
            "sum.test/tile/8/0/1",
            "sum.test\\x/latest",
            "sum+test/latest",
            "sum.test",
        ] {
            assert!(
                matches!(SumdbPath::parse(p), Err(SumdbError::BadRequest(_))),
                "{p}"
            );
        }
        assert!(matches!(
            SumdbPath::parse("sum.test/other"),
            Err(SumdbError::NoSuchEndpoint(_))
        ));
    }
}
