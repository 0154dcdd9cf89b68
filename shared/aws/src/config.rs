//! Configuration of the AWS adapters, read from environment variables (set by the SAM template in AWS,
//! by the emulator script locally), and the SDK clients built from it.

use aws_types::SdkConfig;
use smsdesk_ports::QueueKind;

/// The table name.
pub const TABLE_VAR: &str = "SMSDESK_TABLE";
/// Prefix of the channel secrets' names in Secrets Manager (default [`DEFAULT_SECRET_PREFIX`]).
pub const SECRET_PREFIX_VAR: &str = "SMSDESK_SECRET_PREFIX";
/// Endpoint overrides for local emulators; unset in AWS.
pub const DYNAMODB_ENDPOINT_VAR: &str = "SMSDESK_DYNAMODB_ENDPOINT";
pub const SQS_ENDPOINT_VAR: &str = "SMSDESK_SQS_ENDPOINT";
/// Defaults to `SMSDESK_SQS_ENDPOINT`: moto serves SQS and Secrets Manager on one port.
pub const SECRETS_ENDPOINT_VAR: &str = "SMSDESK_SECRETS_ENDPOINT";
pub const DEFAULT_SECRET_PREFIX: &str = "smsdesk/channels/";
/// The media bucket's name (MMS media; `infra/TABLES.md`, "Media").
pub const MEDIA_BUCKET_VAR: &str = "SMSDESK_MEDIA_BUCKET";
/// Endpoint override for S3 (moto locally); defaults to `SMSDESK_SQS_ENDPOINT`. Unset in AWS.
pub const S3_ENDPOINT_VAR: &str = "SMSDESK_S3_ENDPOINT";
/// The table stream's dead-letter queue (the `live` function's failed batches: stack output
/// `LiveStreamDeadLetterQueueUrl`), read by `smsdesk dlq list --queue live-stream`; no function uses it.
pub const LIVE_STREAM_DLQ_VAR: &str = "SMSDESK_LIVE_STREAM_DLQ_URL";

/// The environment variable that holds a queue's URL (see [`crate::AwsConfig::from_env`]).
pub fn env_var(queue: QueueKind, dead_letter: bool) -> &'static str {
    match (queue, dead_letter) {
        (QueueKind::Inbound, false) => "SMSDESK_INBOUND_QUEUE_URL",
        (QueueKind::Inbound, true) => "SMSDESK_INBOUND_DLQ_URL",
        (QueueKind::Outbound, false) => "SMSDESK_OUTBOUND_QUEUE_URL",
        (QueueKind::Outbound, true) => "SMSDESK_OUTBOUND_DLQ_URL",
        (QueueKind::Crm, false) => "SMSDESK_CRM_QUEUE_URL",
        (QueueKind::Crm, true) => "SMSDESK_CRM_DLQ_URL",
        (QueueKind::Timers, false) => "SMSDESK_TIMERS_QUEUE_URL",
        (QueueKind::Timers, true) => "SMSDESK_TIMERS_DLQ_URL",
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
}

/// The URL of each queue and of its dead-letter queue. A function only needs the queues it uses; using
/// one whose URL is not set fails with an error naming the variable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueUrls {
    pub inbound: Option<String>,
    pub inbound_dlq: Option<String>,
    pub outbound: Option<String>,
    pub outbound_dlq: Option<String>,
    pub crm: Option<String>,
    pub crm_dlq: Option<String>,
    pub timers: Option<String>,
    pub timers_dlq: Option<String>,
}

impl QueueUrls {
    pub fn url(&self, queue: QueueKind) -> Option<&str> {
        match queue {
            QueueKind::Inbound => self.inbound.as_deref(),
            QueueKind::Outbound => self.outbound.as_deref(),
            QueueKind::Crm => self.crm.as_deref(),
            QueueKind::Timers => self.timers.as_deref(),
        }
    }

    pub fn dlq_url(&self, queue: QueueKind) -> Option<&str> {
        match queue {
            QueueKind::Inbound => self.inbound_dlq.as_deref(),
            QueueKind::Outbound => self.outbound_dlq.as_deref(),
            QueueKind::Crm => self.crm_dlq.as_deref(),
            QueueKind::Timers => self.timers_dlq.as_deref(),
        }
    }

    pub fn set(&mut self, queue: QueueKind, url: String, dlq_url: String) {
        let (main, dlq) = match queue {
            QueueKind::Inbound => (&mut self.inbound, &mut self.inbound_dlq),
            QueueKind::Outbound => (&mut self.outbound, &mut self.outbound_dlq),
            QueueKind::Crm => (&mut self.crm, &mut self.crm_dlq),
            QueueKind::Timers => (&mut self.timers, &mut self.timers_dlq),
        };
        *main = Some(url);
        *dlq = Some(dlq_url);
    }

    /// The `export` lines that configure these URLs (for scripts and the dev tools).
    pub fn env_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        for kind in QueueKind::ALL {
            for (dead, url) in [(false, self.url(kind)), (true, self.dlq_url(kind))] {
                if let Some(url) = url {
                    lines.push(format!("{}={url}", env_var(kind, dead)));
                }
            }
        }
        lines
    }
}

