//! What every fake provider offers the table-driven tests (tests/e2e/providers.rs): the channel that points
//! at it, the webhooks it would deliver (signed as that provider signs them), and the sends it took (each
//! with its authentication checked). One row per provider; a new provider adds its fake module and a row.

use crate::{Api, FakeTelesign, telesign_dlr, telesign_mo};
use serde_json::{Value, json};
use time::OffsetDateTime;

/// A webhook as a provider would deliver it to smsdesk.
#[derive(Clone, Debug)]
pub struct Webhook {
    pub method: &'static str,
    /// Path and query on the app (`/webhooks/twilio/ch_1?x=1`).
    pub path_and_query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// A send a fake provider received.
#[derive(Clone, Debug)]
pub struct Sent {
    /// The provider's id for it (empty when the fake refused it).
    pub provider_id: String,
    /// Our number, digits only.
    pub from: String,
    /// The customer, digits only.
    pub to: String,
    pub text: String,
    /// Our message id, when the request carried it (TeleSign `external_id`, Vonage `client-ref`, Twilio's
    /// status callback URL).
    pub external_id: Option<String>,
    /// The status callback URL the request named, if any.
    pub callback: Option<String>,
    /// Whether the request's authentication was the account's.
    pub auth_ok: bool,
    /// When the fake received it.
    pub at: std::time::Instant,
}

/// A fake provider on loopback, seen from the tests.
pub trait FakeProvider: Send + Sync {
    /// The provider's name in smsdesk's API and webhook URLs.
    fn name(&self) -> &'static str;
    /// `provider`, `credentials` and `base_url` of a `POST /v1/channels` body for this fake's account.
    fn channel_fields(&self) -> Value;
    /// A customer's text `id` from `from` to `to` (digits), delivered to `url` (the full URL the provider
    /// was given; `base` + the path, or the channel's public URL), signed as the provider signs it.
    fn inbound(&self, url: &str, id: &str, from: &str, to: &str, text: &str, now: OffsetDateTime) -> Webhook;
    /// The provider's "delivered" receipt for `sent`, to the channel's webhook `url`.
    fn delivered(&self, url: &str, sent: &Sent, now: OffsetDateTime) -> Webhook;
    /// Every send the fake received, in order.
    fn sends(&self) -> Vec<Sent>;
}

impl Api {
    /// Delivers a provider's webhook; returns the status and the answer's body.
    pub async fn deliver(&self, webhook: &Webhook) -> (u16, String) {
        let method = reqwest::Method::from_bytes(webhook.method.as_bytes()).expect("method");
        let mut req = self.http.request(method, format!("{}{}", self.base, webhook.path_and_query));
        for (k, v) in &webhook.headers {
            req = req.header(k, v);
        }
        let resp = req.body(webhook.body.clone()).send().await.expect("webhook reaches the app");
        crate::aws_shape::check_faults();
        let status = resp.status().as_u16();
        (status, resp.text().await.expect("the answer's body reads"))
    }
}

/// The path and query of a full URL (`http://h:1/a?b` -> `/a?b`).
pub fn path_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.find('/').map_or_else(|| "/".to_string(), |i| rest[i..].to_string())
}

impl FakeProvider for FakeTelesign {
    fn name(&self) -> &'static str {
        "telesign"
    }

    fn channel_fields(&self) -> Value {
        json!({
            "provider": "telesign",
            "credentials": {"customer_id": self.customer_id, "api_key": self.api_key},
            "base_url": self.base_url(),
        })
    }

    fn inbound(&self, url: &str, id: &str, from: &str, to: &str, text: &str, _: OffsetDateTime) -> Webhook {
        let body = telesign_mo(id, from, to, text);
        json_webhook(url, self.sign_callback(&body), body)
    }

    fn delivered(&self, url: &str, sent: &Sent, _: OffsetDateTime) -> Webhook {
        let body = telesign_dlr(&sent.provider_id, sent.external_id.as_deref(), 200, "Delivered");
        json_webhook(url, self.sign_callback(&body), body)
    }

    fn sends(&self) -> Vec<Sent> {
        let accepted = self.accepted();
        FakeTelesign::sends(self)
            .into_iter()
            .enumerate()
            .map(|(i, s)| Sent {
                provider_id: accepted.get(i).cloned().unwrap_or_default(),
                from: s.field("sender_id").unwrap_or_default().to_string(),
                to: s.field("phone_number").unwrap_or_default().to_string(),
                text: s.field("message").unwrap_or_default().to_string(),
                external_id: s.field("external_id").map(str::to_string),
                callback: None,
                auth_ok: s.signature_ok,
                at: s.at,
            })
            .collect()
    }
}

fn json_webhook(url: &str, authorization: String, body: Vec<u8>) -> Webhook {
    Webhook {
        method: "POST",
        path_and_query: path_of(url),
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("authorization".into(), authorization),
        ],
        body,
    }
}
