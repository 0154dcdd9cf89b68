//! smsdesk's AWS adapters: [`DynamoStore`] (every store port on one DynamoDB table), [`SqsQueue`] (the
//! inbound, outbound and crm queues) and [`SecretsManagerStore`] (channel credentials).
//!
//! Wiring, once per cold start (region and credentials from Lambda's variables, no aws-config):
//! ```no_run
//! # fn wire() -> Result<(), smsdesk_aws::ConfigError> {
//! let sdk = smsdesk_aws::sdk_config_from_env()?;
//! let cfg = smsdesk_aws::AwsConfig::from_env()?;
//! let adapters = smsdesk_aws::AwsAdapters::new(&sdk, &cfg);
//! # let _ = adapters; Ok(()) }
//! ```
//! Cargo features `sqs` and `secretsmanager` (both on by default) bring [`SqsQueue`] and
//! [`SecretsManagerStore`] with their SDK clients; a function that never uses one leaves it out.
//! The table design is written down in `infra/TABLES.md`; [`create_tables`] and [`create_queues`] make the
//! same resources as the SAM template, for tests and development against DynamoDB Local and moto.

mod attr;
mod config;
mod dynamo;
mod error;
pub use error::is_transient;
mod http;
mod lazy;
mod metrics;
#[cfg(feature = "s3")]
mod s3;
mod sdk;
#[cfg(feature = "secretsmanager")]
mod secrets;
#[cfg(feature = "sqs")]
mod sqs;
#[cfg(feature = "streams")]
mod streams;
pub mod usage;
#[cfg(feature = "websocket")]
mod websocket;

#[cfg(feature = "websocket")]
pub use aws_sdk_apigatewaymanagement;
#[cfg(feature = "s3")]
pub use aws_sdk_s3;
#[cfg(feature = "secretsmanager")]
pub use config::secrets_client;
#[cfg(feature = "sqs")]
pub use config::sqs_client;
pub use config::{
    AwsConfig, ConfigError, DEFAULT_SECRET_PREFIX, DYNAMODB_ENDPOINT_VAR, LIVE_STREAM_DLQ_VAR,
    MEDIA_BUCKET_VAR, QueueUrls, S3_ENDPOINT_VAR, SECRET_PREFIX_VAR, SECRETS_ENDPOINT_VAR, SQS_ENDPOINT_VAR,
    TABLE_VAR, dynamodb_client, env_var as queue_env_var,
};
pub use dynamo::{
    CONNECTION_TTL, Connection, DynamoStore, NewChange, RETENTION, TTL_ATTRIBUTE, change_of_write,
    create_table, from_dynamodb_item, to_dynamodb_json,
};
pub use http::LazyTls;
pub use lazy::LazyClient;
pub use metrics::{DEFAULT_METRICS_NAMESPACE, EmfMetrics, METRICS_NAMESPACE_VAR};
#[cfg(feature = "s3")]
pub use s3::{S3Media, create_media_bucket, s3_client};
pub use sdk::{
    ACCESS_KEY_VAR, DEFAULT_REGION_VAR, REGION_VAR, SECRET_KEY_VAR, SESSION_TOKEN_VAR, env_credentials,
    env_region, sdk_config, sdk_config_from_env, sdk_config_from_lookup,
};
#[cfg(feature = "secretsmanager")]
pub use secrets::SecretsManagerStore;
#[cfg(feature = "sqs")]
pub use sqs::{SqsQueue, create_queues, queue_name};
#[cfg(feature = "streams")]
pub use streams::StreamReader;
#[cfg(feature = "websocket")]
pub use websocket::{Posted, WEBSOCKET_ENDPOINT_VAR, WebSocketPoster, websocket_client};

#[cfg(feature = "secretsmanager")]
pub use aws_sdk_secretsmanager;
#[cfg(feature = "sqs")]
pub use aws_sdk_sqs;
/// The SDK crates, re-exported so that callers build clients with the same versions and features.
pub use {aws_credential_types, aws_sdk_dynamodb, aws_types};

use smsdesk_ports::PortResult;

/// The adapters this build has (the store always; the queue and secrets with their features), built from
/// one SDK configuration.
#[derive(Clone, Debug)]
pub struct AwsAdapters {
    pub store: DynamoStore,
    #[cfg(feature = "sqs")]
    pub queue: SqsQueue,
    #[cfg(feature = "secretsmanager")]
    pub secrets: SecretsManagerStore,
    /// The media bucket's adapter, when `SMSDESK_MEDIA_BUCKET` names one.
    #[cfg(feature = "s3")]
    pub media: Option<S3Media>,
}

impl AwsAdapters {
    /// The adapters, each building its SDK client on first use ([`LazyClient`]): nothing is built and no
    /// network call happens here.
    pub fn new(sdk: &aws_types::SdkConfig, cfg: &AwsConfig) -> Self {
        Self {
            store: DynamoStore::with_lazy_client(lazy(sdk, cfg, dynamodb_client), cfg.table.clone()),
            #[cfg(feature = "sqs")]
            queue: SqsQueue::with_lazy_client(lazy(sdk, cfg, sqs_client), cfg.queues.clone()),
            #[cfg(feature = "secretsmanager")]
            secrets: SecretsManagerStore::with_lazy_client(
                lazy(sdk, cfg, secrets_client),
                cfg.secret_prefix.clone(),
            ),
            #[cfg(feature = "s3")]
            media: cfg.media_bucket.clone().map(|bucket| {
                let endpoint = cfg.s3_endpoint.clone();
                let sdk = sdk.clone();
                S3Media::with_lazy_client(
                    LazyClient::new(move || s3_client(&sdk, endpoint.as_deref())),
                    bucket,
                )
            }),
        }
    }
}

/// A client that `make` builds from (copies of) `sdk` and `cfg` on first use.
fn lazy<C: Clone + Send + Sync + 'static>(
    sdk: &aws_types::SdkConfig,
    cfg: &AwsConfig,
    make: fn(&aws_types::SdkConfig, &AwsConfig) -> C,
) -> LazyClient<C> {
    let (sdk, cfg) = (sdk.clone(), cfg.clone());
    LazyClient::new(move || make(&sdk, &cfg))
}

/// Creates the table named in `cfg` with the schema of `infra/TABLES.md` (idempotent).
pub async fn create_tables(client: &aws_sdk_dynamodb::Client, cfg: &AwsConfig) -> PortResult<()> {
    create_table(client, &cfg.table).await
}
