//! Who receives a live change (the console's `/v1/events`): the one access rule of [`crate::access`],
//! applied to the conversation as it is now and, for a change that moved it, as it was before. So an agent
//! hears of new work in their queues, of everything in their own conversations, and of a conversation
//! leaving them (transferred, requeued) — and of nothing else.

use crate::access::{Access, Actor, access};
use crate::model::{Conversation, ConversationState};
use crate::{AgentId, QueueId};

/// The routing fields of a conversation before a change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Before {
    pub state: Option<ConversationState>,
    pub queue_id: QueueId,
    pub agent_id: Option<AgentId>,
}

/// Whether `actor` receives a change of `conversation` (as stored now) that had `before` as its routing
/// fields before the change (None for a change that did not move it: a message, a new conversation).
pub fn receives(actor: Actor<'_>, conversation: &Conversation, before: Option<&Before>) -> bool {
    if access(actor, conversation) != Access::None {
        return true;
    }
    let Some(before) = before else { return false };
    let mut earlier = conversation.clone();
    earlier.queue_id = before.queue_id.clone();
    earlier.agent_id = before.agent_id.clone();
    if let Some(state) = before.state {
        earlier.state = state;
    }
    access(actor, &earlier) != Access::None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::tests::{agent, conversation};

    #[test]
    fn new_work_in_my_queue_reaches_me_and_not_an_agent_of_another_queue() {
        let (ada, bob) = (agent("ada", &["q1"]), agent("bob", &["q2"]));
        let waiting = conversation("q1", None, ConversationState::Open);
        assert!(receives(Actor::Agent(&ada), &waiting, None));
        assert!(!receives(Actor::Agent(&bob), &waiting, None));
        assert!(receives(Actor::Admin, &waiting, None));
    }

    #[test]
    fn another_agents_conversation_in_my_queue_is_not_mine_to_hear() {
        let ada = agent("ada", &["q1"]);
        let bobs = conversation("q1", Some("bob"), ConversationState::Active);
        assert!(!receives(Actor::Agent(&ada), &bobs, None));
    }

    #[test]
    fn a_conversation_leaving_me_is_heard_once_more() {
        let ada = agent("ada", &["q1"]);
        let moved = conversation("q2", None, ConversationState::Open);
        let before = Before {
            state: Some(ConversationState::Active),
            queue_id: QueueId::new("q1"),
            agent_id: Some(AgentId::new("ada")),
        };
        assert!(receives(Actor::Agent(&ada), &moved, Some(&before)));
        // ...but a later change of it (it is no longer hers) is not.
        let later =
            Before { state: Some(ConversationState::Open), queue_id: QueueId::new("q2"), agent_id: None };
        assert!(!receives(Actor::Agent(&ada), &moved, Some(&later)));
    }
}
