//! Who may see and act on a conversation: one rule for every route. An agent may read or act on a
//! conversation only when it is assigned to them, or read it while it waits in one of their queues (and take
//! it only through assignment, never by a side door); a supervisor may read and act on every conversation of
//! their queues (whoever holds it); an admin may do everything.

use crate::model::{Agent, ContactLink, Conversation, ConversationState, Role};
use crate::{ContactId, QueueId, Team};
use std::collections::BTreeSet;

/// The caller, as the rule sees it.
#[derive(Clone, Copy, Debug)]
pub enum Actor<'a> {
    Admin,
    Agent(&'a Agent),
}

/// What an actor may do with one conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Nothing; the conversation's existence is not even confirmed.
    None,
    /// Read it (it waits in one of the agent's queues): it becomes theirs only through assignment.
    Read,
    /// The agent who transferred it, while nobody took the transfer yet (`crate::transfer::pending_sender`):
    /// still responsible, they read it, write into it (reply to the customer, who keeps texting meanwhile;
    /// a note) and may cancel the transfer; anything else (close, end, transfer again) waits until the
    /// transfer lands, fails or is cancelled.
    Sender,
    /// Read it and act on it: reply, close, transfer, pick the contact.
    Act,
}

/// The one rule.
pub fn access(actor: Actor<'_>, conversation: &Conversation) -> Access {
    match actor {
        Actor::Admin => Access::Act,
        Actor::Agent(agent) if conversation.agent_id.as_ref() == Some(&agent.id) => Access::Act,
        // A supervisor of its queue, or, while a transfer moves it to another queue, of the queue it left.
        Actor::Agent(agent)
            if agent.role == Role::Supervisor
                && (agent.queues.contains(&conversation.queue_id)
                    || conversation
                        .transfer
                        .as_ref()
                        .is_some_and(|t| agent.queues.contains(&t.from_queue))) =>
        {
            Access::Act
        }
        Actor::Agent(agent) if crate::transfer::pending_sender(conversation) == Some(&agent.id) => {
            Access::Sender
        }
        Actor::Agent(agent)
            if conversation.state == ConversationState::Open
                && agent.queues.contains(&conversation.queue_id) =>
        {
            Access::Read
        }
        Actor::Agent(_) => Access::None,
    }
}

/// Whether `conversation` is offered to `agent` and not accepted yet: the agent reads it and accepts or
/// declines it, and writes into it by no route until then (issue 11.4).
pub fn offered_to(agent: &Agent, conversation: &Conversation) -> bool {
    conversation.state == ConversationState::Offered && conversation.agent_id.as_ref() == Some(&agent.id)
}

/// Whether `actor` serves `queue` (an admin serves every queue).
pub fn serves(actor: Actor<'_>, queue: &QueueId) -> bool {
    match actor {
        Actor::Admin => true,
        Actor::Agent(agent) => agent.queues.contains(queue),
    }
}

/// Whether `actor` may read `queue` itself (its settings, who serves it, its service level): an admin every
/// queue, a supervisor the queues they serve; an agent none (what waits reaches agents as work items).
pub fn reads_queue(actor: Actor<'_>, queue: &QueueId) -> bool {
    match actor {
        Actor::Admin => true,
        Actor::Agent(agent) => agent.role == Role::Supervisor && agent.queues.contains(queue),
    }
}

/// The contacts an agent may read: those linked to (or offered for picking by) the given conversations,
/// the ones the agent may act on.
pub fn contacts_of<'a>(conversations: impl IntoIterator<Item = &'a Conversation>) -> BTreeSet<ContactId> {
    let mut ids = BTreeSet::new();
    for c in conversations {
        match &c.contact {
            ContactLink::Linked { contact_id } => {
                ids.insert(contact_id.clone());
            }
            ContactLink::NeedsPick { candidates } => ids.extend(candidates.iter().cloned()),
            ContactLink::Pending => {}
        }
    }
    ids
}

