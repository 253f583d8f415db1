//! Where an artifact lives in the `GOPROXY=file://` tree.

use godepot_module::{ModulePath, Version};

/// The kinds of per-version file the tree holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Info,
    Mod,
    Zip,
    /// The `h1:` hash of the zip, one line, as the go command keeps it.
    ZipHash,
}

impl Kind {
    pub fn extension(self) -> &'static str {
        match self {
            Kind::Info => "info",
            Kind::Mod => "mod",
            Kind::Zip => "zip",
            Kind::ZipHash => "ziphash",
        }
    }
}

/// One versioned, immutable artifact.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ArtifactKey {
    pub module: ModulePath,
    pub version: Version,
    pub kind: Kind,
}

impl ArtifactKey {
    pub fn new(module: ModulePath, version: Version, kind: Kind) -> Self {
        ArtifactKey {
            module,
            version,
            kind,
        }
    }

    /// The same version, another kind of file.
    pub fn with_kind(&self, kind: Kind) -> Self {
        ArtifactKey {
            kind,
            ..self.clone()
        }
    }

    /// The path relative to the tree's root, with `/` separators: also the URL path a
    /// GOPROXY serves it under.
    pub fn rel_path(&self) -> String {
        format!(
            "{}/@v/{}.{}",
            self.module.escaped(),
            self.version.escaped(),
            self.kind.extension()
        )
    }
}

/// The relative path of a module's `@v/list`.
pub fn list_rel_path(module: &ModulePath) -> String {
    format!("{}/@v/list", module.escaped())
}
