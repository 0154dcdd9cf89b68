//! Queues' service level (issue 11.1): each conversation taken out of a queue by an agent is counted for
//! the queue and the UTC day, and whether it waited no longer than the queue's `service_level_seconds`;
//! `GET /v1/queues/{id}/stats` reports the share.

use crate::App;
use smsdesk_domain::Conversation;
use smsdesk_domain::service_level::{day_of, within_target};
use time::OffsetDateTime;

/// Counts `conversation` (just assigned at `at`, out of its queue) for its queue's service level. A
/// failure is logged, never the caller's: the assignment stands either way.
pub async fn answered(app: &App, conversation: &Conversation, at: OffsetDateTime) {
    let queue = match app.store.queue_settings(&conversation.queue_id).await {
        Ok(Some(queue)) => queue,
        Ok(None) => return,
        Err(e) => {
            tracing::warn!(conversation = %conversation.id, error = %e, "service level: queue not read");
            return;
        }
    };
    let within = within_target(&queue, at - conversation.queued_at);
    if let Err(e) = app.store.record_answer(&queue.id, day_of(at), within).await {
        tracing::warn!(conversation = %conversation.id, error = %e, "service level: answer not counted");
    }
}
