//! Agent API: work items, conversations and transcripts, replies, close, transfer, contact pick, proactive
//! messages, segment preview, contacts.

use crate::App;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::http::Body;
use crate::http::views::*;
use crate::http::{Path, Query};
use crate::services::conversations;
use crate::services::idempotency::{self, IdempotencyKey, Replay};
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde::Deserialize;
use smsdesk_domain::lifecycle::WrapUpRequest;
use smsdesk_domain::segment::{analyze, as_sent, smart_encode, ucs2_positions};
use smsdesk_domain::*;
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};

/// Adds the agent routes to `router`.
pub fn routes(router: Router<Arc<App>>) -> Router<Arc<App>> {
    let router = router
        .route("/v1/me", get(me))
        .route("/v1/work-items", get(work_items))
        .route("/v1/work-items/waiting", get(waiting_items))
        .route("/v1/work-items/team", get(team_items))
        .route("/v1/conversations/{id}", get(conversation))
        .route("/v1/conversations/{id}/messages", post(reply))
        .route("/v1/conversations/{id}/messages/{message_id}/resend", post(resend))
        .route("/v1/conversations/{id}/close", post(close))
        .route("/v1/conversations/{id}/wait", post(wait))
        .route("/v1/conversations/{id}/end", post(end))
        .route("/v1/conversations/{id}/wrap-up", post(wrap_up))
        .route("/v1/conversations/{id}/transfer", post(transfer))
        .route("/v1/conversations/{id}/transfer/cancel", post(cancel_transfer))
        .route("/v1/conversations/{id}/assign", post(assign))
        .route("/v1/conversations/{id}/queue", post(move_to_queue))
        .route("/v1/conversations/{id}/accept", post(accept))
        .route("/v1/conversations/{id}/decline", post(decline))
        .route("/v1/conversations/{id}/contact", post(pick_contact))
        .route("/v1/messages", post(proactive))
        .route("/v1/messages/preview", post(preview))
        .route("/v1/contacts", get(contacts))
        .route("/v1/contacts/{id}", get(contact));
    crate::http::transfer_targets::routes(crate::http::notes::routes(crate::http::media::routes(router)))
}

/// Who the token is: role, agent id, name, queues and presence (the console shows what the role allows).
#[utoipa::path(get, path = "/v1/me", tag = "agent",
    responses((status = 200, description = "The caller", body = Me)))]
pub(crate) async fn me(State(app): State<Arc<App>>, who: Principal) -> ApiResult<Json<Me>> {
    let me = match who.agent_id() {
        None => Me {
            role: CallerRole::Admin,
            agent_id: None,
            name: "admin".into(),
            queues: app.store.list_queues().await?.into_iter().map(|q| q.id).collect(),
            presence: None,
            events_url: app.config.events_url.clone(),
        },
        Some(id) => {
            let agent = app
                .store
                .get_agent(id)
                .await?
                .ok_or_else(|| ApiError::unauthorized("the token's agent is gone"))?;
            let role = match agent.role {
                Role::Agent => CallerRole::Agent,
                Role::Supervisor => CallerRole::Supervisor,
            };
            Me {
                role,
                agent_id: Some(agent.id),
                name: agent.name,
                queues: agent.queues,
                presence: Some(agent.presence),
                events_url: app.config.events_url.clone(),
            }
        }
    };
    Ok(Json(me))
}

/// The caller's conversations that are not closed (an admin: every open one).
#[utoipa::path(get, path = "/v1/work-items", tag = "agent",
    responses((status = 200, description = "The caller's work", body = WorkItems)))]
pub(crate) async fn work_items(State(app): State<Arc<App>>, who: Principal) -> ApiResult<Json<WorkItems>> {
    let items = match who.agent_id() {
        Some(agent) => {
            // What the agent holds, then what it sent away in a transfer nobody took yet: it stays
            // responsible (and holds the slot) until the transfer lands, so it keeps seeing it.
            let mut items = app.store.work_items(agent).await?;
            items.extend(app.store.pending_transfers_from(agent).await?);
            items.sort_by(|a, b| (b.last_message_at, &b.id).cmp(&(a.last_message_at, &a.id)));
            items
        }
        None => app.store.open_conversations().await?,
    };
    Ok(Json(WorkItems { items: items.iter().map(WorkItem::from).collect() }))
}

