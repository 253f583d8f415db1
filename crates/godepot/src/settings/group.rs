//! What every settings group shares: declared once as a clap `Args` struct whose fields are
//! all optional (absent = not given), deserialized from the config file with the long flags'
//! names as keys, and merged field by field by the same generated code.

use serde::de::DeserializeOwned;

/// A group of settings that several commands flatten into their arguments.
pub(crate) trait Group: clap::Args + DeserializeOwned + Default {
    /// Each setting given here (flag, or its `GODEPOT_*` variable, which clap folded in),
    /// else the one from `file`.
    fn or(self, file: Self) -> Self;

    /// The config file keys of the settings given here: the file's values for them are
    /// neither used nor checked (a flag or variable may fix a bad one).
    fn given(&self) -> Vec<String>;

    /// The config file keys of this group, as serde names them.
    fn fields() -> Vec<String>;

    /// The long flags' names, which the file keys must equal (checked by a test).
    #[cfg(test)]
    fn keys() -> Vec<String> {
        Self::augment_args(clap::Command::new("keys"))
            .get_arguments()
            .filter_map(|arg| arg.get_long().map(str::to_string))
            .collect()
    }
}

/// Declares a settings group: the struct (each field an `Option`, with its `#[arg]`
/// attributes and doc comment as the `--help` text), and its [`Group`] merge. Adding a
/// setting is adding one field.
macro_rules! settings_group {
    (
        $(#[$meta:meta])*
        pub(crate) struct $name:ident {
            $(
                $(#[$field_meta:meta])*
                pub(crate) $field:ident: Option<$ty:ty>,
            )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Default, Clone, clap::Args, serde::Deserialize)]
        #[serde(rename_all = "kebab-case")]
        pub(crate) struct $name {
            $(
                $(#[$field_meta])*
                pub(crate) $field: Option<$ty>,
            )*
        }

        impl $crate::settings::group::Group for $name {
            fn or(self, file: Self) -> Self {
                $name {
                    $($field: self.$field.or(file.$field),)*
                }
            }

            fn given(&self) -> Vec<String> {
                let mut given = Vec::new();
                $(
                    if self.$field.is_some() {
                        given.push(stringify!($field).replace('_', "-"));
                    }
                )*
                given
            }

            fn fields() -> Vec<String> {
                vec![$(stringify!($field).replace('_', "-")),*]
            }
        }
    };
}

pub(crate) use settings_group;
