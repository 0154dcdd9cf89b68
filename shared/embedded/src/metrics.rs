//! Metrics of the embedded shape, kept in memory and shown as Prometheus text at `/metrics`, so that
//! `smsdesk dev` can be watched with the tools people already run. Counters are `smsdesk_<name>_total`,
//! durations histograms `smsdesk_<name>_milliseconds`, levels gauges `smsdesk_<name>`. Every family has its
//! `# HELP` (from `smsdesk_ports::metrics::names::help`) and `# TYPE` lines, in the text format 0.0.4.

use smsdesk_ports::metrics::names;
use smsdesk_ports::{Metrics, Sample, Unit};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;

/// Upper bounds of the duration histograms' buckets, in milliseconds.
const BUCKETS_MS: [f64; 12] =
    [10.0, 50.0, 100.0, 250.0, 500.0, 1_000.0, 2_500.0, 5_000.0, 15_000.0, 60_000.0, 300_000.0, 3_600_000.0];

type Labels = Vec<(&'static str, String)>;

#[derive(Debug, Clone)]
enum Series {
    Counter(f64),
    Gauge(f64),
    Histogram { buckets: [u64; BUCKETS_MS.len()], count: u64, sum: f64 },
}

/// The in-memory registry behind `/metrics`.
#[derive(Debug, Default)]
pub struct PrometheusMetrics {
    series: Mutex<BTreeMap<(&'static str, Unit, Labels), Series>>,
}

impl PrometheusMetrics {
    pub fn new() -> Self {
        Self::default()
    }

    /// The registry in the Prometheus text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let series = match self.series.lock() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let mut out = String::new();
        let mut last_family = String::new();
        for ((name, unit, labels), value) in &series {
            let family = family_name(name, *unit);
            if family != last_family {
                let kind = match unit {
                    Unit::Count => "counter",
                    Unit::Gauge => "gauge",
                    Unit::Milliseconds => "histogram",
                };
                let help = names::help(name).map_or_else(|| format!("smsdesk {name}."), str::to_owned);
                let _ = writeln!(out, "# HELP {family} {}", escape_help(&help));
                let _ = writeln!(out, "# TYPE {family} {kind}");
                last_family = family.clone();
            }
            match value {
                Series::Counter(v) | Series::Gauge(v) => {
                    let _ = writeln!(out, "{family}{} {}", label_text(labels, None), number(*v));
                }
                Series::Histogram { buckets, count, sum } => {
                    let mut cumulative = 0;
                    for (bound, n) in BUCKETS_MS.iter().zip(buckets) {
                        cumulative += n;
                        let le = number(*bound);
                        let _ =
                            writeln!(out, "{family}_bucket{} {cumulative}", label_text(labels, Some(&le)));
                    }
                    let _ = writeln!(out, "{family}_bucket{} {count}", label_text(labels, Some("+Inf")));
                    let _ = writeln!(out, "{family}_sum{} {}", label_text(labels, None), number(*sum));
                    let _ = writeln!(out, "{family}_count{} {count}", label_text(labels, None));
                }
            }
        }
        out
    }
}

impl Metrics for PrometheusMetrics {
    fn record(&self, sample: Sample) {
        let mut labels = sample.dimensions;
        labels.sort();
        let mut series = match self.series.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        let entry = series.entry((sample.name, sample.unit, labels)).or_insert_with(|| match sample.unit {
            Unit::Count => Series::Counter(0.0),
            Unit::Gauge => Series::Gauge(0.0),
            Unit::Milliseconds => Series::Histogram { buckets: [0; BUCKETS_MS.len()], count: 0, sum: 0.0 },
        });
        match entry {
            Series::Counter(v) => *v += sample.value,
            Series::Gauge(v) => *v = sample.value,
            Series::Histogram { buckets, count, sum } => {
                if let Some(i) = BUCKETS_MS.iter().position(|bound| sample.value <= *bound) {
                    buckets[i] += 1;
                }
                *count += 1;
                *sum += sample.value;
            }
        }
    }
}

/// `TextsIn` -> `smsdesk_texts_in_total`; `AssignmentLatency` -> `smsdesk_assignment_latency_milliseconds`.
fn family_name(name: &str, unit: Unit) -> String {
    let mut snake = String::from("smsdesk_");
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                snake.push('_');
            }
            snake.push(c.to_ascii_lowercase());
        } else if c.is_ascii_alphanumeric() {
            snake.push(c);
        } else {
            snake.push('_');
        }
    }
    match unit {
        Unit::Count => snake + "_total",
        Unit::Milliseconds => snake + "_milliseconds",
        Unit::Gauge => snake,
    }
}

fn label_text(labels: &Labels, le: Option<&str>) -> String {
    let mut parts: Vec<String> =
        labels.iter().map(|(k, v)| format!("{}=\"{}\"", k.to_ascii_lowercase(), escape(v))).collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    if parts.is_empty() { String::new() } else { format!("{{{}}}", parts.join(",")) }
}