/// How a proactive text (`POST /v1/messages`) goes into the customer's conversation on that number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProactivePlan {
    /// The sender opened the conversation just now: with a session it stays with them (through assignment),
    /// without one it is closed once the text is queued.
    Opened,
    /// Write into the open conversation as it is (it is the sender's, or the sender is an admin).
    Join,
    /// The conversation waits in one of the sender's queues and the sender asked for a session: take it
    /// through assignment first, then write.
    Take,
}

/// Why a proactive text is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ProactiveRefusal {
    /// The sender does not serve the queue of the number it would send from (HTTP 403).
    #[error("you do not serve the queue of this number")]
    NotYourQueue,
    /// The customer's open conversation on this number is another agent's (HTTP 409).
    #[error("the customer's open conversation on this number is assigned to another agent")]
    AssignedToAnother,
    /// The customer's open conversation is offered to the sender, not yet accepted: accepting comes before
    /// writing into it, by this route as by a reply (HTTP 409).
    #[error(
        "the customer's open conversation on this number is offered to you: accept it (POST /accept) first"
    )]
    OfferNotAccepted,
    /// The customer's open conversation is being transferred: it lands through the transfer's offer, not
    /// by a text (HTTP 409).
    #[error(
        "the customer's open conversation on this number is being transferred: it lands through the transfer"
    )]
    TransferPending,
    /// The customer's open conversation waits in a queue the sender does not serve (HTTP 409).
    #[error("the customer's open conversation on this number waits in a queue you do not serve")]
    WaitingElsewhere,
    /// The customer's open conversation waits in the sender's queue; writing into it without taking it
    /// would act on it by a side door (HTTP 409: send with `session: true` to take it).
    #[error(
        "the customer's open conversation on this number is waiting in your queue: send with \"session\": true to take it"
    )]
    WaitingNeedsSession,
    /// The text would make the conversation the sender's, and the sender cannot take one now: not
    /// available, or no free slot of its own or of its team (HTTP 409).
    #[error("the text would make the customer's conversation yours, but you cannot take one now")]
    AgentUnavailable,
}

/// Decides a proactive text. `number_queue` is the queue of the number it is sent from; `existing` is the
/// customer's open conversation on that number, or None when this send has just opened one.
pub fn plan_proactive(
    actor: Actor<'_>,
    number_queue: &QueueId,
    existing: Option<&Conversation>,
    session: bool,
) -> Result<ProactivePlan, ProactiveRefusal> {
    if !serves(actor, number_queue) {
        return Err(ProactiveRefusal::NotYourQueue);
    }
    let Some(conversation) = existing else { return Ok(ProactivePlan::Opened) };
    let Actor::Agent(agent) = actor else { return Ok(ProactivePlan::Join) };
    match (&conversation.agent_id, conversation.state) {
        _ if offered_to(agent, conversation) => Err(ProactiveRefusal::OfferNotAccepted),
        (Some(owner), _) if owner == &agent.id => Ok(ProactivePlan::Join),
        (Some(_), _) => Err(ProactiveRefusal::AssignedToAnother),
        (None, _) if !agent.queues.contains(&conversation.queue_id) => {
            Err(ProactiveRefusal::WaitingElsewhere)
        }
        // A transfer under way lands through its own offer (or goes back to its sender): taking it by a
        // text would leave the sender's slot held for a transfer that never settles.
        (None, _) if conversation.transfer.is_some() => Err(ProactiveRefusal::TransferPending),
        (None, _) if session => Ok(ProactivePlan::Take),
        (None, _) => Err(ProactiveRefusal::WaitingNeedsSession),
    }
}

/// Whether a planned proactive text starts contact with the customer (it opens a conversation, or takes one
/// waiting in a queue) rather than writing into the sender's own conversation, which is a reply. Out of the
/// queue's operating hours only replies go out: nobody works a closed queue.
pub fn starts_contact(plan: ProactivePlan) -> bool {
    plan != ProactivePlan::Join
}

/// Whether a planned proactive text makes the conversation the sender's: it takes a waiting one, or opens
/// one with a session.
pub fn takes_conversation(plan: ProactivePlan, session: bool) -> bool {
    plan == ProactivePlan::Take || (plan == ProactivePlan::Opened && session)
}

