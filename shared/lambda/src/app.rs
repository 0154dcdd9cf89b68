//! The handlers wired to the AWS adapters, once per cold start: what every function's `main.rs` calls.

#[cfg(not(all(feature = "queue", feature = "secrets")))]
use crate::unwired::Unwired;
use smsdesk_app::{App, AuthMode, Config, Principal};
use smsdesk_aws::{AwsAdapters, AwsConfig, ConfigError};
use smsdesk_domain::AgentId;
use smsdesk_ports::{SystemClock, UuidIds};
use smsdesk_providers::Providers;
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
}

fn number(name: &'static str, default: u64) -> Result<u64, WireError> {
    match std::env::var(name) {
        Ok(v) if !v.trim().is_empty() => v
            .trim()
            .parse()
            .map_err(|e: std::num::ParseIntError| WireError::Invalid { name, reason: e.to_string() }),
        _ => Ok(default),
    }
}

/// The handlers' settings in AWS, from the environment the SAM template sets:
/// `SMSDESK_PUBLIC_URL` (the API's base URL, for callback URLs), `SMSDESK_ADMIN_TOKEN` (local only: check
/// bearer tokens here instead of trusting the JWT authorizer's claims), `SMSDESK_SEND_ATTEMPTS` (3),
/// `SMSDESK_RETRY_BASE_MS` (5000), `SMSDESK_SEND_LEASE_SECS` (120), `SMSDESK_AUTO_CLOSE_HOURS` (24; 0 = never).
pub fn config_from_env() -> Result<Config, WireError> {
    let public_url = std::env::var("SMSDESK_PUBLIC_URL").unwrap_or_default();
    // Behind API Gateway the JWT authorizer identifies callers. Without one (`cargo lambda watch` on a laptop),
    // SMSDESK_ADMIN_TOKEN switches the function to checking bearer tokens itself, as `smsdesk dev` does.
    let auth = match std::env::var("SMSDESK_ADMIN_TOKEN") {
        Ok(token) if !token.trim().is_empty() => AuthMode::Tokens { admin_token: token.into() },
        _ => AuthMode::GatewayClaims,
    };
    let mut config = Config::new(public_url, auth);
    config.retry.max_attempts = number("SMSDESK_SEND_ATTEMPTS", 3)?.clamp(1, 20) as u32;
    config.retry.base_delay = Duration::from_millis(number("SMSDESK_RETRY_BASE_MS", 5000)?);
    config.send_lease = Duration::from_secs(number("SMSDESK_SEND_LEASE_SECS", 120)?.max(1));
    config.auto_close_after = match number("SMSDESK_AUTO_CLOSE_HOURS", 24)? {
        0 => None,
        hours => Some(Duration::from_secs(hours * 3600)),
    };
    Ok(config)
}

/// The longest a provider call may take (the HTTP client's timeout). A queue function starts no message
/// later than this before its invocation's deadline ([`crate::run_sqs`]).
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(15);

/// Builds the SDK configuration, the adapters and the handlers. No network call happens here. The queue and
/// the secret store are the AWS ones when this crate's `queue` / `secrets` features are on, and
/// [`Unwired`](crate::Unwired) refusals otherwise (see crate::unwired).
pub async fn aws_app() -> Result<Arc<App>, WireError> {
    // Tuned for cold start: see crate::clients and bench/coldstart/README.md.
    let sdk = crate::clients::sdk_config()?;
    let adapters = AwsAdapters::new(&sdk, &AwsConfig::from_env()?);
    let http = crate::clients::http_client_builder()
        .timeout(PROVIDER_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| WireError::Http(e.to_string()))?;
    #[cfg(feature = "queue")]
    let queue = Arc::new(adapters.queue);
    #[cfg(not(feature = "queue"))]
    let queue = Arc::new(Unwired::QUEUE);
    #[cfg(feature = "secrets")]
    let secrets = Arc::new(adapters.secrets);
    #[cfg(not(feature = "secrets"))]
    let secrets = Arc::new(Unwired::SECRETS);
    let store = Arc::new(adapters.store);
    let clock = Arc::new(SystemClock);
    let providers = Providers::new(http, store.clone(), clock.clone());
    Ok(App::new(store, queue, secrets, providers, clock, Arc::new(UuidIds), config_from_env()?))
}

/// The application's caller from the JWT authorizer's claims: the `smsdesk-admin` group or scope makes an
/// admin; otherwise the agent-id claim names the agent. Neither: no identity (401).
pub fn principal(claims: &Claims) -> Option<Principal> {
    if claims.admin {
        return Some(Principal::Admin);
    }
    claims.agent_id.as_ref().map(|id| Principal::Agent(AgentId::new(id.clone())))
}

/// Serves the timers schedule (an EventBridge event every minute): one sweep per invocation.
pub async fn run_timers(app: Arc<App>) -> Result<(), lambda_runtime::Error> {
    use lambda_runtime::{LambdaEvent, service_fn};
    lambda_runtime::run(service_fn(move |_event: LambdaEvent<serde_json::Value>| {
        let app = Arc::clone(&app);
        async move {
            let report = smsdesk_app::services::timers::sweep(&app).await?;
            tracing::info!(assigned = report.assigned, auto_closed = report.auto_closed, "timers sweep");
            Ok::<_, lambda_runtime::Error>(serde_json::json!(report))
        }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_claims_win_and_agents_need_an_id() {
        let admin =
            Claims { sub: "u".into(), admin: true, agent_id: Some("ag_1".into()), ..Claims::default() };
        assert_eq!(principal(&admin), Some(Principal::Admin));
        let agent = Claims { sub: "u".into(), agent_id: Some("ag_1".into()), ..Claims::default() };
        assert_eq!(principal(&agent), Some(Principal::Agent(AgentId::new("ag_1"))));
        assert_eq!(principal(&Claims { sub: "u".into(), ..Claims::default() }), None);
    }
}