/// Everything the AWS adapters need besides the SDK's own configuration (region, credentials).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AwsConfig {
    pub table: String,
    pub queues: QueueUrls,
    pub secret_prefix: String,
    pub dynamodb_endpoint: Option<String>,
    pub sqs_endpoint: Option<String>,
    pub secrets_endpoint: Option<String>,
    /// The media bucket (`SMSDESK_MEDIA_BUCKET`); None: this deployment keeps no MMS media.
    pub media_bucket: Option<String>,
    /// Endpoint override for S3 (`SMSDESK_S3_ENDPOINT`, else `SMSDESK_SQS_ENDPOINT`: moto serves both).
    pub s3_endpoint: Option<String>,
}

impl AwsConfig {
    /// Reads `SMSDESK_TABLE` (required), the six queue URL variables (`SMSDESK_INBOUND_QUEUE_URL`,
    /// `SMSDESK_INBOUND_DLQ_URL`, `SMSDESK_OUTBOUND_QUEUE_URL`, `SMSDESK_OUTBOUND_DLQ_URL`,
    /// `SMSDESK_CRM_QUEUE_URL`, `SMSDESK_CRM_DLQ_URL`), `SMSDESK_SECRET_PREFIX` and the endpoint overrides.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As [`AwsConfig::from_env`], from any lookup (tests). Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut queues = QueueUrls::default();
        for kind in QueueKind::ALL {
            let (url, dlq) = (get(env_var(kind, false)), get(env_var(kind, true)));
            match kind {
                QueueKind::Inbound => (queues.inbound, queues.inbound_dlq) = (url, dlq),
                QueueKind::Outbound => (queues.outbound, queues.outbound_dlq) = (url, dlq),
                QueueKind::Crm => (queues.crm, queues.crm_dlq) = (url, dlq),
                QueueKind::Timers => (queues.timers, queues.timers_dlq) = (url, dlq),
            }
        }
        let sqs_endpoint = get(SQS_ENDPOINT_VAR);
        Ok(Self {
            table: get(TABLE_VAR).ok_or(ConfigError::Missing(TABLE_VAR))?,
            queues,
            secret_prefix: get(SECRET_PREFIX_VAR).unwrap_or_else(|| DEFAULT_SECRET_PREFIX.to_string()),
            dynamodb_endpoint: get(DYNAMODB_ENDPOINT_VAR),
            secrets_endpoint: get(SECRETS_ENDPOINT_VAR).or_else(|| sqs_endpoint.clone()),
            media_bucket: get(MEDIA_BUCKET_VAR),
            s3_endpoint: get(S3_ENDPOINT_VAR).or_else(|| sqs_endpoint.clone()),
            sqs_endpoint,
        })
    }
}

/// A DynamoDB client from the shared SDK configuration, pointed at the emulator when configured.
pub fn dynamodb_client(sdk: &SdkConfig, cfg: &AwsConfig) -> aws_sdk_dynamodb::Client {
    let mut builder = aws_sdk_dynamodb::config::Builder::from(sdk);
    if let Some(url) = &cfg.dynamodb_endpoint {
        builder = builder.endpoint_url(url);
    }
    aws_sdk_dynamodb::Client::from_conf(builder.build())
}

#[cfg(feature = "sqs")]
pub fn sqs_client(sdk: &SdkConfig, cfg: &AwsConfig) -> aws_sdk_sqs::Client {
    let mut builder = aws_sdk_sqs::config::Builder::from(sdk);
    if let Some(url) = &cfg.sqs_endpoint {
        builder = builder.endpoint_url(url);
    }
    aws_sdk_sqs::Client::from_conf(builder.build())
}

#[cfg(feature = "secretsmanager")]
pub fn secrets_client(sdk: &SdkConfig, cfg: &AwsConfig) -> aws_sdk_secretsmanager::Client {
    let mut builder = aws_sdk_secretsmanager::config::Builder::from(sdk);
    if let Some(url) = &cfg.secrets_endpoint {
        builder = builder.endpoint_url(url);
    }
    aws_sdk_secretsmanager::Client::from_conf(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn the_table_is_required() {
        assert_eq!(AwsConfig::from_lookup(lookup(&[])), Err(ConfigError::Missing("SMSDESK_TABLE")));
        assert_eq!(
            AwsConfig::from_lookup(lookup(&[("SMSDESK_TABLE", " ")])),
            Err(ConfigError::Missing("SMSDESK_TABLE"))
        );
    }

    #[test]
    fn queues_prefix_and_endpoints_are_read() {
        let cfg = AwsConfig::from_lookup(lookup(&[
            ("SMSDESK_TABLE", "t"),
            ("SMSDESK_INBOUND_QUEUE_URL", "http://q/in.fifo"),
            ("SMSDESK_CRM_DLQ_URL", "http://q/crm-dlq"),
            ("SMSDESK_SQS_ENDPOINT", "http://127.0.0.1:5000"),
        ]))
        .unwrap();
        assert_eq!(cfg.queues.url(QueueKind::Inbound), Some("http://q/in.fifo"));
        assert_eq!(cfg.queues.url(QueueKind::Outbound), None);
        assert_eq!(cfg.queues.dlq_url(QueueKind::Crm), Some("http://q/crm-dlq"));
        assert_eq!(cfg.secret_prefix, DEFAULT_SECRET_PREFIX);
        assert_eq!(cfg.secrets_endpoint.as_deref(), Some("http://127.0.0.1:5000"), "moto serves both");
        assert_eq!(cfg.dynamodb_endpoint, None);
        assert_eq!(
            cfg.queues.env_lines(),
            vec!["SMSDESK_INBOUND_QUEUE_URL=http://q/in.fifo", "SMSDESK_CRM_DLQ_URL=http://q/crm-dlq"]
        );
    }
}
