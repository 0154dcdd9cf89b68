//! `smsdesk aws-local`: the AWS shape on one machine, for trying the Lambda functions with
//! `cargo lambda watch`. Creates the table and the queues of `infra/` on DynamoDB Local and moto (started by
//! `scripts/emulators.sh`) and writes the environment file the functions read.

use smsdesk_aws::{AwsConfig, create_queues, create_tables, dynamodb_client, sqs_client};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum AwsLocalError {
    #[error(
        "{0} is not set: start the emulators first (eval \"$(scripts/emulators.sh start)\") in this shell"
    )]
    MissingEndpoint(&'static str),
    #[error("could not create {what}: {reason}")]
    Create { what: &'static str, reason: String },
    #[error("could not write {path}: {source}")]
    Write { path: String, source: std::io::Error },
}

/// The SDK configuration for the emulators: they accept any credentials, and these never reach AWS.
fn emulator_sdk() -> smsdesk_aws::aws_types::SdkConfig {
    smsdesk_aws::sdk_config(
        smsdesk_aws::aws_types::region::Region::new("us-east-1"),
        smsdesk_aws::aws_credential_types::Credentials::new("test", "test", None, None, "smsdesk-local"),
    )
}

/// Creates the resources and writes `env_file`; returns its lines.
/// `public_url` is where `cargo lambda watch` serves the inbound-webhook function (for callback URLs).
pub async fn run(
    prefix: &str,
    env_file: &Path,
    admin_token: &str,
    public_url: &str,
) -> Result<Vec<String>, AwsLocalError> {
    let endpoint = |name: &'static str| {
        std::env::var(name).ok().filter(|v| !v.trim().is_empty()).ok_or(AwsLocalError::MissingEndpoint(name))
    };
    let dynamodb = endpoint("SMSDESK_DYNAMODB_ENDPOINT")?;
    let sqs = endpoint("SMSDESK_SQS_ENDPOINT")?;
    let table = format!("{prefix}-smsdesk");
    let lookup = |name: &str| match name {
        "SMSDESK_TABLE" => Some(table.clone()),
        "SMSDESK_DYNAMODB_ENDPOINT" => Some(dynamodb.clone()),
        "SMSDESK_SQS_ENDPOINT" => Some(sqs.clone()),
        _ => None,
    };
    let mut cfg = AwsConfig::from_lookup(lookup)
        .map_err(|e| AwsLocalError::Create { what: "the configuration", reason: e.to_string() })?;
    let sdk = emulator_sdk();
    create_tables(&dynamodb_client(&sdk, &cfg), &cfg)
        .await
        .map_err(|e| AwsLocalError::Create { what: "the DynamoDB table", reason: e.to_string() })?;
    cfg.queues = create_queues(&sqs_client(&sdk, &cfg), prefix)
        .await
        .map_err(|e| AwsLocalError::Create { what: "the SQS queues", reason: e.to_string() })?;
    let mut lines = vec![
        "AWS_REGION=us-east-1".to_string(),
        "AWS_ACCESS_KEY_ID=test".to_string(),
        "AWS_SECRET_ACCESS_KEY=test".to_string(),
        format!("SMSDESK_TABLE={table}"),
        format!("SMSDESK_DYNAMODB_ENDPOINT={dynamodb}"),
        format!("SMSDESK_SQS_ENDPOINT={sqs}"),
        format!("SMSDESK_SECRET_PREFIX={prefix}/channels/"),
        format!("SMSDESK_ADMIN_TOKEN={admin_token}"),
        format!("SMSDESK_PUBLIC_URL={public_url}"),
        "RUST_LOG=info".to_string(),
    ];
    lines.extend(cfg.queues.env_lines());
    if let Some(dir) = env_file.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|source| AwsLocalError::Write { path: env_file.display().to_string(), source })?;
    }
    std::fs::write(env_file, lines.join("\n") + "\n")
        .map_err(|source| AwsLocalError::Write { path: env_file.display().to_string(), source })?;
    Ok(lines)
}

