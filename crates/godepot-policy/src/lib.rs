//! The policy file: which module versions may enter godepot.
//!
//! ```toml
//! default = "allow"                    # or "deny"
//! [[deny]]
//! module = "example.com/evil/*"        # the go command's glob syntax, for path prefixes
//! reason = "known malware"
//! [[deny]]
//! module = "corp.example/lib"
//! versions = ">= v1.2.0, < v1.4.2"     # comparators on semver, comma = and
//! reason = "CVE-2099-0001"
//! [[allow]]
//! module = "corp.example/lib"
//! versions = "= v1.3.0"                # an exception, with its own reason
//! reason = "patched internally"
//! ```
//!
//! Rules can also look at facts the caller hands over ([`Facts`]): `vulnerable = true`
//! (optionally `ids = [...]`, `aliases = [...]`) matches versions that entries of the
//! held vulnerability database affect; `licenses = [...]` matches versions by their
//! detected SPDX licence; top-level `default-license = "deny"` refuses versions whose
//! licence is unknown when no rule matches them.
//!
//! Rules are read top to bottom in the file, `[[deny]]` and `[[allow]]` interleaved as
//! written; the first that matches a module version decides, else `default`. Parsing
//! is strict (an unknown key or a bad range is an error naming file, line and column),
//! because a typo in a security policy must not silently allow what it meant to stop.
//!
//! Pure: the caller reads the file and hands over its text. See `docs/policy.md`.

mod facts;
mod file;
mod range;
mod rule;

pub use facts::{Advisories, Advisory, Facts, License};
pub use file::{Policy, PolicyError};
pub use range::{Comparator, Op, RangeError, VersionRange};
pub use rule::{Action, Blocked, DecidedBy, Decision, Matcher, Rule, RuleRef};
