//! The handlers wired to the AWS adapters, once per cold start: what every function's `main.rs` calls.

use crate::unwired::Unwired;
use smsdesk_app::{App, AuthMode, Config, GatewayIdentity, WebhookBase};
use smsdesk_aws::{AwsAdapters, AwsConfig, ConfigError};
use smsdesk_ports::{Clock, MessageQueue, SecretStore, SystemClock, UuidIds};
use smsdesk_providers::{ProviderOptions, Providers};
use std::sync::Arc;
use std::time::Duration;

use crate::Claims;

#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("environment variable {name} is not valid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error("could not build the HTTP client: {0}")]
    Http(String),
    #[error("smsdesk-lambda has no feature `{0}`")]
    UnknownFeature(String),
    #[error("this build does not link the {0} adapter (enable the smsdesk-lambda feature `{0}`)")]
    NotLinked(&'static str),
}

fn number(env: &impl Fn(&str) -> Option<String>, name: &'static str, default: u64) -> Result<u64, WireError> {
    match env(name) {
        Some(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map_err(|e: std::num::ParseIntError| WireError::Invalid { name, reason: e.to_string() }),
        _ => Ok(default),
    }
}

/// The handlers' settings in AWS, from the environment the SAM template sets:
/// `SMSDESK_PUBLIC_URL` (the API's base URL, for callback URLs), `SMSDESK_WEBHOOK_URL` ([`webhook_base`]:
/// where providers reach the webhooks when not at the API), `SMSDESK_ADMIN_TOKEN` (local only: check
/// bearer tokens here instead of trusting the JWT authorizer's claims), `SMSDESK_SEND_ATTEMPTS` (3),
/// `SMSDESK_RETRY_BASE_MS` (5000), `SMSDESK_SEND_LEASE_SECS` (120), `SMSDESK_AUTO_CLOSE_HOURS` (8, for channels without their own `inactivity_secs`; 0 = never),
/// `SMSDESK_OIDC_ISSUER` + `SMSDESK_OIDC_CLIENT_ID` (+ `SMSDESK_OIDC_SCOPES`): the console's sign-in;
/// `SMSDESK_JWT_AUDIENCE` ([`jwt_verifier`]): agent-api checks the issuer's JWTs itself on its function URL.
/// `http` is the function's HTTPS client (the providers'), which also fetches the issuer's keys.
pub fn config_from_env(http: &reqwest::Client) -> Result<Config, WireError> {
    config_from(|name| std::env::var(name).ok(), http)
}

/// [`config_from_env`] over any lookup of the variables (the tests give it a map).
fn config_from(env: impl Fn(&str) -> Option<String>, http: &reqwest::Client) -> Result<Config, WireError> {
    let public_url = env("SMSDESK_PUBLIC_URL").unwrap_or_default();
    // Behind API Gateway the JWT authorizer identifies callers. Without one (`cargo lambda watch` on a laptop),
    // SMSDESK_ADMIN_TOKEN switches the function to checking bearer tokens itself, as `smsdesk dev` does.
    let auth = match env("SMSDESK_ADMIN_TOKEN") {
        Some(token) if !token.trim().is_empty() => AuthMode::Tokens { admin_token: token.into() },
        _ => AuthMode::GatewayClaims,
    };
    let mut config = Config::new(public_url, auth);
    config.webhook_base = webhook_base(env("SMSDESK_WEBHOOK_URL").as_deref())?;
    config.events_url = env("SMSDESK_WEBSOCKET_URL").filter(|u| !u.trim().is_empty());
    // The console signs in through the stack's issuer when the template has a ConsoleClientId.
    let present = |name| env(name).filter(|v: &String| !v.trim().is_empty());
    if let (Some(issuer), Some(client_id)) =
        (present("SMSDESK_OIDC_ISSUER"), present("SMSDESK_OIDC_CLIENT_ID"))
    {
        let scopes = present("SMSDESK_OIDC_SCOPES");
        config.oidc = Some(smsdesk_app::oidc::OidcSettings::new(&issuer, &client_id, scopes.as_deref()));
    }
    let (issuer, audiences) = (present("SMSDESK_OIDC_ISSUER"), env("SMSDESK_JWT_AUDIENCE"));
    config.jwt = jwt_verifier(issuer.as_deref(), audiences.as_deref(), http)?;
    config.retry.max_attempts = number(&env, "SMSDESK_SEND_ATTEMPTS", 3)?.clamp(1, 20) as u32;
    config.retry.base_delay = Duration::from_millis(number(&env, "SMSDESK_RETRY_BASE_MS", 5000)?);
    config.send_lease = Duration::from_secs(number(&env, "SMSDESK_SEND_LEASE_SECS", 120)?.max(1));
    config.auto_close_after = match number(&env, "SMSDESK_AUTO_CLOSE_HOURS", 8)? {
        0 => None,
        hours => Some(Duration::from_secs(hours * 3600)),
    };
    Ok(config)
}

/// The verifier of bearer JWTs for a function that is reached without API Gateway's JWT authorizer:
/// agent-api on its own function URL (template parameter `ApiIngress=FunctionUrl`), where the template
/// sets `SMSDESK_JWT_AUDIENCE` to the stack's `JwtAudience` (comma-separated) and `SMSDESK_OIDC_ISSUER` to
/// its `JwtIssuer`. Unset or empty: None (API Gateway's authorizer checks the tokens). The issuer's keys are
/// fetched through `http` (the function's client, no second one built at init) on the first token.
pub fn jwt_verifier(
    issuer: Option<&str>,
    audiences: Option<&str>,
    http: &reqwest::Client,
) -> Result<Option<Arc<smsdesk_app::oidc::JwtVerifier>>, WireError> {
    let audiences: Vec<String> = audiences
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string)
        .collect();
    if audiences.is_empty() {
        return Ok(None);
    }
    let issuer = issuer.map(str::trim).filter(|i| !i.is_empty()).ok_or_else(|| WireError::Invalid {
        name: "SMSDESK_JWT_AUDIENCE",
        reason: "set without SMSDESK_OIDC_ISSUER, the issuer whose tokens it accepts".into(),
    })?;
    Ok(Some(Arc::new(smsdesk_app::oidc::JwtVerifier::for_audiences(issuer, audiences, http.clone()))))
}

