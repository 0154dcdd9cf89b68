//! Before the queue: a number with a keyword menu shows it to the customer's first text and files the
//! conversation into the queue the customer picks (nested menus, BACK, EXIT, a repeat on an unknown answer,
//! the default queue after the menu's timeout); a queue with a bot hands the customer's texts to the bot
//! until it hands over (or fails, or times out: then at once). Meanwhile the conversation is `routing`:
//! distribution never picks it. Every change is conditional on the step it was read at
//! ([`smsdesk_ports::ConversationStore::set_routing`]), so the router and the timers never both move it.
//!
//! Idempotent: the system messages of a step have ids derived from the customer's text, and the step
//! records that text, so a redelivered text changes nothing the second time.

use crate::App;
use crate::error::ApiError;
use crate::services::{assignment, conversations, outbound};
use secrecy::ExposeSecret;
use smsdesk_domain::bot::{self, BotOutcome, BotRequest};
use smsdesk_domain::menu::{self, MenuStep};
use smsdesk_domain::*;
use smsdesk_ports::{PortError, PortResult};
use time::OffsetDateTime;

/// The system message an EXIT gets before the conversation closes.
pub const EXIT_TEXT: &str = "You left the menu. Text us again any time.";
/// The close reason of an EXIT.
pub const EXIT_REASON: &str = "the customer left the menu";

/// How a new conversation on `number` starts: in a menu, with the number's queue's bot, or in the queue.
pub async fn initial_state(
    app: &App,
    number: &ChannelNumber,
    now: OffsetDateTime,
) -> PortResult<(ConversationState, Option<Routing>)> {
    let fresh = |menus: Vec<MenuId>, bot: Option<QueueId>| Routing {
        menus,
        bot,
        since: now,
        last_input: None,
        context: None,
    };
    if let Some(menu) = &number.menu {
        if app.store.get_menu(menu).await?.is_some() {
            return Ok((ConversationState::Routing, Some(fresh(vec![menu.clone()], None))));
        }
        tracing::warn!(menu = %menu, "the number's menu is gone; the text goes to the number's queue");
    }
    if has_bot(app, &number.queue).await? {
        return Ok((ConversationState::Routing, Some(fresh(vec![], Some(number.queue.clone())))));
    }
    Ok((ConversationState::Open, None))
}

async fn has_bot(app: &App, queue: &QueueId) -> PortResult<bool> {
    Ok(app.store.get_queue(queue).await?.is_some_and(|q| q.bot.is_some()))
}

/// A customer text filed into a `routing` conversation: the menu or the bot answers it. Returns the
/// conversation as it now stands.
pub async fn on_text(
    app: &App,
    number: &ChannelNumber,
    conversation: Conversation,
    input: &MessageId,
    text: &str,
) -> PortResult<Conversation> {
    let Some(routing) = conversation.routing.clone() else { return Ok(conversation) };
    if routing.last_input.as_ref() == Some(input) {
        // A redelivered text: this step was taken already. Its menu is said again, once at most (its id
        // derives from the text), should the first delivery have stopped between the step and the menu.
        if let Some(menu_id) = routing.menus.last().filter(|_| routing.bot.is_none())
            && let Some(menu) = app.store.get_menu(menu_id).await?
        {
            say_menu(app, &conversation, input, &menu).await?;
        }
        return Ok(conversation);
    }
    let now = app.clock.now();
    let updated = if let Some(bot_queue) = routing.bot.clone() {
        with_bot(app, &conversation, &routing, &bot_queue, input, text, now).await?
    } else {
        with_menu(app, number, &conversation, &routing, input, text, now).await?
    };
    Ok(match updated {
        Some(c) => c,
        // Another writer (the timers) moved it meanwhile: continue with what it is now.
        None => app.store.get_conversation(&conversation.id).await?.unwrap_or(conversation),
    })
}

