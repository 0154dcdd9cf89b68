//! Agent API: work items, conversations and transcripts, replies, close, transfer, contact pick, proactive
//! messages, segment preview, contacts.

use crate::App;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::http::Body;
use crate::services::conversations::{self, TransferTarget};
use crate::services::idempotency::{self, IdempotencyKey, Replay};
use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use smsdesk_domain::lifecycle::WrapUpRequest;
use smsdesk_domain::segment::{analyze, smart_encode, ucs2_positions};
use smsdesk_domain::*;
use std::sync::Arc;

/// Adds the agent routes to `router`.
pub fn routes(router: Router<Arc<App>>) -> Router<Arc<App>> {
    let router = router
        .route("/v1/work-items", get(work_items))
        .route("/v1/work-items/waiting", get(waiting_items))
        .route("/v1/conversations/{id}", get(conversation))
        .route("/v1/conversations/{id}/messages", post(reply))
        .route("/v1/conversations/{id}/messages/{message_id}/resend", post(resend))
        .route("/v1/conversations/{id}/close", post(close))
        .route("/v1/conversations/{id}/wait", post(wait))
        .route("/v1/conversations/{id}/end", post(end))
        .route("/v1/conversations/{id}/wrap-up", post(wrap_up))
        .route("/v1/conversations/{id}/transfer", post(transfer))
        .route("/v1/conversations/{id}/accept", post(accept))
        .route("/v1/conversations/{id}/decline", post(decline))
        .route("/v1/conversations/{id}/contact", post(pick_contact))
        .route("/v1/messages", post(proactive))
        .route("/v1/messages/preview", post(preview))
        .route("/v1/contacts", get(contacts))
        .route("/v1/contacts/{id}", get(contact));
    crate::http::media::routes(router)
}

