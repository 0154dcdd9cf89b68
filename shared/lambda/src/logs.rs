//! Logs for CloudWatch: one JSON object per line, no ANSI colours, filtered by `RUST_LOG` (or by Lambda's
//! own `AWS_LAMBDA_LOG_LEVEL` when the function's advanced logging controls set it), `info` otherwise.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// Installs the global subscriber: the JSON logs, and X-Ray subsegments of the handlers' spans when the
/// function runs with active tracing ([`crate::xray`]). Call it first in every function's `main`; a second
/// call is harmless (the first subscriber stays), so tests and benchmarks may call it freely.
pub fn init_tracing() {
    // The key of the hashes logs show for customer-derived ids (`redact::log_hash`): the same in every
    // function of the stack (the template sets it), so their logs name a FIFO group alike.
    let key = std::env::var("SMSDESK_LOG_KEY").unwrap_or_default();
    if !key.trim().is_empty() {
        smsdesk_domain::redact::set_log_key(key.trim().as_bytes());
    }
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(lambda_log_level().unwrap_or_else(|| "info".to_owned())))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let _already_set =
        json_subscriber(filter, std::io::stdout).with(crate::xray::XrayLayer::from_env()).try_init();
}

/// The functions' log format writing to `writer`: one flat JSON object per event (the event's fields at the
/// top level beside `message`, so no field may be called `message`), the current span's fields under
/// `span`, no ANSI colours. Tests capture what a conversation logs with it.
pub fn json_subscriber<W>(
    filter: EnvFilter,
    writer: W,
) -> impl tracing::Subscriber + for<'a> LookupSpan<'a> + Send + Sync + 'static
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let logs = tracing_subscriber::fmt::layer()
        .json()
        .with_writer(writer)
        .with_ansi(false)
        .with_target(true)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true);
    tracing_subscriber::registry().with(filter).with(logs)
}

/// Lambda's advanced logging level (`TRACE`..`FATAL`), mapped onto tracing's names.
fn lambda_log_level() -> Option<String> {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL").ok()?;
    Some(map_lambda_level(&level).to_owned())
}

fn map_lambda_level(level: &str) -> &'static str {
    match level.to_ascii_uppercase().as_str() {
        "TRACE" => "trace",
        "DEBUG" => "debug",
        "WARN" => "warn",
        "ERROR" | "FATAL" => "error",
        _ => "info",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lambda_levels_map_onto_tracing_levels() {
        assert_eq!(map_lambda_level("FATAL"), "error");
        assert_eq!(map_lambda_level("debug"), "debug");
        assert_eq!(map_lambda_level("WARN"), "warn");
        assert_eq!(map_lambda_level("nonsense"), "info");
    }
}
