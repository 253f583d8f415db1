//! `godepot token add|list|revoke`: the API tokens of `serve --require-auth`, kept (as
//! hashes only) in the store's `.godepot/tokens.json`, in a data directory or a bucket. Safe
//! beside running servers, which pick the change up within a second (a data directory) or
//! five (a bucket), and beside the same command on other machines (compare-and-swap).

use std::time::SystemTime;

use godepot_auth::{AuditEvent, AuditLog, Scope, TokenError, TokenInfo, TokenStore};
use godepot_bundle::time::format_rfc3339;

use crate::config::ConfigFile;
use crate::failure::Failure;
use crate::settings::{AuditSettings, StoreSettings};
use crate::storage::{self, Access};

#[derive(Debug, clap::Args)]
pub(crate) struct TokenArgs {
    #[command(subcommand)]
    pub(crate) action: TokenAction,
}

/// What every token command takes (after its name: `godepot token add NAME --data-dir D`).
#[derive(Debug, clap::Args)]
pub(crate) struct Common {
    #[command(flatten)]
    pub(crate) store: StoreSettings,
    #[command(flatten)]
    pub(crate) audit: AuditSettings,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum TokenAction {
    /// Create a token; it is printed once, alone on the last line, and never kept.
    Add {
        /// A name for the token (who or what uses it), e.g. ci or alice.
        name: String,
        /// read: the module protocol; admin: also the admin endpoints.
        #[arg(long, default_value = "read", value_name = "read|admin")]
        scope: String,
        /// How long the token is valid, e.g. 90d, 12h [default: no expiry].
        #[arg(long, value_name = "DURATION")]
        expires: Option<String>,
        #[command(flatten)]
        common: Common,
    },
    /// List the tokens: names, scopes, created, expires, last used (never a token).
    List {
        #[command(flatten)]
        common: Common,
    },
    /// Remove a token: running servers refuse it within a second (five on a bucket).
    Revoke {
        name: String,
        #[command(flatten)]
        common: Common,
    },
}

impl TokenAction {
    fn common(&mut self) -> Common {
        let (TokenAction::Add { common, .. }
        | TokenAction::List { common }
        | TokenAction::Revoke { common, .. }) = self;
        Common {
            store: std::mem::take(&mut common.store),
            audit: std::mem::take(&mut common.audit),
        }
    }
}

pub(crate) fn run(file: &ConfigFile, mut args: TokenArgs) -> Result<(), Failure> {
    let common = args.action.common();
    let location = file.merge(common.store)?.location()?;
    let audit = file.merge(common.audit)?.open()?;
    // Only adding a token may make a data directory; listing and revoking need one.
    let access = match args.action {
        TokenAction::Add { .. } => Access::Create,
        TokenAction::List { .. } | TokenAction::Revoke { .. } => Access::Read,
    };
    let opened = storage::open(&location, access)?;
    let store = TokenStore::new(std::sync::Arc::clone(&opened.store));
    let now = SystemTime::now();
    match args.action {
        TokenAction::Add {
            name,
            scope,
            expires,
            ..
        } => {
            let scope: Scope = scope.parse().map_err(token_failure)?;
            let expires = match expires {
                Some(text) => Some(
                    now + godepot_auth::parse_duration(&text)
                        .map_err(|e| Failure::config(format!("--expires: {e}")))?,
                ),
                None => None,
            };
            let (info, secret) = store
                .add(&name, scope, expires, now)
                .map_err(token_failure)?;
            record(
                audit.as_ref(),
                &AuditEvent::TokenCreated {
                    name: info.name.clone(),
                    scope: info.scope,
                    expires: info.expires.map(unix_secs),
                    by: "cli".into(),
                },
            );
            println!(
                "token {} ({}, expires {}); shown once, keep it now:",
                info.name,
                info.scope,
                info.expires.map_or("never".into(), format_rfc3339)
            );
            println!("{}", secret.expose());
        }
        TokenAction::List { .. } => {
            let tokens = store.list().map_err(token_failure)?;
            println!("NAME\tSCOPE\tCREATED\tEXPIRES\tLAST USED");
            for t in &tokens {
                println!("{}", row(t));
            }
        }
        TokenAction::Revoke { name, .. } => {
            let info = store.revoke(&name).map_err(token_failure)?;
            record(
                audit.as_ref(),
                &AuditEvent::TokenRevoked {
                    name: info.name.clone(),
                    by: "cli".into(),
                },
            );
            println!("revoked token {}", info.name);
        }
    }
    opened.keep();
    Ok(())
}

fn row(t: &TokenInfo) -> String {
    let time = |t: Option<SystemTime>, none: &str| t.map_or(none.to_string(), format_rfc3339);
    format!(
        "{}\t{}\t{}\t{}\t{}",
        t.name,
        t.scope,
        format_rfc3339(t.created),
        time(t.expires, "never"),
        time(t.last_used, "never")
    )
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn record(audit: Option<&AuditLog>, event: &AuditEvent) {
    if let Some(log) = audit
        && let Err(e) = log.append(event)
    {
        eprintln!(
            "warning: cannot write the audit log {}: {e}",
            log.path().display()
        );
    }
}

fn token_failure(e: TokenError) -> Failure {
    match e {
        TokenError::Store(_)
        | TokenError::Corrupt { .. }
        | TokenError::Contended(_)
        | TokenError::Random(_) => Failure::runtime(e.to_string()),
        e => Failure::config(e.to_string()),
    }
}
