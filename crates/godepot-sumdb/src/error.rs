/// Why checksum-database data was refused. Messages are whole sentences for logs and users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SumdbError {
    #[error("malformed checksum database key {0:?}")]
    BadKey(String),
    #[error("malformed signed note: {0}")]
    BadNote(String),
    #[error("note has no valid signature by {0}")]
    Unsigned(String),
    #[error("malformed tree head: {0}")]
    BadTreeHead(String),
    #[error("malformed tile path {0:?}")]
    BadTilePath(String),
    #[error("malformed lookup answer: {0}")]
    BadRecord(String),
    #[error("tile {} is needed but not available", .0.path())]
    MissingTile(crate::Tile),
    #[error("tile {path} has {got} bytes, want {want}")]
    BadTileSize {
        path: String,
        got: usize,
        want: usize,
    },
    #[error("checksum database proof failed: {0}")]
    ProofFailed(String),
    #[error("{0}")]
    BadConfig(String),
    /// A malformed request path. 400.
    #[error("{0}")]
    BadRequest(String),
    /// A well-formed path that names no checksum-database endpoint. 404.
    #[error("{0}")]
    NoSuchEndpoint(String),
}
