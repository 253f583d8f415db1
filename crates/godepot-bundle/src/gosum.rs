use std::collections::HashMap;
use std::path::Path;

use godepot_module::parse_go_sum;

use crate::BundleError;

/// Hashes that go.sum files insist on, keyed by (module, version, is the line `/go.mod`).
#[derive(Debug, Default, Clone)]
pub struct GoSums {
    hashes: HashMap<(String, String, bool), Vec<(String, String)>>,
}

impl GoSums {
    /// Reads every given go.sum file; a malformed line is an error naming file and line.
    pub fn load(paths: &[impl AsRef<Path>]) -> Result<GoSums, BundleError> {
        let mut sums = GoSums::default();
        for path in paths {
            let path = path.as_ref();
            let data = std::fs::read(path).map_err(BundleError::io(path))?;
            sums.add(&path.display().to_string(), &data)?;
        }
        Ok(sums)
    }

    /// Adds the lines of one go.sum; `origin` names it in messages.
    pub fn add(&mut self, origin: &str, data: &[u8]) -> Result<(), BundleError> {
        let lines =
            parse_go_sum(data).map_err(|e| BundleError::Invalid(format!("{origin}: {e}")))?;
        for line in lines {
            self.hashes
                .entry((line.path, line.version, line.go_mod))
                .or_default()
                .push((line.hash, origin.to_owned()));
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// `Err` naming the go.sum whose line disagrees with `actual`; `Ok` when every line for
    /// this (module, version, kind) agrees or there is none.
    pub fn check(
        &self,
        module: &str,
        version: &str,
        go_mod: bool,
        actual: &str,
    ) -> Result<(), String> {
        let key = (module.to_owned(), version.to_owned(), go_mod);
        for (want, origin) in self.hashes.get(&key).into_iter().flatten() {
            if want != actual {
                let what = if go_mod { "/go.mod" } else { "" };
                return Err(format!(
                    "{origin} records {module} {version}{what} {want}, but the file hashes to {actual}"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_table() {
        let mut sums = GoSums::default();
        sums.add(
            "go.sum",
            b"example.com/a v1.0.0 h1:zip=\nexample.com/a v1.0.0/go.mod h1:mod=\n",
        )
        .unwrap();
        let cases = [
            ("example.com/a", "v1.0.0", false, "h1:zip=", true),
            ("example.com/a", "v1.0.0", true, "h1:mod=", true),
            ("example.com/a", "v1.0.0", false, "h1:other=", false),
            ("example.com/a", "v1.0.0", true, "h1:zip=", false),
            ("example.com/b", "v1.0.0", false, "h1:anything=", true),
        ];
        for (m, v, go_mod, actual, ok) in cases {
            assert_eq!(
                sums.check(m, v, go_mod, actual).is_ok(),
                ok,
                "{m} {v} {go_mod} {actual}"
            );
        }
        assert!(sums.add("bad.sum", b"only two\n").is_err());
    }
}
