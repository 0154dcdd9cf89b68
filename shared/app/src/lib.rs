//! smsdesk's handlers, over the ports only: the HTTP API and webhooks (an axum `Router` that `smsdesk dev`
//! serves on a socket and the Lambda functions serve through lambda_http), and the queue consumers (router,
//! outbound-send, crm-upsert) that the embedded poller or the Lambda SQS glue drives.
//!
//! Follow one text: [`http::webhooks`] -> [`services::intake`] -> inbound queue -> [`services::routing`]
//! (conversation, [`services::assignment`]) -> agent reads it via [`http::agent`] -> reply ->
//! [`services::outbound::queue_reply`] -> outbound queue -> [`services::outbound::OutboundConsumer`] ->
//! provider; [`services::crm`] keeps the contact.

pub mod auth;
pub mod batch;
pub mod claims;
pub mod error;
pub mod http;
pub mod oidc;
pub mod services;
pub mod worker;

use secrecy::SecretString;
use smsdesk_domain::retry::RetryPolicy;
use smsdesk_domain::stranded::StrandedPolicy;
use smsdesk_ports::{Clock, IdGen, MediaStore, MessageQueue, Metrics, NoMetrics, SecretStore, Store};
use smsdesk_providers::Providers;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub use auth::{AuthMode, GatewayIdentity, Principal};
pub use error::ApiError;

/// Settings of the handlers (the same in `smsdesk dev` and in Lambda, read by each shape's wiring).
#[derive(Clone, Debug)]
pub struct Config {
    /// The API's base URL, e.g. `http://127.0.0.1:9000` or the API Gateway URL; providers reach our
    /// webhooks there too unless `webhook_base` says otherwise.
    pub public_base_url: String,
    /// Where providers reach `/webhooks/...` (the callback URLs shown and sent, and the URL a signature
    /// that covers it is checked against).
    pub webhook_base: WebhookBase,
    pub auth: AuthMode,
    pub retry: RetryPolicy,
    /// How long a send claim holds before another delivery may try again (crash recovery).
    pub send_lease: Duration,
    /// How long webhook dedupe keys are kept.
    pub dedupe_ttl: Duration,
    /// Close conversations with no message for this long (timers), on channels without their own
    /// `inactivity_secs`; 8 hours by default. None: the timers never auto-close.
    pub auto_close_after: Option<Duration>,
    /// When the timers requeue or fail replies stranded `queued`.
    pub stranded: StrandedPolicy,
    /// Serve the sandbox provider's routes (embedded shape only).
    pub sandbox: bool,
    /// Largest webhook body accepted (HTTP 413 beyond).
    pub max_webhook_bytes: usize,
    /// Let an admin point a channel's `base_url` at plain `http://` on a loopback host (fake providers):
    /// `smsdesk dev` and the tests set it; the Lambda functions never do (only `https://` hosts there).
    pub allow_loopback_http: bool,
    /// How long the router waits for a queue's bot before handing the customer over.
    pub bot_timeout: Duration,
    /// How long a send waits in place for its number's next slot (send pacing, issue 9.10); a slot further
    /// out sends the message back to its queue until it is near.
    pub pacing_wait: Duration,
    /// How long the parts of a multipart inbound text wait for the rest before they are filed as they are
    /// (issue 9.6).
    pub multipart_timeout: Duration,
    /// How long a media link in a transcript or an export stays valid.
    pub media_view_ttl: Duration,
    /// How long the media link a provider fetches an agent's attachment by stays valid.
    pub media_send_ttl: Duration,
    /// Where the console's live updates are when not at `/v1/events` of the API: in AWS, the WebSocket
    /// API's `wss://` URL (`SMSDESK_WEBSOCKET_URL`); `GET /v1/me` tells the console.
    pub events_url: Option<String>,
    /// The console signs in through this OpenID Connect issuer (`GET /console/config.json`); None: a token.
    pub oidc: Option<oidc::OidcSettings>,
    /// Bearer JWTs of the issuer checked here: `smsdesk dev --oidc-issuer`, and in AWS agent-api on its own
    /// function URL (`ApiIngress=FunctionUrl`); behind API Gateway the JWT authorizer checks them.
    pub jwt: Option<Arc<oidc::JwtVerifier>>,
}

