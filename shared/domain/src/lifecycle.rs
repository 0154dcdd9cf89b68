//! The conversation's lifecycle as contact centers run it: `open` (in its queue) -> `active` (with an agent)
//! <-> `waiting` (set aside by the agent) -> `wrap_up` (the customer conversation ended; the agent finishes
//! disposition, tags and notes) -> `closed` (resolved, never reopened).
//!
//! Slots: a conversation holds one of its agent's slots (`active` count) while it is `active`, `waiting` or
//! `wrap_up` ([`ConversationState::holds_agent`]); the slot goes back when it closes or goes back to a queue.
//! `waiting` keeps the slot on purpose: the customer's next text comes back to the same agent whenever that
//! agent is available, with no race against new work for the slot.

use crate::model::{Agent, ConversationState, Presence, WorkQueue, WrapUp};
use std::fmt;
use time::OffsetDateTime;

/// What an agent asks of a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgentAction {
    /// `POST /wait`: set it aside until the customer writes.
    Wait,
    /// `POST /end`: the customer conversation ended; wrap-up starts.
    End,
    /// `POST /wrap-up`: disposition, tags, notes; the conversation closes.
    SubmitWrapUp,
}

/// Why an action does not fit the conversation's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a conversation that is {state} cannot be {wanted} (it must be {from})")]
pub struct NotNow {
    pub state: &'static str,
    pub wanted: &'static str,
    pub from: &'static str,
}

/// The state `action` moves a conversation in `state` to, or why not.
pub fn transition(state: ConversationState, action: AgentAction) -> Result<ConversationState, NotNow> {
    use ConversationState::*;
    let refuse = |wanted, from| NotNow { state: state.as_str(), wanted, from };
    match (action, state) {
        (AgentAction::Wait, Active) => Ok(Waiting),
        (AgentAction::Wait, _) => Err(refuse("set aside", "active")),
        (AgentAction::End, Active | Waiting) => Ok(WrapUp),
        (AgentAction::End, _) => Err(refuse("ended", "active or waiting")),
        (AgentAction::SubmitWrapUp, WrapUp) => Ok(Closed),
        (AgentAction::SubmitWrapUp, _) => Err(refuse("wrapped up", "wrap_up")),
    }
}

/// Why nobody may text the customer in a conversation (an agent's reply, a resend, a proactive text into it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NoText {
    /// Closed: never reopened (the customer's next text opens a new conversation).
    #[error("is closed")]
    Closed,
    /// In wrap-up: the customer conversation ended (and the customer was told so); only the customer's own
    /// next text brings it back.
    #[error("has ended (wrap-up): the customer was told so; it goes on only when the customer writes again")]
    Ended,
}

/// Whether the customer may be texted in a conversation in `state`: not once it ended (`wrap_up`) or closed.
pub fn may_text_customer(state: ConversationState) -> Result<(), NoText> {
    match state {
        ConversationState::Closed => Err(NoText::Closed),
        ConversationState::WrapUp => Err(NoText::Ended),
        _ => Ok(()),
    }
}

/// Where a customer's text takes a conversation that is set aside or in wrap-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Revival {
    /// Nothing changes (routing: the menu or bot answers it; open: it waits in its queue; active: its agent
    /// sees the text).
    Stay,
    /// Back to `active` with the same agent, who still holds the slot.
    BackToAgent,
    /// The agent is not available: back to the conversation's queue (the slot is released).
    ToQueue,
}

/// What the customer's next text does to a conversation in `state` whose agent is `agent`.
pub fn on_customer_text(state: ConversationState, agent: Option<&Agent>) -> Revival {
    match state {
        ConversationState::Waiting | ConversationState::WrapUp => match agent {
            Some(a) if a.presence == Presence::Available => Revival::BackToAgent,
            _ => Revival::ToQueue,
        },
        ConversationState::Routing
        | ConversationState::Open
        | ConversationState::Offered
        | ConversationState::Active
        | ConversationState::Closed => Revival::Stay,
    }
}

/// A setting or a request that breaks a rule: the field and the rule, for a 400 (one type for every
/// settings rule: [`crate::validation::FieldError`]).
pub use crate::validation::FieldError;

