//! Who may use godepot, and the record of what it refused.
//!
//! - [`token`]: API tokens kept as SHA-256 hashes in the store's `.godepot/tokens.json`
//!   (on disk or in a bucket), checked in constant time; changed by compare-and-swap.
//! - [`header`]: the `Authorization` header (Basic with the token as password, or
//!   Bearer) to a presented secret.
//! - [`limiter`]: repeated failures from one address are slowed down, in bounded memory.
//! - [`authenticate`]: all of the above for one request: the token, or why not
//!   (401, 403 or 429).
//! - [`audit`]: one JSON object per line for every security event, appended atomically.
//!
//! No HTTP and no async here: the server wires these in. Secrets live only in
//! [`Secret`], which has no `Display` and no `Serialize`, and a redacted `Debug`.

pub mod audit;
mod gate;
pub mod header;
pub mod limiter;
mod secret;
pub mod token;

pub use audit::{AuditEvent, AuditLog, LoginRefusal};
pub use gate::{Denied, WWW_AUTHENTICATE, authenticate};
pub use header::{Credentials, parse_authorization};
pub use limiter::{FailureLimiter, SlowDown};
pub use secret::Secret;
pub use token::{Refused, Scope, TokenError, TokenInfo, TokenStore, Tokens, parse_duration};