/// How many waiting conversations of each queue `GET /v1/work-items/waiting` lists.
const WAITING_PER_QUEUE: usize = 200;

/// The conversations waiting in the caller's queues (an admin: in every queue), longest waiting first: the
/// console's "waiting" tab. An agent may read them (and take them only through assignment).
#[utoipa::path(get, path = "/v1/work-items/waiting", tag = "agent",
    responses((status = 200, description = "Waiting conversations, longest waiting first", body = WorkItems)))]
pub(crate) async fn waiting_items(State(app): State<Arc<App>>, who: Principal) -> ApiResult<Json<WorkItems>> {
    let queues: Vec<QueueId> = match who.agent_id() {
        Some(id) => match app.store.get_agent(id).await? {
            Some(agent) => crate::services::teams::queues_of(&app, agent).await?,
            None => Vec::new(),
        },
        None => app.store.list_queues().await?.into_iter().map(|q| q.id).collect(),
    };
    let mut items = Vec::new();
    for queue in &queues {
        items.extend(app.store.waiting_in_queue(queue, WAITING_PER_QUEUE).await?);
    }
    items.sort_by(|a, b| a.queued_at.cmp(&b.queued_at).then_with(|| a.id.cmp(&b.id)));
    Ok(Json(WorkItems { items: items.iter().map(WorkItem::from).collect() }))
}

/// The open conversations other agents hold in the queues the caller supervises (an admin: in every
/// queue), each with its agent's name, most recent activity first: the console's "Team" tab. An agent who
/// supervises nothing gets 403.
#[utoipa::path(get, path = "/v1/work-items/team", tag = "agent",
    responses((status = 200, description = "Conversations the caller's agents hold", body = WorkItems),
              (status = 403, description = "Not a supervisor", body = ErrorBody)))]
pub(crate) async fn team_items(State(app): State<Arc<App>>, who: Principal) -> ApiResult<Json<WorkItems>> {
    let agent = conversations::caller(&app, &who).await?;
    if agent.as_ref().is_some_and(|a| a.role != Role::Supervisor) {
        return Err(ApiError::forbidden("this needs a supervisor's or an admin's token"));
    }
    let me = agent.as_ref().map(|a| a.id.clone());
    let actor = conversations::actor(&agent);
    let names: std::collections::HashMap<AgentId, String> =
        app.store.list_agents().await?.into_iter().map(|a| (a.id, a.name)).collect();
    let mut held: Vec<Conversation> = app
        .store
        .open_conversations()
        .await?
        .into_iter()
        .filter(|c| holder(c).is_some() && holder(c) != me.as_ref())
        .filter(|c| smsdesk_domain::access::access(actor, c) == smsdesk_domain::access::Access::Act)
        .collect();
    held.sort_by(|a, b| b.last_message_at.cmp(&a.last_message_at).then_with(|| a.id.cmp(&b.id)));
    let items = held
        .iter()
        .map(|c| WorkItem {
            agent_name: holder(c).and_then(|id| names.get(id).cloned()),
            ..WorkItem::from(c)
        })
        .collect();
    Ok(Json(WorkItems { items }))
}

/// Who holds a conversation in the team view: its agent, or, while a transfer nobody took yet moves it
/// through a queue, the agent who sent it (responsible until it lands).
fn holder(c: &Conversation) -> Option<&AgentId> {
    c.agent_id.as_ref().or_else(|| smsdesk_domain::transfer::pending_sender(c))
}

