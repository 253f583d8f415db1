//! Where a command's store is (`--storage URL`, or `--data-dir DIR`): a directory on local
//! disk, or a bucket. Parsed once here, for every command, from whichever of the three
//! sources gave it ([`crate::settings::StoreSettings::location`]).
//!
//! Credentials never come from the URL: a bucket's endpoint, region and keys are read from
//! the standard `AWS_*` variables by the backend, so no secret is ever on a command line or
//! in a config file, and no message here can quote one.

use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use godepot_store::{Store, TreeEntry};

use crate::failure::Failure;

/// A store's place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreLocation {
    /// A `GOPROXY=file://` tree on local disk (`file:///path`, or `--data-dir`).
    Dir(PathBuf),
    /// The same tree as objects under `prefix/` in an S3 bucket (`s3://bucket/prefix`).
    Bucket(BucketUrl),
}

/// `s3://bucket/prefix`: the prefix has no leading or trailing `/` (empty for the whole
/// bucket).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BucketUrl {
    pub(crate) bucket: String,
    pub(crate) prefix: String,
}

impl fmt::Display for BucketUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Dir(dir) => write!(f, "{}", dir.display()),
            StoreLocation::Bucket(url) => url.fmt(f),
        }
    }
}

const FORMS: &str = "write file:///absolute/path or s3://bucket/prefix";

/// Parses a `--storage` value. The message never repeats a URL's userinfo.
pub(crate) fn parse(text: &str) -> Result<StoreLocation, Failure> {
    let text = text.trim();
    let Some((scheme, rest)) = text.split_once("://") else {
        return Err(
            Failure::config(format!("--storage {text:?} is not a URL")).hint(format!(
                "{FORMS}; for a directory, --data-dir DIR works too"
            )),
        );
    };
    match scheme.to_ascii_lowercase().as_str() {
        "file" => parse_file(rest),
        "s3" => parse_s3(rest),
        other => Err(
            Failure::config(format!("--storage: unsupported scheme {other:?}")).hint(format!(
                "{FORMS} (an S3-compatible server through AWS_ENDPOINT_URL)"
            )),
        ),
    }
}

fn parse_file(rest: &str) -> Result<StoreLocation, Failure> {
    // file:///path: an empty host, then the absolute path.
    let Some(path) = rest.strip_prefix('/') else {
        let host = rest.split('/').next().unwrap_or_default();
        return Err(Failure::config(format!(
            "--storage file://{host}/…: a file URL names no host"
        ))
        .hint("write file:///absolute/path (three slashes), or pass --data-dir DIR"));
    };
    let path = Path::new("/").join(percent_decode(path)?);
    if path
        .components()
        .any(|c| matches!(c, Component::ParentDir | Component::CurDir))
    {
        return Err(Failure::config(format!(
            "--storage file://{}: the path must not hold . or .. components",
            path.display()
        ))
        .hint("write the directory's absolute path"));
    }
    Ok(StoreLocation::Dir(path))
}

fn parse_s3(rest: &str) -> Result<StoreLocation, Failure> {
    let (authority, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if authority.contains('@') {
        // Said without the userinfo: it may be a secret.
        return Err(
            Failure::config("--storage s3://…@…: credentials do not go in the URL").hint(
                "give them as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and the server as AWS_ENDPOINT_URL); never on the command line",
            ),
        );
    }
    if !valid_bucket(authority) {
        return Err(Failure::config(format!(
            "--storage s3://{authority}: {authority:?} is not a bucket name"
        ))
        .hint("bucket names are 3 to 63 characters: lowercase letters, digits, '.' and '-'; write s3://bucket/prefix"));
    }
    if rest.contains(['?', '#']) {
        return Err(
            Failure::config("--storage: an s3:// URL takes no query or fragment")
                .hint("the endpoint and region come from AWS_ENDPOINT_URL and AWS_REGION"),
        );
    }
    let prefix = prefix.trim_matches('/');
    if !prefix.is_empty()
        && prefix
            .split('/')
            .any(|part| matches!(part, "" | "." | ".."))
    {
        return Err(Failure::config(format!(
            "--storage s3://{authority}/{prefix}: the prefix has an empty, . or .. element"
        ))
        .hint("write s3://bucket/some/prefix"));
    }
    Ok(StoreLocation::Bucket(BucketUrl {
        bucket: authority.to_string(),
        prefix: prefix.to_string(),
    }))
}

/// S3's rules for bucket names (the common subset every S3-compatible server accepts).
fn valid_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// `%XX` escapes in a file URL's path (a space is `%20`).
fn percent_decode(text: &str) -> Result<String, Failure> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(byte) = hex else {
                return Err(Failure::config(format!(
                    "--storage file:///{text}: a % not followed by two hex digits"
                ))
                .hint("write %25 for a literal %, or pass --data-dir DIR"));
            };
            out.push(byte);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| {
        Failure::config(format!("--storage file:///{text}: the path is not UTF-8"))
            .hint("pass --data-dir DIR")
    })
}

