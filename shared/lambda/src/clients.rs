//! The AWS SDK configuration and the HTTPS client, built once per cold start and tuned for init time
//! (measured in bench/coldstart/README.md):
//! - credentials and region come from the variables Lambda sets, so the default credential chain is not
//!   built: its web-identity provider carries an STS client whose TLS connector loads and parses the
//!   machine's whole CA store during init;
//! - the SDK's HTTPS client is wrapped in [`LazyTls`]: the SDK's own client builds a TLS connector (loading
//!   and parsing the CA store) while each service client is constructed; wrapped, that happens on the first
//!   AWS call instead;
//! - reqwest's roots are compiled in (webpki-roots), so building it reads and parses nothing.
//!
//! Outside Lambda (tests, `cargo lambda watch` without variables), the default chain is used instead.

use aws_config::BehaviorVersion;
use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::environment::region::EnvironmentVariableRegionProvider;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;
use std::sync::Arc;

/// The SDK configuration every client of a function shares.
pub async fn sdk_config() -> aws_config::SdkConfig {
    sdk_config_from(|name| std::env::var(name).ok()).await
}

async fn sdk_config_from(lookup: impl Fn(&str) -> Option<String>) -> aws_config::SdkConfig {
    let choice = Choice::from(lookup);
    let mut loader = aws_config::defaults(BehaviorVersion::latest()).http_client(LazyTls::shared());
    if choice.env_credentials {
        loader = loader.credentials_provider(EnvironmentVariableCredentialsProvider::new());
    }
    if choice.env_region {
        loader = loader.region(EnvironmentVariableRegionProvider::new());
    }
    loader.load().await
}

/// Which providers the environment lets us pin (the rest come from the default chains).
#[derive(Debug, PartialEq, Eq)]
struct Choice {
    env_credentials: bool,
    env_region: bool,
}

impl Choice {
    fn from(lookup: impl Fn(&str) -> Option<String>) -> Choice {
        let set = |name: &str| lookup(name).is_some_and(|v| !v.is_empty());
        Choice {
            env_credentials: set("AWS_ACCESS_KEY_ID") && set("AWS_SECRET_ACCESS_KEY"),
            env_region: set("AWS_REGION") || set("AWS_DEFAULT_REGION"),
        }
    }
}

/// The SDK's default HTTPS client (hyper 1, rustls with aws-lc, the system's CA store) without the TLS
/// connector its `validate_base_client_config` builds eagerly when a service client is constructed.
/// Connectors are still built, and cached, by the wrapped client: on the first request.
#[derive(Debug)]
pub struct LazyTls(SharedHttpClient);

impl LazyTls {
    pub fn shared() -> SharedHttpClient {
        let inner = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
            .build_https();
        LazyTls(inner).into_shared()
    }
}

impl HttpClient for LazyTls {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.0.http_connector(settings, components)
    }

    fn connector_metadata(&self) -> Option<ConnectorMetadata> {
        self.0.connector_metadata()
    }
}

/// A reqwest builder whose TLS roots are compiled in; add timeouts and build.
pub fn http_client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder().tls_backend_preconfigured(tls_config())
}

/// One TLS client configuration: aws-lc crypto, TLS 1.2 and 1.3, Mozilla's roots (webpki-roots).
pub fn tls_config() -> rustls::ClientConfig {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    match rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions() {
        Ok(builder) => builder.with_root_certificates(roots).with_no_client_auth(),
        // Unreachable with aws-lc (it supports both default versions); rustls' own default is as safe.
        Err(_) => rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reqwest_accepts_the_preconfigured_tls() {
        // reqwest refuses a preconfigured TLS value of a type it does not know (a rustls version skew).
        assert!(http_client_builder().build().is_ok());
    }

    #[test]
    fn lambda_variables_pin_credentials_and_region() {
        let lambda = |name: &str| match name {
            "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" | "AWS_REGION" => Some("x".to_owned()),
            _ => None,
        };
        assert_eq!(Choice::from(lambda), Choice { env_credentials: true, env_region: true });
        let half = |name: &str| (name == "AWS_ACCESS_KEY_ID").then(|| "x".to_owned());
        assert_eq!(Choice::from(half), Choice { env_credentials: false, env_region: false });
        let empty = |name: &str| (name == "AWS_DEFAULT_REGION").then(String::new);
        assert_eq!(Choice::from(empty), Choice { env_credentials: false, env_region: false });
    }
}