/// A conversation and its transcript; each message lists its media (short-lived links to stored items,
/// the reason for failed ones). Callers authorize first.
pub(crate) async fn conversation_view(app: &App, c: &Conversation) -> ApiResult<ConversationView> {
    let messages = app.store.list_messages(&c.id).await?;
    let mut items = crate::services::media::items(app, &c.id).await?;
    items.sort_by_key(|i| i.position);
    let mut media_of = std::collections::HashMap::<MessageId, Vec<MediaView>>::new();
    for item in &items {
        if let Some(message_id) = &item.message_id {
            let view = crate::services::media::view(app, item).await?;
            media_of.entry(message_id.clone()).or_default().push(view);
        }
    }
    let messages =
        messages.iter().map(|m| MessageView::new(m, media_of.remove(&m.id).unwrap_or_default())).collect();
    let notes = app.store.list_notes(&c.id).await?;
    let channel = app.store.channel_settings(&c.channel_id).await?;
    Ok(ConversationView {
        notes: notes.iter().map(crate::http::notes::NoteView::from).collect(),
        attachments: channel
            .map(|ch| crate::services::media::reply_attachments(app, &ch))
            .unwrap_or_default(),
        ..ConversationView::new(c, messages)
    })
}

/// A conversation and its transcript. Another agent's conversation is a 404.
#[utoipa::path(get, path = "/v1/conversations/{id}", tag = "agent", params(("id" = String, Path)),
    responses((status = 200, description = "The conversation", body = ConversationView)))]
pub(crate) async fn conversation(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<ConversationView>> {
    let c = conversations::visible(&app, &who, &id).await?;
    Ok(Json(conversation_view(&app, &c).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplyBody {
    /// At most 1600 characters (422 beyond).
    text: String,
    /// Ids of media uploaded to this conversation (`POST /v1/conversations/{id}/media`) to send with it.
    #[serde(default)]
    media: Vec<String>,
}

/// The `Idempotency-Key` header, if the client sent one.
fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<IdempotencyKey>> {
    headers
        .get(idempotency::HEADER)
        .map(|v| {
            let raw = v.to_str().map_err(|_| ApiError::field("Idempotency-Key", "must be ASCII text"))?;
            IdempotencyKey::parse(raw)
        })
        .transpose()
}

/// The agent's reply, queued for sending. With an `Idempotency-Key`, a retry answers with the first reply.
#[utoipa::path(post, path = "/v1/conversations/{id}/messages", tag = "agent",
    params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255,
        pattern = "^[!-~]+$", description = "1 to 255 visible ASCII characters: a retry with the same key answers as the first request")),
    request_body = ReplyBody,
    responses((status = 202, description = "Queued", body = Accepted)))]
pub(crate) async fn reply(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body<ReplyBody>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    let key = idempotency_key(&headers)?;
    let m = if body.media.is_empty() {
        conversations::reply(&app, &who, &id, &body.text, key.as_ref()).await?
    } else {
        crate::services::media::reply_with_media(&app, &who, &id, &body.text, &body.media, key.as_ref())
            .await?
    };
    Ok((StatusCode::ACCEPTED, Json(Accepted::of(&m))))
}

/// The agent sends an `unknown` or `failed` message again, as a new message (202 with its id).
#[utoipa::path(post, path = "/v1/conversations/{id}/messages/{message_id}/resend", tag = "agent",
    params(("id" = String, Path), ("message_id" = String, Path)),
    responses((status = 202, description = "Queued again as a new message", body = Accepted)))]
pub(crate) async fn resend(
    State(app): State<Arc<App>>,
    who: Principal,
    Path((id, message_id)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<Accepted>)> {
    let m = conversations::resend(&app, &who, &id, &message_id).await?;
    Ok((StatusCode::ACCEPTED, Json(Accepted { resend_of: Some(message_id), ..Accepted::of(&m) })))
}

/// Closes the conversation.
#[utoipa::path(post, path = "/v1/conversations/{id}/close", tag = "agent", params(("id" = String, Path)),
    responses((status = 200, description = "Closed", body = ClosedView)))]
