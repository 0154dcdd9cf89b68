//! The one fixture runner every provider's tests use (after courier's `handlers/handlertest`): each provider
//! writes only its table. A case is a raw webhook request as it arrives (method, URL, headers, body) and
//! what must come of it: the normalized events and the HTTP reply, or the error kind with words its reason
//! must contain. The runner goes through [`crate::handle_webhook`], so the method check is covered too, and
//! reports every failing case at once.

use crate::{
    Provider, WebhookError, WebhookOutcome, WebhookReply, WebhookRequest, handle_webhook,
    handle_webhook_online,
};
use smsdesk_domain::Channel;
use smsdesk_domain::events::InboundEvent;
use smsdesk_ports::Credentials;
use time::OffsetDateTime;

/// One raw webhook and what it must become.
#[derive(Clone, Debug)]
pub struct Case {
    pub name: String,
    pub method: &'static str,
    pub url: String,
    /// Names lower-cased, as the HTTP layer hands them over.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub expect: Expect,
}

#[derive(Clone, Debug)]
pub enum Expect {
    /// These events, answered with the app's standard acknowledgement.
    Events(Vec<InboundEvent>),
    /// These events, answered with this reply (TwiML, a handshake, ...).
    Reply(Vec<InboundEvent>, WebhookReply),
    /// 401; the reason contains the text.
    Unauthorized(&'static str),
    /// 400; the reason contains the text.
    Malformed(&'static str),
    /// 405.
    MethodNotAllowed,
    /// 503; the reason contains the text.
    Unavailable(&'static str),
}

impl Case {
    pub fn new(
        name: impl Into<String>,
        method: &'static str,
        url: impl Into<String>,
        body: impl Into<Vec<u8>>,
    ) -> Self {
        Self {
            name: name.into(),
            method,
            url: url.into(),
            headers: Vec::new(),
            body: body.into(),
            expect: Expect::Events(Vec::new()),
        }
    }

    pub fn post(name: impl Into<String>, url: impl Into<String>, body: impl Into<Vec<u8>>) -> Self {
        Self::new(name, "POST", url, body)
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }

    pub fn expect(mut self, expect: Expect) -> Self {
        self.expect = expect;
        self
    }
}

/// Runs every case against `provider` for `channel` with `credentials` at `now`; panics listing every case
/// that did not come out as expected.
pub fn run(
    provider: &dyn Provider,
    channel: &Channel,
    credentials: &Credentials,
    now: OffsetDateTime,
    cases: &[Case],
) {
    assert!(!cases.is_empty(), "an empty fixture table proves nothing");
    let mut failures = Vec::new();
    for case in cases {
        let request =
            WebhookRequest { method: case.method, url: &case.url, headers: &case.headers, body: &case.body };
        let got = handle_webhook(provider, channel, credentials, &request, now);
        if let Err(problem) = verdict(&case.expect, got) {
            failures.push(format!("- {} ({:?}): {problem}", case.name, case.expect));
        }
    }
    report(provider, cases, failures);
}

/// As [`run`], through the provider's online path (the one the HTTP handler takes), for providers whose
/// webhooks make network calls of their own.
pub async fn run_online(
    provider: &dyn Provider,
    channel: &Channel,
    credentials: &Credentials,
    now: OffsetDateTime,
    cases: &[Case],
) {
    assert!(!cases.is_empty(), "an empty fixture table proves nothing");
    let mut failures = Vec::new();
    for case in cases {
        let request =
            WebhookRequest { method: case.method, url: &case.url, headers: &case.headers, body: &case.body };
        let got = handle_webhook_online(provider, channel, credentials, &request, now).await;
        if let Err(problem) = verdict(&case.expect, got) {
            failures.push(format!("- {} ({:?}): {problem}", case.name, case.expect));
        }
    }
    report(provider, cases, failures);
}

fn verdict(expect: &Expect, got: Result<WebhookOutcome, WebhookError>) -> Result<(), String> {
    match (expect, got) {
        (Expect::Events(want), Ok(outcome)) if outcome.reply.is_none() => {
            (&outcome.events == want).then_some(()).ok_or(format!("events {:#?}", outcome.events))
        }
        (Expect::Reply(want, reply), Ok(outcome)) => (&outcome.events == want
            && outcome.reply.as_ref() == Some(reply))
        .then_some(())
        .ok_or(format!("events {:#?}, reply {:?}", outcome.events, outcome.reply)),
        (Expect::Unauthorized(needle), Err(WebhookError::Unauthorized(reason)))
        | (Expect::Malformed(needle), Err(WebhookError::Malformed(reason)))
        | (Expect::Unavailable(needle), Err(WebhookError::Unavailable(reason))) => {
            reason.contains(needle).then_some(()).ok_or(format!("reason {reason:?} lacks {needle:?}"))
        }
        (Expect::MethodNotAllowed, Err(WebhookError::MethodNotAllowed(_))) => Ok(()),
        (_, got) => Err(format!("got {got:?}")),
    }
}

fn report(provider: &dyn Provider, cases: &[Case], failures: Vec<String>) {
    assert!(
        failures.is_empty(),
        "{} of {} {} fixtures failed:\n{}",
        failures.len(),
        cases.len(),
        provider.name(),
        failures.join("\n")
    );
}
