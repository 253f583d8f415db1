//! One module per subcommand: its arguments and its `run`.

pub(crate) mod audit;
pub(crate) mod check;
pub(crate) mod completions;
pub(crate) mod depot;
pub(crate) mod diff;
pub(crate) mod doctor;
pub(crate) mod export;
pub(crate) mod gather;
pub(crate) mod gc;
pub(crate) mod health;
pub(crate) mod import;
pub(crate) mod ls;
pub(crate) mod man;
pub(crate) mod prefetch;
pub(crate) mod reindex;
pub(crate) mod rm;
pub(crate) mod serve;
pub(crate) mod sync;
pub(crate) mod token;
pub(crate) mod verify;
pub(crate) mod verify_sumdb;
