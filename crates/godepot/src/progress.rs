//! Progress bars for the store commands, on stderr, only when stderr is a terminal: scripts
//! and CI logs get the summary lines alone.

use std::io::IsTerminal;

use godepot_bundle::Progress;
use indicatif::{ProgressBar, ProgressStyle};

pub(crate) struct Bar(Option<ProgressBar>);

impl Bar {
    pub(crate) fn new() -> Bar {
        if !std::io::stderr().is_terminal() {
            return Bar(None);
        }
        let bar = ProgressBar::hidden();
        let style = ProgressStyle::with_template(
            "{prefix:>10} [{bar:30}] {bytes}/{total_bytes} {wide_msg}",
        )
        .map(|s| s.progress_chars("=> "));
        if let Ok(style) = style {
            bar.set_style(style);
        }
        Bar(Some(bar))
    }
}

impl Progress for Bar {
    fn phase(&self, name: &str, total_bytes: u64) {
        if let Some(bar) = &self.0 {
            bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
            bar.reset();
            bar.set_length(total_bytes);
            bar.set_prefix(name.to_owned());
        }
    }

    fn file(&self, rel_path: &str) {
        if let Some(bar) = &self.0 {
            bar.set_message(rel_path.to_owned());
        }
    }

    fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.0 {
            bar.inc(bytes);
        }
    }

    fn finish_phase(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// `1.50 MiB`-style sizes for summaries.
pub(crate) fn human_bytes(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}

/// `1 module`, `2 modules`: counts in summaries.
pub(crate) fn count(n: impl Into<u64>, noun: &str) -> String {
    let n = n.into();
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}
