//! The secret store contract: every credentials variant reads back as written; a later put replaces.

use secrecy::SecretString;
use smsdesk_domain::ChannelId;
use smsdesk_ports::{Credentials, PortResult, RetiredKey, SecretStore, TelesignCredentials};
use std::sync::Arc;

use crate::fixtures;

fn ok<T>(result: PortResult<T>, what: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("secrets contract: {what} failed: {e}"),
    }
}

/// One value of every [`Credentials`] variant, with secrets unique to this call.
pub fn every_variant() -> Vec<Credentials> {
    let secret = |name: &str| SecretString::from(format!("{name}-{}", fixtures::run_tag()));
    vec![
        Credentials::Telesign(TelesignCredentials::new(
            "F1C2D3E4-0000-4000-8000-000000000001",
            secret("dGVsZXNpZ24ta2V5"),
        )),
        Credentials::Telesign(TelesignCredentials {
            customer_id: "F1C2D3E4-0000-4000-8000-000000000002".into(),
            api_key: secret("bmV3LWtleQ"),
            previous: Some(RetiredKey {
                api_key: secret("b2xkLWtleQ"),
                until: time::OffsetDateTime::from_unix_timestamp(1_900_000_000).expect("a valid time"),
            }),
        }),
        Credentials::Twilio {
            account_sid: "AC0123456789abcdef0123456789abcdef".into(),
            auth_token: secret("tok"),
        },
        Credentials::Acs {
            endpoint: "https://contoso.communication.azure.com".into(),
            access_key: secret("acs"),
        },
        Credentials::Vonage {
            api_key: "abcd1234".into(),
            api_secret: secret("vonage"),
            signature_secret: Some(secret("sig")),
            signature_method: Some("sha256".into()),
        },
        Credentials::Vonage {
            api_key: "abcd1234".into(),
            api_secret: secret("vonage"),
            signature_secret: None,
            signature_method: None,
        },
        Credentials::Aws { region: "eu-west-1".into(), origination_identity: "+447700900123".into() },
        Credentials::Sandbox,
    ]
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
}
