//! The metrics contract: what a dashboard reads back from an adapter's output must be what was recorded.
//! Each adapter's test hands in its output parsed by the parser of its public format ([`parse_prometheus`]
//! for `/metrics`, [`parse_emf`] for CloudWatch embedded-metric lines), so the two adapters are held to
//! the same totals.

use smsdesk_ports::{Metrics, Sample};
use std::collections::BTreeMap;

/// A series as a dashboard sees it: name and sorted dimensions (names as recorded, e.g. `Provider`).
pub type SeriesKey = (String, Vec<(String, String)>);

#[derive(Clone, Debug, PartialEq)]
pub enum Observed {
    /// Sum of a counter.
    Count(f64),
    /// Number and sum of durations.
    Millis { count: u64, sum: f64 },
    /// Latest level.
    Gauge(f64),
}

pub type Readback = BTreeMap<SeriesKey, Observed>;

/// The series `name` with exactly `dimensions` (in any order), as read back.
pub fn series(readback: &Readback, name: &str, dimensions: &[(&str, &str)]) -> Option<Observed> {
    let mut d: Vec<(String, String)> =
        dimensions.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    d.sort();
    readback.get(&(name.to_owned(), d)).cloned()
}

/// Records a fixed set of samples (some from several threads at once) and checks `read()` against them.
pub fn metrics_contract(metrics: &(dyn Metrics + Sync), read: &dyn Fn() -> Readback) {
    let provider = |p: &str| vec![("Provider", p.to_owned())];
    metrics.record(Sample::count("TextsIn", provider("telesign")));
    metrics.record(Sample::count("TextsIn", provider("telesign")));
    metrics.record(Sample::count("TextsIn", provider("twilio")));
    metrics.record(Sample::count(
        "SendFailures",
        vec![("Provider", "telesign".into()), ("Reason", "said \"no\", then\\ 🙁".into())],
    ));
    metrics.record(Sample::gauge("WaitingConversations", 5.0, vec![("Queue", "q_a".into())]));
    metrics.record(Sample::gauge("WaitingConversations", 3.0, vec![("Queue", "q_a".into())]));
    metrics.record(Sample::millis("AssignmentLatency", 40.0, vec![("Queue", "q_a".into())]));
    metrics.record(Sample::millis("AssignmentLatency", 2_500.5, vec![("Queue", "q_a".into())]));
    metrics.record(Sample::count("SendAttempts", vec![]));
    std::thread::scope(|scope| {
        for _ in 0..8 {
            scope.spawn(|| {
                for _ in 0..100 {
                    metrics.record(Sample::count("TextsOut", vec![("Provider", "telesign".into())]));
                }
            });
        }
    });

    let key = |name: &str, dims: &[(&str, &str)]| -> SeriesKey {
        let mut d: Vec<(String, String)> = dims.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        d.sort();
        (name.to_owned(), d)
    };
    let mut want = Readback::new();
    want.insert(key("TextsIn", &[("Provider", "telesign")]), Observed::Count(2.0));
    want.insert(key("TextsIn", &[("Provider", "twilio")]), Observed::Count(1.0));
    want.insert(
        key("SendFailures", &[("Provider", "telesign"), ("Reason", "said \"no\", then\\ 🙁")]),
        Observed::Count(1.0),
    );
    want.insert(key("WaitingConversations", &[("Queue", "q_a")]), Observed::Gauge(3.0));
    want.insert(key("AssignmentLatency", &[("Queue", "q_a")]), Observed::Millis { count: 2, sum: 2_540.5 });
    want.insert(key("SendAttempts", &[]), Observed::Count(1.0));
    want.insert(key("TextsOut", &[("Provider", "telesign")]), Observed::Count(800.0));
    let got = read();
    assert_eq!(got, want, "metrics read back differ from what was recorded");
}

