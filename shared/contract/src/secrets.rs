//! The secret store contract: every credentials variant reads back as written; a later put replaces.

use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use smsdesk_domain::{ChannelId, QueueId};
use smsdesk_ports::{Credentials, PortResult, SecretStore};
use std::sync::Arc;

use crate::fixtures;

fn ok<T>(result: PortResult<T>, what: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("secrets contract: {what} failed: {e}"),
    }
}

/// Credentials of every provider, in the stored shapes their modules write, with secrets unique to this
/// call.
pub fn every_variant() -> Vec<Credentials> {
    let secret = |name: &str| format!("{name}-{}", fixtures::run_tag());
    let stored = [
        json!({"provider": "telesign", "customer_id": "F1C2D3E4-0000-4000-8000-000000000001",
            "api_key": secret("dGVsZXNpZ24ta2V5"), "previous_api_key": null, "previous_valid_until": null}),
        json!({"provider": "telesign", "customer_id": "F1C2D3E4-0000-4000-8000-000000000002",
            "api_key": secret("bmV3LWtleQ"), "previous_api_key": secret("b2xkLWtleQ"),
            "previous_valid_until": 1_900_000_000}),
        json!({"provider": "twilio", "account_sid": "AC0123456789abcdef0123456789abcdef",
            "auth_token": secret("tok")}),
        json!({"provider": "acs", "endpoint": "https://contoso.communication.azure.com",
            "access_key": secret("acs")}),
        json!({"provider": "vonage", "api_key": "abcd1234", "api_secret": secret("vonage"),
            "signature_secret": secret("sig"), "signature_method": "sha256"}),
        json!({"provider": "vonage", "api_key": "abcd1234", "api_secret": secret("vonage"),
            "signature_secret": null, "signature_method": null}),
        json!({"provider": "aws", "region": "eu-west-1", "origination_identity": "+447700900123"}),
        json!({"provider": "sandbox"}),
    ];
    stored
        .iter()
        .map(|v| Credentials::from_stored_json(v).unwrap_or_else(|e| panic!("fixture {v}: {e}")))
        .collect()
}

/// Round trip of every variant, replacement, and an unknown channel.
pub async fn secrets_contract(secrets: Arc<dyn SecretStore>) {
    for creds in every_variant() {
        let channel = ChannelId::new(fixtures::id("ch_"));
        ok(secrets.put_credentials(&channel, &creds).await, "put_credentials");
        let back = ok(secrets.get_credentials(&channel).await, "get_credentials");
        let back =
            back.unwrap_or_else(|| panic!("secrets contract: stored credentials of {channel} are missing"));
        assert_eq!(
            back.to_stored_json(),
            creds.to_stored_json(),
            "credentials must read back exactly as written (provider {})",
            creds.to_stored_json()["provider"]
        );
    }

    let channel = ChannelId::new(fixtures::id("ch_"));
    let variants = every_variant();
    ok(secrets.put_credentials(&channel, &variants[1]).await, "put_credentials");
    ok(secrets.put_credentials(&channel, &variants[0]).await, "put_credentials (replace)");
    let back = ok(secrets.get_credentials(&channel).await, "get_credentials").map(|c| c.to_stored_json());
    assert_eq!(back, Some(variants[0].to_stored_json()), "a later put replaces the credentials");

    let unknown = ok(secrets.get_credentials(&ChannelId::new(fixtures::id("ch_"))).await, "get_credentials");
    assert!(unknown.is_none(), "an unknown channel has no credentials");

    // Bot secrets: per queue, read back as written, replaced by a later put, apart from channels'.
    let queue = QueueId::new(fixtures::id("q_"));
    let first = SecretString::from(format!("bot-{}", fixtures::run_tag()));
    let second = SecretString::from(format!("bot2-{}", fixtures::run_tag()));
    let read = |s: Option<SecretString>| s.map(|s| s.expose_secret().to_string());
    assert_eq!(read(ok(secrets.get_bot_secret(&queue).await, "get_bot_secret")), None, "none yet");
    ok(secrets.put_bot_secret(&queue, &first).await, "put_bot_secret");
    let back = read(ok(secrets.get_bot_secret(&queue).await, "get_bot_secret"));
    assert_eq!(back.as_deref(), Some(first.expose_secret()), "a bot secret reads back as written");
    ok(secrets.put_bot_secret(&queue, &second).await, "put_bot_secret (replace)");
    let back = read(ok(secrets.get_bot_secret(&queue).await, "get_bot_secret"));
    assert_eq!(back.as_deref(), Some(second.expose_secret()), "a later put replaces the bot secret");
    let other = ok(secrets.get_bot_secret(&QueueId::new(fixtures::id("q_"))).await, "get_bot_secret");
    assert!(other.is_none(), "another queue has no bot secret");
}
