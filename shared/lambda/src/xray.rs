//! X-Ray subsegments from the functions' own spans (issue 15.3): with active tracing, Lambda records one
//! segment per invocation and links invocations through the queues (the `AWSTraceHeader` our sends carry);
//! this layer adds, inside that segment, one subsegment per span the handlers open (`webhook`,
//! `queue_message`, `route`, `send`, `provider`, `crm`), annotated with the ids the span carries
//! (`conversation_id`, `message_id`, `channel`, `provider`, `queue`, `job`), so that X-Ray's search
//! (`annotation.conversation_id = "cv_…"`) finds one conversation's work from the router through the queues
//! to the provider call. A span nested in another becomes its child.
//!
//! Documents go as UDP datagrams to the X-Ray daemon Lambda runs beside the function
//! (`AWS_XRAY_DAEMON_ADDRESS`), under the trace of the invocation in progress (`_X_AMZN_TRACE_ID`, which the
//! runtime sets per invocation), and only when that trace is sampled. Nothing waits on them: a datagram
//! that cannot go is dropped, as the X-Ray SDKs do. No customer number is ever a span field (the logs'
//! rule), and only the fields named above become annotations.

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::{SystemTime, UNIX_EPOCH};
use tracing::span::{Attributes, Id, Record};
use tracing::{Subscriber, field::Field, field::Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// The span fields that become annotations (searchable in X-Ray).
const ANNOTATED: &[&str] = &["conversation_id", "message_id", "channel", "provider", "queue", "job"];

/// Where the trace of the invocation in progress comes from (the runtime's environment variable in Lambda;
/// a fixed header in tests).
pub type TraceSource = fn() -> Option<String>;

/// The layer: one subsegment per closed span.
pub struct XrayLayer {
    socket: UdpSocket,
    daemon: SocketAddr,
    trace: TraceSource,
}

impl XrayLayer {
    /// The layer Lambda's environment asks for: `Some` when active tracing runs a daemon
    /// (`AWS_XRAY_DAEMON_ADDRESS` set), `None` otherwise (`smsdesk dev`, tests).
    pub fn from_env() -> Option<Self> {
        let address = std::env::var("AWS_XRAY_DAEMON_ADDRESS").ok()?;
        Self::new(&address, lambda_trace_header)
    }

    /// A layer sending to the daemon at `address`: `host:port`, or the SDKs' `tcp:… udp:host:port` form.
    pub fn new(address: &str, trace: TraceSource) -> Option<Self> {
        let udp = address
            .split_whitespace()
            .find_map(|part| part.strip_prefix("udp:"))
            .unwrap_or_else(|| address.trim());
        let daemon = udp.to_socket_addrs().ok()?.next()?;
        let local: SocketAddr = if daemon.is_ipv6() { "[::]:0" } else { "0.0.0.0:0" }.parse().ok()?;
        let socket = UdpSocket::bind(local).ok()?;
        socket.set_nonblocking(true).ok()?;
        Some(Self { socket, daemon, trace })
    }
}

/// `_X_AMZN_TRACE_ID`, which lambda_runtime sets for each invocation.
fn lambda_trace_header() -> Option<String> {
    std::env::var("_X_AMZN_TRACE_ID").ok()
}

/// A trace header's parts: `Root=1-…;Parent=…;Sampled=1`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct TraceHeader {
    root: String,
    parent: Option<String>,
    sampled: bool,
}

fn parse_header(header: &str) -> Option<TraceHeader> {
    let (mut root, mut parent, mut sampled) = (None, None, false);
    for part in header.split(';') {
        match part.trim().split_once('=') {
            Some(("Root", v)) if !v.is_empty() => root = Some(v.to_string()),
            Some(("Parent", v)) if !v.is_empty() => parent = Some(v.to_string()),
            Some(("Sampled", v)) => sampled = v == "1",
            _ => {}
        }
    }
    Some(TraceHeader { root: root?, parent, sampled })
}

/// What a span keeps until it closes.
struct Pending {
    id: String,
    trace: TraceHeader,
    start: f64,
    annotations: serde_json::Map<String, serde_json::Value>,
}

struct Annotations<'a>(&'a mut serde_json::Map<String, serde_json::Value>);

impl Visit for Annotations<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if ANNOTATED.contains(&field.name()) && !value.is_empty() {
            self.0.insert(field.name().to_string(), value.into());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if ANNOTATED.contains(&field.name()) {
            let text = format!("{value:?}");
            let text = text.trim_matches('"');
            if !text.is_empty() {
                self.0.insert(field.name().to_string(), text.into());
            }
        }
    }
}

fn now_secs() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or_default()
}

/// A subsegment id: 16 hex digits.
fn new_id() -> String {
    format!("{:016x}", fastrand::u64(..))
}