/// Parses Prometheus text (as `smsdesk_embedded::PrometheusMetrics::render` writes it) back into series:
/// `smsdesk_texts_in_total{provider="x"}` is `TextsIn` with `Provider = x`.
pub fn parse_prometheus(text: &str) -> Readback {
    let mut out = Readback::new();
    let mut millis: BTreeMap<SeriesKey, (u64, f64)> = BTreeMap::new();
    let mut types: BTreeMap<String, String> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            if let (Some(f), Some(t)) = (parts.next(), parts.next()) {
                types.insert(f.to_owned(), t.to_owned());
            }
            continue;
        }
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').expect("a sample line ends with its value");
        let value: f64 = value.parse().expect("a numeric value");
        let (family, labels) = match series.find('{') {
            Some(i) => (&series[..i], parse_labels(&series[i + 1..series.len() - 1])),
            None => (series, Vec::new()),
        };
        let labels: Vec<(String, String)> = labels.into_iter().filter(|(k, _)| k != "le").collect();
        let dims = |labels: Vec<(String, String)>| {
            let mut d: Vec<(String, String)> = labels.into_iter().map(|(k, v)| (camel(&k), v)).collect();
            d.sort();
            d
        };
        if let Some(base) =
            family.strip_suffix("_total").filter(|_| types.get(family).map(String::as_str) == Some("counter"))
        {
            out.insert((camel(strip_ns(base)), dims(labels)), Observed::Count(value));
        } else if let Some(base) = family.strip_suffix("_milliseconds_count") {
            millis.entry((camel(strip_ns(base)), dims(labels))).or_default().0 = value as u64;
        } else if let Some(base) = family.strip_suffix("_milliseconds_sum") {
            millis.entry((camel(strip_ns(base)), dims(labels))).or_default().1 = value;
        } else if family.ends_with("_milliseconds_bucket") {
            continue;
        } else if types.get(family).map(String::as_str) == Some("gauge") {
            out.insert((camel(strip_ns(family)), dims(labels)), Observed::Gauge(value));
        } else {
            panic!("unexpected series {family}");
        }
    }
    for (k, (count, sum)) in millis {
        out.insert(k, Observed::Millis { count, sum });
    }
    out
}

/// Parses CloudWatch embedded-metric-format lines back into series, aggregating as CloudWatch would
/// (counts add up, durations count and sum, a level keeps its latest value). Lines that are not EMF
/// documents (ordinary logs) are skipped. Only the dimension set naming every dimension is read; the
/// empty set that each line also publishes is the series' total.
pub fn parse_emf(lines: &str) -> Readback {
    let mut out = Readback::new();
    for line in lines.lines() {
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        let Some(directives) = doc["_aws"]["CloudWatchMetrics"].as_array() else { continue };
        for directive in directives {
            let dims: Vec<String> = directive["Dimensions"]
                .as_array()
                .and_then(|sets| sets.iter().filter_map(|s| s.as_array()).max_by_key(|s| s.len()).cloned())
                .unwrap_or_default()
                .iter()
                .filter_map(|d| d.as_str().map(str::to_owned))
                .collect();
            for metric in directive["Metrics"].as_array().into_iter().flatten() {
                let name = metric["Name"].as_str().expect("a metric name").to_owned();
                let value = doc[&name].as_f64().expect("the metric's value beside its directive");
                let mut d: Vec<(String, String)> = dims
                    .iter()
                    .map(|k| (k.clone(), doc[k].as_str().expect("a dimension value").to_owned()))
                    .collect();
                d.sort();
                let entry = out.entry((name, d));
                match metric["Unit"].as_str() {
                    Some("Count") => {
                        let e = entry.or_insert(Observed::Count(0.0));
                        if let Observed::Count(v) = e {
                            *v += value;
                        }
                    }
                    Some("Milliseconds") => {
                        let e = entry.or_insert(Observed::Millis { count: 0, sum: 0.0 });
                        if let Observed::Millis { count, sum } = e {
                            *count += 1;
                            *sum += value;
                        }
                    }
                    _ => *entry.or_insert(Observed::Gauge(value)) = Observed::Gauge(value),
                }
            }
        }
    }
    out
}

fn strip_ns(family: &str) -> &str {
    family.strip_prefix("smsdesk_").unwrap_or(family)
}

/// `texts_in` -> `TextsIn`, `provider` -> `Provider`.
fn camel(snake: &str) -> String {
    snake
        .split('_')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// `a="x",b="y \"q\""` -> [(a, x), (b, y "q")].
fn parse_labels(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = text.chars().peekable();
    loop {
        let name: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if name.is_empty() {
            break;
        }
        assert_eq!(chars.next(), Some('"'), "a label value is quoted");
        let mut value = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => match chars.next() {
                    Some('n') => value.push('\n'),
                    Some(other) => value.push(other),
                    None => break,
                },
                '"' => break,
                other => value.push(other),
            }
        }
        out.push((name.trim_start_matches(',').to_owned(), value));
        if chars.peek() == Some(&',') {
            chars.next();
        }
    }
    out
}