/// A proactive text that makes the conversation the sender's ([`takes_conversation`]) needs an agent who
/// can take it now: available, with a free slot of its own and of its team (as assignment needs). An admin
/// takes nothing. Checked before anything is opened or sent.
pub fn check_taker(
    actor: Actor<'_>,
    plan: ProactivePlan,
    session: bool,
    teams: &[Team],
) -> Result<(), ProactiveRefusal> {
    match actor {
        Actor::Agent(agent)
            if takes_conversation(plan, session)
                && !(agent.has_free_capacity() && crate::team::team_has_room(agent, teams)) =>
        {
            Err(ProactiveRefusal::AgentUnavailable)
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::Presence;
    use crate::{AgentId, ChannelId, ConversationId, Phone};
    use time::OffsetDateTime;

    /// An available agent serving `queues` (also the fixture of `live`'s tests).
    pub(crate) fn agent(id: &str, queues: &[&str]) -> Agent {
        Agent {
            id: AgentId::new(id),
            name: id.into(),
            queues: queues.iter().map(|q| QueueId::new(*q)).collect(),
            capacity: 2,
            presence: Presence::Available,
            active: 0,
            last_assigned_at: None,
            subject: None,
            missed_offers: 0,
            presence_changed_at: None,
            team_id: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            role: Role::Agent,
        }
    }

    /// A supervisor of `queues`.
    pub(crate) fn supervisor(id: &str, queues: &[&str]) -> Agent {
        Agent { role: Role::Supervisor, ..agent(id, queues) }
    }

    /// A conversation in `queue` (also the fixture of `live`'s tests).
    pub(crate) fn conversation(queue: &str, agent: Option<&str>, state: ConversationState) -> Conversation {
        Conversation {
            id: ConversationId::new("cv_1"),
            channel_id: ChannelId::new("ch_1"),
            channel_number: Phone::parse("+15555550100").unwrap(),
            customer: Phone::parse("+15555550123").unwrap(),
            queue_id: QueueId::new(queue),
            agent_id: agent.map(AgentId::new),
            state,
            contact: ContactLink::Pending,
            language: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            last_message_at: OffsetDateTime::UNIX_EPOCH,
            queued_at: OffsetDateTime::UNIX_EPOCH,
            closed_at: None,
            close_reason: None,
            routing: None,
            state_changed_at: None,
            wrap_up: None,
            offer: None,
            refused_by: Vec::new(),
            declined_at: None,
            declined_by: Vec::new(),
            transfer: None,
        }
    }

    #[test]
    fn a_supervisor_reads_the_queues_they_serve_an_agent_none_an_admin_all() {
        let (billing, sales) = (QueueId::new("billing"), QueueId::new("sales"));
        let sue = supervisor("sue", &["billing"]);
        assert!(reads_queue(Actor::Agent(&sue), &billing));
        assert!(!reads_queue(Actor::Agent(&sue), &sales));
        assert!(!reads_queue(Actor::Agent(&agent("ada", &["billing"])), &billing));
        assert!(reads_queue(Actor::Admin, &sales));
    }

    #[test]
    fn an_agent_acts_on_its_own_reads_its_queues_waiting_and_nothing_else() {
        use ConversationState::*;
        let ada = agent("ag_ada", &["q_a"]);
        let me = Actor::Agent(&ada);
        assert_eq!(access(me, &conversation("q_a", Some("ag_ada"), Active)), Access::Act);
        assert_eq!(
            access(me, &conversation("q_b", Some("ag_ada"), Closed)),
            Access::Act,
            "its own, any queue"
        );
        assert_eq!(access(me, &conversation("q_a", None, Open)), Access::Read);
        assert_eq!(access(me, &conversation("q_b", None, Open)), Access::None, "another queue's waiting");
        assert_eq!(access(me, &conversation("q_a", Some("ag_bo"), Active)), Access::None, "another's");
        assert_eq!(access(me, &conversation("q_a", None, Closed)), Access::None, "closed, never its own");
        assert_eq!(access(Actor::Admin, &conversation("q_b", Some("ag_bo"), Active)), Access::Act);
    }

    #[test]
    fn a_supervisor_acts_on_everything_in_their_queues_and_nothing_elsewhere() {
        use ConversationState::*;
        let sue = supervisor("ag_sue", &["q_a"]);
        let me = Actor::Agent(&sue);
        assert_eq!(
            access(me, &conversation("q_a", Some("ag_bob"), Active)),
            Access::Act,
            "another's, my queue"
        );
        assert_eq!(access(me, &conversation("q_a", None, Open)), Access::Act, "waiting in my queue");
        assert_eq!(access(me, &conversation("q_a", Some("ag_bob"), Closed)), Access::Act, "closed, my queue");
        assert_eq!(access(me, &conversation("q_b", Some("ag_bob"), Active)), Access::None, "another queue");
        assert_eq!(access(me, &conversation("q_b", None, Open)), Access::None, "another queue's waiting");
        // The same agent without the role: another agent's conversation in the queue is not theirs.
        let plain = agent("ag_sue", &["q_a"]);
        assert_eq!(access(Actor::Agent(&plain), &conversation("q_a", Some("ag_bob"), Active)), Access::None);
    }

    #[test]
    fn proactive_texts_need_the_numbers_queue_and_never_take_a_side_door() {
        use ConversationState::*;
        use ProactivePlan::*;
        use ProactiveRefusal::*;
        let ada = agent("ag_ada", &["q_a"]);
        let me = Actor::Agent(&ada);
        let qa = QueueId::new("q_a");
        let qb = QueueId::new("q_b");
        assert_eq!(plan_proactive(me, &qb, None, true), Err(NotYourQueue));
        assert_eq!(plan_proactive(me, &qa, None, false), Ok(Opened));
        let mine = conversation("q_a", Some("ag_ada"), Active);
        assert_eq!(plan_proactive(me, &qa, Some(&mine), false), Ok(Join));
        let offered = conversation("q_a", Some("ag_ada"), Offered);
        assert_eq!(plan_proactive(me, &qa, Some(&offered), true), Err(OfferNotAccepted));
        assert_eq!(plan_proactive(me, &qa, Some(&offered), false), Err(OfferNotAccepted));
        let theirs = conversation("q_a", Some("ag_bo"), Active);
        assert_eq!(plan_proactive(me, &qa, Some(&theirs), true), Err(AssignedToAnother));
        let waiting_here = conversation("q_a", None, Open);
        assert_eq!(plan_proactive(me, &qa, Some(&waiting_here), true), Ok(Take));
        assert_eq!(plan_proactive(me, &qa, Some(&waiting_here), false), Err(WaitingNeedsSession));
        let waiting_elsewhere = conversation("q_b", None, Open);
        assert_eq!(plan_proactive(me, &qa, Some(&waiting_elsewhere), true), Err(WaitingElsewhere));
        assert_eq!(plan_proactive(Actor::Admin, &qb, Some(&theirs), false), Ok(Join));
        assert_eq!(plan_proactive(Actor::Admin, &qb, None, false), Ok(Opened));
    }

    #[test]
    fn a_text_that_makes_the_conversation_the_senders_needs_a_sender_who_can_take_it_now() {
        use ProactivePlan::*;
        let ada = agent("ag_ada", &["q_a"]);
        assert_eq!(check_taker(Actor::Agent(&ada), Opened, true, &[]), Ok(()));
        assert_eq!(check_taker(Actor::Agent(&ada), Take, true, &[]), Ok(()));
        for unable in [
            Agent { presence: Presence::Offline, ..ada.clone() },
            Agent { presence: Presence::Away, ..ada.clone() },
            Agent { presence: Presence::Busy, ..ada.clone() },
            Agent { active: 2, ..ada.clone() },
        ] {
            let me = Actor::Agent(&unable);
            assert_eq!(
                check_taker(me, Opened, true, &[]),
                Err(ProactiveRefusal::AgentUnavailable),
                "{unable:?}"
            );
            assert_eq!(check_taker(me, Take, true, &[]), Err(ProactiveRefusal::AgentUnavailable));
            assert_eq!(check_taker(me, Opened, false, &[]), Ok(()), "a one-off text takes nothing");
            assert_eq!(check_taker(me, Join, true, &[]), Ok(()), "its own conversation");
        }
        let mut team = Team::new(crate::TeamId::new("tm_1"), "Tier-1", 1, OffsetDateTime::UNIX_EPOCH);
        team.active = 1;
        let member = Agent { team_id: Some(team.id.clone()), ..ada.clone() };
        assert_eq!(
            check_taker(Actor::Agent(&member), Opened, true, std::slice::from_ref(&team)),
            Err(ProactiveRefusal::AgentUnavailable),
            "its team is full"
        );
        assert_eq!(check_taker(Actor::Admin, Opened, true, &[]), Ok(()));
        assert!(starts_contact(Opened) && starts_contact(Take) && !starts_contact(Join));
    }

    #[test]
    fn contacts_of_conversations_are_the_linked_and_the_candidates() {
        let mut a = conversation("q_a", Some("ag_ada"), ConversationState::Active);
        a.contact = ContactLink::Linked { contact_id: ContactId::new("ct_1") };
        let mut b = conversation("q_a", Some("ag_ada"), ConversationState::Active);
        b.contact =
            ContactLink::NeedsPick { candidates: vec![ContactId::new("ct_2"), ContactId::new("ct_3")] };
        let c = conversation("q_a", Some("ag_ada"), ConversationState::Active);
        let ids = contacts_of([&a, &b, &c]);
        assert_eq!(ids.into_iter().map(|i| i.to_string()).collect::<Vec<_>>(), ["ct_1", "ct_2", "ct_3"]);
    }

    /// Ada's transfer from `q_a` to `q_b`, nobody took it yet.
    fn ada_to_q_b() -> crate::transfer::Transfer {
        crate::transfer::Transfer {
            from_agent: AgentId::new("ag_ada"),
            from_queue: QueueId::new("q_a"),
            target: crate::transfer::TransferTarget::Queue(QueueId::new("q_b")),
            target_name: None,
            note: None,
            started_at: OffsetDateTime::UNIX_EPOCH,
            expires_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn the_sender_of_a_pending_transfer_keeps_sight_of_it_and_its_supervisor_too() {
        use ConversationState::*;
        let ada = agent("ag_ada", &["q_a"]);
        let sue = supervisor("ag_sue", &["q_a"]);
        let mut c = conversation("q_b", None, Open);
        c.transfer = Some(ada_to_q_b());
        assert_eq!(access(Actor::Agent(&ada), &c), Access::Sender, "waiting in the target queue");
        assert_eq!(access(Actor::Agent(&sue), &c), Access::Act, "the supervisor of the queue it left");
        assert_eq!(access(Actor::Agent(&agent("ag_bo", &["q_b"])), &c), Access::Read, "the target queue's");
        assert_eq!(access(Actor::Agent(&agent("ag_cy", &["q_a"])), &c), Access::None, "a colleague");
        c.state = Offered;
        c.agent_id = Some(AgentId::new("ag_bo"));
        assert_eq!(access(Actor::Agent(&ada), &c), Access::Sender, "offered to the target");
        c.state = Active;
        assert_eq!(access(Actor::Agent(&ada), &c), Access::None, "landed: Bo's");
    }

    #[test]
    fn a_conversation_being_transferred_is_taken_by_no_text() {
        use ConversationState::*;
        let mut c = conversation("q_b", None, Open);
        c.transfer = Some(ada_to_q_b());
        let qb = QueueId::new("q_b");
        // Its sender, serving the target queue too, and an agent of the target queue alike.
        for who in [agent("ag_ada", &["q_a", "q_b"]), agent("ag_bo", &["q_b"])] {
            let refused = plan_proactive(Actor::Agent(&who), &qb, Some(&c), true);
            assert_eq!(refused, Err(ProactiveRefusal::TransferPending), "{}", who.id);
        }
    }
}