impl<S> Layer<S> for XrayLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        // A child takes its parent's trace (the invocation it began in); a root span reads the invocation's.
        let inherited =
            span.parent().and_then(|p| p.extensions().get::<Pending>().map(|parent| parent.trace.clone()));
        let Some(trace) = inherited.or_else(|| (self.trace)().as_deref().and_then(parse_header)) else {
            return;
        };
        if !trace.sampled {
            return;
        }
        let mut annotations = serde_json::Map::new();
        attrs.record(&mut Annotations(&mut annotations));
        span.extensions_mut().insert(Pending { id: new_id(), trace, start: now_secs(), annotations });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(pending) = span.extensions_mut().get_mut::<Pending>()
        {
            values.record(&mut Annotations(&mut pending.annotations));
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(pending) = span.extensions_mut().remove::<Pending>() else { return };
        let parent_id = span
            .parent()
            .and_then(|p| p.extensions().get::<Pending>().map(|parent| parent.id.clone()))
            .or(pending.trace.parent.clone());
        let Some(parent_id) = parent_id else { return };
        let mut document = serde_json::json!({
            "name": span.name(),
            "id": pending.id,
            "trace_id": pending.trace.root,
            "parent_id": parent_id,
            "type": "subsegment",
            "start_time": pending.start,
            "end_time": now_secs().max(pending.start),
            "annotations": pending.annotations,
        });
        if span.name() == "provider" {
            // The provider's API: a remote call, drawn as a node of its own on the service map.
            document["namespace"] = "remote".into();
        }
        let datagram = format!("{{\"format\":\"json\",\"version\":1}}\n{document}");
        let _dropped_when_full = self.socket.send_to(datagram.as_bytes(), self.daemon);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tracing_subscriber::layer::SubscriberExt;

    const HEADER: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

    fn daemon() -> UdpSocket {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        socket
    }

    fn receive(socket: &UdpSocket) -> serde_json::Value {
        let mut buf = vec![0u8; 64 * 1024];
        let n = socket.recv(&mut buf).expect("a datagram");
        let text = std::str::from_utf8(&buf[..n]).expect("utf-8");
        let (header, body) = text.split_once('\n').expect("header line");
        assert_eq!(header, r#"{"format":"json","version":1}"#);
        serde_json::from_str(body).expect("a JSON document")
    }

    #[test]
    fn trace_headers_are_read_as_lambda_writes_them() {
        let h = parse_header(HEADER).expect("parsed");
        assert_eq!(h.root, "1-5759e988-bd862e3fe1be46a994272793");
        assert_eq!(h.parent.as_deref(), Some("53995c3f42cd8ad8"));
        assert!(h.sampled);
        assert!(!parse_header("Root=1-a-b;Sampled=0").expect("parsed").sampled);
        assert_eq!(parse_header("Parent=1;Sampled=1"), None, "no root, no trace");
    }

    #[test]
    fn the_daemon_address_takes_the_sdks_forms() {
        assert!(XrayLayer::new("127.0.0.1:2000", || None).is_some());
        assert!(XrayLayer::new("tcp:127.0.0.1:2000 udp:127.0.0.1:2001", || None).is_some());
        assert!(XrayLayer::new("not an address", || None).is_none());
    }

    #[test]
    fn spans_become_subsegments_of_the_invocation_annotated_with_the_conversation() {
        let socket = daemon();
        let address = socket.local_addr().expect("address").to_string();
        let layer = XrayLayer::new(&address, || Some(HEADER.to_string())).expect("layer");
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, || {
            let send = tracing::info_span!(
                "send",
                conversation_id = tracing::field::Empty,
                message_id = %"msg_1",
                customer_text = "not annotated",
            );
            let _in_send = send.enter();
            send.record("conversation_id", tracing::field::display("cv_1"));
            let provider = tracing::info_span!("provider", provider = "twilio");
            drop(provider.enter());
            drop(provider);
        });
        let provider = receive(&socket);
        let send = receive(&socket);

        assert_eq!((send["name"].as_str(), send["type"].as_str()), (Some("send"), Some("subsegment")));
        assert_eq!(send["trace_id"], "1-5759e988-bd862e3fe1be46a994272793", "the invocation's trace");
        assert_eq!(send["parent_id"], "53995c3f42cd8ad8", "inside the invocation's segment");
        assert_eq!(
            send["annotations"],
            serde_json::json!({"conversation_id": "cv_1", "message_id": "msg_1"})
        );
        assert!(send["end_time"].as_f64() >= send["start_time"].as_f64());
        assert_eq!(send["id"].as_str().map(str::len), Some(16));

        assert_eq!(provider["name"], "provider");
        assert_eq!(provider["parent_id"], send["id"], "the provider call is the send's child");
        assert_eq!(provider["trace_id"], send["trace_id"]);
        assert_eq!(provider["namespace"], "remote");
        assert_eq!(provider["annotations"], serde_json::json!({"provider": "twilio"}));
    }

    #[test]
    fn nothing_goes_when_the_trace_is_not_sampled_or_absent() {
        let socket = daemon();
        socket.set_read_timeout(Some(Duration::from_millis(300))).expect("timeout");
        let address = socket.local_addr().expect("address").to_string();
        for trace in [(|| Some("Root=1-a-b;Parent=c;Sampled=0".to_string())) as TraceSource, || None] {
            let layer = XrayLayer::new(&address, trace).expect("layer");
            tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
                drop(tracing::info_span!("route", conversation_id = "cv_1").entered());
            });
        }
        let mut buf = [0u8; 1024];
        assert!(socket.recv(&mut buf).is_err(), "no datagram");
    }
}
