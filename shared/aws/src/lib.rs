//! smsdesk's AWS adapters: [`DynamoStore`] (every store port on one DynamoDB table), [`SqsQueue`] (the
//! inbound, outbound and crm queues) and [`SecretsManagerStore`] (channel credentials).
//!
//! Wiring, once per cold start:
//! ```no_run
//! # async fn wire() -> Result<(), smsdesk_aws::ConfigError> {
//! let sdk = smsdesk_aws::aws_config::load_defaults(smsdesk_aws::aws_config::BehaviorVersion::latest()).await;
//! let cfg = smsdesk_aws::AwsConfig::from_env()?;
//! let adapters = smsdesk_aws::AwsAdapters::new(&sdk, &cfg);
//! # let _ = adapters; Ok(()) }
//! ```
//! The table design is written down in `infra/TABLES.md`; [`create_tables`] and [`create_queues`] make the
//! same resources as the SAM template, for tests and development against DynamoDB Local and moto.

mod attr;
mod config;
mod dynamo;
mod error;
mod secrets;
mod sqs;

pub use config::{
    AwsConfig, ConfigError, DEFAULT_SECRET_PREFIX, DYNAMODB_ENDPOINT_VAR, QueueUrls, SECRET_PREFIX_VAR,
    SECRETS_ENDPOINT_VAR, SQS_ENDPOINT_VAR, TABLE_VAR, dynamodb_client, secrets_client, sqs_client,
};
pub use dynamo::{DynamoStore, TTL_ATTRIBUTE, create_table};
pub use secrets::SecretsManagerStore;
pub use sqs::{SqsQueue, create_queues, env_var as queue_env_var, queue_name};

/// The SDK crates, re-exported so that callers build clients with the same versions and features.
pub use {aws_config, aws_sdk_dynamodb, aws_sdk_secretsmanager, aws_sdk_sqs};

use smsdesk_ports::PortResult;

/// The three adapters, built from one SDK configuration.
#[derive(Clone, Debug)]
pub struct AwsAdapters {
    pub store: DynamoStore,
    pub queue: SqsQueue,
    pub secrets: SecretsManagerStore,
}

impl AwsAdapters {
    /// Builds the clients (no network call happens here) and the adapters on them.
    pub fn new(sdk: &aws_config::SdkConfig, cfg: &AwsConfig) -> Self {
        Self {
            store: DynamoStore::new(dynamodb_client(sdk, cfg), cfg.table.clone()),
            queue: SqsQueue::new(sqs_client(sdk, cfg), cfg.queues.clone()),
            secrets: SecretsManagerStore::new(secrets_client(sdk, cfg), cfg.secret_prefix.clone()),
        }
    }
}

/// Creates the table named in `cfg` with the schema of `infra/TABLES.md` (idempotent).
pub async fn create_tables(client: &aws_sdk_dynamodb::Client, cfg: &AwsConfig) -> PortResult<()> {
    create_table(client, &cfg.table).await
}
