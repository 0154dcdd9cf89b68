//! Live updates (the console's `/v1/events`): the changes of the feed that a caller may receive, by the
//! one access rule ([`smsdesk_domain::live::receives`]). The socket itself lives with the shape that serves
//! it (`smsdesk dev`: cli/src/events.rs; AWS: the `live` function, shared/lambda/src/live.rs); the protocol's
//! messages and the catch-up of a (re)connecting client are here, so both shapes speak it alike.

use crate::App;
use crate::auth::Principal;
use smsdesk_domain::access::Actor;
use smsdesk_domain::live::{Before, receives};
use smsdesk_domain::{AgentId, ConversationState, QueueId};
use smsdesk_ports::{Change, ChangeEntity, ChangeFeed, ChangePage, PortResult};
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
/// have changed), with its team's queues, which it serves as its own; each conversation once. A
/// conversation gone from the store is nobody's but an admin's.
pub async fn visible(app: &App, who: &Principal, page: &ChangePage) -> PortResult<Vec<Change>> {
    let agent = match who {
        Principal::Admin => return Ok(page.changes.clone()),
        Principal::Agent(id) => match app.store.get_agent(id).await? {
            Some(agent) => crate::services::teams::serving(app, agent).await?,
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

// ------------------------------------------------------------------------------------------------ protocol

/// The socket protocol of the console's live updates, the same in both shapes: `smsdesk dev` serves it on
/// `/v1/events` (cli/src/events.rs), AWS on API Gateway's WebSocket API (the `live` function,
/// shared/lambda/src/live.rs). Written down in cli/src/events.rs.
pub mod protocol {
    use serde::{Deserialize, Serialize};
    use smsdesk_ports::Change;

    /// Close code for a missing or refused token (4000-4999: the application's own).
    pub const UNAUTHORIZED: u16 = 4401;
    /// How many changes one read of the feed takes.
    pub const PAGE: usize = 500;

    /// What a client sends: its first message authenticates and says where to resume.
    #[derive(Clone, Debug, Deserialize, PartialEq)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum ClientMessage {
        Auth { token: String, since: Option<i64> },
    }

    impl ClientMessage {
        /// The message in `text`; None for anything else (the caller refuses it).
        pub fn parse(text: &str) -> Option<ClientMessage> {
            serde_json::from_str(text).ok()
        }
    }

    /// What the server sends, as JSON text frames.
    #[derive(Clone, Debug, PartialEq, Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum ServerMessage {
        Hello {
            role: String,
            agent_id: Option<String>,
            head: i64,
        },
        /// The changes after the client's `since` are gone: reload through the API, resume from `seq`.
        Reset {
            seq: i64,
        },
        CaughtUp {
            seq: i64,
        },
        Change(Change),
        Error {
            code: String,
            message: String,
        },
    }

    impl ServerMessage {
        pub fn unauthorized(message: &str) -> ServerMessage {
            ServerMessage::Error { code: "unauthorized".into(), message: message.into() }
        }

        /// The frame's text.
        pub fn to_text(&self) -> String {
            serde_json::to_string(self).unwrap_or_else(|_| String::from("{\"type\":\"error\"}"))
        }
    }
}

use protocol::ServerMessage;

/// The `hello` for `who`, with the feed's newest sequence number; None when `who` is an agent that is gone.
pub async fn hello(app: &App, who: &Principal, head: i64) -> PortResult<Option<ServerMessage>> {
    let (role, agent_id) = match who {
        Principal::Admin => ("admin".to_string(), None),
        Principal::Agent(id) => match app.store.get_agent(id).await? {
            Some(agent) => (agent.role.as_str().to_string(), Some(id.to_string())),
            None => return Ok(None),
        },
    };
    Ok(Some(ServerMessage::Hello { role, agent_id, head }))
}

/// The feed's newest sequence number.
pub async fn head(feed: &dyn ChangeFeed) -> PortResult<i64> {
    Ok(feed.changes_after(i64::MAX - 1, 1).await?.head)
}

/// One read of the feed for a client that has seen up to `after`: what to send it, and where it is then.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    pub frames: Vec<ServerMessage>,
    pub after: i64,
    /// The read was a full page: read again at once.
    pub more: bool,
}

/// Reads the feed after `after` for `who`: a `reset` to the head when the changes after `after` are gone
/// (retention, or a number from another database), otherwise the page's changes `who` may see; `after`
/// moves past the whole page either way.
pub async fn step(app: &App, feed: &dyn ChangeFeed, who: &Principal, after: i64) -> PortResult<Step> {
    let page = feed.changes_after(after, protocol::PAGE).await?;
    if page.gap_after(after) {
        return Ok(Step {
            frames: vec![ServerMessage::Reset { seq: page.head }],
            after: page.head,
            more: true,
        });
    }
    let more = page.changes.len() == protocol::PAGE;
    let Some(last) = page.changes.last().map(|c| c.seq) else {
        return Ok(Step { frames: Vec::new(), after, more });
    };
    let frames = visible(app, who, &page).await?.into_iter().map(ServerMessage::Change).collect();
    Ok(Step { frames, after: last, more })
}

/// Everything a client that has seen up to `after` missed (or a `reset`), then `caught_up`: the answer to
/// the auth message after the `hello`. Returns the frames and the sequence number the client is then at.
pub async fn catch_up(
    app: &App,
    feed: &dyn ChangeFeed,
    who: &Principal,
    mut after: i64,
) -> PortResult<(Vec<ServerMessage>, i64)> {
    let mut frames = Vec::new();
    loop {
        let step = step(app, feed, who, after).await?;
        frames.extend(step.frames);
        after = step.after;
        if !step.more {
            break;
        }
    }
    frames.push(ServerMessage::CaughtUp { seq: after });
    Ok((frames, after))
}