async fn with_menu(
    app: &App,
    number: &ChannelNumber,
    conversation: &Conversation,
    routing: &Routing,
    input: &MessageId,
    text: &str,
    now: OffsetDateTime,
) -> PortResult<Option<Conversation>> {
    let Some(current_id) = routing.menus.last() else { return Ok(None) };
    let Some(current) = app.store.get_menu(current_id).await? else {
        // The menu was deleted under the customer: the number's queue takes it.
        return enter_queue(app, conversation, routing, &number.queue, None, now).await;
    };
    if routing.last_input.is_none() {
        // The first text gets the menu; it is no answer to it.
        return show(app, conversation, routing, routing.menus.clone(), &current, input, now).await;
    }
    let step = menu::answer(&current, routing.menus.len() - 1, text);
    match &step {
        MenuStep::Queue(queue) => {
            match app.store.get_queue(queue).await? {
                None => {
                    tracing::warn!(queue = %queue, "a menu option names a queue that is gone; the menu is shown again");
                    return show(app, conversation, routing, routing.menus.clone(), &current, input, now)
                        .await;
                }
                // A hidden queue is not offered by menus: its option is no answer, as an unknown one.
                Some(q) if q.hidden => {
                    return show(app, conversation, routing, routing.menus.clone(), &current, input, now)
                        .await;
                }
                Some(_) => {}
            }
            enter_queue(app, conversation, routing, queue, Some(input), now).await
        }
        MenuStep::Exit => {
            say(app, conversation, input, "exit", EXIT_TEXT).await?;
            conversations::close_and_free(app, &conversation.id, EXIT_REASON).await.map_err(port)?;
            app.store.get_conversation(&conversation.id).await
        }
        MenuStep::Enter(_) | MenuStep::Back | MenuStep::Repeat => {
            let stack = menu::next_stack(&routing.menus, &step);
            let shown = match stack.last() {
                Some(id) if id != current_id => app.store.get_menu(id).await?,
                _ => None,
            };
            match shown {
                Some(next) => show(app, conversation, routing, stack, &next, input, now).await,
                None => show(app, conversation, routing, routing.menus.clone(), &current, input, now).await,
            }
        }
    }
}

/// Records the step, then sends `shown` as a system message. In that order: should the timers have moved
/// the conversation meanwhile (its menu timed out), the step is refused and no menu is said to a customer
/// who is no longer in it; a step recorded and not said is said on the text's redelivery (`on_text`).
async fn show(
    app: &App,
    conversation: &Conversation,
    routing: &Routing,
    menus: Vec<MenuId>,
    shown: &Menu,
    input: &MessageId,
    now: OffsetDateTime,
) -> PortResult<Option<Conversation>> {
    let next = Routing { menus, bot: None, since: now, last_input: Some(input.clone()), context: None };
    let Some(stepped) = app.store.set_routing(&conversation.id, routing.since, &next).await? else {
        return Ok(None);
    };
    say_menu(app, conversation, input, shown).await?;
    Ok(Some(stepped))
}

/// The menu `shown` said in answer to `input`, in the customer's language (once: its id derives from
/// `input`).
async fn say_menu(app: &App, conversation: &Conversation, input: &MessageId, shown: &Menu) -> PortResult<()> {
    say(app, conversation, input, "menu", menu::text_for(shown, conversation.language.as_deref())).await
}

/// Into `queue`: its bot first when it has one, else waiting in it (and assigned if an agent is free).
async fn enter_queue(
    app: &App,
    conversation: &Conversation,
    routing: &Routing,
    queue: &QueueId,
    input: Option<&MessageId>,
    now: OffsetDateTime,
) -> PortResult<Option<Conversation>> {
    if routing.bot.is_none() && has_bot(app, queue).await? {
        let next = Routing {
            menus: vec![],
            bot: Some(queue.clone()),
            since: now,
            last_input: input.cloned(),
            context: None,
        };
        return app.store.set_routing(&conversation.id, routing.since, &next).await;
    }
    leave(app, conversation, routing, queue, None, now).await
}

async fn leave(
    app: &App,
    conversation: &Conversation,
    routing: &Routing,
    queue: &QueueId,
    context: Option<&str>,
    now: OffsetDateTime,
) -> PortResult<Option<Conversation>> {
    let left = app.store.leave_routing(&conversation.id, routing.since, queue, context, now).await?;
    if let Some(c) = &left {
        tracing::info!(conversation = %c.id, queue = %queue, "conversation entered its queue");
        assignment::dispatch_queue(app, queue).await?;
    }
    Ok(left)
}