/// Where providers reach the webhooks, from `SMSDESK_WEBHOOK_URL` as the template sets it per function
/// (parameter `WebhookIngress`): unset or empty, at the API; `request-host`, at the host each request came
/// to (the webhook function behind its own function URL); an `https://` URL, there (the other functions,
/// told the function URL).
pub fn webhook_base(value: Option<&str>) -> Result<WebhookBase, WireError> {
    let invalid =
        |reason: &str| WireError::Invalid { name: "SMSDESK_WEBHOOK_URL", reason: reason.to_string() };
    match value.map(str::trim).unwrap_or_default() {
        "" => Ok(WebhookBase::Api),
        "request-host" => Ok(WebhookBase::RequestHost),
        url => {
            let base = url.trim_end_matches('/');
            let host = base.strip_prefix("https://").ok_or_else(|| invalid("not https://"))?;
            if host.is_empty() || host.contains(['/', '?', '#', '@']) {
                return Err(invalid("not a base URL (https://host)"));
            }
            Ok(WebhookBase::At(base.to_string()))
        }
    }
}

/// The longest a provider call may take (the HTTP client's timeout). A queue function starts no message
/// later than this before its invocation's deadline ([`crate::run_sqs`]).
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(15);

/// Which AWS adapters a function's app gets; the others are [`Unwired`] refusals (see crate::unwired).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wiring {
    /// The SQS queue (feature `queue`).
    pub queue: bool,
    /// Secrets Manager (feature `secrets`).
    pub secrets: bool,
    /// The S3 media bucket (feature `media`); without it the function keeps and serves no media.
    pub media: bool,
}

impl Wiring {
    /// What this build links: the `smsdesk-lambda` features the function's Cargo.toml turns on.
    pub const LINKED: Wiring = Wiring {
        queue: cfg!(feature = "queue"),
        secrets: cfg!(feature = "secrets"),
        media: cfg!(feature = "media"),
    };

    /// The wiring that `features` (this crate's feature names, as a function's Cargo.toml lists them, with
    /// or without `default`) give.
    pub fn from_features<'a>(
        features: impl IntoIterator<Item = &'a str>,
        default_features: bool,
    ) -> Result<Wiring, WireError> {
        let mut wiring = Wiring { queue: default_features, secrets: default_features, media: false };
        for feature in features {
            match feature {
                "queue" => wiring.queue = true,
                "secrets" => wiring.secrets = true,
                "media" => wiring.media = true,
                "default" => (wiring.queue, wiring.secrets) = (true, true),
                // A provider client (End User Messaging SMS), not an adapter: nothing to wire.
                "aws-sms" => {}
                // The live updates' WebSocket client: the function builds it itself (crate::live).
                "live" => {}
                other => return Err(WireError::UnknownFeature(other.to_string())),
            }
        }
        Ok(wiring)
    }
}

