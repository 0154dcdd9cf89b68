//! The HTTPS client every SDK client of a process shares: the SDK's own hyper client with rustls on *ring*
//! (the SDK crates' `default-https-client` would link aws-lc; see shared/providers/src/http.rs for why
//! *ring*), wrapped so that it builds its TLS connector on the first request instead of while each
//! service client is constructed.
//!
//! The SDK's client builds a connector in `validate_base_client_config` on purpose, so that the system's
//! CA store is read and parsed when a service client is built; in a Lambda function that would be inside
//! the cold start. [`LazyTls`] forwards `http_connector` (the wrapped client still builds and caches one
//! connector per settings) but not that validation, so the store is read once, on the first AWS call
//! (measured in bench/coldstart/README.md), plain-HTTP endpoints (DynamoDB Local, moto) included: the
//! connector is built with its TLS config whatever the scheme. Parsing that store is most of a function's
//! first invocation (the PEM of ~140 certificates: 8.2 M of the router's 11.2 M instructions, BENCHMARKS.md).

use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;

/// The SDK's HTTPS client (hyper 1, rustls with *ring*, the system's CA store), connecting lazily.
#[derive(Debug)]
pub struct LazyTls(SharedHttpClient);

impl LazyTls {
    pub fn shared() -> SharedHttpClient {
        let inner = aws_smithy_http_client::Builder::new()
            .tls_provider(Provider::Rustls(CryptoMode::Ring))
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