/// The longest disposition or tag.
pub const MAX_LABEL_CHARS: usize = 50;
/// The most dispositions or tags a queue lists.
pub const MAX_LABELS: usize = 100;
/// The longest wrap-up limit: a day.
pub const MAX_WRAP_UP_LIMIT_SECS: u64 = 86_400;
/// The longest wrap-up notes.
pub const MAX_NOTES_CHARS: usize = 4_000;

fn validate_labels(field: &str, labels: &[String]) -> Result<(), FieldError> {
    if labels.len() > MAX_LABELS {
        return Err(FieldError::new(field, format!("at most {MAX_LABELS} entries")));
    }
    for (i, label) in labels.iter().enumerate() {
        let n = label.chars().count();
        if label.trim().is_empty() || label.trim() != label || n > MAX_LABEL_CHARS {
            return Err(FieldError::new(
                format!("{field}[{i}]"),
                format!("1-{MAX_LABEL_CHARS} characters, no leading or trailing spaces"),
            ));
        }
        crate::validation::check_display_name(&format!("{field}[{i}]"), label)?;
        if labels[..i].contains(label) {
            return Err(FieldError::new(format!("{field}[{i}]"), format!("'{label}' is listed twice")));
        }
    }
    Ok(())
}

/// The queue's wrap-up settings: dispositions and tags, whether a disposition is required, the limit.
pub fn validate_wrap_up(queue: &WorkQueue) -> Result<(), FieldError> {
    validate_labels("dispositions", &queue.dispositions)?;
    validate_labels("tags", &queue.tags)?;
    if queue.disposition_required && queue.dispositions.is_empty() {
        return Err(FieldError::new("disposition_required", "needs at least one entry in dispositions"));
    }
    if queue.wrap_up_limit_secs == 0 || queue.wrap_up_limit_secs > MAX_WRAP_UP_LIMIT_SECS {
        return Err(FieldError::new(
            "wrap_up_limit_secs",
            format!("between 1 and {MAX_WRAP_UP_LIMIT_SECS} seconds"),
        ));
    }
    Ok(())
}

/// What the agent submits at wrap-up.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WrapUpRequest {
    pub disposition: Option<String>,
    pub tags: Vec<String>,
    pub notes: Option<String>,
}

/// Checks a wrap-up against the queue's lists; returns what is kept on the conversation.
pub fn check_wrap_up(
    queue: &WorkQueue,
    request: WrapUpRequest,
    agent_id: Option<crate::AgentId>,
    at: OffsetDateTime,
) -> Result<WrapUp, FieldError> {
    match &request.disposition {
        None if queue.disposition_required => {
            return Err(FieldError::new(
                "disposition",
                format!("required by queue '{}': one of {}", queue.id, Listed(&queue.dispositions)),
            ));
        }
        Some(d) if !queue.dispositions.contains(d) => {
            return Err(FieldError::new(
                "disposition",
                format!("'{d}' is not one of queue '{}': {}", queue.id, Listed(&queue.dispositions)),
            ));
        }
        _ => {}
    }
    for (i, tag) in request.tags.iter().enumerate() {
        if !queue.tags.contains(tag) {
            return Err(FieldError::new(
                format!("tags[{i}]"),
                format!("'{tag}' is not one of queue '{}': {}", queue.id, Listed(&queue.tags)),
            ));
        }
        if request.tags[..i].contains(tag) {
            return Err(FieldError::new(format!("tags[{i}]"), format!("'{tag}' is given twice")));
        }
    }
    if request.notes.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTES_CHARS) {
        return Err(FieldError::new("notes", format!("at most {MAX_NOTES_CHARS} characters")));
    }
    if let Some(notes) = &request.notes {
        crate::validation::check_free_text("notes", notes)?;
    }
    Ok(WrapUp { disposition: request.disposition, tags: request.tags, notes: request.notes, agent_id, at })
}

/// Whether a conversation may be closed directly (`POST /close`, skipping wrap-up): not when its queue
/// requires a disposition and the caller is an agent (an admin may always close).
pub fn may_close_directly(queue: Option<&WorkQueue>, by_admin: bool) -> bool {
    by_admin || !queue.is_some_and(|q| q.disposition_required)
}

