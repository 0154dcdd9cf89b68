//! Metrics in AWS: CloudWatch embedded metric format (EMF). Each sample is one JSON line on the function's
//! standard output; Lambda ships it to CloudWatch Logs, which extracts the metric (no PutMetricData call,
//! no network in the function). Each line publishes the series with its dimensions and once more without
//! any, so alarms can watch the total. The namespace comes from `SMSDESK_METRICS_NAMESPACE` (the template
//! sets `smsdesk`).

use smsdesk_ports::{Metrics, Sample, Unit};
use std::io::Write;
use std::sync::Mutex;

/// The variable naming the CloudWatch namespace.
pub const METRICS_NAMESPACE_VAR: &str = "SMSDESK_METRICS_NAMESPACE";
/// The namespace when the variable is unset.
pub const DEFAULT_METRICS_NAMESPACE: &str = "smsdesk";

/// Writes EMF lines to a writer: standard output in Lambda, a buffer in tests.
pub struct EmfMetrics {
    namespace: String,
    out: Mutex<Box<dyn Write + Send>>,
    now_ms: Box<dyn Fn() -> i64 + Send + Sync>,
}

impl EmfMetrics {
    /// EMF on standard output, namespace from the environment.
    pub fn stdout_from_env() -> Self {
        let namespace = std::env::var(METRICS_NAMESPACE_VAR)
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_METRICS_NAMESPACE.to_owned());
        Self::new(namespace, Box::new(std::io::stdout()), Box::new(wall_clock_ms))
    }

    pub fn new(
        namespace: impl Into<String>,
        out: Box<dyn Write + Send>,
        now_ms: Box<dyn Fn() -> i64 + Send + Sync>,
    ) -> Self {
        Self { namespace: namespace.into(), out: Mutex::new(out), now_ms }
    }

    /// One EMF document for `sample`.
    pub fn line(&self, sample: &Sample) -> serde_json::Value {
        let unit = match sample.unit {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::Gauge => "None",
        };
        let names: Vec<&str> = sample.dimensions.iter().map(|(k, _)| *k).collect();
        let dimension_sets =
            if names.is_empty() { serde_json::json!([[]]) } else { serde_json::json!([names, []]) };
        let mut doc = serde_json::json!({
            "_aws": {
                "Timestamp": (self.now_ms)(),
                "CloudWatchMetrics": [{
                    "Namespace": self.namespace,
                    "Dimensions": dimension_sets,
                    "Metrics": [{"Name": sample.name, "Unit": unit}],
                }],
            },
        });
        if let Some(obj) = doc.as_object_mut() {
            for (k, v) in &sample.dimensions {
                obj.insert((*k).to_owned(), serde_json::Value::String(v.clone()));
            }
            obj.insert(sample.name.to_owned(), serde_json::json!(sample.value));
        }
        doc
    }
}

impl Metrics for EmfMetrics {
    fn record(&self, sample: Sample) {
        let mut line = self.line(&sample).to_string();
        line.push('\n');
        let mut out = match self.out.lock() {
            Ok(o) => o,
            Err(poisoned) => poisoned.into_inner(),
        };
        // One write of the whole line, so lines from concurrent handlers never interleave.
        let _ = out.write_all(line.as_bytes()).and_then(|_| out.flush());
    }
}

fn wall_clock_ms() -> i64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sample_becomes_an_emf_document_with_and_without_its_dimensions() {
        let emf = EmfMetrics::new("smsdesk", Box::new(std::io::sink()), Box::new(|| 1_700_000_000_000));
        let doc = emf.line(&Sample::millis("AssignmentLatency", 120.0, vec![("Queue", "q_1".into())]));
        assert_eq!(
            doc,
            serde_json::json!({
                "_aws": {"Timestamp": 1_700_000_000_000i64, "CloudWatchMetrics": [{
                    "Namespace": "smsdesk", "Dimensions": [["Queue"], []],
                    "Metrics": [{"Name": "AssignmentLatency", "Unit": "Milliseconds"}]}]},
                "Queue": "q_1", "AssignmentLatency": 120.0,
            })
        );
        let bare = emf.line(&Sample::count("TextsIn", vec![]));
        assert_eq!(bare["_aws"]["CloudWatchMetrics"][0]["Dimensions"], serde_json::json!([[]]));
        assert_eq!(bare["TextsIn"], serde_json::json!(1.0));
    }
}
