//! go.sum lines: `<module> <version>[/go.mod] <hash>`.
//!
//! A proxy reads go.sum to learn which hashes a client will insist on, so a
//! malformed line is an error with its line number rather than something skipped.

/// One go.sum line. `go_mod` is true for `<version>/go.mod` lines, which hash only
/// the go.mod file rather than the whole module zip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumLine {
    pub path: String,
    pub version: String,
    pub go_mod: bool,
    pub hash: String,
}

/// A malformed go.sum line, with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("go.sum line {line}: {message}")]
pub struct GoSumError {
    pub line: usize,
    pub message: String,
}

/// Parses go.sum content. Blank lines are skipped, as the go command does.
pub fn parse_go_sum(data: &[u8]) -> Result<Vec<SumLine>, GoSumError> {
    let text = std::str::from_utf8(data).map_err(|e| GoSumError {
        line: 1 + data[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
        message: "invalid UTF-8".into(),
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            parse_line(l).map_err(|message| GoSumError {
                line: i + 1,
                message,
            })
        })
        .collect()
}

fn parse_line(line: &str) -> Result<SumLine, String> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [path, version, hash] = fields[..] else {
        return Err(format!("expected 3 fields, found {}", fields.len()));
    };
    let (version, go_mod) = match version.strip_suffix("/go.mod") {
        Some(v) => (v, true),
        None => (version, false),
    };
    let (algorithm, digest) = hash
        .split_once(':')
        .ok_or_else(|| format!("malformed hash {hash:?}"))?;
    if algorithm.is_empty() || digest.is_empty() {
        return Err(format!("malformed hash {hash:?}"));
    }
    Ok(SumLine {
        path: path.to_owned(),
        version: version.to_owned(),
        go_mod,
        hash: hash.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_table() {
        fn check(src: &str, expect: Result<Vec<(&str, &str, bool, &str)>, &str>) {
            let got = parse_go_sum(src.as_bytes()).map_err(|e| e.to_string());
            let got = got.map(|lines| {
                lines
                    .into_iter()
                    .map(|l| (l.path, l.version, l.go_mod, l.hash))
                    .collect::<Vec<_>>()
            });
            let expect = expect
                .map(|v| {
                    v.into_iter()
                        .map(|(p, v, g, h)| (p.to_owned(), v.to_owned(), g, h.to_owned()))
                        .collect::<Vec<_>>()
                })
                .map_err(str::to_owned);
            assert_eq!(got, expect, "{src:?}");
        }
        check("", Ok(vec![]));
        check(
            "rsc.io/quote v1.5.2 h1:w5fcysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y=\n\n\
             rsc.io/quote v1.5.2/go.mod h1:LzX7hefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0=\n",
            Ok(vec![
                (
                    "rsc.io/quote",
                    "v1.5.2",
                    false,
                    "h1:w5fcysjrx7yqtD/aO+QwRjYZOKnaM9Uh2b40tElTs3Y=",
                ),
                (
                    "rsc.io/quote",
                    "v1.5.2",
                    true,
                    "h1:LzX7hefJvL54yjefDEDHNONDjII0t9xZLPXsUe+TKr0=",
                ),
            ]),
        );
        check(
            "a.com/b v1.0.0\n",
            Err("go.sum line 1: expected 3 fields, found 2"),
        );
        check(
            "\na.com/b v1.0.0 h1 x\n",
            Err("go.sum line 2: expected 3 fields, found 4"),
        );
        check(
            "a.com/b v1.0.0 nohash\n",
            Err("go.sum line 1: malformed hash \"nohash\""),
        );
        check(
            "a.com/b v1.0.0 h1:\n",
            Err("go.sum line 1: malformed hash \"h1:\""),
        );
    }
}
