//! The configuration file, and the one merge of flags, environment and file: each command
//! flattens the settings groups it uses (see [`crate::settings`]) and passes each through
//! [`ConfigFile::merge`]; the groups' accessors add the defaults.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::failure::Failure;
use crate::settings::{self, group::Group};

/// `godepot.toml`: every key is a long flag's name; all commands read the same file.
///
/// ```toml
/// listen = "0.0.0.0:3000"
/// data-dir = "/srv/godepot"
/// upstream = "https://proxy.corp.example"
/// list-ttl = "1m"
/// log-format = "json"
///
/// # Credentials for one host (repositories and proxies): the secret is read from a
/// # variable or a file, never written here or given on the command line.
/// [[credentials]]
/// host = "git.corp.example"
/// username = "ci"
/// token-env = "CORP_GIT_TOKEN"     # or token-file = "/run/secrets/git"
/// ```
/// The config file's table of per-host credentials (not a setting: no flag, no variable).
const CREDENTIALS: &str = "credentials";

/// One `[[credentials]]` entry, its secret read. `Debug` never shows the token.
pub(crate) struct HostCredentials {
    pub(crate) host: String,
    pub(crate) username: String,
    pub(crate) token: String,
}

impl std::fmt::Debug for HostCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostCredentials")
            .field("host", &self.host)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Default)]
pub(crate) struct ConfigFile {
    /// The file's text, its syntax and keys checked; empty without a file.
    text: String,
    path: PathBuf,
}

impl ConfigFile {
    /// Reads the file (`--config` / `GODEPOT_CONFIG`), if one is given, and checks its syntax
    /// and keys. Values are checked when a command uses them, unless a flag or variable
    /// overrides them.
    pub(crate) fn load(path: Option<&Path>) -> Result<Self, Failure> {
        let Some(path) = path else {
            return Ok(ConfigFile::default());
        };
        let text = std::fs::read_to_string(path).map_err(|e| {
            Failure::config(format!("cannot read config file {}: {e}", path.display()))
        })?;
        let file = ConfigFile {
            text,
            path: path.to_path_buf(),
        };
        let document = file.parse()?;
        let mut known = settings::all_keys();
        known.push(CREDENTIALS.to_string());
        if let Some(key) = document
            .get_ref()
            .keys()
            .map(|k| k.get_ref().as_ref())
            .find(|key| !known.iter().any(|known| known == key))
        {
            return Err(file
                .invalid(&format!("unknown key `{key}`"))
                .hint("the keys are the long flags' names, e.g. data-dir = \"/srv/godepot\""));
        }
        Ok(file)
    }

    /// Flag (or its `GODEPOT_*` variable, which clap already folded in) > file.
    pub(crate) fn merge<G: Group>(&self, flags: G) -> Result<G, Failure> {
        let mut document = self.parse()?;
        let given = flags.given();
        let overridden: Vec<_> = document
            .get_ref()
            .keys()
            .filter(|key| given.iter().any(|g| g == key.get_ref().as_ref()))
            .cloned()
            .collect();
        for key in &overridden {
            document.get_mut().remove(key);
        }
        let file = G::deserialize(toml::de::Deserializer::from(document)).map_err(|mut e| {
            e.set_input(Some(&self.text));
            self.invalid(&e)
        })?;
        Ok(flags.or(file))
    }

    /// The `[[credentials]]` entries, their secrets read now (from the variable or file each
    /// names). Messages name the host and where the secret was looked for, never the secret.
    pub(crate) fn credentials(&self) -> Result<Vec<HostCredentials>, Failure> {
        #[derive(serde::Deserialize)]
        struct File {
            #[serde(default)]
            credentials: Vec<Entry>,
        }
        #[derive(serde::Deserialize)]
        #[serde(rename_all = "kebab-case", deny_unknown_fields)]
        struct Entry {
            host: String,
            username: String,
            token_env: Option<String>,
            token_file: Option<PathBuf>,
        }
        // Without the input: toml would quote the offending line, which may hold a secret.
        let file = File::deserialize(toml::de::Deserializer::from(self.parse()?))
            .map_err(|e| self.invalid(&e))?;
        let hint = "give each [[credentials]] entry token-env = \"VAR\" or token-file = \"/path\"";
        file.credentials
            .into_iter()
            .map(|entry| {
                let host = entry.host;
                let token = match (entry.token_env, entry.token_file) {
                    (Some(var), None) => std::env::var(&var).map_err(|_| {
                        Failure::config(format!(
                            "credentials for {host}: the variable {var} is not set"
                        ))
                    })?,
                    (None, Some(path)) => std::fs::read_to_string(&path)
                        .map_err(|e| {
                            Failure::config(format!(
                                "credentials for {host}: cannot read {}: {e}",
                                path.display()
                            ))
                        })?
                        .trim_end_matches(['\r', '\n'])
                        .to_string(),
                    _ => {
                        return Err(Failure::config(format!(
                            "credentials for {host}: want exactly one of token-env and token-file"
                        ))
                        .hint(hint));
                    }
                };
                Ok(HostCredentials {
                    host,
                    username: entry.username,
                    token,
                })
            })
            .collect()
    }