async fn with_bot(
    app: &App,
    conversation: &Conversation,
    routing: &Routing,
    bot_queue: &QueueId,
    input: &MessageId,
    text: &str,
    now: OffsetDateTime,
) -> PortResult<Option<Conversation>> {
    let outcome = ask_bot(app, conversation, bot_queue, text).await?;
    let (replies, handoff) = match outcome {
        BotOutcome::Continue { replies } => (replies, None),
        BotOutcome::HandOff { replies, queue, context } => (replies, Some((queue, context))),
    };
    for (i, reply) in replies.iter().enumerate() {
        say(app, conversation, input, &format!("bot{i}"), reply).await?;
    }
    match handoff {
        None => {
            let next = Routing { last_input: Some(input.clone()), since: now, ..routing.clone() };
            app.store.set_routing(&conversation.id, routing.since, &next).await
        }
        Some((target, context)) => {
            let target = match target {
                Some(q) if app.store.get_queue(&q).await?.is_some() => q,
                Some(q) => {
                    tracing::warn!(queue = %q, "the bot handed over to a queue that does not exist; its own queue takes it");
                    bot_queue.clone()
                }
                None => bot_queue.clone(),
            };
            let context = context.map(|c| c.chars().take(1000).collect::<String>());
            leave(app, conversation, routing, &target, context.as_deref(), now).await
        }
    }
}

/// Calls the queue's bot with the customer's text, signed; anything but a good answer hands over.
async fn ask_bot(
    app: &App,
    conversation: &Conversation,
    queue: &QueueId,
    text: &str,
) -> PortResult<BotOutcome> {
    let Some(endpoint) = app.store.get_queue(queue).await?.and_then(|q| q.bot) else {
        return Ok(bot::failed("the queue no longer has a bot"));
    };
    let Some(secret) = app.secrets.get_bot_secret(queue).await? else {
        return Ok(bot::failed("the queue's bot has no secret"));
    };
    let request = BotRequest {
        conversation_id: conversation.id.clone(),
        queue_id: queue.clone(),
        customer: conversation.customer.e164().to_string(),
        language: conversation.language.clone(),
        text: text.to_string(),
    };
    let body = serde_json::to_vec(&request).map_err(|e| PortError::Backend(format!("bot request: {e}")))?;
    let timestamp = app.clock.now().unix_timestamp();
    let signature = bot::signature(secret.expose_secret().as_bytes(), timestamp, &body);
    let client = app.bot_client().map_err(|e| PortError::Backend(format!("bot client: {e}")))?;
    let sent = client
        .post(&endpoint.url)
        .header("content-type", "application/json")
        .header(bot::TIMESTAMP_HEADER, timestamp.to_string())
        .header(bot::SIGNATURE_HEADER, signature)
        .body(body)
        .send()
        .await;
    let response = match sent {
        Ok(r) => r,
        Err(e) => {
            let why =
                if e.is_timeout() { "timed out".to_string() } else { "could not be reached".to_string() };
            tracing::warn!(conversation = %conversation.id, queue = %queue, reason = %why, "bot failed; handing over");
            return Ok(bot::failed(why));
        }
    };
    let status = response.status().as_u16();
    let answer =
        smsdesk_providers::http::read_capped(response, smsdesk_providers::http::MAX_ANSWER_BYTES).await;
    let outcome = match answer {
        Ok(body) => bot::interpret(status, body.as_bytes()),
        Err(e) if e.is_timeout() => bot::failed("timed out"),
        Err(_) => bot::failed("its answer could not be read"),
    };
    if let BotOutcome::HandOff { context: Some(c), .. } = &outcome
        && c.starts_with("bot unavailable")
    {
        tracing::warn!(conversation = %conversation.id, queue = %queue, status, "bot failed; handing over");
    }
    Ok(outcome)
}