impl Config {
    pub fn new(public_base_url: impl Into<String>, auth: AuthMode) -> Self {
        Self {
            public_base_url: public_base_url.into().trim_end_matches('/').to_string(),
            webhook_base: WebhookBase::Api,
            auth,
            retry: RetryPolicy::default(),
            send_lease: Duration::from_secs(300),
            dedupe_ttl: Duration::from_secs(7 * 24 * 3600),
            auto_close_after: Some(Duration::from_secs(8 * 3600)),
            stranded: StrandedPolicy::default(),
            sandbox: false,
            max_webhook_bytes: 64 * 1024,
            allow_loopback_http: false,
            bot_timeout: Duration::from_secs(3),
            pacing_wait: Duration::from_secs(2),
            multipart_timeout: Duration::from_secs(60),
            media_view_ttl: Duration::from_secs(5 * 60),
            media_send_ttl: Duration::from_secs(60 * 60),
            events_url: None,
            oidc: None,
            jwt: None,
        }
    }
}

/// Where providers reach the webhooks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookBase {
    /// At `public_base_url`, with the rest of the API.
    Api,
    /// At this base URL (no trailing slash): in AWS with the template's `WebhookIngress=FunctionUrl`, the
    /// webhook function's own function URL, told to the functions that show or send callback URLs.
    At(String),
    /// At the `https://` host each webhook request came to: the webhook function behind its function URL,
    /// which cannot be told that URL (the URL is made after the function, so naming it would be circular).
    /// Lambda routes a function URL's requests by their host, so the host is the URL's.
    RequestHost,
    /// `smsdesk dev` with no public URL given: at `http://` and the host each webhook request came to (the
    /// server's own address under whichever name its caller used: `127.0.0.1:9000`, `localhost:9000`, the
    /// machine's name), which is the URL a provider's SDK signed. Callback URLs shown are `public_base_url`
    /// (`http://<address>`).
    ServedHost,
}

impl Config {
    /// The base of the callback URLs shown to admins and sent to providers (`.../webhooks/<provider>/<id>`).
    pub fn webhook_base_url(&self) -> &str {
        match &self.webhook_base {
            WebhookBase::At(url) => url,
            WebhookBase::Api | WebhookBase::RequestHost | WebhookBase::ServedHost => &self.public_base_url,
        }
    }

    /// The base URL a webhook that came to `host` (its `Host` header) was sent to.
    pub fn webhook_base_url_of(&self, host: Option<&str>) -> std::borrow::Cow<'_, str> {
        match (&self.webhook_base, host.filter(|h| is_host(h))) {
            (WebhookBase::RequestHost, Some(host)) => format!("https://{host}").into(),
            (WebhookBase::ServedHost, Some(host)) => format!("http://{host}").into(),
            _ => self.webhook_base_url().into(),
        }
    }
}

/// A bare host name, with or without a port (no user, path or anything else a URL could smuggle in).
fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':'))
}

/// Everything a handler needs, built once per process (or per Lambda cold start).
pub struct App {
    pub store: Arc<dyn Store>,
    pub queue: Arc<dyn MessageQueue>,
    pub secrets: Arc<dyn SecretStore>,
    pub providers: Providers,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGen>,
    pub config: Config,
    /// Where operational metrics go (EMF lines in AWS, `/metrics` locally); nothing until the shape's
    /// wiring sets it with [`App::set_metrics`].
    metrics: OnceLock<Arc<dyn Metrics>>,
    /// The webhook path's short-lived copy of channel credentials (services::webhook_keys).
    pub webhook_keys: services::webhook_keys::WebhookKeys,
    /// The client that calls queues' bots (built on first use, with the bot timeout).
    bot_http: OnceLock<reqwest::Client>,
    /// Where MMS media is kept (S3 or the embedded folder); none until the shape's wiring sets it with
    /// [`App::set_media`]: without it, media is neither fetched nor accepted.
    media: OnceLock<Arc<dyn MediaStore>>,
    /// The HTTP client media fetches use (no automatic redirects), built on first use.
    media_http: OnceLock<reqwest::Client>,
    /// One assignment pass per queue at a time, shared by the callers meanwhile (issue 12).
    pub dispatch_gates: services::dispatch_gate::DispatchGates,
}

