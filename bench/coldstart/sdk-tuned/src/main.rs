//! The same function as sdk-naive, tuned for cold start (see ../README.md for what each step buys):
//! - credentials and region read from the environment Lambda sets, so the default chain (and the STS
//!   client of its web-identity provider, which loads the CA store) is never built;
//! - reqwest gets a rustls configuration whose roots are compiled in (webpki-roots): nothing to load or
//!   parse at start. The SDK's own connector is built lazily, on the first call.
//!
//! To measure each step alone, `PROBE_CREDENTIALS=chain` uses the default credential chain instead, and
//! `PROBE_TLS=platform` gives reqwest its default (platform verifier) roots instead.

use aws_config::BehaviorVersion;
use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::environment::region::EnvironmentVariableRegionProvider;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;
use std::sync::Arc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = if std::env::var("PROBE_CREDENTIALS").as_deref() == Ok("chain") {
        aws_config::load_defaults(BehaviorVersion::latest()).await
    } else {
        aws_config::defaults(BehaviorVersion::latest())
            .credentials_provider(EnvironmentVariableCredentialsProvider::new())
            .region(EnvironmentVariableRegionProvider::new())
            .load()
            .await
    };
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let http = if std::env::var("PROBE_TLS").as_deref() == Ok("platform") {
        reqwest::Client::builder().build()?
    } else {
        reqwest::Client::builder().tls_backend_preconfigured(tls_config()).build()?
    };
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