/// Opens a bucket's store (the object backend, `godepot_store::open_url`). Scratch files
/// and spools go to the system's temporary directory: a replica keeps nothing of its own
/// beyond its `--cache-dir`.
pub(crate) fn open_bucket(url: &BucketUrl) -> Result<Arc<dyn Store>, Failure> {
    godepot_store::open_url(&url.to_string(), &godepot_store::OpenOptions::default()).map_err(|e| {
        Failure::runtime(format!("cannot open the store {url}: {e}")).hint(
            "check AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_ALLOW_HTTP for plain http)",
        )
    })
}

/// The store at `location` through the `Store` trait: a data directory (which must exist
/// unless `create`, and be of a format this godepot reads) or a bucket.
pub(crate) fn open_location(
    location: &StoreLocation,
    create: bool,
) -> Result<Arc<dyn Store>, Failure> {
    match location {
        StoreLocation::Dir(dir) => {
            if !create {
                crate::datadir::existing_dir(dir)?;
            }
            let store = godepot_store::LocalStore::open(dir)
                .map_err(|e| crate::datadir::store_failure(dir, &e))?;
            Ok(Arc::new(store))
        }
        StoreLocation::Bucket(url) => open_bucket(url),
    }
}

/// What a store holds, for `ls`: its files, and the sizes of its checksum-database
/// answers. A directory is walked as it is (nothing is written to it, not even a scratch
/// directory); a bucket is listed through its store.
pub(crate) fn listing(location: &StoreLocation) -> Result<(Vec<TreeEntry>, Vec<u64>), Failure> {
    let failed = |e: &dyn fmt::Display| Failure::runtime(format!("cannot list {location}: {e}"));
    match location {
        StoreLocation::Dir(dir) => {
            let dir = crate::datadir::existing_dir(dir)?;
            let entries = godepot_store::walk_tree(&dir).map_err(|e| failed(&e))?;
            let sumdb = godepot_bundle::ls::sumdb_sizes(&dir).map_err(|e| failed(&e))?;
            Ok((entries, sumdb))
        }
        StoreLocation::Bucket(url) => {
            let store = open_bucket(url)?;
            let entries = store.walk().map_err(|e| failed(&e))?;
            let sumdb = godepot_bundle::ls::sumdb_sizes_in(&*store).map_err(|e| failed(&e))?;
            Ok((entries, sumdb))
        }
    }
}

/// Whether `--data-dir` and a `file://` `--storage` name the same place: equal paths, or
/// the same directory once both exist.
pub(crate) fn same_dir(a: &Path, b: &Path) -> bool {
    if a == b {
        return true;
    }
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => {
            let trim = |p: &Path| p.components().collect::<PathBuf>();
            trim(a) == trim(b)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(bucket: &str, prefix: &str) -> StoreLocation {
        StoreLocation::Bucket(BucketUrl {
            bucket: bucket.into(),
            prefix: prefix.into(),
        })
    }

    #[test]
    fn good_urls() {
        let table = [
            (
                "file:///srv/godepot",
                StoreLocation::Dir("/srv/godepot".into()),
            ),
            (
                "file:///srv/go%20depot/",
                StoreLocation::Dir("/srv/go depot/".into()),
            ),
            ("FILE:///x", StoreLocation::Dir("/x".into())),
            ("s3://modules", bucket("modules", "")),
            ("s3://modules/", bucket("modules", "")),
            ("s3://modules/depot/eu", bucket("modules", "depot/eu")),
            ("s3://my.bucket-1/p/", bucket("my.bucket-1", "p")),
        ];
        for (text, want) in table {
            assert_eq!(
                parse(text).map_err(|e| e.message().to_string()),
                Ok(want),
                "{text}"
            );
        }
        assert_eq!(bucket("b1x", "a/b").to_string(), "s3://b1x/a/b");
        assert_eq!(bucket("b1x", "").to_string(), "s3://b1x");
    }

    #[test]
    fn bad_urls_say_why_and_never_repeat_a_secret() {
        let table = [
            ("/srv/godepot", "is not a URL"),
            ("file://host/srv", "names no host"),
            ("file:///srv/../etc", ". or .."),
            ("file:///bad%zz", "two hex digits"),
            ("gs://bucket", "unsupported scheme"),
            (
                "s3://AKIA:secret@bucket/p",
                "credentials do not go in the URL",
            ),
            ("s3://Upper", "not a bucket name"),
            ("s3://ab", "not a bucket name"),
            ("s3://", "not a bucket name"),
            ("s3://bucket/p?region=x", "no query"),
            ("s3://bucket/a//b", "empty, . or .."),
            ("s3://bucket/a/../b", "empty, . or .."),
        ];
        for (text, want) in table {
            let e = parse(text).unwrap_err();
            assert!(e.message().contains(want), "{text}: {}", e.message());
            assert!(!e.message().contains("secret"), "{text}: {}", e.message());
            assert!(e.exit_code() == 2, "{text}");
        }
    }

    #[test]
    fn same_dir_ignores_a_trailing_slash() {
        assert!(same_dir(Path::new("/srv/a/"), Path::new("/srv/a")));
        assert!(!same_dir(Path::new("/srv/a"), Path::new("/srv/b")));
    }
}
