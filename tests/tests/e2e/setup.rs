//! What every end-to-end test starts from: the app (in the binary's shape), a fake TeleSign, a queue and a
//! TeleSign channel.

use serde_json::Value;
use smsdesk_contract::metrics::{Observed, Readback, series};
use smsdesk_tests::*;

pub const OUR_NUMBER: &str = "15555550100";
pub const OUR_NUMBER_E164: &str = "+15555550100";

/// A TeleSign setup: app, fake TeleSign, one queue, one channel on OUR_NUMBER.
pub struct Setup {
    pub app: TestApp,
    pub fake: FakeTelesign,
    pub queue: String,
    pub channel: String,
}

impl Setup {
    /// None when this shape's tests are skipped knowingly. The channel has automated messages off: these
    /// tests count exactly what reaches the provider for the agent's replies (sends, retries, receipts).
    /// The automated messages, with the defaults a new channel has, are tested in `consent.rs`
    /// ([`Setup::with_defaults`]).
    pub async fn new() -> Option<Self> {
        Self::with_settings(serde_json::json!({"automated_messages_enabled": false})).await
    }

    /// A setup whose channel has every default a new channel has (opt-in notice, greeting, ... on).
    pub async fn with_defaults() -> Option<Self> {
        Self::with_settings(serde_json::json!({})).await
    }

    pub async fn with_settings(settings: Value) -> Option<Self> {
        let app = crate::spawn_app().await?;
        let fake = FakeTelesign::start().await;
        let queue = app.api.create_queue("Support").await;
        let channel = app.api.telesign_channel_with(&fake, &[OUR_NUMBER], &queue, settings).await;
        let channel = channel["id"].as_str().expect("channel id").to_string();
        Some(Self { app, fake, queue, channel })
    }

    /// As [`Setup::new`] (automated messages off), with the queue created from `queue` (a `POST /v1/queues` body: name and settings).
    pub async fn with_queue(queue: serde_json::Value) -> Option<Self> {
        let app = crate::spawn_app().await?;
        Some(Self::with_queue_on(app, queue).await)
    }

    /// As [`Setup::with_queue`], on an app the test spawned itself.
    pub async fn with_queue_on(app: TestApp, queue: serde_json::Value) -> Self {
        let fake = FakeTelesign::start().await;
        // Auto-accept unless the test says otherwise (offers have their own tests).
        let mut queue = queue;
        if let Some(q) = queue.as_object_mut() {
            q.entry("auto_accept").or_insert(serde_json::Value::Bool(true));
        }
        let created = app.api.ok("POST", "/v1/queues", ADMIN_TOKEN, Some(queue), 201).await;
        let queue = created["id"].as_str().expect("queue id").to_string();
        let off = serde_json::json!({"automated_messages_enabled": false});
        let channel = app.api.telesign_channel_with(&fake, &[OUR_NUMBER], &queue, off).await;
        let channel = channel["id"].as_str().expect("channel id").to_string();
        Self { app, fake, queue, channel }
    }

    /// `POST /v1/conversations/{id}/{action}` as `token`; asserts `expect` and returns the body.
    pub async fn act(
        &self,
        token: &str,
        conversation: &str,
        action: &str,
        body: Option<Value>,
        expect: u16,
    ) -> Value {
        let path = format!("/v1/conversations/{conversation}/{action}");
        self.api().ok("POST", &path, token, Some(body.unwrap_or_else(|| serde_json::json!({}))), expect).await
    }

    /// Waits until the conversation (read with the admin token) satisfies `pred`; returns it.
    pub async fn conversation_where(
        &self,
        conversation: &str,
        what: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let api = self.api().clone();
        let pred = &pred;
        eventually(30, what, || {
            let api = api.clone();
            async move {
                let c = api.conversation(ADMIN_TOKEN, conversation).await;
                pred(&c).then_some(c)
            }
        })
        .await
    }

    /// The agent's `active` count as the admin API shows it.
    pub async fn active_of(&self, agent: &str) -> u64 {
        let a = self.api().ok("GET", &format!("/v1/agents/{agent}"), ADMIN_TOKEN, None, 200).await;
        a["active"].as_u64().expect("active")
    }

    pub fn api(&self) -> &Api {
        &self.app.api
    }

    pub fn webhook_path(&self) -> String {
        format!("/webhooks/telesign/{}", self.channel)
    }

    /// An available agent on the queue; returns (id, token).
    /// A supervisor of `queues` (capacity 1, offline): its id and token.
    pub async fn supervisor(&self, name: &str, queues: &[&str]) -> (String, String) {
        let body = serde_json::json!({"name": name, "queues": queues, "capacity": 1, "role": "supervisor"});
        let created = self.api().ok("POST", "/v1/agents", ADMIN_TOKEN, Some(body), 201).await;
        let field = |f: &str| created[f].as_str().expect("the created supervisor's id and token").to_string();
        (field("id"), field("token"))
    }

    pub async fn agent(&self, name: &str, capacity: u32) -> (String, String) {
        let (id, token) = self.api().create_agent(name, &[&self.queue], capacity).await;
        self.api().presence(&id, &token, "available").await;
        (id, token)
    }

    /// A customer's text, signed as TeleSign signs callbacks; asserts it was accepted.
    pub async fn text(&self, reference: &str, from: &str, body: &str) {
        let raw = telesign_mo(reference, from, OUR_NUMBER, body);
        let (status, answer) =
            self.api().webhook(&self.webhook_path(), &raw, Some(&self.fake.sign_callback(&raw))).await;
        assert_eq!(status, 200, "webhook answered {status}: {answer}");
    }

