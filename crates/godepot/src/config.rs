//! The configuration file, and the one merge of flags, environment and file: each command
//! flattens the settings groups it uses (see [`crate::settings`]) and passes each through
//! [`ConfigFile::merge`]; the groups' accessors add the defaults.

use std::path::{Path, PathBuf};

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
/// ```
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
        let known = settings::all_keys();
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
