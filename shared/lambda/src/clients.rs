//! The AWS SDK configuration and the HTTPS client, built once per cold start and tuned for init time
//! (measured in bench/coldstart/README.md):
//! - no aws-config: region and credentials come from the variables Lambda sets and the SDK configuration
//!   is built directly (`smsdesk_aws::sdk_config_from_env`), so neither aws-config's provider chains nor
//!   the STS/SSO clients they carry are linked or run;
//! - the SDK's HTTPS client is wrapped in [`LazyTls`]: the SDK's own client builds a TLS connector (loading
//!   and parsing the CA store) while each service client is constructed; wrapped, that happens on the first
//!   AWS call instead;
//! - reqwest's roots are compiled in (webpki-roots), so building it reads and parses nothing.
//!
//! Outside Lambda (`cargo lambda watch`), export `AWS_REGION`, `AWS_ACCESS_KEY_ID` and
//! `AWS_SECRET_ACCESS_KEY` (dummy values for DynamoDB Local), e.g.
//! `eval "$(aws configure export-credentials --format env)"` for real credentials.

use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;
use smsdesk_aws::ConfigError;
use smsdesk_aws::aws_types::SdkConfig;
use std::sync::Arc;

/// The SDK configuration every client of a function shares: region and credentials from Lambda's
/// variables, the lazily connecting HTTPS client.
pub fn sdk_config() -> Result<SdkConfig, ConfigError> {
    smsdesk_aws::sdk_config_from_env(Some(LazyTls::shared()))
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
}
