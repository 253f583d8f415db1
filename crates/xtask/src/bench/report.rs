//! The one table (figure, godepot, baseline, ratio, target) and its JSON twin.

use std::fmt::Write as _;

use serde::Serialize;

/// How a figure is compared with the target. Informational only: a missed target
/// never fails the run.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Target {
    /// `ratio >= x`.
    RatioAtLeast { x: f64 },
    /// `ratio <= x`.
    RatioAtMost { x: f64 },
    /// `godepot <= x` (in the figure's unit).
    AtMost { x: f64 },
    /// `godepot <= baseline + x`.
    WithinPlus { x: f64 },
    /// `godepot == baseline`.
    Equal,
}

impl Target {
    fn describe(self, unit: &str) -> String {
        match self {
            Target::RatioAtLeast { x } => format!("ratio ≥ {x}"),
            Target::RatioAtMost { x } => format!("ratio ≤ {x}"),
            Target::AtMost { x } => format!("≤ {x} {unit}"),
            Target::WithinPlus { x } => format!("≤ base + {x} {unit}"),
            Target::Equal => "= base".to_owned(),
        }
    }

    fn met(self, godepot: f64, baseline: Option<f64>) -> Option<bool> {
        let ratio = baseline.filter(|b| *b != 0.0).map(|b| godepot / b);
        Some(match self {
            Target::RatioAtLeast { x } => ratio? >= x,
            Target::RatioAtMost { x } => ratio? <= x,
            Target::AtMost { x } => godepot <= x,
            Target::WithinPlus { x } => godepot <= baseline? + x,
            Target::Equal => (godepot - baseline?).abs() < 1e-9,
        })
    }
}

/// One line of the table.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Row {
    pub(crate) section: String,
    pub(crate) figure: String,
    pub(crate) unit: String,
    pub(crate) godepot: f64,
    pub(crate) baseline: Option<f64>,
    /// What the baseline column is (nginx, file://, upstream direct, small store, ...).
    pub(crate) baseline_is: String,
    pub(crate) ratio: Option<f64>,
    pub(crate) target: Option<Target>,
    pub(crate) target_text: Option<String>,
    pub(crate) target_met: Option<bool>,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct Report {
    pub(crate) rows: Vec<Row>,
    pub(crate) failures: Vec<String>,
    #[serde(skip)]
    section: String,
}

impl Report {
    pub(crate) fn section(&mut self, name: &str) {
        self.section = name.to_owned();
    }

    /// Adds a row; `baseline` is `(value, what it is)`.
    pub(crate) fn add(
        &mut self,
        figure: &str,
        unit: &str,
        godepot: f64,
        baseline: Option<(f64, &str)>,
        target: Option<Target>,
    ) {
        let base = baseline.map(|(b, _)| b);
        let ratio = base.filter(|b| *b != 0.0).map(|b| godepot / b);
        self.rows.push(Row {
            section: self.section.clone(),
            figure: figure.to_owned(),
            unit: unit.to_owned(),
            godepot,
            baseline: base,
            baseline_is: baseline.map_or_else(String::new, |(_, what)| what.to_owned()),
            ratio,
            target,
            target_text: target.map(|t| t.describe(unit)),
            target_met: target.and_then(|t| t.met(godepot, base)),
        });
    }

    pub(crate) fn fail(&mut self, what: String) {
        eprintln!("[bench] FAILED: {what}");
        self.failures.push(what);
    }

    /// The table as aligned text (also pasted into BENCHMARKS.md).
    pub(crate) fn table(&self) -> String {
        let mut out = String::new();
        let header = [
            "figure", "unit", "godepot", "baseline", "(is)", "ratio", "target",
        ];
        let mut lines: Vec<[String; 7]> = vec![header.map(str::to_owned)];
        let mut section = "";
        for r in &self.rows {
            if r.section != section {
                section = &r.section;
                lines.push([
                    format!("[{section}]"),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                    String::new(),
                ]);
            }
            let target = match (&r.target_text, r.target_met) {
                (Some(t), Some(true)) => format!("{t}: met"),
                (Some(t), Some(false)) => format!("{t}: NOT met"),
                (Some(t), None) => format!("{t}: n/a"),
                (None, _) => String::new(),
            };
            lines.push([
                format!("  {}", r.figure),
                r.unit.clone(),
                fmt_value(r.godepot, &r.unit),
                r.baseline
                    .map_or_else(String::new, |b| fmt_value(b, &r.unit)),
                r.baseline_is.clone(),
                r.ratio.map_or_else(String::new, |x| format!("{x:.2}")),
                target,
            ]);
        }
        let widths: Vec<usize> = (0..7)
            .map(|i| {
                lines
                    .iter()
                    .map(|l| l[i].chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        for l in &lines {
            let mut line = String::new();
            for (i, cell) in l.iter().enumerate() {
                let pad = widths[i] - cell.chars().count();
                // Numbers right-aligned, text left-aligned.
                if (2..=3).contains(&i) || i == 5 {
                    let _ = write!(line, "{}{cell}  ", " ".repeat(pad));
                } else {
                    let _ = write!(line, "{cell}{}  ", " ".repeat(pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        for f in &self.failures {
            let _ = writeln!(out, "FAILED: {f}");
        }
        out
    }
}

fn fmt_value(v: f64, unit: &str) -> String {
    match unit {
        "req/s" | "MiB/s" | "count" => format!("{v:.0}"),
        "ms" => format!("{v:.3}"),
        "MiB" => format!("{v:.1}"),
        "s" | "s/GB" => format!("{v:.3}"),
        _ => format!("{v:.2}"),
    }
}
