//! The same function as sdk-naive, tuned for cold start (see ../README.md for what each step buys):
//! - credentials and region read from the environment Lambda sets, so the default chain (and the STS
//!   client of its web-identity provider, which loads the CA store) is never built;
//! - reqwest gets a rustls configuration whose roots are compiled in (webpki-roots): nothing to load or
//!   parse at start. The SDK's own connector is built lazily, on the first call.
//!
//! - the SDK's HTTPS client is wrapped so that building a client does not build a TLS connector: the
//!   SDK's own client loads the CA store while the DynamoDB/SQS client is constructed (to move that cost
//!   into init on purpose); wrapped, it happens on the first call instead.
//!
//! To measure each step alone, `PROBE_SDK_TLS=eager` keeps the SDK's own client, `PROBE_CREDENTIALS=chain` uses the default credential chain instead, and
//! `PROBE_TLS=platform` gives reqwest its default (platform verifier) roots instead.

use aws_config::BehaviorVersion;
use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::environment::region::EnvironmentVariableRegionProvider;
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnectorSettings, SharedHttpClient, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::shared::IntoShared;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if std::env::var("PROBE_CREDENTIALS").as_deref() != Ok("chain") {
        loader = loader
            .credentials_provider(EnvironmentVariableCredentialsProvider::new())
            .region(EnvironmentVariableRegionProvider::new());
    }
    if std::env::var("PROBE_SDK_TLS").as_deref() != Ok("eager") {
        loader = loader.http_client(LazyTls::new());
    }
    let config = loader.load().await;
    trace_step("config loaded");
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    trace_step("dynamodb client built");
    let sqs = aws_sdk_sqs::Client::new(&config);
    trace_step("sqs client built");
    let http = if std::env::var("PROBE_TLS").as_deref() == Ok("platform") {
        reqwest::Client::builder().build()?
    } else {
        reqwest::Client::builder().tls_backend_preconfigured(tls_config()).build()?
    };
    trace_step("http client built");
    let (dynamodb, sqs, http) = (&dynamodb, &sqs, &http);
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        let tables = dynamodb.list_tables().send().await?;
        let queues = sqs.list_queues().send().await?;
        drop(http.clone());
        Ok::<_, Error>(serde_json::json!({
            "tables": tables.table_names().len(),
            "queues": queues.queue_urls().len(),
        }))
    }))
    .await
}

/// One client TLS configuration with compiled-in roots: no file read, no certificate parsed at start.
fn tls_config() -> rustls::ClientConfig {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions();
    match builder {
        Ok(builder) => builder.with_root_certificates(roots).with_no_client_auth(),
        // The aws-lc provider always supports the default versions; fall back to rustls' own default.
        Err(_) => {
            rustls::ClientConfig::builder().with_root_certificates(webpki_roots_store()).with_no_client_auth()
        }
    }
}

fn webpki_roots_store() -> rustls::RootCertStore {
    rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() }
}

/// With `PROBE_TRACE=1`, marks each step on stderr (for `strace -e write` timelines).
fn trace_step(step: &str) {
    if std::env::var_os("PROBE_TRACE").is_some() {
        eprintln!("step: {step}");
    }
}

/// The SDK's default HTTPS client (hyper 1, rustls with aws-lc), minus the eager TLS connector that its
/// `validate_base_client_config` builds while a service client is constructed. Connectors are still built
/// (and cached) by the wrapped client, on the first request.
#[derive(Debug)]
struct LazyTls(SharedHttpClient);

impl LazyTls {
    fn new() -> SharedHttpClient {
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

    fn connector_metadata(
        &self,
    ) -> Option<aws_smithy_runtime_api::client::connector_metadata::ConnectorMetadata> {
        self.0.connector_metadata()
    }
}
