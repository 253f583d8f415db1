//! Log set-up: human-readable text or one JSON object per line, on stderr (stdout is for
//! data).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::cli::LogFormat;
use crate::failure::Failure;

pub(crate) fn init(format: LogFormat, level: &str) -> Result<(), Failure> {
    let filter = EnvFilter::try_new(level).map_err(|e| {
        Failure::config(format!("--log-level {level:?}: {e}"))
            .hint("use e.g. info, debug or godepot=debug,warn")
    })?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let result = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
    result.map_err(|e| Failure::runtime(format!("cannot set up logging: {e}")))
}
