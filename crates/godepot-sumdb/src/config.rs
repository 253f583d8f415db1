//! The list of checksum databases godepot proxies, in `GOSUMDB`'s syntax extended to a
//! comma-separated list: `name`, `name+hash+key`, or `name+hash+key URL` per entry; `off`
//! for none.

use crate::{SumdbError, VerifierKey};

/// One configured database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSpec {
    pub name: String,
    /// Known when configured as `name+hash+key`: then godepot verifies what it serves.
    pub key: Option<VerifierKey>,
    /// Where to reach it, without a trailing slash; `None`: through the upstream proxy, else
    /// `https://<name>`, as the go command does.
    pub url: Option<String>,
}

/// Parses the list; `off` (or an empty value) means no database.
pub fn parse_database_list(spec: &str) -> Result<Vec<DatabaseSpec>, SumdbError> {
    let spec = spec.trim();
    if spec.is_empty() || spec == "off" {
        return Ok(Vec::new());
    }
    let mut out: Vec<DatabaseSpec> = Vec::new();
    for entry in spec.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let parsed = parse_entry(entry)?;
        if out.iter().any(|d| d.name == parsed.name) {
            return Err(SumdbError::BadConfig(format!(
                "checksum database {:?} is listed twice",
                parsed.name
            )));
        }
        out.push(parsed);
    }
    Ok(out)
}

fn parse_entry(entry: &str) -> Result<DatabaseSpec, SumdbError> {
    let bad = |why: &str| SumdbError::BadConfig(format!("checksum database {entry:?}: {why}"));
    let mut words = entry.split_whitespace();
    let id = words.next().unwrap_or_default();
    let url = words.next();
    if words.next().is_some() {
        return Err(bad("want 'name', 'name+hash+key' or 'name+hash+key URL'"));
    }
    let (name, key) = if id.contains('+') {
        let key = VerifierKey::parse(id).map_err(|e| bad(&e.to_string()))?;
        (key.name.clone(), Some(key))
    } else {
        (id.to_string(), None)
    };
    if !crate::note::valid_name(&name) || name.contains('/') || name == "off" {
        return Err(bad("invalid name"));
    }
    let url = match url {
        None => None,
        Some(_) if key.is_none() => return Err(bad("a URL needs the key too (name+hash+key URL)")),
        Some(u) if u.starts_with("http://") || u.starts_with("https://") => {
            Some(u.trim_end_matches('/').to_string())
        }
        Some(_) => return Err(bad("the URL must start with http:// or https://")),
    };
    Ok(DatabaseSpec { name, key, url })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::note::testing::TestSigner;

    #[test]
    fn lists_parse() {
        let key = TestSigner::new("sum.test", 3).verifier();
        let list = parse_database_list(&format!(
            "plain.example, {key} http://127.0.0.1:9/sumdb/sum.test/"
        ))
        .unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].name, "plain.example");
        assert!(list[0].key.is_none() && list[0].url.is_none());
        assert_eq!(list[1].name, "sum.test");
        assert_eq!(
            list[1].url.as_deref(),
            Some("http://127.0.0.1:9/sumdb/sum.test")
        );
        assert!(parse_database_list("off").unwrap().is_empty());
        for bad in [
            "a.example,a.example",
            "sum.test+0000+AQ==",
            "a.example http://127.0.0.1:9",
            &format!("{key} ftp://x"),
            &format!("{key} http://x extra"),
            "a/b",
        ] {
            assert!(parse_database_list(bad).is_err(), "{bad}");
        }
    }
}