/// The providers' HTTPS client as the functions build it.
pub fn provider_http() -> Result<reqwest::Client, WireError> {
    crate::clients::http_client_builder()
        .timeout(PROVIDER_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| WireError::Http(e.to_string()))
}

/// The handlers on `adapters`, with the queue and the secret store only where `wiring` says so (an
/// [`Unwired`] refusal in place of the others). Fails when `wiring` asks for an adapter this build does
/// not link.
pub fn assemble(
    adapters: AwsAdapters,
    wiring: Wiring,
    http: reqwest::Client,
    config: Config,
) -> Result<Arc<App>, WireError> {
    assemble_with(adapters, wiring, http, config, Arc::new(SystemClock), &|queue| queue)
}

/// [`assemble`] with the clock given and the SQS adapter passed through `wrap_queue` (tests: a test clock
/// and a fault injector around the real adapter).
pub fn assemble_with(
    adapters: AwsAdapters,
    wiring: Wiring,
    http: reqwest::Client,
    config: Config,
    clock: Arc<dyn Clock>,
    wrap_queue: &dyn Fn(Arc<dyn MessageQueue>) -> Arc<dyn MessageQueue>,
) -> Result<Arc<App>, WireError> {
    // A build without the SQS adapter has nothing to wrap.
    #[cfg(not(feature = "queue"))]
    let _ = wrap_queue;
    let queue: Arc<dyn MessageQueue> = match wiring.queue {
        #[cfg(feature = "queue")]
        true => wrap_queue(Arc::new(adapters.queue)),
        #[cfg(not(feature = "queue"))]
        true => return Err(WireError::NotLinked("queue")),
        false => Arc::new(Unwired::QUEUE),
    };
    let secrets: Arc<dyn SecretStore> = match wiring.secrets {
        #[cfg(feature = "secrets")]
        true => Arc::new(adapters.secrets),
        #[cfg(not(feature = "secrets"))]
        true => return Err(WireError::NotLinked("secrets")),
        false => Arc::new(Unwired::SECRETS),
    };
    #[cfg(feature = "media")]
    let media = adapters.media.filter(|_| wiring.media);
    #[cfg(not(feature = "media"))]
    if wiring.media {
        return Err(WireError::NotLinked("media"));
    }
    let store = Arc::new(adapters.store);
    let provider_options = ProviderOptions { allow_loopback_http: config.allow_loopback_http };
    let providers = Providers::configured(http, store.clone(), clock.clone(), provider_options);
    let app = App::new(store, queue, secrets, providers, clock, Arc::new(UuidIds), config);
    #[cfg(feature = "media")]
    if let Some(media) = media {
        app.set_media(Arc::new(media));
    }
    Ok(app)
}

/// Builds the SDK configuration, the adapters and the handlers, with the adapters this build links
/// ([`Wiring::LINKED`]). No network call happens here.
pub async fn aws_app() -> Result<Arc<App>, WireError> {
    // Tuned for cold start: see crate::clients and bench/coldstart/README.md.
    let sdk = crate::clients::sdk_config()?;
    let adapters = AwsAdapters::new(&sdk, &AwsConfig::from_env()?);
    let http = provider_http()?;
    let config = config_from_env(&http)?;
    let app = assemble(adapters, Wiring::LINKED, http, config)?;
    // Metrics as CloudWatch embedded-metric-format lines on standard output (the stack's dashboard and
    // alarms read them); no network call.
    app.set_metrics(Arc::new(smsdesk_aws::EmfMetrics::stdout_from_env()));
    Ok(app)
}

