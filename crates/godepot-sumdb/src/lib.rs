//! The go command's checksum database ("sumdb") protocol, as pure functions over bytes.
//!
//! - [`note`]: signed notes and verifier keys (`<name>+<hash>+<base64 key>`), Ed25519;
//! - [`tile`]: tile coordinates and their URL paths (`tile/8/0/x001/234.p/5`);
//! - [`hash`]: RFC 6962 record and node hashes, and the signed tree head text;
//! - [`tree`]: subtree hashes read from tiles, inclusion and consistency checks;
//! - [`record`]: `lookup` answers and the go.sum lines they carry;
//! - [`request`]: a `/sumdb/<name>/…` path, validated;
//! - [`shape`]: the exact shape and largest size of each kind of answer;
//! - [`config`]: the `GOSUMDB`-style list of databases;
//! - [`check`]: proofs over tiles at hand, and an artifact's hash against its record;
//! - [`plan`]: which tiles the go command reads to check a set of lookups.
//!
//! No I/O and no async: callers fetch bytes and hand them in.

pub mod check;
pub mod config;
mod error;
pub mod hash;
pub mod note;
pub mod plan;
pub mod record;
pub mod request;
pub mod shape;
pub mod tile;
pub mod tree;

pub use config::{DatabaseSpec, parse_database_list};
pub use error::SumdbError;
pub use hash::{Hash, TreeHead};
pub use note::{VerifierKey, verify_note};
pub use record::{LookupAnswer, SumLine};
pub use request::SumdbPath;
pub use tile::Tile;
pub use tree::TileHashes;
