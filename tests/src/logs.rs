//! Captures what smsdesk logs, in the functions' JSON format, into a buffer a test reads back, and checks
//! that each line is one JSON object with no key twice (a field named like tracing's own `message` would
//! make two).

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// Every target of smsdesk's own crates at `trace`, everything else at `info` (as Lambda logs by default).
pub const FILTER: &str = "info,smsdesk=trace,smsdesk_app=trace,smsdesk_domain=trace,smsdesk_providers=trace,\
                          smsdesk_embedded=trace,smsdesk_aws=trace,smsdesk_lambda=trace";

/// A shared buffer the subscriber writes into.
#[derive(Clone, Default)]
pub struct LogBuffer(Arc<Mutex<Vec<u8>>>);

impl LogBuffer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|p| p.into_inner())).into_owned()
    }
}

impl std::io::Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogBuffer {
    type Writer = LogBuffer;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

thread_local! {
    /// Where this thread's logs go while a test captures them.
    static CAPTURE: std::cell::RefCell<Option<LogBuffer>> = const { std::cell::RefCell::new(None) };
}

/// The global subscriber's writer: the capturing thread's buffer, or nowhere.
struct ThreadRouted;

enum RoutedWriter {
    Buffer(LogBuffer),
    Sink,
}

impl std::io::Write for RoutedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            RoutedWriter::Buffer(b) => b.write(buf),
            RoutedWriter::Sink => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for ThreadRouted {
    type Writer = RoutedWriter;

    fn make_writer(&'a self) -> Self::Writer {
        CAPTURE.with(|c| c.borrow().clone()).map_or(RoutedWriter::Sink, RoutedWriter::Buffer)
    }
}

/// Installs, once per test process and before any app of a test starts ([`crate::TestApp`] calls it), a global
/// subscriber in the functions' JSON format that writes the logs of a capturing thread to its buffer and drops
/// the rest. Global, not a thread's scoped default: tracing caches per call site whether anyone listens, and a
/// scoped subscriber set while other tests' threads register the same call sites can be cached out.
pub fn install() {
    static INSTALLED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    INSTALLED.get_or_init(|| {
        let subscriber = smsdesk_lambda::logs::json_subscriber(EnvFilter::new(FILTER), ThreadRouted);
        tracing::subscriber::set_global_default(subscriber)
            .expect("nothing else in the test process installs a global subscriber");
    });
}

/// A hook for the threads an app starts (`DevPorts::on_http_thread`): each of them writes its logs where the
/// calling thread writes its own (its test's capture, or nowhere).
pub fn inherit() -> std::sync::Arc<dyn Fn() + Send + Sync> {
    let buffer = CAPTURE.with(|c| c.borrow().clone());
    std::sync::Arc::new(move || CAPTURE.with(|c| *c.borrow_mut() = buffer.clone()))
}

/// Stops capturing when dropped.
pub struct Capturing;

impl Drop for Capturing {
    fn drop(&mut self) {
        CAPTURE.with(|c| c.borrow_mut().take());
    }
}

/// Captures this thread's logs (a `#[tokio::test]` runs the app's tasks on its one thread) until the guard
/// drops.
pub fn capture() -> (LogBuffer, Capturing) {
    install();
    let buffer = LogBuffer::default();
    CAPTURE.with(|c| *c.borrow_mut() = Some(buffer.clone()));
    (buffer, Capturing)
}

/// Ok when `line` is a JSON object in which no object has a key twice.
pub fn check_line(line: &str) -> Result<(), String> {
    if !line.trim_start().starts_with('{') {
        return Err("not a JSON object".into());
    }
    serde_json::from_str::<NoDuplicateKeys>(line).map(|_| ()).map_err(|e| e.to_string())
}

struct NoDuplicateKeys;

impl<'de> Deserialize<'de> for NoDuplicateKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(Check)
    }
}

struct Check;

impl<'de> Visitor<'de> for Check {
    type Value = NoDuplicateKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut keys = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !keys.insert(key.clone()) {
                return Err(de::Error::custom(format!("key `{key}` appears twice")));
            }
            map.next_value::<NoDuplicateKeys>()?;
        }
        Ok(NoDuplicateKeys)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<NoDuplicateKeys>()?.is_some() {}
        Ok(NoDuplicateKeys)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(NoDuplicateKeys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_keys_are_found_at_any_depth() {
        assert!(check_line(r#"{"a":1,"b":{"c":[1,{"d":null}]}}"#).is_ok());
        assert!(check_line(r#"{"message":"sent","message":"msg_1"}"#).is_err());
        assert!(check_line(r#"{"span":{"x":1,"x":2}}"#).is_err());
        assert!(check_line("plain text").is_err());
    }
}