/// Whether a conversation in wrap-up since `since` has run past its queue's wrap-up limit at `now`.
pub fn wrap_up_expired(queue: Option<&WorkQueue>, since: OffsetDateTime, now: OffsetDateTime) -> bool {
    let limit = queue.map_or(crate::model::DEFAULT_WRAP_UP_LIMIT_SECS, |q| q.wrap_up_limit_secs);
    let limit = time::Duration::seconds(i64::try_from(limit).unwrap_or(i64::MAX));
    now - since >= limit
}

/// Default inactivity period of a channel: 8 hours.
pub const DEFAULT_INACTIVITY_SECS: u64 = 8 * 3600;
/// The shortest inactivity period a channel may set: a minute.
pub const MIN_INACTIVITY_SECS: u64 = 60;
/// The longest: 30 days.
pub const MAX_INACTIVITY_SECS: u64 = 30 * 86_400;

/// A channel's inactivity period (`inactivity_secs`).
pub fn validate_inactivity(secs: u64) -> Result<(), FieldError> {
    if !(MIN_INACTIVITY_SECS..=MAX_INACTIVITY_SECS).contains(&secs) {
        return Err(FieldError::new(
            "inactivity_secs",
            format!("between {MIN_INACTIVITY_SECS} and {MAX_INACTIVITY_SECS} seconds"),
        ));
    }
    Ok(())
}

/// The inactivity period of a channel: its own, else the deployment's default (None: the deployment closes
/// nothing for inactivity, and a channel without its own period never auto-closes).
pub fn inactivity_period(
    channel_secs: Option<u64>,
    default: Option<time::Duration>,
) -> Option<time::Duration> {
    match channel_secs {
        Some(secs) => Some(time::Duration::seconds(i64::try_from(secs).unwrap_or(i64::MAX))),
        None => default,
    }
}

/// Whether a conversation in `state` closes after inactivity: one with an agent (active, set aside, in
/// wrap-up) or still before its queue (menu, bot). One waiting in its queue for an agent (open, or offered
/// to one) does not: the customer is waiting for us, not we for them, and the queue's own expiry (when it
/// has one) decides how long they wait; out of the queue's hours they wait until it opens.
pub fn closes_when_idle(state: ConversationState) -> bool {
    !matches!(state, ConversationState::Open | ConversationState::Offered | ConversationState::Closed)
}

/// Whether a message by `author` is activity for the inactivity timer (it moves the conversation's
/// `last_message_at`): the customer's texts and the agents' replies are; automated messages (greeting,
/// place in line, "agent joined", ...) are not, since nobody wrote them, and neither are delivery receipts
/// (the stores' `advance_status` never moves the conversation).
pub fn counts_as_activity(author: crate::model::Author) -> bool {
    author != crate::model::Author::System
}

struct Listed<'a>(&'a [String]);