    fn parse(&self) -> Result<toml::Spanned<toml::de::DeTable<'_>>, Failure> {
        toml::de::DeTable::parse(&self.text).map_err(|mut e| {
            e.set_input(Some(&self.text));
            self.invalid(&e)
        })
    }

    fn invalid(&self, detail: &dyn std::fmt::Display) -> Failure {
        // toml's message spans lines (the offending line with a caret under it): keep it.
        Failure::config(format!(
            "invalid config file {}:\n{}",
            self.path.display(),
            detail.to_string().trim_end()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{ListenSettings, ServerSettings, StoreSettings};

    fn file(text: &str) -> (tempfile::TempDir, Result<ConfigFile, Failure>) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("godepot.toml");
        std::fs::write(&path, text).expect("write");
        let loaded = ConfigFile::load(Some(&path));
        (tmp, loaded)
    }

    #[test]
    fn flags_win_and_the_file_fills_in() {
        let (_tmp, loaded) = file("data-dir = \"/from/file\"\nlisten = \":3001\"\n");
        let config = loaded.expect("loads");
        let store = config.merge(StoreSettings::default()).expect("merge");
        assert_eq!(store.data_dir.as_deref(), Some(Path::new("/from/file")));
        let flags = StoreSettings {
            data_dir: Some("/from/flag".into()),
            ..StoreSettings::default()
        };
        let store = config.merge(flags).expect("merge");
        assert_eq!(store.data_dir.as_deref(), Some(Path::new("/from/flag")));
        let listen = config.merge(ListenSettings::default()).expect("merge");
        assert_eq!(listen.listen().to_string(), "0.0.0.0:3001");
    }

    #[test]
    fn a_bad_value_overridden_is_not_an_error() {
        let (_tmp, loaded) = file("header-timeout = \"soon\"\n");
        let config = loaded.expect("syntax and keys are fine");
        assert!(config.merge(ServerSettings::default()).is_err());
        let flags = ServerSettings {
            header_timeout: Some("5s".parse().expect("duration")),
            ..ServerSettings::default()
        };
        let server = config.merge(flags).expect("the flag wins");
        assert_eq!(server.header_timeout(), std::time::Duration::from_secs(5));
    }

    #[test]
    fn credentials_from_a_file_never_from_the_config() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let secret = tmp.path().join("token");
        std::fs::write(&secret, "tok-123\n").expect("write");
        let text = format!(
            "[[credentials]]\nhost = \"git.corp.example\"\nusername = \"ci\"\ntoken-file = {:?}\n",
            secret.display().to_string()
        );
        let (_tmp, loaded) = file(&text);
        let creds = loaded.expect("loads").credentials().expect("reads");
        assert_eq!(creds.len(), 1);
        assert_eq!(creds[0].host, "git.corp.example");
        assert_eq!(creds[0].token, "tok-123");
        assert!(!format!("{creds:?}").contains("tok-123"));

        let (_tmp, loaded) =
            file("[[credentials]]\nhost = \"h.example\"\nusername = \"u\"\ntoken = \"inline\"\n");
        // A token written in the file itself is refused (only a variable or a file), and
        // the message does not quote it.
        let e = format!("{:?}", loaded.expect("loads").credentials().unwrap_err());
        assert!(e.contains("unknown field") && !e.contains("inline"), "{e}");

        let (_tmp, loaded) = file(
            "[[credentials]]\nhost = \"h.example\"\nusername = \"u\"\ntoken-env = \"GODEPOT_TEST_UNSET_VAR\"\n",
        );
        let e = format!("{:?}", loaded.expect("loads").credentials().unwrap_err());
        assert!(e.contains("GODEPOT_TEST_UNSET_VAR is not set"), "{e}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let (_tmp, loaded) = file("listen-port = 3000\n");
        assert!(loaded.is_err());
    }
}