pub(crate) async fn close(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<ClosedView>> {
    let c = conversations::close(&app, &who, &id).await?;
    Ok(Json(ClosedView {
        id: c.id,
        state: c.state,
        closed_at: c.closed_at.map(ts),
        close_reason: c.close_reason,
    }))
}

/// Sets the conversation aside (`waiting`) until the customer writes again.
#[utoipa::path(post, path = "/v1/conversations/{id}/wait", tag = "agent", params(("id" = String, Path)),
    responses((status = 200, description = "The conversation after the move", body = LifecycleView)))]
pub(crate) async fn wait(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<LifecycleView>> {
    Ok(Json(LifecycleView::from(&conversations::set_aside(&app, &who, &id).await?)))
}

/// Ends the conversation with the customer: it goes to wrap-up.
#[utoipa::path(post, path = "/v1/conversations/{id}/end", tag = "agent", params(("id" = String, Path)),
    responses((status = 200, description = "The conversation after the move", body = LifecycleView)))]
pub(crate) async fn end(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<LifecycleView>> {
    Ok(Json(LifecycleView::from(&conversations::end(&app, &who, &id).await?)))
}

/// The caller takes the conversation offered to it (`offered` → `active`).
#[utoipa::path(post, path = "/v1/conversations/{id}/accept", tag = "agent", params(("id" = String, Path)),
    responses((status = 200, description = "The conversation, now the caller's", body = WorkItem)))]
pub(crate) async fn accept(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<WorkItem>> {
    Ok(Json(WorkItem::from(&crate::services::offers::accept(&app, &who, &id).await?)))
}

/// The caller turns the offer down; it goes to another agent.
#[utoipa::path(post, path = "/v1/conversations/{id}/decline", tag = "agent", params(("id" = String, Path)),
    responses((status = 200, description = "The conversation, back in its queue", body = WorkItem)))]
pub(crate) async fn decline(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<WorkItem>> {
    Ok(Json(WorkItem::from(&crate::services::offers::decline(&app, &who, &id).await?)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct WrapUpBody {
    disposition: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    notes: Option<String>,
}

/// Records the wrap-up (disposition, tags, notes) and closes the conversation.
#[utoipa::path(post, path = "/v1/conversations/{id}/wrap-up", tag = "agent", params(("id" = String, Path)),
    request_body = WrapUpBody,
    responses((status = 200, description = "The conversation after the move", body = LifecycleView)))]
pub(crate) async fn wrap_up(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
    Body(body): Body<WrapUpBody>,
) -> ApiResult<Json<LifecycleView>> {
    let request = WrapUpRequest { disposition: body.disposition, tags: body.tags, notes: body.notes };
    Ok(Json(LifecycleView::from(&conversations::wrap_up(&app, &who, &id, request).await?)))
}

/// Exactly one of `agent_id` or `queue_id`, and an optional note for whoever takes it (agents only: never
/// sent to the customer).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TransferBody {
    agent_id: Option<String>,
    queue_id: Option<String>,
    /// At most 1000 characters.
    note: Option<String>,
}

/// Starts a transfer to an agent or a queue (issue 11.5): the target gets it as an offer; the caller keeps
/// the slot until it lands, and gets the conversation back if nobody takes it in time.
#[utoipa::path(post, path = "/v1/conversations/{id}/transfer", tag = "agent", params(("id" = String, Path)),
    request_body = TransferBody,
    responses((status = 200, description = "The conversation with its transfer under way (or landed, when \
        the target's queue auto-accepts)", body = WorkItem)))]
pub(crate) async fn transfer(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
    Body(body): Body<TransferBody>,
) -> ApiResult<Json<WorkItem>> {
    let (target, note) = smsdesk_domain::transfer::check_request(body.agent_id, body.queue_id, body.note)
        .map_err(|e| ApiError::field(e.field, e.rule))?;
    let c = crate::services::transfers::start(&app, &who, &id, target, note).await?;
    Ok(Json(WorkItem::from(&c)))
}

