//! The SDK configuration built directly, without aws-config.
//!
//! aws-config's loader brings its provider chains (profile files, SSO, IMDS, web identity with an STS
//! client) into every binary that links it, and runs part of them at start even when credentials and
//! region are given explicitly. A Lambda function needs none of it: Lambda puts the region and the
//! execution role's credentials in the environment. Building [`SdkConfig`] from those values removes
//! aws-config, aws-sdk-sts, aws-sdk-sso and aws-sdk-ssooidc from the functions (measured in
//! bench/coldstart/README.md).

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_async::rt::sleep::default_async_sleep;
use aws_smithy_async::time::SystemTimeSource;
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_types::SdkConfig;
use aws_types::region::Region;
use std::time::Duration;

use crate::config::ConfigError;
use crate::http::LazyTls;

/// Lambda's variables: the region, and the execution role's temporary credentials.
pub const REGION_VAR: &str = "AWS_REGION";
pub const DEFAULT_REGION_VAR: &str = "AWS_DEFAULT_REGION";
pub const ACCESS_KEY_VAR: &str = "AWS_ACCESS_KEY_ID";
pub const SECRET_KEY_VAR: &str = "AWS_SECRET_ACCESS_KEY";
pub const SESSION_TOKEN_VAR: &str = "AWS_SESSION_TOKEN";

/// The SDK's connect timeout for its current behavior version (what aws-config would set).
const CONNECT_TIMEOUT: Duration = Duration::from_millis(3100);

/// Longest one attempt of an SDK call may take (a hung connection is given up and retried).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(4);
/// Longest an SDK call may take with its retries: below the shortest function timeout (10 s, the webhook),
/// so a stuck AWS call ends as an error the handler reports, not as a Lambda timeout.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(9);

/// An SDK configuration with this region and these credentials: standard retries (3 attempts), a 3.1 s
/// connect timeout, a 4 s attempt and 9 s operation timeout on every call, Tokio's sleep, the system
/// clock, and the lazily connecting HTTPS client ([`LazyTls`]).
pub fn sdk_config(region: Region, credentials: Credentials) -> SdkConfig {
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(region)
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .retry_config(RetryConfig::standard())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_attempt_timeout(ATTEMPT_TIMEOUT)
                .operation_timeout(OPERATION_TIMEOUT)
                .build(),
        )
        .time_source(SystemTimeSource::new())
        .http_client(LazyTls::shared());
    if let Some(sleep) = default_async_sleep() {
        builder.set_sleep_impl(Some(sleep));
    }
    builder.build()
}

/// As [`sdk_config`], with region and credentials from the environment Lambda sets.
pub fn sdk_config_from_env() -> Result<SdkConfig, ConfigError> {
    sdk_config_from_lookup(|name| std::env::var(name).ok())
}

/// As [`sdk_config_from_env`], from any lookup (tests). Empty values count as unset.
pub fn sdk_config_from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<SdkConfig, ConfigError> {
    Ok(sdk_config(env_region(&lookup)?, env_credentials(&lookup)?))
}

/// `AWS_REGION`, else `AWS_DEFAULT_REGION`.
pub fn env_region(lookup: impl Fn(&str) -> Option<String>) -> Result<Region, ConfigError> {
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    get(REGION_VAR)
        .or_else(|| get(DEFAULT_REGION_VAR))
        .map(Region::new)
        .ok_or(ConfigError::Missing(REGION_VAR))
}

/// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (both required) and `AWS_SESSION_TOKEN` (optional). In
/// Lambda these stay valid for the life of the execution environment, so they are read once.
pub fn env_credentials(lookup: impl Fn(&str) -> Option<String>) -> Result<Credentials, ConfigError> {
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let key = get(ACCESS_KEY_VAR).ok_or(ConfigError::Missing(ACCESS_KEY_VAR))?;
    let secret = get(SECRET_KEY_VAR).ok_or(ConfigError::Missing(SECRET_KEY_VAR))?;
    Ok(Credentials::new(key, secret, get(SESSION_TOKEN_VAR), None, "lambda-environment"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::provider::ProvideCredentials;

    fn vars(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
    }

    #[tokio::test]
    async fn lambda_variables_give_region_and_credentials() {
        let lambda = vars(&[
            ("AWS_REGION", "eu-west-3"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
        ]);
        let sdk = sdk_config_from_lookup(lambda).unwrap();
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("eu-west-3"));
        let creds = sdk.credentials_provider().unwrap().provide_credentials().await.unwrap();
        assert_eq!((creds.access_key_id(), creds.secret_access_key()), ("AKID", "secret"));
        assert_eq!(creds.session_token(), Some("token"));
        assert_eq!(sdk.retry_config().map(|r| r.max_attempts()), Some(3));
        assert_eq!(sdk.timeout_config().and_then(|t| t.connect_timeout()), Some(CONNECT_TIMEOUT));
        assert_eq!(sdk.timeout_config().and_then(|t| t.operation_timeout()), Some(OPERATION_TIMEOUT));
        assert_eq!(sdk.timeout_config().and_then(|t| t.operation_attempt_timeout()), Some(ATTEMPT_TIMEOUT));
        assert!(sdk.sleep_impl().is_some(), "retries need a sleep implementation");
    }

    #[test]
    fn the_default_region_and_a_missing_token_are_accepted() {
        let sdk = sdk_config_from_lookup(vars(&[
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "a"),
            ("AWS_SECRET_ACCESS_KEY", "b"),
        ]))
        .unwrap();
        assert_eq!(sdk.region().map(|r| r.as_ref()), Some("us-east-1"));
    }

    #[test]
    fn missing_or_empty_variables_are_named() {
        let no_region = vars(&[("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")]);
        assert_eq!(sdk_config_from_lookup(no_region).err(), Some(ConfigError::Missing("AWS_REGION")));
        let empty_secret =
            vars(&[("AWS_REGION", "us-east-1"), ("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", " ")]);
        assert_eq!(
            sdk_config_from_lookup(empty_secret).err(),
            Some(ConfigError::Missing("AWS_SECRET_ACCESS_KEY"))
        );
    }
}