    /// As [`Setup::text`], to `number` of another TeleSign channel on the same fake (`channel`, its id).
    pub async fn text_on(&self, channel: &str, number: &str, reference: &str, from: &str, body: &str) {
        let raw = telesign_mo(reference, from, number, body);
        let path = format!("/webhooks/telesign/{channel}");
        let (status, answer) = self.api().webhook(&path, &raw, Some(&self.fake.sign_callback(&raw))).await;
        assert_eq!(status, 200, "webhook answered {status}: {answer}");
    }

    /// A delivery report from TeleSign.
    pub async fn receipt(&self, reference: &str, external_id: &str, code: i64, description: &str) {
        let raw = telesign_dlr(reference, Some(external_id), code, description);
        let (status, answer) =
            self.api().webhook(&self.webhook_path(), &raw, Some(&self.fake.sign_callback(&raw))).await;
        assert_eq!(status, 200, "receipt answered {status}: {answer}");
    }

    /// Waits for the customer's conversation to wait in a queue (`open`, no agent's: the admin's work items
    /// list it); returns its id. `what` names the wait in a failure.
    pub async fn waiting_for(&self, customer: &str, what: &str) -> String {
        eventually(30, what, || async {
            self.api()
                .work_items(ADMIN_TOKEN)
                .await
                .into_iter()
                .find(|w| w["customer"] == customer && w["state"] == "open")
                .and_then(|w| w["conversation_id"].as_str().map(str::to_string))
        })
        .await
    }

    /// Waits for the customer's open conversation to show in `token`'s work items; returns its id.
    pub async fn work_item_for(&self, token: &str, customer: &str) -> String {
        let api = self.api().clone();
        let token = token.to_string();
        let customer = customer.to_string();
        eventually(30, "the conversation reaches the agent", || {
            let (api, token, customer) = (api.clone(), token.clone(), customer.clone());
            async move {
                api.work_items(&token)
                    .await
                    .into_iter()
                    .find(|w| w["customer"] == customer.as_str())
                    .and_then(|w| w["conversation_id"].as_str().map(str::to_string))
            }
        })
        .await
    }

    /// The agent replies; asserts the 202 and returns the new message's id.
    pub async fn reply(&self, token: &str, conversation: &str, text: &str) -> String {
        let answer = self
            .api()
            .ok(
                "POST",
                &format!("/v1/conversations/{conversation}/messages"),
                token,
                Some(serde_json::json!({"text": text})),
                202,
            )
            .await;
        answer["id"].as_str().expect("reply id").to_string()
    }

    /// Waits until the message `id` of the conversation has `status`; returns it.
    pub async fn message_status(&self, token: &str, conversation: &str, id: &str, status: &str) -> Value {
        self.message_where(token, conversation, &format!("message {id} {status}"), |m| {
            m["id"] == id && m["status"] == status
        })
        .await
    }

    /// Waits until a message of the conversation satisfies `pred`; returns that message.
    pub async fn message_where(
        &self,
        token: &str,
        conversation: &str,
        what: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let api = self.api().clone();
        let token = token.to_string();
        let conversation = conversation.to_string();
        let pred = &pred;
        eventually(30, what, || {
            let (api, token, conversation) = (api.clone(), token.clone(), conversation.clone());
            async move {
                let c = api.conversation(&token, &conversation).await;
                c["messages"].as_array().and_then(|ms| ms.iter().find(|m| pred(m)).cloned())
            }
        })
        .await
    }

    /// The conversation the metrics tests measure: `from` texts, an agent answers, the reply is sent, and
    /// everything settles.
    pub async fn answered_conversation(&self, reference: &str, from: &str) {
        let (_agent, token) = self.agent("Ada", 2).await;
        self.text(reference, from, "Where is my parcel?").await;
        let conversation = self.work_item_for(&token, &format!("+{from}")).await;
        let id = self.reply(&token, &conversation, "On its way.").await;
        self.message_status(&token, &conversation, &id, "sent").await;
        self.app.settled().await;
    }

    /// What both shapes' metrics show of [`Setup::answered_conversation`]: one text in and out on this
    /// channel, one send attempt, one assignment and one first reply timed on this queue. `text` is the raw
    /// output, for the failure message.
    pub fn assert_answered_conversation_metrics(&self, read: &Readback, text: &str) {
        let telesign = [("Provider", "telesign")];
        let channel_telesign = [("Channel", self.channel.as_str()), ("Provider", "telesign")];
        assert_eq!(series(read, "TextsIn", &channel_telesign), Some(Observed::Count(1.0)), "{text}");
        assert_eq!(series(read, "SendAttempts", &telesign), Some(Observed::Count(1.0)), "{text}");
        assert_eq!(series(read, "TextsOut", &channel_telesign), Some(Observed::Count(1.0)), "{text}");
        let failures = [("Provider", "telesign"), ("Reason", "transient")];
        assert_eq!(series(read, "SendFailures", &failures), None, "{text}");
        let queue = [("Queue", self.queue.as_str())];
        for timed in ["AssignmentLatency", "FirstReplyLatency"] {
            assert!(
                matches!(series(read, timed, &queue), Some(Observed::Millis { count: 1, .. })),
                "one {timed} sample: {text}"
            );
        }
    }
}
