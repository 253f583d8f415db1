//! `godepot health`: asks a running server's `/healthz`, for probes that have nothing but
//! godepot itself (a container image with no shell or curl; see packaging/Containerfile).

use std::time::Duration;

use crate::config::ConfigFile;
use crate::failure::Failure;
use crate::settings::ListenSettings;

/// How long the probe waits for the server, connecting and answering.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Check that the server on --listen answers /healthz (exit 0), or say why not (exit 1).
///
/// It reads --listen like `serve` does (flag, GODEPOT_LISTEN, config file), and asks that
/// address (an unspecified one, 0.0.0.0 or [::], on loopback) over plain HTTP.
///
/// Examples:
///   godepot health                          # the default 127.0.0.1:3000
///   godepot health --config /etc/godepot/godepot.toml
///   HEALTHCHECK CMD ["godepot", "health"]   # in a Containerfile, with GODEPOT_LISTEN set
#[derive(Debug, clap::Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct HealthArgs {
    /// --listen, declared once for `serve` and this, read from the same places.
    #[command(flatten)]
    pub(crate) listen: ListenSettings,

    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub(crate) json: bool,
}

pub(crate) fn run(file: &ConfigFile, args: HealthArgs) -> Result<(), Failure> {
    let listen = file.merge(args.listen)?.listen();
    let addr = godepot_server::probe::loopback_if_unspecified(listen);
    let result = godepot_server::probe::healthz(addr, TIMEOUT);
    if args.json {
        let doc = match &result {
            Ok(answer) => {
                serde_json::json!({"healthy": true, "address": addr.to_string(), "answer": answer})
            }
            Err(e) => {
                serde_json::json!({"healthy": false, "address": addr.to_string(), "error": e.to_string()})
            }
        };
        println!("{doc}");
    } else if let Ok(answer) = &result {
        println!("healthy: {addr}: {answer}");
    }
    result.map(drop).map_err(|e| {
        // Exit 1, never 2: a container runtime reserves 2, and an unhealthy server is a finding.
        Failure::runtime(format!("not healthy: {e}"))
            .hint("is `godepot serve` running with this --listen (or GODEPOT_LISTEN)?")
    })
}
