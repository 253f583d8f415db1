//! One file of one module version, as prefetch counts and names it.

use std::fmt;

use godepot_module::{ModulePath, Version};
use godepot_store::{ArtifactKey, Kind};

/// One file of one module version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Artifact {
    pub module: ModulePath,
    pub version: Version,
    /// `mod`, `info` or `zip`.
    pub ext: &'static str,
}

impl Artifact {
    pub fn new(module: &ModulePath, version: &Version, kind: Kind) -> Self {
        Artifact {
            module: module.clone(),
            version: version.clone(),
            ext: kind.extension(),
        }
    }

    pub fn key(&self) -> ArtifactKey {
        let kind = match self.ext {
            "info" => Kind::Info,
            "mod" => Kind::Mod,
            _ => Kind::Zip,
        };
        ArtifactKey::new(self.module.clone(), self.version.clone(), kind)
    }

    /// `module@version`, as resolution problems name their subject.
    pub fn module_version(&self) -> String {
        format!("{}@{}", self.module, self.version)
    }
}

impl fmt::Display for Artifact {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{} .{}", self.module, self.version, self.ext)
    }
}