/// The verified caller from the JWT authorizer's claims: its `sub`, and admin when the `smsdesk-admin`
/// group or scope is there. The application maps the `sub` to an agent (crate::http has the claim names).
pub fn identity(claims: &Claims) -> Option<GatewayIdentity> {
    smsdesk_app::claims::identity(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The handlers' settings from these variables alone.
    fn from(vars: &[(&str, &str)]) -> Result<Config, WireError> {
        let vars: std::collections::HashMap<String, String> =
            vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let http = provider_http().expect("an HTTPS client");
        config_from(move |name| vars.get(name).cloned(), &http)
    }

    #[test]
    fn the_identity_is_the_subject_and_the_admin_role() {
        let admin = Claims { sub: "u".into(), admin: true, ..Claims::default() };
        assert_eq!(identity(&admin), Some(GatewayIdentity { subject: "u".into(), admin: true }));
        let agent = Claims { sub: "u-2".into(), groups: vec!["agents".into()], ..Claims::default() };
        assert_eq!(identity(&agent), Some(GatewayIdentity { subject: "u-2".into(), admin: false }));
    }

    /// What the template's variables make of the console's sign-in (`GET /console/config.json`) and of
    /// the numbers; a number that is not one stops the function at init, naming the variable.
    #[test]
    fn the_console_signs_in_through_the_issuer_the_template_sets() {
        let issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc";
        let config = from(&[("SMSDESK_OIDC_ISSUER", issuer), ("SMSDESK_OIDC_CLIENT_ID", "console-client")])
            .expect("config");
        let oidc = config.oidc.expect("the console signs in through the issuer");
        assert_eq!((oidc.issuer.as_str(), oidc.client_id.as_str()), (issuer, "console-client"));
        assert!(matches!(config.auth, AuthMode::GatewayClaims));
        assert_eq!(config.retry.max_attempts, 3);

        // No client id (the template's ConsoleClientId left empty): the console asks for a token.
        let config =
            from(&[("SMSDESK_OIDC_ISSUER", issuer), ("SMSDESK_OIDC_CLIENT_ID", " ")]).expect("config");
        assert!(config.oidc.is_none());

        let refused = from(&[("SMSDESK_SEND_ATTEMPTS", "three")]).map(|_| ()).expect_err("not a number");
        assert!(matches!(refused, WireError::Invalid { name: "SMSDESK_SEND_ATTEMPTS", .. }), "{refused}");
    }

    /// `SMSDESK_WEBHOOK_URL` as the template sets it with `WebhookIngress=FunctionUrl` (the function URL's
    /// `FunctionUrl` attribute ends in a slash), and without (unset).
    #[test]
    fn the_webhooks_are_where_the_template_says() {
        assert_eq!(webhook_base(None).ok(), Some(WebhookBase::Api));
        assert_eq!(webhook_base(Some("")).ok(), Some(WebhookBase::Api));
        assert_eq!(webhook_base(Some("request-host")).ok(), Some(WebhookBase::RequestHost));
        assert_eq!(
            webhook_base(Some("https://abc123.lambda-url.eu-west-1.on.aws/")).ok(),
            Some(WebhookBase::At("https://abc123.lambda-url.eu-west-1.on.aws".into()))
        );
        for bad in ["http://abc.lambda-url.eu-west-1.on.aws/", "https://", "https://h/webhooks", "host-only"]
        {
            let refused = webhook_base(Some(bad)).expect_err(bad);
            assert!(
                matches!(refused, WireError::Invalid { name: "SMSDESK_WEBHOOK_URL", .. }),
                "{bad}: {refused}"
            );
        }
    }

    /// `SMSDESK_JWT_AUDIENCE` as the template sets it: the stack's audiences with `ApiIngress=FunctionUrl`,
    /// empty without.
    #[test]
    fn agent_api_checks_jwts_itself_only_when_told_its_audiences() {
        let issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Ab12";
        let config = from(&[("SMSDESK_OIDC_ISSUER", issuer), ("SMSDESK_JWT_AUDIENCE", "")]).expect("config");
        assert!(config.jwt.is_none(), "behind API Gateway the authorizer checks them");
        let config = from(&[("SMSDESK_OIDC_ISSUER", issuer), ("SMSDESK_JWT_AUDIENCE", "console, scripts")])
            .expect("config");
        let verifier = format!("{:?}", config.jwt.expect("a verifier"));
        assert!(verifier.contains(issuer) && verifier.contains(r#"["console", "scripts"]"#), "{verifier}");
        let refused = from(&[("SMSDESK_JWT_AUDIENCE", "console")]).map(|_| ()).expect_err("no issuer");
        assert!(matches!(refused, WireError::Invalid { name: "SMSDESK_JWT_AUDIENCE", .. }), "{refused}");
    }

    #[test]
    fn wiring_from_a_functions_features() {
        let none = Wiring::from_features([], false).unwrap();
        assert_eq!(none, Wiring { queue: false, secrets: false, media: false });
        assert_eq!(
            Wiring::from_features(["queue"], false).unwrap(),
            Wiring { queue: true, secrets: false, media: false }
        );
        assert_eq!(
            Wiring::from_features([], true).unwrap(),
            Wiring { queue: true, secrets: true, media: false }
        );
        assert_eq!(
            Wiring::from_features(["queue", "secrets", "media"], false).unwrap(),
            Wiring { queue: true, secrets: true, media: true }
        );
        assert_eq!(
            Wiring::from_features(["secrets", "aws-sms"], false).unwrap(),
            Wiring { queue: false, secrets: true, media: false }
        );
        assert!(
            matches!(Wiring::from_features(["sqs"], false), Err(WireError::UnknownFeature(f)) if f == "sqs")
        );
    }
}