/// Cancels a transfer nobody took yet (the sender, a supervisor of its queue, an admin): the conversation
/// comes back `active` to the agent who sent it, an offer made to the target agent is withdrawn, the
/// transcript says who cancelled it and the CRM timeline gets `transfer_failed` (reason `cancelled`).
#[utoipa::path(post, path = "/v1/conversations/{id}/transfer/cancel", tag = "agent", params(("id" = String, Path)),
    responses((status = 200, description = "Back with the agent who sent it", body = WorkItem),
              (status = 404, description = "No such conversation the caller may see", body = ErrorBody),
              (status = 409, description = "No transfer waiting to be taken (`no_transfer`): it landed, \
                  failed or was cancelled", body = ErrorBody)))]
pub(crate) async fn cancel_transfer(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<WorkItem>> {
    let c = crate::services::transfers::cancel(&app, &who, &id).await?;
    Ok(Json(WorkItem::from(&c)))
}

/// The agent to give the waiting conversation to.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AssignBody {
    agent_id: String,
}

/// Gives a conversation that waits in its queue to the agent a supervisor of the queue (or an admin) picks:
/// an offer, or at once where the queue auto-accepts; the transcript says who gave it to whom.
#[utoipa::path(post, path = "/v1/conversations/{id}/assign", tag = "agent", params(("id" = String, Path)),
    request_body = AssignBody,
    responses((status = 200, description = "Offered to the agent (or with them, where the queue \
                  auto-accepts)", body = WorkItem),
              (status = 403, description = "An agent: only supervisors and admins give work by hand", body = ErrorBody),
              (status = 404, description = "No such conversation the caller may see", body = ErrorBody),
              (status = 409, description = "Not waiting in its queue (`invalid_state`: an agent holds it, or a \
                  transfer is under way), or the agent cannot take it now (`agent_unavailable`)", body = ErrorBody)))]
pub(crate) async fn assign(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
    Body(body): Body<AssignBody>,
) -> ApiResult<Json<WorkItem>> {
    let agent = AgentId::new(body.agent_id);
    let c = crate::services::transfers::assign_by_hand(&app, &who, &id, &agent).await?;
    Ok(Json(WorkItem::from(&c)))
}

/// The queue to move the waiting conversation to.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct MoveBody {
    queue_id: String,
}

/// Moves a conversation that waits in its queue to another queue (a supervisor of its queue, or an admin):
/// it waits there from now, distributed as any other; the transcript says who moved it from where to where.
#[utoipa::path(post, path = "/v1/conversations/{id}/queue", tag = "agent", params(("id" = String, Path)),
    request_body = MoveBody,
    responses((status = 200, description = "Waiting in the new queue (or already offered to, or with, one of \
                  its agents)", body = WorkItem),
              (status = 403, description = "An agent: only supervisors and admins move waiting work", body = ErrorBody),
              (status = 404, description = "No such conversation the caller may see", body = ErrorBody),
              (status = 409, description = "Not waiting in its queue (`invalid_state`: an agent holds or is \
                  offered it, or a transfer is under way), or the queue is closed now \
                  (`outside_operating_hours`)", body = ErrorBody),
              (status = 400, description = "No such queue, or the one it waits in already", body = ErrorBody)))]
