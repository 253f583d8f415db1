//! `module@latest`, decided as the go command decides it: the highest release in the list,
//! else the highest pre-release, skipping versions that the latest go.mod retracts; the
//! proxy's `@latest` only when nothing is listed.

use godepot_module::{ModulePath, Version, parse_go_mod, pick_latest};

use crate::source::{Memo, ModSource, SourceError};

pub(crate) async fn latest<S: ModSource + ?Sized>(
    memo: &Memo<'_, S>,
    module: &ModulePath,
) -> Result<Version, SourceError> {
    let listed: Vec<Version> = memo
        .source()
        .versions(module)
        .await?
        .into_iter()
        .filter(|v| !v.is_pseudo())
        .collect();
    let Some(highest) = pick_latest(&listed).cloned() else {
        return memo.source().latest(module).await;
    };
    // Retractions are read from the go.mod of the highest version, retracted or not.
    let data = memo.go_mod(module, &highest).await?;
    let retracted = match parse_go_mod(&data) {
        Ok(file) => file.retract,
        Err(_) => Vec::new(),
    };
    let allowed = listed
        .iter()
        .filter(|v| !retracted.iter().any(|r| r.contains(v.as_str())));
    // With every version retracted the go command still answers with the highest one.
    Ok(pick_latest(allowed).cloned().unwrap_or(highest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::MemorySource;

    #[tokio::test]
    async fn latest_table() {
        let source = MemorySource::new()
            .with("example.com/rel", "v1.0.0", "module example.com/rel\n")
            .with("example.com/rel", "v1.1.0", "module example.com/rel\n")
            .with("example.com/rel", "v1.2.0-pre", "module example.com/rel\n")
            .with(
                "example.com/pre",
                "v0.1.0-alpha",
                "module example.com/pre\n",
            )
            .with("example.com/pre", "v0.1.0-beta", "module example.com/pre\n")
            .with("example.com/ret", "v1.0.0", "module example.com/ret\n")
            .with("example.com/ret", "v1.1.0", "module example.com/ret\n")
            .with(
                "example.com/ret",
                "v1.2.0",
                "module example.com/ret\nretract [v1.1.0, v1.2.0]\n",
            )
            .with(
                "example.com/allret",
                "v1.0.0",
                "module example.com/allret\nretract v1.0.0\n",
            )
            .with(
                "example.com/pseudo",
                "v0.0.0-20240101000000-abcdefabcdef",
                "module example.com/pseudo\n",
            );
        let memo = Memo::new(&source);
        for (module, want) in [
            ("example.com/rel", Ok("v1.1.0")),
            ("example.com/pre", Ok("v0.1.0-beta")),
            ("example.com/ret", Ok("v1.0.0")),
            ("example.com/allret", Ok("v1.0.0")),
            ("example.com/pseudo", Err(())),
            ("example.com/none", Err(())),
        ] {
            let got = latest(&memo, &ModulePath::parse(module).unwrap()).await;
            let got = got.map(|v| v.to_string()).map_err(|_| ());
            assert_eq!(got, want.map(str::to_owned), "{module}");
        }
    }
}