/// A `# HELP` text: backslashes and line feeds escaped (the format's rule for help; quotes stay).
fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { format!("{}", v as i64) } else { format!("{v}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_histograms_in_the_text_format() {
        let m = PrometheusMetrics::new();
        m.record(Sample::count("TextsIn", vec![("Provider", "telesign".into())]));
        m.record(Sample::count("TextsIn", vec![("Provider", "telesign".into())]));
        m.record(Sample::gauge("WaitingConversations", 4.0, vec![("Queue", "q_1".into())]));
        m.record(Sample::gauge("WaitingConversations", 2.0, vec![("Queue", "q_1".into())]));
        m.record(Sample::millis("AssignmentLatency", 75.0, vec![]));
        m.record(Sample::millis("AssignmentLatency", 7_000.0, vec![]));
        let text = m.render();
        assert!(
            text.contains(
                "# TYPE smsdesk_texts_in_total counter\nsmsdesk_texts_in_total{provider=\"telesign\"} 2\n"
            ),
            "{text}"
        );
        assert!(text.contains("smsdesk_waiting_conversations{queue=\"q_1\"} 2\n"), "{text}");
        assert!(text.contains("smsdesk_assignment_latency_milliseconds_bucket{le=\"50\"} 0\n"), "{text}");
        assert!(text.contains("smsdesk_assignment_latency_milliseconds_bucket{le=\"100\"} 1\n"), "{text}");
        assert!(text.contains("smsdesk_assignment_latency_milliseconds_bucket{le=\"+Inf\"} 2\n"), "{text}");
        assert!(text.contains("smsdesk_assignment_latency_milliseconds_sum 7075\n"), "{text}");
    }

    /// The exposition as Prometheus reads it (text format 0.0.4): every family has one `# HELP` and one
    /// `# TYPE`, both before its samples; names are valid metric names; every sample belongs to a declared
    /// family (a histogram's `_bucket`, `_sum` and `_count` to theirs).
    #[test]
    fn every_family_has_help_and_type_before_its_samples() {
        let m = PrometheusMetrics::new();
        m.record(Sample::count(
            names::TEXTS_IN,
            vec![("Provider", "sandbox".into()), ("Channel", "ch_1".into())],
        ));
        m.record(Sample::count(
            names::SEND_FAILURES,
            vec![("Provider", "twilio".into()), ("Reason", "unauthorized".into())],
        ));
        m.record(Sample::count(names::FAILURES, vec![("FunctionName", "router".into())]));
        m.record(Sample::millis(names::FIRST_REPLY_LATENCY, 1_200.0, vec![("Queue", "q_1".into())]));
        m.record(Sample::gauge(names::QUEUE_DEPTH, 0.0, vec![("Stage", "inbound".into())]));
        m.record(Sample::gauge(names::DEAD_LETTERS, 1.0, vec![("Stage", "timers".into())]));
        m.record(Sample::gauge("SomethingNew", 1.0, vec![]));
        let text = m.render();

        let valid_name = |n: &str| {
            let mut chars = n.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
                && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        };
        let mut help: BTreeMap<String, usize> = BTreeMap::new();
        let mut types: BTreeMap<String, String> = BTreeMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (family, doc) = rest.split_once(' ').expect("a family and its text");
                assert!(valid_name(family), "{line}");
                assert!(!doc.trim().is_empty(), "{line}");
                assert!(!types.contains_key(family), "HELP after TYPE: {line}");
                *help.entry(family.to_owned()).or_default() += 1;
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (family, kind) = rest.split_once(' ').expect("a family and its type");
                assert!(["counter", "gauge", "histogram"].contains(&kind), "{line}");
                assert_eq!(help.get(family), Some(&1), "one HELP before TYPE: {line}");
                assert!(types.insert(family.to_owned(), kind.to_owned()).is_none(), "TYPE twice: {line}");
            } else {
                let name = line.split(['{', ' ']).next().unwrap_or_default();
                assert!(valid_name(name), "{line}");
                let family = ["_bucket", "_sum", "_count"]
                    .iter()
                    .filter_map(|suffix| name.strip_suffix(suffix))
                    .find(|base| types.get(*base).map(String::as_str) == Some("histogram"))
                    .unwrap_or(name);
                assert!(types.contains_key(family), "a sample of no declared family: {line}\n{text}");
            }
        }
        assert_eq!(help.len(), 7, "{text}");
        assert_eq!(help.keys().collect::<Vec<_>>(), types.keys().collect::<Vec<_>>());
        assert!(text.contains("# HELP smsdesk_texts_in_total Customers' texts accepted"), "{text}");
        assert!(text.contains("# HELP smsdesk_something_new smsdesk SomethingNew.\n"), "{text}");
    }

    #[test]
    fn label_values_are_escaped() {
        let m = PrometheusMetrics::new();
        m.record(Sample::count("SendFailures", vec![("Reason", "a \"quoted\"\nreason\\".into())]));
        assert!(m.render().contains(r#"reason="a \"quoted\"\nreason\\""#), "{}", m.render());
    }
}