fn ts(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

fn contact_view(link: &ContactLink) -> (Value, Value) {
    match link {
        ContactLink::Pending => (Value::Null, json!("pending")),
        ContactLink::Linked { contact_id } => (json!(contact_id), json!("linked")),
        ContactLink::NeedsPick { .. } => (Value::Null, json!("needs_pick")),
    }
}

fn work_item(c: &Conversation) -> Value {
    let (contact_id, contact_state) = contact_view(&c.contact);
    json!({
        "conversation_id": c.id, "state": c.state.as_str(), "channel_id": c.channel_id, "queue_id": c.queue_id,
        "agent_id": c.agent_id, "customer": c.customer, "number": c.channel_number,
        "contact_id": contact_id, "contact_state": contact_state, "last_message_at": ts(c.last_message_at),
        "created_at": ts(c.created_at), "queued_at": ts(c.queued_at),
        "offer_expires_at": c.offer.as_ref().map(|o| ts(o.expires_at)),
    })
}

async fn work_items(State(app): State<Arc<App>>, who: Principal) -> ApiResult<Json<Value>> {
    let items = match who.agent_id() {
        Some(agent) => app.store.work_items(agent).await?,
        None => app.store.open_conversations().await?,
    };
    Ok(Json(json!({"items": items.iter().map(work_item).collect::<Vec<_>>()})))
}

/// How many waiting conversations of each queue `GET /v1/work-items/waiting` lists.
const WAITING_PER_QUEUE: usize = 200;

/// The conversations waiting in the caller's queues (an admin: in every queue), longest waiting first: the
/// console's "waiting" tab. An agent may read them (and take them only through assignment).
async fn waiting_items(State(app): State<Arc<App>>, who: Principal) -> ApiResult<Json<Value>> {
    let queues: Vec<QueueId> = match who.agent_id() {
        Some(id) => match app.store.get_agent(id).await? {
            Some(agent) => agent.queues,
            None => Vec::new(),
        },
        None => app.store.list_queues().await?.into_iter().map(|q| q.id).collect(),
    };
    let mut items = Vec::new();
    for queue in &queues {
        items.extend(app.store.waiting_in_queue(queue, WAITING_PER_QUEUE).await?);
    }
    items.sort_by(|a, b| a.queued_at.cmp(&b.queued_at).then_with(|| a.id.cmp(&b.id)));
    Ok(Json(json!({"items": items.iter().map(work_item).collect::<Vec<_>>()})))
}

fn message_view(m: &Message, media: Vec<Value>) -> Value {
    json!({
        "media": media,
        "id": m.id, "direction": m.direction, "author": m.author, "agent_id": m.agent_id, "text": m.text,
        "status": m.status, "encoding": m.encoding.as_str(), "segments": m.segments,
        "provider_message_id": m.provider_message_id, "error": m.error, "attempts": m.attempts,
        "automated": m.automated.map(|k| k.as_str()), "over_limit": m.over_limit,
        "created_at": ts(m.created_at), "updated_at": ts(m.updated_at),
    })
}

/// A conversation and its transcript; each message lists its media (short-lived links to stored items,
/// the reason for failed ones). Callers authorize first.
pub(crate) async fn conversation_view(app: &App, c: &Conversation) -> ApiResult<Value> {
    let messages = app.store.list_messages(&c.id).await?;
    let mut items = crate::services::media::items(app, &c.id).await?;
    items.sort_by_key(|i| i.position);
    let mut media_of = std::collections::HashMap::<MessageId, Vec<Value>>::new();
    for item in &items {
        if let Some(message_id) = &item.message_id {
            let view = crate::services::media::view(app, item).await?;
            media_of.entry(message_id.clone()).or_default().push(view);
        }
    }
    let (contact_id, contact_state) = contact_view(&c.contact);
    let candidates = match &c.contact {
        ContactLink::NeedsPick { candidates } => json!(candidates),
        _ => json!([]),
    };
    Ok(json!({
        "id": c.id, "state": c.state.as_str(), "channel_id": c.channel_id, "queue_id": c.queue_id,
        "agent_id": c.agent_id, "contact_id": contact_id, "contact_state": contact_state,
        "contact_candidates": candidates, "customer": c.customer, "number": c.channel_number,
        "language": c.language, "created_at": ts(c.created_at), "last_message_at": ts(c.last_message_at),
        "closed_at": c.closed_at.map(ts), "close_reason": c.close_reason,
        "handoff_context": c.routing.as_ref().and_then(|r| r.context.clone()),
        "state_changed_at": c.state_changed_at.map(ts), "wrap_up": c.wrap_up.as_ref().map(wrap_up_view),
        "messages": messages
            .iter()
            .map(|m| message_view(m, media_of.remove(&m.id).unwrap_or_default()))
            .collect::<Vec<_>>(),
    }))
}

async fn conversation(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let c = conversations::visible(&app, &who, &id).await?;
    Ok(Json(conversation_view(&app, &c).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplyBody {
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

fn accepted(m: &Message) -> Json<Value> {
    Json(json!({"id": m.id, "status": m.status, "encoding": m.encoding.as_str(), "segments": m.segments}))
}

async fn reply(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
    headers: HeaderMap,
    Body(body): Body<ReplyBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let key = idempotency_key(&headers)?;
    let m = if body.media.is_empty() {
        conversations::reply(&app, &who, &id, &body.text, key.as_ref()).await?
    } else {
        crate::services::media::reply_with_media(&app, &who, &id, &body.text, &body.media, key.as_ref())
            .await?
    };
    Ok((StatusCode::ACCEPTED, accepted(&m)))
}

/// The agent sends an `unknown` or `failed` message again, as a new message (202 with its id).
async fn resend(
    State(app): State<Arc<App>>,
    who: Principal,
    Path((id, message_id)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let m = conversations::resend(&app, &who, &id, &message_id).await?;
    let mut answer = accepted(&m);
    answer["resend_of"] = json!(message_id);
    Ok((StatusCode::ACCEPTED, answer))
}

async fn close(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let c = conversations::close(&app, &who, &id).await?;
    Ok(Json(
        json!({"id": c.id, "state": c.state.as_str(), "closed_at": c.closed_at.map(ts), "close_reason": c.close_reason}),
    ))
}

fn wrap_up_view(w: &WrapUp) -> Value {
    json!({"disposition": w.disposition, "tags": w.tags, "notes": w.notes, "agent_id": w.agent_id, "at": ts(w.at)})
}

/// What `/wait`, `/end` and `/wrap-up` answer: the conversation's state after the move.
fn lifecycle_answer(c: &Conversation) -> Json<Value> {
    let mut answer = work_item(c);
    answer["id"] = json!(c.id);
    answer["state_changed_at"] = json!(c.state_changed_at.map(ts));
    answer["closed_at"] = json!(c.closed_at.map(ts));
    answer["close_reason"] = json!(c.close_reason);
    answer["wrap_up"] = json!(c.wrap_up.as_ref().map(wrap_up_view));
    Json(answer)
}

async fn wait(State(app): State<Arc<App>>, who: Principal, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(lifecycle_answer(&conversations::set_aside(&app, &who, &id).await?))
}

/// `POST /accept`: the caller takes the conversation offered to it.
async fn accept(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(work_item(&crate::services::offers::accept(&app, &who, &id).await?)))
}

/// `POST /decline`: the caller turns the offer down; it goes to another agent.
async fn decline(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    Ok(Json(work_item(&crate::services::offers::decline(&app, &who, &id).await?)))
}

async fn end(State(app): State<Arc<App>>, who: Principal, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    Ok(lifecycle_answer(&conversations::end(&app, &who, &id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WrapUpBody {
    disposition: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    notes: Option<String>,
}

async fn wrap_up(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
    Body(body): Body<WrapUpBody>,
) -> ApiResult<Json<Value>> {
    let request = WrapUpRequest { disposition: body.disposition, tags: body.tags, notes: body.notes };
    Ok(lifecycle_answer(&conversations::wrap_up(&app, &who, &id, request).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransferBody {
    agent_id: Option<String>,
    queue_id: Option<String>,
}

async fn transfer(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
    Body(body): Body<TransferBody>,
) -> ApiResult<Json<Value>> {
    let target = match (body.agent_id, body.queue_id) {
        (Some(a), None) => TransferTarget::Agent(AgentId::new(a)),
        (None, Some(q)) => TransferTarget::Queue(QueueId::new(q)),
        _ => return Err(ApiError::field("agent_id", "give exactly one of agent_id or queue_id")),
    };
    let c = conversations::transfer(&app, &who, &id, target).await?;
    Ok(Json(work_item(&c)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PickBody {
    /// One of the contacts that share the customer's phone.
    #[serde(default)]
    contact_id: Option<String>,
    /// Or a new contact with the customer's phone, when none of them is right.
    #[serde(default)]
    new_contact: Option<NewContactBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewContactBody {
    name: String,
}

async fn pick_contact(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
    Body(body): Body<PickBody>,
) -> ApiResult<Json<Value>> {
    let c = match (body.contact_id, body.new_contact) {
        (Some(contact), None) => conversations::pick_contact(&app, &who, &id, &contact).await?,
        (None, Some(new)) => conversations::new_contact(&app, &who, &id, &new.name).await?,
        _ => return Err(ApiError::field("contact_id", "give either contact_id or new_contact {\"name\"}")),
    };
    Ok(Json(work_item(&c)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProactiveBody {
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
async fn proactive(
    State(app): State<Arc<App>>,
    who: Principal,
    headers: HeaderMap,
    Body(body): Body<ProactiveBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
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
    let text = MessageText::parse(body.text)
        .map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_text", format!("text: {e}")))?;
    // With an Idempotency-Key, a retry answers with what the first request created, and does nothing else.
    let session = if body.session { "session" } else { "one-off" };
    let print = ["proactive", channel.id.as_str(), from.e164(), to.e164(), text.as_str(), session];
    let message_id = match idempotency::replay(&app, &who, key.as_ref(), &print).await? {
        Replay::Answered(first) => {
            let answer =
                json!({"id": first.id, "status": first.status, "conversation_id": first.conversation_id});
            return Ok((StatusCode::ACCEPTED, Json(answer)));
        }
        Replay::Proceed(id) => id,
    };
    let send = conversations::Proactive { channel, number, to, text, session: body.session, message_id };
    let (conversation, message) = conversations::proactive(&app, &who, send).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({"id": message.id, "status": message.status, "conversation_id": conversation.id})),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewBody {
    #[serde(default)]
    channel_id: Option<String>,
    text: String,
}

async fn preview(
    State(app): State<Arc<App>>,
    _who: Principal,
    Body(body): Body<PreviewBody>,
) -> ApiResult<Json<Value>> {
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
    // What is sent: the text after smart encoding when the channel has it on.
    let sent = if smart_on { smart_text.as_str() } else { body.text.as_str() };
    let info = analyze(sent);
    let smart = analyze(&smart_text);
    let positions: Vec<Value> = ucs2_positions(sent)
        .into_iter()
        .map(|(p, c)| json!({"position": p, "character": c.to_string()}))
        .collect();
    Ok(Json(json!({
        "encoding": info.encoding.as_str(), "segments": info.segments, "characters": info.characters,
        "units": info.units, "ucs2_characters": info.ucs2_characters, "ucs2_positions": positions,
        "max_characters": MAX_MESSAGE_CHARS, "over_limit": info.characters as usize > MAX_MESSAGE_CHARS,
        "text": sent,
        "smart_encoding": {
            "enabled": smart_on, "text": smart_text, "changes": changes,
            "encoding": smart.encoding.as_str(), "segments": smart.segments,
        },
    })))
}

#[derive(Deserialize)]
struct ContactQuery {
    phone: Option<String>,
}

/// Contacts by phone: an admin sees all; an agent only those linked to its conversations.
async fn contacts(
    State(app): State<Arc<App>>,
    who: Principal,
    Query(q): Query<ContactQuery>,
) -> ApiResult<Json<Value>> {
    let raw = q.phone.ok_or_else(|| ApiError::field("phone", "is required (?phone=+15551234567)"))?;
    let phone = Phone::parse(&raw).map_err(|e| ApiError::field("phone", e))?;
    let scope = conversations::ContactScope::of(&app, &who).await?;
    let mut items = Vec::new();
    for contact in app.store.contacts_by_phone(&phone).await? {
        if scope.may_read(&app, &contact.id).await? {
            items.push(contact);
        }
    }
    Ok(Json(json!({"items": items})))
}

/// One contact and its timeline: an admin reads any; an agent only one linked to its conversations (404
/// otherwise, so contact ids are not confirmed).
async fn contact(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = ContactId::new(id);
    let not_found = || ApiError::not_found(format!("no contact '{id}'"));
    if !conversations::ContactScope::of(&app, &who).await?.may_read(&app, &id).await? {
        return Err(not_found());
    }
    let contact = app.store.get_contact(&id).await?.ok_or_else(not_found)?;
    let timeline = app.store.timeline(&id).await?;
    let mut view = json!(contact);
    view["timeline"] = json!(timeline);
    Ok(Json(view))
}