impl fmt::Display for Listed<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(none listed)");
        }
        f.write_str(&self.0.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AgentId, QueueId};
    use ConversationState::*;
    use time::macros::datetime;

    const AT: OffsetDateTime = datetime!(2026-03-01 10:00 UTC);

    #[test]
    fn the_customer_is_texted_only_until_the_conversation_ends() {
        use ConversationState::*;
        for state in [Routing, Open, Offered, Active, Waiting] {
            assert_eq!(may_text_customer(state), Ok(()), "{state:?}");
        }
        assert_eq!(may_text_customer(WrapUp), Err(NoText::Ended));
        assert_eq!(may_text_customer(Closed), Err(NoText::Closed));
    }

    #[test]
    fn only_what_people_write_is_activity() {
        use crate::model::Author;
        assert!(counts_as_activity(Author::Customer));
        assert!(counts_as_activity(Author::Agent));
        assert!(!counts_as_activity(Author::System), "an automated message keeps nothing alive");
    }

    fn queue() -> WorkQueue {
        let mut q = WorkQueue::new(QueueId::new("q_1"), "Support", AT);
        q.dispositions = vec!["resolved".into(), "callback".into()];
        q.tags = vec!["billing".into(), "vip".into()];
        q
    }

    fn agent(presence: Presence) -> Agent {
        Agent {
            id: AgentId::new("ag_1"),
            name: "Ada".into(),
            queues: vec![QueueId::new("q_1")],
            capacity: 1,
            presence,
            active: 1,
            last_assigned_at: None,
            created_at: AT,
            subject: None,
            role: Default::default(),
            missed_offers: 0,
            presence_changed_at: None,
            team_id: None,
        }
    }

    #[test]
    fn states_move_as_contact_centers_move_them() {
        assert_eq!(transition(Active, AgentAction::Wait), Ok(Waiting));
        assert_eq!(transition(Active, AgentAction::End), Ok(WrapUp));
        assert_eq!(transition(Waiting, AgentAction::End), Ok(WrapUp));
        assert_eq!(transition(WrapUp, AgentAction::SubmitWrapUp), Ok(Closed));
        for (state, action) in [
            (Open, AgentAction::Wait),
            (Waiting, AgentAction::Wait),
            (WrapUp, AgentAction::Wait),
            (Closed, AgentAction::Wait),
            (Open, AgentAction::End),
            (WrapUp, AgentAction::End),
            (Closed, AgentAction::End),
            (Open, AgentAction::SubmitWrapUp),
            (Active, AgentAction::SubmitWrapUp),
            (Waiting, AgentAction::SubmitWrapUp),
            (Closed, AgentAction::SubmitWrapUp),
        ] {
            assert!(transition(state, action).is_err(), "{state:?} {action:?}");
        }
        let refused = transition(Open, AgentAction::Wait).unwrap_err().to_string();
        assert_eq!(refused, "a conversation that is open cannot be set aside (it must be active)");
    }

    #[test]
    fn only_states_with_an_agent_hold_a_slot() {
        assert!(Active.holds_agent() && Waiting.holds_agent() && WrapUp.holds_agent());
        assert!(!Open.holds_agent() && !Closed.holds_agent());
    }

    #[test]
    fn a_text_brings_a_set_aside_conversation_back_to_its_available_agent_else_to_the_queue() {
        let available = agent(Presence::Available);
        for state in [Waiting, WrapUp] {
            assert_eq!(on_customer_text(state, Some(&available)), Revival::BackToAgent, "{state:?}");
            for p in [Presence::Busy, Presence::Away, Presence::Offline] {
                assert_eq!(on_customer_text(state, Some(&agent(p))), Revival::ToQueue, "{state:?} {p:?}");
            }
            assert_eq!(on_customer_text(state, None), Revival::ToQueue, "agent gone");
        }
        for state in [Open, Active, Closed] {
            assert_eq!(on_customer_text(state, Some(&available)), Revival::Stay, "{state:?}");
        }
    }

    #[test]
    fn wrap_up_settings_name_the_field_and_rule() {
        assert_eq!(validate_wrap_up(&queue()), Ok(()));
        assert_eq!(validate_wrap_up(&WorkQueue::new(QueueId::new("q"), "Q", AT)), Ok(()), "defaults");
        let mut q = queue();
        q.dispositions.push("resolved".into());
        assert_eq!(validate_wrap_up(&q).unwrap_err().field, "dispositions[2]");
        let mut q = queue();
        q.tags[1] = " vip".into();
        assert_eq!(validate_wrap_up(&q).unwrap_err().field, "tags[1]");
        let mut q = queue();
        q.tags[0] = "x".repeat(MAX_LABEL_CHARS + 1);
        assert_eq!(validate_wrap_up(&q).unwrap_err().field, "tags[0]");
        let mut q = WorkQueue::new(QueueId::new("q"), "Q", AT);
        q.disposition_required = true;
        assert_eq!(validate_wrap_up(&q).unwrap_err().field, "disposition_required");
        let mut q = queue();
        q.wrap_up_limit_secs = 0;
        assert_eq!(validate_wrap_up(&q).unwrap_err().field, "wrap_up_limit_secs");
        q.wrap_up_limit_secs = MAX_WRAP_UP_LIMIT_SECS + 1;
        assert_eq!(validate_wrap_up(&q).unwrap_err().field, "wrap_up_limit_secs");
    }

    #[test]
    fn wrap_up_takes_the_queues_dispositions_and_tags_and_a_required_disposition() {
        let agent = Some(AgentId::new("ag_1"));
        let ok = WrapUpRequest {
            disposition: Some("resolved".into()),
            tags: vec!["vip".into()],
            notes: Some("asked for a refund".into()),
        };
        let kept = check_wrap_up(&queue(), ok.clone(), agent.clone(), AT).unwrap();
        assert_eq!(kept.disposition.as_deref(), Some("resolved"));
        assert_eq!((kept.tags, kept.agent_id, kept.at), (vec!["vip".to_string()], agent.clone(), AT));

        let none = WrapUpRequest::default();
        assert!(check_wrap_up(&queue(), none.clone(), None, AT).is_ok(), "not required: may be empty");
        let mut required = queue();
        required.disposition_required = true;
        let e = check_wrap_up(&required, none, None, AT).unwrap_err();
        assert_eq!(e.field, "disposition");
        assert!(e.rule.contains("required") && e.rule.contains("resolved, callback"), "{e}");

        let bad = WrapUpRequest { disposition: Some("shrug".into()), ..ok.clone() };
        assert_eq!(check_wrap_up(&queue(), bad, None, AT).unwrap_err().field, "disposition");
        let bad = WrapUpRequest { tags: vec!["vip".into(), "gold".into()], ..ok.clone() };
        assert_eq!(check_wrap_up(&queue(), bad, None, AT).unwrap_err().field, "tags[1]");
        let bad = WrapUpRequest { tags: vec!["vip".into(), "vip".into()], ..ok.clone() };
        assert_eq!(check_wrap_up(&queue(), bad, None, AT).unwrap_err().field, "tags[1]");
        let bad = WrapUpRequest { notes: Some("n".repeat(MAX_NOTES_CHARS + 1)), ..ok };
        assert_eq!(check_wrap_up(&queue(), bad, None, AT).unwrap_err().field, "notes");
    }

    #[test]
    fn closing_directly_skips_wrap_up_only_where_no_disposition_is_required() {
        let mut q = queue();
        assert!(may_close_directly(Some(&q), false));
        assert!(may_close_directly(None, false));
        q.disposition_required = true;
        assert!(!may_close_directly(Some(&q), false));
        assert!(may_close_directly(Some(&q), true), "an admin may always close");
    }

    #[test]
    fn only_conversations_not_waiting_for_an_agent_close_when_idle() {
        use ConversationState::*;
        let closes: Vec<ConversationState> = [Routing, Open, Offered, Active, Waiting, WrapUp, Closed]
            .into_iter()
            .filter(|s| closes_when_idle(*s))
            .collect();
        assert_eq!(closes, [Routing, Active, Waiting, WrapUp]);
    }

    #[test]
    fn a_channel_has_its_own_inactivity_period_or_the_default() {
        let default = Some(time::Duration::hours(8));
        assert_eq!(inactivity_period(None, default), default);
        assert_eq!(inactivity_period(Some(600), default), Some(time::Duration::minutes(10)));
        // With no deployment default (SMSDESK_AUTO_CLOSE_HOURS=0), a channel's own period still holds.
        assert_eq!(inactivity_period(Some(600), None), Some(time::Duration::minutes(10)));
        assert_eq!(inactivity_period(None, None), None);
        assert!(validate_inactivity(60).is_ok() && validate_inactivity(MAX_INACTIVITY_SECS).is_ok());
        assert_eq!(validate_inactivity(59).unwrap_err().field, "inactivity_secs");
        assert_eq!(validate_inactivity(MAX_INACTIVITY_SECS + 1).unwrap_err().field, "inactivity_secs");
    }

    #[test]
    fn wrap_up_expires_at_the_queues_limit() {
        let mut q = queue();
        q.wrap_up_limit_secs = 60;
        let since = AT;
        assert!(!wrap_up_expired(Some(&q), since, AT + time::Duration::seconds(59)));
        assert!(wrap_up_expired(Some(&q), since, AT + time::Duration::seconds(60)));
        let default = crate::model::DEFAULT_WRAP_UP_LIMIT_SECS as i64;
        assert!(!wrap_up_expired(None, since, AT + time::Duration::seconds(default - 1)));
        assert!(wrap_up_expired(None, since, AT + time::Duration::seconds(default)));
    }
}