/// The event Lambda's SQS event source mapping sends for these messages (the `Records` JSON).
pub fn sqs_event(
    messages: &[smsdesk_aws::aws_sdk_sqs::types::Message],
    queue_arn: &str,
) -> serde_json::Value {
    let records: Vec<serde_json::Value> = messages
        .iter()
        .map(|m| {
            let attributes: serde_json::Map<String, serde_json::Value> = m
                .attributes
                .clone()
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.as_str().to_string(), serde_json::Value::String(v)))
                .collect();
            serde_json::json!({
                "messageId": m.message_id, "receiptHandle": m.receipt_handle, "body": m.body,
                "attributes": attributes, "messageAttributes": {}, "md5OfBody": m.md5_of_body,
                "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": "us-east-1",
            })
        })
        .collect();
    serde_json::json!({ "Records": records })
}

/// The ids a partial batch response reports as failed (`{"batchItemFailures": [{"itemIdentifier"}]}`).
pub fn failed_ids(response: &serde_json::Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .map(|items| items.iter().filter_map(|i| i["itemIdentifier"].as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

/// What a queue's event source mapping invokes.
pub const CONSUMERS: [(smsdesk_ports::QueueKind, &str); 4] = [
    (smsdesk_ports::QueueKind::Inbound, "router"),
    (smsdesk_ports::QueueKind::Outbound, "outbound-send"),
    (smsdesk_ports::QueueKind::Crm, "crm-upsert"),
    (smsdesk_ports::QueueKind::Timers, "timers"),
];

/// Plays Lambda's SQS event source mappings against `cargo lambda watch`: receives from the local queues named
/// in `env_file` and invokes router, outbound-send, crm-upsert and timers through the watch server's Invoke API
/// (`{invoke_url}/2015-03-31/functions/<name>/invocations`) with the event Lambda would send; deletes what
/// the partial batch response does not report. Runs until interrupted.
pub async fn map_queues(env_file: &Path, invoke_url: &str) -> Result<(), AwsLocalError> {
    let text = std::fs::read_to_string(env_file)
        .map_err(|source| AwsLocalError::Write { path: env_file.display().to_string(), source })?;
    let vars: std::collections::HashMap<String, String> = text
        .lines()
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
        .collect();
    let cfg = AwsConfig::from_lookup(|name| vars.get(name).cloned())
        .map_err(|e| AwsLocalError::Create { what: "the configuration", reason: e.to_string() })?;
    let sdk = emulator_sdk();
    let sqs = sqs_client(&sdk, &cfg);
    let http = smsdesk_providers::http::client()
        .map_err(|e| AwsLocalError::Create { what: "the HTTP client", reason: e.to_string() })?;
    let invoke_url = invoke_url.trim_end_matches('/');
    eprintln!("mapping the local queues to {invoke_url} (Ctrl-C to stop)");
    loop {
        let mut idle = true;
        for (kind, function) in CONSUMERS {
            let Some(url) = cfg.queues.url(kind) else { continue };
            let received = sqs
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .visibility_timeout(30)
                .message_system_attribute_names(
                    smsdesk_aws::aws_sdk_sqs::types::MessageSystemAttributeName::All,
                )
                .send()
                .await;
            let messages = match received {
                Ok(r) => r.messages.unwrap_or_default(),
                Err(e) => {
                    eprintln!("{}: receive failed: {e}", kind.name());
                    continue;
                }
            };
            if messages.is_empty() {
                continue;
            }
            idle = false;
            let arn = format!("arn:aws:sqs:us-east-1:000000000000:{}", url.rsplit('/').next().unwrap_or(""));
            let invoked = http
                .post(format!("{invoke_url}/2015-03-31/functions/{function}/invocations"))
                .json(&sqs_event(&messages, &arn))
                .send()
                .await;
            let response: serde_json::Value = match invoked {
                Ok(r) if r.status().is_success() => r.json().await.unwrap_or_default(),
                Ok(r) => {
                    eprintln!(
                        "{function}: invoke answered {}; the batch returns after its visibility timeout",
                        r.status()
                    );
                    continue;
                }
                Err(e) => {
                    eprintln!("{function}: invoke failed ({e}); is `cargo lambda watch` running?");
                    continue;
                }
            };
            let failed = failed_ids(&response);
            for m in &messages {
                let id = m.message_id.clone().unwrap_or_default();
                if let (false, Some(receipt)) = (failed.contains(&id), &m.receipt_handle) {
                    let _ = sqs.delete_message().queue_url(url).receipt_handle(receipt).send().await;
                }
            }
            eprintln!("{function}: {} message(s), {} reported failed", messages.len(), failed.len());
        }
        if idle {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
    }
}
