//! Figures per binary and the markdown table.

use crate::fake_api::Run;
use std::path::Path;
use std::time::Duration;

pub struct Samples {
    name: String,
    stripped_bytes: u64,
    runs: Vec<Run>,
}

impl Samples {
    pub fn new(name: &str, path: &Path) -> Result<Samples, String> {
        let stripped_bytes = stripped_size(path)?;
        Ok(Samples { name: name.to_owned(), stripped_bytes, runs: Vec::new() })
    }

    pub fn push(&mut self, run: Run) {
        self.runs.push(run);
    }

    fn inits(&self) -> Vec<Duration> {
        self.runs.iter().map(|r| r.init).collect()
    }

    fn invokes(&self) -> Vec<Duration> {
        self.runs.iter().filter_map(|r| r.invoke).collect()
    }
}

/// Size after `strip` (on a copy), or the file's size when no `strip` is installed.
fn stripped_size(path: &Path) -> Result<u64, String> {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).map_err(|e| format!("{}: {e}", p.display()));
    let copy = std::env::temp_dir().join(format!("coldstart-strip-{}", std::process::id()));
    let stripped = std::process::Command::new("strip")
        .arg("-o")
        .arg(&copy)
        .arg(path)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let result = if stripped { size(&copy) } else { size(path) };
    let _ = std::fs::remove_file(&copy);
    result
}

/// The `q` quantile (nearest rank) of `values`.
pub fn quantile(values: &[Duration], q: f64) -> Option<Duration> {
    let mut sorted = values.to_vec();
    sorted.sort();
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len().max(1));
    sorted.get(rank - 1).copied()
}

fn ms(d: Option<Duration>) -> String {
    d.map(|d| format!("{:.2} ms", d.as_secs_f64() * 1000.0)).unwrap_or_else(|| "-".into())
}

pub fn markdown(samples: &[Samples], runs: usize, invoke: Option<&str>) -> String {
    let hello = samples.iter().find(|s| s.name == "hello").and_then(|s| quantile(&s.inits(), 0.5));
    let mut out = String::new();
    out.push_str(&format!(
        "Init = exec -> first poll of /runtime/invocation/next on a fake Runtime API (loopback). {runs} runs each, \
         interleaved; native {} build on {} CPU(s) (Lambda runs arm64: compare ratios, not milliseconds).\n\n",
        std::env::consts::ARCH,
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    ));
    out.push_str(
        "| binary | stripped size | init median | init p90 | ratio to hello | peak RSS at first poll |",
    );
    if invoke.is_some() {
        out.push_str(" first invocation median | p90 | ok |");
    }
    out.push('\n');
    out.push_str("|---|---|---|---|---|---|");
    if invoke.is_some() {
        out.push_str("---|---|---|");
    }
    out.push('\n');
    for sample in samples {
        let median = quantile(&sample.inits(), 0.5);
        let ratio = match (median, hello) {
            (Some(m), Some(h)) if !h.is_zero() => format!("{:.2}x", m.as_secs_f64() / h.as_secs_f64()),
            _ => "-".into(),
        };
        let rss = sample.runs.iter().filter_map(|r| r.peak_rss_kib).max();
        out.push_str(&format!(
            "| {} | {:.1} MB | {} | {} | {} | {} |",
            sample.name,
            sample.stripped_bytes as f64 / 1_000_000.0,
            ms(median),
            ms(quantile(&sample.inits(), 0.9)),
            ratio,
            rss.map(|k| format!("{:.1} MB", k as f64 / 1024.0)).unwrap_or_else(|| "-".into()),
        ));
        if invoke.is_some() {
            let oks = sample.runs.iter().filter(|r| r.invoke_ok == Some(true)).count();
            out.push_str(&format!(
                " {} | {} | {}/{} |",
                ms(quantile(&sample.invokes(), 0.5)),
                ms(quantile(&sample.invokes(), 0.9)),
                oks,
                sample.runs.len()
            ));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_by_nearest_rank() {
        let values: Vec<Duration> = [5, 1, 3, 2, 4].into_iter().map(Duration::from_millis).collect();
        assert_eq!(quantile(&values, 0.5), Some(Duration::from_millis(3)));
        assert_eq!(quantile(&values, 0.9), Some(Duration::from_millis(5)));
        assert_eq!(quantile(&[], 0.5), None);
    }
}
