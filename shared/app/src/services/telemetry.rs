//! The operational metrics the handlers record (series named in `smsdesk_ports::metrics::names`): what
//! the stack's dashboard and alarms read in AWS, and `/metrics` shows in `smsdesk dev`.

use crate::App;
use smsdesk_domain::{ChannelId, Conversation, ProviderKind, QueueId};
use smsdesk_ports::metrics::names;
use smsdesk_ports::{Sample, Unit};
use smsdesk_providers::SendError;
use time::OffsetDateTime;

fn provider(kind: ProviderKind) -> Vec<(&'static str, String)> {
    vec![("Provider", kind.as_str().to_owned())]
}

fn channel_and_provider(channel: &ChannelId, kind: ProviderKind) -> Vec<(&'static str, String)> {
    vec![("Channel", channel.to_string()), ("Provider", kind.as_str().to_owned())]
}

fn millis_between(from: OffsetDateTime, to: OffsetDateTime) -> f64 {
    ((to - from).whole_milliseconds().max(0)) as f64
}

/// `texts` inbound texts from `kind` were queued for routing on `channel`.
pub fn texts_in(app: &App, channel: &ChannelId, kind: ProviderKind, texts: usize) {
    if texts > 0 {
        app.metrics().record(Sample {
            name: names::TEXTS_IN,
            unit: Unit::Count,
            value: texts as f64,
            dimensions: channel_and_provider(channel, kind),
        });
    }
}

/// A send call to the provider is about to be made.
pub fn send_attempt(app: &App, kind: ProviderKind) {
    app.metrics().record(Sample::count(names::SEND_ATTEMPTS, provider(kind)));
}

/// The provider took a text sent from `channel`.
pub fn text_out(app: &App, channel: &ChannelId, kind: ProviderKind) {
    app.metrics().record(Sample::count(names::TEXTS_OUT, channel_and_provider(channel, kind)));
}

/// What the provider call gave: a text out, or a failure by its class (never the provider's own words).
pub fn send_outcome<T>(app: &App, channel: &ChannelId, kind: ProviderKind, sent: &Result<T, SendError>) {
    let class = match sent {
        Ok(_) => return text_out(app, channel, kind),
        Err(SendError::Permanent { .. }) => "permanent",
        Err(SendError::Unauthorized { .. }) => "unauthorized",
        Err(SendError::Transient { .. }) => "transient",
        Err(SendError::Unknown { .. }) => "unknown",
        Err(SendError::Throttled { .. }) => "throttled",
        Err(SendError::OptedOut { .. }) => "opted_out",
    };
    send_failure(app, kind, class);
}

/// A send call failed; `reason` is a short class (`transient`, `permanent`, ...), never the provider's text.
pub fn send_failure(app: &App, kind: ProviderKind, reason: &'static str) {
    let mut dimensions = provider(kind);
    dimensions.push(("Reason", reason.to_owned()));
    app.metrics().record(Sample::count(names::SEND_FAILURES, dimensions));
}

/// `conversation` went to an agent at `at`: the time from its first text being filed.
pub fn assigned(app: &App, conversation: &Conversation, at: OffsetDateTime) {
    app.metrics().record(Sample::millis(
        names::ASSIGNMENT_LATENCY,
        millis_between(conversation.created_at, at),
        vec![("Queue", conversation.queue_id.to_string())],
    ));
}

/// The first agent reply of `conversation`, at `at`.
pub fn first_reply(app: &App, conversation: &Conversation, at: OffsetDateTime) {
    app.metrics().record(Sample::millis(
        names::FIRST_REPLY_LATENCY,
        millis_between(conversation.created_at, at),
        vec![("Queue", conversation.queue_id.to_string())],
    ));
}

/// How many conversations wait in `queue` (the timers sweep reports it every run).
pub fn waiting(app: &App, queue: &QueueId, count: usize) {
    app.metrics().record(Sample::gauge(
        names::WAITING_CONVERSATIONS,
        count as f64,
        vec![("Queue", queue.to_string())],
    ));
}