pub(crate) async fn move_to_queue(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
    Body(body): Body<MoveBody>,
) -> ApiResult<Json<WorkItem>> {
    let queue = QueueId::new(body.queue_id);
    let c = crate::services::transfers::move_to_queue(&app, &who, &id, &queue).await?;
    Ok(Json(WorkItem::from(&c)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PickBody {
    /// One of the contacts that share the customer's phone.
    #[serde(default)]
    contact_id: Option<String>,
    /// Or a new contact with the customer's phone, when none of them is right.
    #[serde(default)]
    new_contact: Option<NewContactBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewContactBody {
    name: String,
}

/// The agent picks the conversation's contact when several share the customer's phone.
#[utoipa::path(post, path = "/v1/conversations/{id}/contact", tag = "agent", params(("id" = String, Path)),
    request_body = PickBody,
    responses((status = 200, description = "The conversation with its contact", body = WorkItem)))]
pub(crate) async fn pick_contact(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
    Body(body): Body<PickBody>,
) -> ApiResult<Json<WorkItem>> {
    let c = match (body.contact_id, body.new_contact) {
        (Some(contact), None) => conversations::pick_contact(&app, &who, &id, &contact).await?,
        (None, Some(new)) => conversations::new_contact(&app, &who, &id, &new.name).await?,
        _ => return Err(ApiError::field("contact_id", "give either contact_id or new_contact {\"name\"}")),
    };
    Ok(Json(WorkItem::from(&c)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ProactiveBody {
    channel_id: String,
    from: String,
    to: String,
    text: String,
    #[serde(default)]
    session: bool,
}

/// Proactive outbound: the agent texts a customer first, from a number whose queue it serves. With `session`,
/// the conversation stays open with the agent for the answer; without, it is a one-off notice recorded in a
/// conversation closed at once (when the send opened it). See [`conversations::proactive`].
#[utoipa::path(post, path = "/v1/messages", tag = "agent",
    params(("Idempotency-Key" = Option<String>, Header, nullable = false, min_length = 1, max_length = 255,
        pattern = "^[!-~]+$", description = "1 to 255 visible ASCII characters: a retry with the same key answers as the first request")),
    request_body = ProactiveBody,
    responses((status = 202, description = "Queued", body = ProactiveAccepted)))]
pub(crate) async fn proactive(
    State(app): State<Arc<App>>,
    who: Principal,
    headers: HeaderMap,
    Body(body): Body<ProactiveBody>,
) -> ApiResult<(StatusCode, Json<ProactiveAccepted>)> {
    let key = idempotency_key(&headers)?;
    let channel = app
        .store
        .get_channel(&ChannelId::new(body.channel_id.clone()))
        .await?
        .ok_or_else(|| ApiError::field("channel_id", format!("no channel '{}'", body.channel_id)))?;
    let from = Phone::parse(&body.from).map_err(|e| ApiError::field("from", e))?;
    let number = channel
        .number(&from)
        .cloned()
        .ok_or_else(|| ApiError::field("from", format!("{from} is not a number of this channel")))?;
    let to = Phone::parse(&body.to).map_err(|e| ApiError::field("to", e))?;
    // One of our own numbers is no customer: its automated answers would come back in as texts.
    if channel.number(&to).is_some() {
        return Err(ApiError::field("to", format!("{to} is a number of this channel, not a customer's")));
    }
    let text = MessageText::parse(body.text)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_text", format!("text: {e}")))?;
    smsdesk_domain::validation::check_free_text("text", text.as_str())?;
    // With an Idempotency-Key, a retry answers with what the first request created, and does nothing else.
    let session = if body.session { "session" } else { "one-off" };
    let print = ["proactive", channel.id.as_str(), from.e164(), to.e164(), text.as_str(), session];
    let message_id = match idempotency::replay(&app, &who, key.as_ref(), &print).await? {
        Replay::Answered(first) => {
            let answer = ProactiveAccepted {
                id: first.id,
                status: first.status,
                conversation_id: first.conversation_id,
            };
            return Ok((StatusCode::ACCEPTED, Json(answer)));
        }
        Replay::Proceed(id) => id,
    };
    let send = conversations::Proactive { channel, number, to, text, session: body.session, message_id };
    let (conversation, message) = conversations::proactive(&app, &who, send).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(ProactiveAccepted { id: message.id, status: message.status, conversation_id: conversation.id }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PreviewBody {
    #[serde(default)]
    channel_id: Option<String>,
    text: String,
}

/// The longest draft previewed: four times what a message may hold.
const MAX_PREVIEW_CHARS: usize = 4 * MAX_MESSAGE_CHARS;

/// How a text would go out: encoding, segments, the characters that force UCS-2 and where, the 1600-character
/// cap, and what the channel's smart encoding would change.
#[utoipa::path(post, path = "/v1/messages/preview", tag = "agent", request_body = PreviewBody,
    responses((status = 200, description = "The text's encoding and segments", body = Preview)))]
pub(crate) async fn preview(
    State(app): State<Arc<App>>,
    _who: Principal,
    Body(body): Body<PreviewBody>,
) -> ApiResult<Json<Preview>> {
    // A draft may run over the cap (the preview says by how much), within reason: the work and the answer
    // grow with the text.
    if body.text.chars().count() > MAX_PREVIEW_CHARS {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_text",
            format!(
                "text: at most {MAX_PREVIEW_CHARS} characters to preview (a message takes {MAX_MESSAGE_CHARS})"
            ),
        ));
    }
    let smart_on = match &body.channel_id {
        Some(id) => {
            let id = ChannelId::new(id.clone());
            let channel = app
                .store
                .get_channel(&id)
                .await?
                .ok_or_else(|| ApiError::field("channel_id", format!("no channel '{id}'")))?;
            channel.messaging.smart_encoding
        }
        None => false,
    };
    let (smart_text, changes) = smart_encode(&body.text);
    // What is sent: the text after smart encoding when the channel has it on, as the send decides it.
    let (sent, applied) = as_sent(&body.text, smart_on);
    let info = analyze(&sent);
    let smart = analyze(&smart_text);
    Ok(Json(Preview {
        encoding: info.encoding,
        segments: info.segments,
        characters: info.characters,
        units: info.units,
        ucs2_characters: info.ucs2_characters.clone(),
        ucs2_positions: ucs2_positions(&sent)
            .into_iter()
            .map(|(position, c)| Ucs2Position { position, character: c.to_string() })
            .collect(),
        max_characters: MAX_MESSAGE_CHARS as u32,
        over_limit: info.characters as usize > MAX_MESSAGE_CHARS,
        text: sent,
        smart_encoding: SmartEncodingPreview {
            enabled: smart_on,
            applied,
            text: smart_text,
            changes: changes
                .into_iter()
                .map(|r| ReplacementView { position: r.position, from: r.from, to: r.to })
                .collect(),
            encoding: smart.encoding,
            segments: smart.segments,
        },
    }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ContactQuery {
    /// The customer's phone, E.164 (required).
    phone: Option<String>,
}

/// Contacts by phone: an admin sees all; an agent only those linked to its conversations.
#[utoipa::path(get, path = "/v1/contacts", tag = "agent", params(ContactQuery),
    responses((status = 200, description = "The contacts with this phone the caller may read", body = ContactList)))]
pub(crate) async fn contacts(
    State(app): State<Arc<App>>,
    who: Principal,
    Query(q): Query<ContactQuery>,
) -> ApiResult<Json<ContactList>> {
    let raw = q.phone.ok_or_else(|| ApiError::field("phone", "is required (?phone=+15551234567)"))?;
    let phone = Phone::parse(&raw).map_err(|e| ApiError::field("phone", e))?;
    let scope = conversations::ContactScope::of(&app, &who).await?;
    let mut items = Vec::new();
    for contact in app.store.contacts_by_phone(&phone).await? {
        if scope.may_read(&app, &contact.id).await? {
            items.push(ContactView::from(&contact));
        }
    }
    Ok(Json(ContactList { items }))
}

/// One contact and its timeline: an admin reads any; an agent only one linked to its conversations (404
/// otherwise, so contact ids are not confirmed).
#[utoipa::path(get, path = "/v1/contacts/{id}", tag = "agent", params(("id" = String, Path)),
    responses((status = 200, description = "The contact and its timeline", body = ContactWithTimeline)))]
pub(crate) async fn contact(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<ContactWithTimeline>> {
    let id = ContactId::new(id);
    let not_found = || ApiError::not_found(format!("no contact '{id}'"));
    if !conversations::ContactScope::of(&app, &who).await?.may_read(&app, &id).await? {
        return Err(not_found());
    }
    let contact = app.store.get_contact(&id).await?.ok_or_else(not_found)?;
    let timeline = app.store.timeline(&id).await?;
    Ok(Json(ContactWithTimeline {
        contact: ContactView::from(&contact),
        timeline: timeline.iter().map(TimelineView::from).collect(),
    }))
}
