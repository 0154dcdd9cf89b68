//! `smsdesk dlq list|redrive`: the dead letters of the inbound, outbound, crm and timers queues, with why
//! each died, and moving them back to their queue; on AWS also the table stream's dead-letter queue (the
//! live function's failed batches: listed, never redriven). Locally against the embedded database file
//! (`--data`, the file `smsdesk dev` uses), or against the AWS queues (`--aws`: the queue and dead-letter
//! queue URLs, the table's name, region and credentials from the environment, or from an env file such as
//! the one `smsdesk aws-local` writes).

use smsdesk_aws::{AwsConfig, LIVE_STREAM_DLQ_VAR, SqsQueue, sdk_config_from_lookup, sqs_client};
use smsdesk_embedded::EmbeddedDb;
use smsdesk_ports::{MessageQueue, QueueKind};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum DlqError {
    #[error("no embedded database at {0} (is --data the file `smsdesk dev` uses?)")]
    NoDatabase(PathBuf),
    #[error("could not open {path}: {reason}")]
    Open { path: PathBuf, reason: String },
    #[error("could not read {path}: {source}")]
    EnvFile { path: PathBuf, source: std::io::Error },
    #[error("AWS configuration: {0}")]
    Config(String),
    #[error("the {queue} queue: {reason}")]
    Queue { queue: &'static str, reason: String },
    #[error("name the dead letters to redrive with --id (repeatable), or pass --all")]
    NothingNamed,
    #[error(
        "the live stream's dead letters name batches of the table's stream, not messages: there is nothing \
         to redrive (the changes are in the table; consoles catch up when they reload)"
    )]
    NoRedrive,
    #[error("the live stream's dead-letter queue exists only on AWS: pass --aws (and {LIVE_STREAM_DLQ_VAR})")]
    AwsOnly,
}

/// Where the queues are.
#[derive(Clone, Debug)]
pub enum Target {
    Embedded(PathBuf),
    /// The AWS queues; variables from this env file first, then from the environment.
    Aws(Option<PathBuf>),
}

/// The queue port for `target`.
pub fn open(target: &Target) -> Result<Arc<dyn MessageQueue>, DlqError> {
    match target {
        Target::Embedded(path) => {
            if !path.exists() {
                return Err(DlqError::NoDatabase(path.clone()));
            }
            let db = EmbeddedDb::open(path)
                .map_err(|e| DlqError::Open { path: path.clone(), reason: e.to_string() })?;
            Ok(Arc::new(db.queue()))
        }
        Target::Aws(env_file) => Ok(Arc::new(aws(env_file.as_deref())?.0)),
    }
}

/// The AWS queues of `env_file` (then the environment), and the table stream's dead-letter queue's URL
/// when set.
fn aws(env_file: Option<&Path>) -> Result<(SqsQueue, Option<String>), DlqError> {
    let file = match env_file {
        Some(path) => read_env_file(path)?,
        None => HashMap::new(),
    };
    let lookup = |name: &str| file.get(name).cloned().or_else(|| std::env::var(name).ok());
    let cfg = AwsConfig::from_lookup(lookup).map_err(|e| DlqError::Config(e.to_string()))?;
    let sdk = sdk_config_from_lookup(lookup).map_err(|e| DlqError::Config(e.to_string()))?;
    let live = lookup(LIVE_STREAM_DLQ_VAR).filter(|url| !url.trim().is_empty());
    Ok((SqsQueue::new(sqs_client(&sdk, &cfg), cfg.queues.clone()), live))
}

/// One JSON line per record of the table stream's dead-letter queue (`{"queue": "live-stream", "id",
/// "group": null, "reason", "body"}`, the body Lambda's note of the failed batch). `required`: its URL
/// must be set (asked for by name); otherwise an unset URL lists nothing.
pub async fn list_live_stream(target: &Target, required: bool) -> Result<Vec<String>, DlqError> {
    let Target::Aws(env_file) = target else {
        return if required { Err(DlqError::AwsOnly) } else { Ok(Vec::new()) };
    };
    let (sqs, url) = aws(env_file.as_deref())?;
    let Some(url) = url else {
        return if required {
            Err(DlqError::Config(format!(
                "{LIVE_STREAM_DLQ_VAR} is not set (stack output LiveStreamDeadLetterQueueUrl)"
            )))
        } else {
            Ok(Vec::new())
        };
    };
    let dead = sqs
        .stream_dead_letters(&url)
        .await
        .map_err(|e| DlqError::Queue { queue: LIVE_STREAM, reason: e.to_string() })?;
    Ok(dead
        .into_iter()
        .map(|d| {
            serde_json::json!({
                "queue": LIVE_STREAM, "id": d.message_id, "group": d.group, "reason": d.reason, "body": d.body,
            })
            .to_string()
        })
        .collect())
}

/// The name `--queue` and the listing give the table stream's dead-letter queue.
pub const LIVE_STREAM: &str = "live-stream";

fn read_env_file(path: &Path) -> Result<HashMap<String, String>, DlqError> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| DlqError::EnvFile { path: path.to_path_buf(), source })?;
    Ok(text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once('=').map(|(k, v)| (k.trim().to_string(), v.trim().to_string())))
        .collect())
}

/// One JSON line per dead letter of `queues`: `{"queue", "id", "group", "reason", "body"}`.
pub async fn list(queue: &dyn MessageQueue, queues: &[QueueKind]) -> Result<Vec<String>, DlqError> {
    let mut lines = Vec::new();
    for &kind in queues {
        let dead = queue
            .dead_letters(kind)
            .await
            .map_err(|e| DlqError::Queue { queue: kind.name(), reason: e.to_string() })?;
        for d in dead {
            let line = serde_json::json!({
                "queue": kind.name(), "id": d.message_id, "group": d.group, "reason": d.reason, "body": d.body,
            });
            lines.push(line.to_string());
        }
    }
    Ok(lines)
}

/// Moves the named dead letters (or all, with `all`) of `kind` back to its queue; returns how many.
pub async fn redrive(
    queue: &dyn MessageQueue,
    kind: QueueKind,
    ids: &[String],
    all: bool,
) -> Result<usize, DlqError> {
    if ids.is_empty() && !all {
        return Err(DlqError::NothingNamed);
    }
    let named = if all { None } else { Some(ids) };
    queue
        .redrive(kind, named)
        .await
        .map_err(|e| DlqError::Queue { queue: kind.name(), reason: e.to_string() })
}