impl App {
    pub fn new(
        store: Arc<dyn Store>,
        queue: Arc<dyn MessageQueue>,
        secrets: Arc<dyn SecretStore>,
        providers: Providers,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGen>,
        config: Config,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            queue,
            secrets,
            providers,
            clock,
            ids,
            config,
            metrics: OnceLock::new(),
            webhook_keys: Default::default(),
            bot_http: OnceLock::new(),
            media: OnceLock::new(),
            media_http: OnceLock::new(),
            dispatch_gates: Default::default(),
        })
    }

    /// Sends operational metrics to `metrics` from now on (once; a second call is ignored).
    pub fn set_metrics(&self, metrics: Arc<dyn Metrics>) {
        let _first = self.metrics.set(metrics);
    }

    /// The metrics sink ([`NoMetrics`] until one is set).
    pub fn metrics(&self) -> &dyn Metrics {
        match self.metrics.get() {
            Some(m) => m.as_ref(),
            None => &NoMetrics,
        }
    }

    /// The HTTP client for queues' bots: the bot timeout for the whole call, no redirects.
    pub(crate) fn bot_client(&self) -> Result<&reqwest::Client, reqwest::Error> {
        if let Some(c) = self.bot_http.get() {
            return Ok(c);
        }
        let client = smsdesk_providers::http::client_builder()
            .timeout(self.config.bot_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(self.bot_http.get_or_init(|| client))
    }

    /// Keeps media in `media` from now on (once; a second call is ignored).
    pub fn set_media(&self, media: Arc<dyn MediaStore>) {
        let _first = self.media.set(media);
    }

    /// The media store, if this shape has one.
    pub fn media(&self) -> Option<&dyn MediaStore> {
        self.media.get().map(|m| m.as_ref())
    }

    /// The client for fetching providers' media.
    pub(crate) fn media_http(&self) -> Result<&reqwest::Client, String> {
        if let Some(c) = self.media_http.get() {
            return Ok(c);
        }
        let client = smsdesk_providers::media::client().map_err(|e| e.to_string())?;
        Ok(self.media_http.get_or_init(|| client))
    }

    pub(crate) fn admin_token(&self) -> Option<&SecretString> {
        match &self.config.auth {
            AuthMode::Tokens { admin_token } => Some(admin_token),
            AuthMode::GatewayClaims => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhooks_are_at_the_api_at_a_function_url_or_at_the_host_they_came_to() {
        let mut config = Config::new("https://api.example.com/", AuthMode::GatewayClaims);
        assert_eq!(config.webhook_base_url(), "https://api.example.com");
        assert_eq!(config.webhook_base_url_of(Some("other.example.com")), "https://api.example.com");

        config.webhook_base = WebhookBase::At("https://abc.lambda-url.eu-west-1.on.aws".into());
        assert_eq!(config.webhook_base_url(), "https://abc.lambda-url.eu-west-1.on.aws");
        assert_eq!(
            config.webhook_base_url_of(Some("x.example.com")),
            "https://abc.lambda-url.eu-west-1.on.aws"
        );

        // The webhook function behind its function URL: callback URLs it would show are the API's (it shows
        // none); a signature is checked against the host the request came to.
        config.webhook_base = WebhookBase::RequestHost;
        assert_eq!(config.webhook_base_url(), "https://api.example.com");
        assert_eq!(
            config.webhook_base_url_of(Some("abc.lambda-url.eu-west-1.on.aws")),
            "https://abc.lambda-url.eu-west-1.on.aws"
        );
        assert_eq!(config.webhook_base_url_of(Some("127.0.0.1:9000")), "https://127.0.0.1:9000");
        // Nothing but a host: a Host header carrying a path, a user or a second URL is not one.
        for odd in ["", "evil.example.com/x?", "user@evil.example.com", "a b", "évil.example.com"] {
            assert_eq!(config.webhook_base_url_of(Some(odd)), "https://api.example.com", "{odd:?}");
        }
        assert_eq!(config.webhook_base_url_of(None), "https://api.example.com");

        // `smsdesk dev` with no public URL: the address it serves on, under the name its caller used.
        let mut config = Config::new("http://127.0.0.1:9000", AuthMode::GatewayClaims);
        config.webhook_base = WebhookBase::ServedHost;
        assert_eq!(config.webhook_base_url(), "http://127.0.0.1:9000");
        assert_eq!(config.webhook_base_url_of(Some("localhost:9000")), "http://localhost:9000");
        assert_eq!(config.webhook_base_url_of(Some("user@evil.example.com")), "http://127.0.0.1:9000");
        assert_eq!(config.webhook_base_url_of(None), "http://127.0.0.1:9000");
    }
}