/// Queues a system message for the customer, under an id derived from their text and `what` (a
/// redelivered text finds it instead of sending it again).
async fn say(
    app: &App,
    conversation: &Conversation,
    input: &MessageId,
    what: &str,
    text: &str,
) -> PortResult<()> {
    let text = match MessageText::parse(text) {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(conversation = %conversation.id, error = %e, "system message not sent");
            return Ok(());
        }
    };
    let id = MessageId::new(format!("{input}_{what}"));
    outbound::queue_system(app, id, conversation, text).await.map_err(port)?;
    Ok(())
}

fn port(e: ApiError) -> PortError {
    PortError::Unavailable(e.to_string())
}

/// The timers' part: conversations whose menu went unanswered past its timeout go to the menu's default
/// queue, else the queue of the number they texted (over the run's listing of open conversations). Returns
/// how many moved.
pub async fn sweep_menu_timeouts(app: &App, open: &[Conversation]) -> PortResult<usize> {
    let now = app.clock.now();
    let mut moved = 0;
    for c in open {
        let Some(routing) = c.routing.as_ref().filter(|_| c.state == ConversationState::Routing) else {
            continue;
        };
        let Some(menu_id) = routing.menus.last().filter(|_| routing.last_input.is_some()) else { continue };
        let Some(menu) = app.store.get_menu(menu_id).await? else { continue };
        if now - routing.since < time::Duration::seconds(i64::from(menu.timeout_seconds)) {
            continue;
        }
        let channel = app.store.get_channel(&c.channel_id).await?;
        let number_queue =
            channel.as_ref().and_then(|ch| ch.number(&c.channel_number)).map(|n| n.queue.clone());
        let Some(queue) = menu.default_queue.clone().or(number_queue) else { continue };
        tracing::info!(conversation = %c.id, queue = %queue, "menu unanswered past its timeout");
        if let Some(queued) = enter_queue(app, c, routing, &queue, None, now).await? {
            moved += 1;
            // As when the customer answers: out of the queue's hours, they are told so.
            if let Some(channel) = &channel {
                super::routing::out_of_hours(app, channel, &queued).await?;
            }
        }
    }
    Ok(moved)
}

/// The timers' part: conversations waiting in a queue longer than its expiry get the queue's expiry
/// message and close. The run's listings of queues and of open conversations say who waits where (oldest
/// `queued_at` first, as `waiting_in_queue` orders them). Returns how many expired.
pub async fn sweep_expired(app: &App, queues: &[WorkQueue], open: &[Conversation]) -> PortResult<usize> {
    let now = app.clock.now();
    let mut expired = 0;
    for queue in queues {
        let Some(expiry) = queue.expiry_seconds else { continue };
        let cutoff = now - time::Duration::seconds(i64::from(expiry));
        let mut waiting: Vec<&Conversation> =
            open.iter().filter(|c| c.state == ConversationState::Open && c.queue_id == queue.id).collect();
        waiting.sort_by(|a, b| (a.queued_at, &a.id).cmp(&(b.queued_at, &b.id)));
        waiting.truncate(100);
        for c in waiting {
            if c.queued_at > cutoff {
                break; // oldest first: the rest waited less
            }
            // Read again: the listing may be stale (an index in AWS), and an agent may have taken it.
            let Some(current) = app.store.get_conversation(&c.id).await? else { continue };
            // A transfer under way has its own timeout: it goes back to its agent, never expires.
            if current.state != ConversationState::Open
                || current.queued_at != c.queued_at
                || current.transfer.is_some()
            {
                continue;
            }
            // Closed only if it still waits (an agent may be offered it or take it meanwhile), and only
            // then told.
            let last_word = MessageText::parse(&queue.expiry_message)
                .ok()
                .map(|text| (MessageId::new(format!("msg_expired_{}", c.id)), text));
            // One that fails is logged and tried again next run; the others still expire.
            match conversations::close_waiting_and_free(app, &c.id, last_word, "expired in its queue").await {
                Ok(true) => expired += 1,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(conversation = %c.id, error = %e.message, "expiring a conversation failed")
                }
            }
        }
    }
    Ok(expired)
}
