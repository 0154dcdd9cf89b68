//! Live updates (the console's `/v1/events`): the changes of the feed that a caller may receive, by the
//! one access rule ([`smsdesk_domain::live::receives`]). The socket itself lives with the shape that serves
//! it (`smsdesk dev`: cli/src/events.rs); in AWS this is the notify function's job (not yet deployed).

use crate::App;
use crate::auth::Principal;
use smsdesk_domain::access::Actor;
use smsdesk_domain::live::{Before, receives};
use smsdesk_domain::{AgentId, ConversationState, QueueId};
use smsdesk_ports::{Change, ChangeEntity, ChangePage, PortResult};
use std::collections::HashMap;

/// The routing fields a conversation had before a change, as the feed records them.
fn before(change: &Change) -> Option<Before> {
    if change.entity != ChangeEntity::Conversation {
        return None;
    }
    let b = change.data.get("before")?;
    Some(Before {
        state: b.get("state").and_then(|s| s.as_str()).and_then(ConversationState::parse),
        queue_id: QueueId::new(b.get("queue_id")?.as_str()?),
        agent_id: b.get("agent_id").and_then(|a| a.as_str()).map(AgentId::new),
    })
}

/// The changes of `page` that `who` may receive, in order. An agent is read once per page (its queues may
/// have changed); each conversation once. A conversation gone from the store is nobody's but an admin's.
pub async fn visible(app: &App, who: &Principal, page: &ChangePage) -> PortResult<Vec<Change>> {
    let agent = match who {
        Principal::Admin => return Ok(page.changes.clone()),
        Principal::Agent(id) => match app.store.get_agent(id).await? {
            Some(agent) => agent,
            None => return Ok(Vec::new()),
        },
    };
    let mut conversations = HashMap::new();
    let mut out = Vec::new();
    for change in &page.changes {
        if !conversations.contains_key(&change.conversation_id) {
            let found = app.store.get_conversation(&change.conversation_id).await?;
            conversations.insert(change.conversation_id.clone(), found);
        }
        let Some(Some(conversation)) = conversations.get(&change.conversation_id) else { continue };
        if receives(Actor::Agent(&agent), conversation, before(change).as_ref()) {
            out.push(change.clone());
        }
    }
    Ok(out)
}
