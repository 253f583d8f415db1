//! The Prometheus text exposition format, version 0.0.4: what every Prometheus server (and
//! every agent that speaks its protocol) scrapes.

use std::fmt::Write;

use crate::Histogram;

/// The `Content-Type` of a [`Text`] answer.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What a metric family is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Type {
    Counter,
    Gauge,
    Histogram,
}

impl Type {
    fn as_str(self) -> &'static str {
        match self {
            Type::Counter => "counter",
            Type::Gauge => "gauge",
            Type::Histogram => "histogram",
        }
    }
}

/// A sample's value: integers are written as integers.
#[derive(Debug, Clone, Copy)]
pub enum Value {
    Int(i128),
    Float(f64),
}

impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::Int(v.into())
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v.into())
    }
}

impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Float(v)
    }
}

/// An exposition being written: each family's `# HELP` and `# TYPE` lines, then its samples.
#[derive(Debug, Default)]
pub struct Text {
    out: String,
}

impl Text {
    pub fn new() -> Text {
        Text::default()
    }

    /// Starts a family: the samples written next belong to it.
    pub fn family(&mut self, name: &str, kind: Type, help: &str) -> &mut Text {
        let help = help.replace('\\', "\\\\").replace('\n', "\\n");
        let _ = writeln!(self.out, "# HELP {name} {help}");
        let _ = writeln!(self.out, "# TYPE {name} {}", kind.as_str());
        self
    }

    /// One sample of the current family (`name` carries a histogram's suffix).
    pub fn sample(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        value: impl Into<Value>,
    ) -> &mut Text {
        self.out.push_str(name);
        write_labels(&mut self.out, labels, None);
        self.out.push(' ');
        write_value(&mut self.out, value.into());
        self.out.push('\n');
        self
    }

    /// A family with one unlabelled counter.
    pub fn counter(&mut self, name: &str, help: &str, value: u64) -> &mut Text {
        self.family(name, Type::Counter, help)
            .sample(name, &[], value)
    }

    /// A family with one unlabelled counter of a fractional amount (seconds).
    pub fn counter_f64(&mut self, name: &str, help: &str, value: f64) -> &mut Text {
        self.family(name, Type::Counter, help)
            .sample(name, &[], value)
    }

    /// A family of counters told apart by one label: `(label value, count)` pairs.
    pub fn counters<'a>(
        &mut self,
        name: &str,
        help: &str,
        label: &str,
        counts: impl IntoIterator<Item = (&'a str, u64)>,
    ) -> &mut Text {
        self.family(name, Type::Counter, help);
        for (value, count) in counts {
            self.sample(name, &[(label, value)], count);
        }
        self
    }

    /// A family with one unlabelled gauge.
    pub fn gauge(&mut self, name: &str, help: &str, value: impl Into<Value>) -> &mut Text {
        self.family(name, Type::Gauge, help)
            .sample(name, &[], value)
    }

    /// The samples of one histogram of the current family: `_bucket` per bound, `_sum`,
    /// `_count`.
    pub fn histogram(&mut self, name: &str, labels: &[(&str, &str)], h: &Histogram) -> &mut Text {
        let (buckets, sum) = h.snapshot();
        let total = buckets.last().map_or(0, |&(_, n)| n);
        for (bound, count) in buckets {
            let _ = write!(self.out, "{name}_bucket");
            write_labels(&mut self.out, labels, Some(bound));
            let _ = writeln!(self.out, " {count}");
        }
        self.sample(&format!("{name}_sum"), labels, sum);
        self.sample(&format!("{name}_count"), labels, total)
    }

    pub fn finish(self) -> String {
        self.out
    }
}

fn write_labels(out: &mut String, labels: &[(&str, &str)], le: Option<f64>) {
    if labels.is_empty() && le.is_none() {
        return;
    }
    out.push('{');
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        escape_label_value(out, value);
        out.push('"');
    }
    if let Some(bound) = le {
        if !labels.is_empty() {
            out.push(',');
        }
        out.push_str("le=\"");
        write_value(out, Value::Float(bound));
        out.push('"');
    }
    out.push('}');
}

fn escape_label_value(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

fn write_value(out: &mut String, value: Value) {
    let _ = match value {
        Value::Int(n) => write!(out, "{n}"),
        Value::Float(f) if f.is_nan() => write!(out, "NaN"),
        Value::Float(f) if f == f64::INFINITY => write!(out, "+Inf"),
        Value::Float(f) if f == f64::NEG_INFINITY => write!(out, "-Inf"),
        Value::Float(f) => write!(out, "{f}"),
    };
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn families_samples_and_escaping() {
        let mut text = Text::new();
        text.family(
            "t_requests_total",
            Type::Counter,
            "Requests.\nBy kind \\ path.",
        )
        .sample("t_requests_total", &[("kind", "a\"b\\c\nd")], 3u64);
        text.gauge("t_up", "Up.", 1.5);
        let h = Histogram::new(&[0.5, 1.0]);
        h.observe(Duration::from_millis(250));
        text.family("t_seconds", Type::Histogram, "Time.")
            .histogram("t_seconds", &[("kind", "zip")], &h);
        assert_eq!(
            text.finish(),
            "# HELP t_requests_total Requests.\\nBy kind \\\\ path.\n\
             # TYPE t_requests_total counter\n\
             t_requests_total{kind=\"a\\\"b\\\\c\\nd\"} 3\n\
             # HELP t_up Up.\n\
             # TYPE t_up gauge\n\
             t_up 1.5\n\
             # HELP t_seconds Time.\n\
             # TYPE t_seconds histogram\n\
             t_seconds_bucket{kind=\"zip\",le=\"0.5\"} 1\n\
             t_seconds_bucket{kind=\"zip\",le=\"1\"} 1\n\
             t_seconds_bucket{kind=\"zip\",le=\"+Inf\"} 1\n\
             t_seconds_sum{kind=\"zip\"} 0.25\n\
             t_seconds_count{kind=\"zip\"} 1\n"
        );
    }
}
