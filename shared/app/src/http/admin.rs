//! Admin API: queues, agents and presence, channels and their validation, contacts.

use crate::App;
use crate::auth::{Principal, token_hash};
use crate::error::{ApiError, ApiResult};
use crate::http::Body;
use crate::services::{assignment, channels};
use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};
use smsdesk_domain::*;
use smsdesk_ports::AgentWrite;
use std::sync::Arc;

/// Adds the admin routes to `router`.
pub fn routes(router: Router<Arc<App>>) -> Router<Arc<App>> {
    let router = router
        .route("/v1/queues", post(create_queue).get(list_queues))
        .route("/v1/agents", post(create_agent).get(list_agents))
        .route("/v1/agents/{id}", get(get_agent))
        .route("/v1/agents/{id}/presence", post(set_presence))
        .route("/v1/channels", post(create_channel).get(list_channels))
        .route("/v1/channels/{id}", get(get_channel).patch(patch_channel))
        .route("/v1/consent", get(get_consent).post(change_consent))
        .route("/v1/channels/{id}/credentials", axum::routing::put(rotate_credentials))
        .route("/v1/channels/{id}/numbers", axum::routing::put(set_numbers))
        .route("/v1/contacts", post(create_contact));
    validate_routes(router)
}

/// Adds the channel validation route to `router`.
pub fn validate_routes(router: Router<Arc<App>>) -> Router<Arc<App>> {
    router.route("/v1/channels/{id}/validate", post(validate_channel))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewQueue {
    name: String,
    /// When the queue is staffed; absent: always open.
    #[serde(default)]
    operating_hours: Option<smsdesk_domain::hours::OperatingHours>,
    /// Wrap-up settings (acd); the lead wires them into `PATCH /v1/queues/{id}` too.
    #[serde(default)]
    dispositions: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    disposition_required: bool,
    wrap_up_limit_secs: Option<u64>,
    /// Priority and escalation (acd).
    #[serde(default)]
    initial_priority: u32,
    #[serde(default)]
    escalation_add: u32,
    #[serde(default)]
    escalation_every_secs: u64,
    #[serde(default)]
    max_priority: u32,
}

/// A queue as the admin API shows it.
fn queue_view(q: &WorkQueue) -> Value {
    json!({
        "id": q.id, "name": q.name, "dispositions": q.dispositions, "tags": q.tags,
        "disposition_required": q.disposition_required, "wrap_up_limit_secs": q.wrap_up_limit_secs,
        "initial_priority": q.initial_priority, "escalation_add": q.escalation_add,
        "escalation_every_secs": q.escalation_every_secs, "max_priority": q.max_priority,
        "operating_hours": q.operating_hours,
    })
}

async fn create_queue(
    State(app): State<Arc<App>>,
    who: Principal,
    Body(body): Body<NewQueue>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    who.require_admin()?;
    let name = body.name.trim();
    if name.is_empty() {
        return Err(ApiError::field("name", "must not be empty"));
    }
    if let Some(hours) = &body.operating_hours {
        smsdesk_domain::hours::validate(hours).map_err(|e| ApiError::field(e.field, e.rule))?;
    }
    let mut queue = WorkQueue::new(QueueId::new(app.ids.new_id(QueueId::PREFIX)), name, app.clock.now());
    queue.operating_hours = body.operating_hours;
    queue.dispositions = body.dispositions;
    queue.tags = body.tags;
    queue.disposition_required = body.disposition_required;
    if let Some(limit) = body.wrap_up_limit_secs {
        queue.wrap_up_limit_secs = limit;
    }
    (queue.initial_priority, queue.escalation_add) = (body.initial_priority, body.escalation_add);
    (queue.escalation_every_secs, queue.max_priority) = (body.escalation_every_secs, body.max_priority);
    smsdesk_domain::lifecycle::validate_wrap_up(&queue).map_err(|e| ApiError::field(e.field, e.rule))?;
    smsdesk_domain::assign::validate_priority(&queue).map_err(|e| ApiError::field(e.field, e.rule))?;
    app.store.put_queue(&queue).await?;
    Ok((StatusCode::CREATED, Json(queue_view(&queue))))
}

async fn list_queues(State(app): State<Arc<App>>, who: Principal) -> ApiResult<Json<Value>> {
    who.require_admin()?;
    let queues = app.store.list_queues().await?;
    let mut items = Vec::with_capacity(queues.len());
    for q in queues {
        let waiting = app.store.waiting_in_queue(&q.id, 1000).await?.len();
        let mut item = queue_view(&q);
        item["waiting"] = json!(waiting);
        items.push(item);
    }
    Ok(Json(json!({"items": items})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAgent {
    name: String,
    queues: Vec<String>,
    capacity: u32,
    /// The identity provider's user id (JWT `sub`) that signs in as this agent behind API Gateway.
    #[serde(default)]
    subject: Option<String>,
}

fn agent_view(a: &Agent) -> Value {
    json!({"id": a.id, "name": a.name, "queues": a.queues, "capacity": a.capacity, "presence": a.presence.as_str(), "active": a.active, "subject": a.subject})
}

async fn create_agent(
    State(app): State<Arc<App>>,
    who: Principal,
    Body(body): Body<NewAgent>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    who.require_admin()?;
    let name = body.name.trim();
    if name.is_empty() {
        return Err(ApiError::field("name", "must not be empty"));
    }
    if !(1..=100).contains(&body.capacity) {
        return Err(ApiError::field("capacity", "must be between 1 and 100"));
    }
    let mut queues = Vec::with_capacity(body.queues.len());
    for (i, q) in body.queues.iter().enumerate() {
        let id = QueueId::new(q.clone());
        if app.store.get_queue(&id).await?.is_none() {
            return Err(ApiError::field(format!("queues[{i}]"), format!("no queue '{q}'")));
        }
        queues.push(id);
    }
    let subject = match body.subject.as_deref().map(str::trim) {
        None => None,
        Some(s) if s.is_empty() || s.len() > 256 || s.chars().any(char::is_control) => {
            return Err(ApiError::field("subject", "must be 1 to 256 printable characters"));
        }
        Some(s) => Some(s.to_string()),
    };
    let agent = Agent {
        id: AgentId::new(app.ids.new_id(AgentId::PREFIX)),
        name: name.to_string(),
        queues,
        capacity: body.capacity,
        presence: Presence::Offline,
        active: 0,
        last_assigned_at: None,
        created_at: app.clock.now(),
        subject,
    };
    let token = new_token();
    if app.store.put_agent(&agent, &token_hash(&token)).await? == AgentWrite::SubjectTaken {
        return Err(ApiError::conflict("conflict", "subject: another agent has this subject"));
    }
    let mut view = agent_view(&agent);
    view["token"] = json!(token);
    Ok((StatusCode::CREATED, Json(view)))
}

/// A fresh agent token: 244 random bits (two UUIDv4s from the OS's randomness), URL-safe base64.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    format!("sdk_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

async fn list_agents(State(app): State<Arc<App>>, who: Principal) -> ApiResult<Json<Value>> {
    who.require_admin()?;
    let agents = app.store.list_agents().await?;
    Ok(Json(json!({"items": agents.iter().map(agent_view).collect::<Vec<_>>()})))
}

async fn get_agent(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id = AgentId::new(id);
    if !who.is_admin() && who.agent_id() != Some(&id) {
        return Err(ApiError::not_found(format!("no agent '{id}'")));
    }
    let agent =
        app.store.get_agent(&id).await?.ok_or_else(|| ApiError::not_found(format!("no agent '{id}'")))?;
    Ok(Json(agent_view(&agent)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PresenceBody {
    status: String,
}

async fn set_presence(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
    Body(body): Body<PresenceBody>,
) -> ApiResult<Json<Value>> {
    let id = AgentId::new(id);
    if !who.is_admin() && who.agent_id() != Some(&id) {
        return Err(ApiError::forbidden("an agent may set only its own presence"));
    }
    let presence = Presence::parse(&body.status).ok_or_else(|| {
        ApiError::field("status", format!("'{}' is not one of available, busy, away, offline", body.status))
    })?;
    let agent = app
        .store
        .set_presence(&id, presence)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no agent '{id}'")))?;
    if presence == Presence::Available {
        assignment::dispatch_for_agent(&app, &id).await?;
    }
    let agent = app.store.get_agent(&id).await?.unwrap_or(agent);
    Ok(Json(agent_view(&agent)))
}

async fn create_channel(
    State(app): State<Arc<App>>,
    who: Principal,
    Body(body): Body<Value>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    who.require_admin()?;
    Ok((StatusCode::CREATED, Json(channels::create(&app, &body).await?)))
}

async fn list_channels(State(app): State<Arc<App>>, who: Principal) -> ApiResult<Json<Value>> {
    who.require_admin()?;
    let mut items = Vec::new();
    for c in app.store.list_channels().await? {
        if let Some(creds) = app.secrets.get_credentials(&c.id).await? {
            items.push(channels::view(&app, &c, &creds));
        }
    }
    Ok(Json(json!({"items": items})))
}

async fn get_channel(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    who.require_admin()?;
    let (channel, credentials) = channels::get(&app, &id).await?;
    Ok(Json(channels::view(&app, &channel, &credentials)))
}

/// `PATCH /v1/channels/{id}`: JSON merge patch of the channel's settings (see [`channels::patch`]).
async fn patch_channel(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
    Body(body): Body<Value>,
) -> ApiResult<Json<Value>> {
    who.require_admin()?;
    Ok(Json(channels::patch(&app, &id, &body).await?))
}

#[derive(Deserialize)]
struct ConsentQuery {
    phone: Option<String>,
}

/// A customer's consent: per number of every channel, organization-wide, and the whole history (the audit
/// trail: every change with its time, number, cause).
async fn get_consent(
    State(app): State<Arc<App>>,
    who: Principal,
    axum::extract::Query(q): axum::extract::Query<ConsentQuery>,
) -> ApiResult<Json<Value>> {
    who.require_admin()?;
    let raw = q.phone.ok_or_else(|| ApiError::field("phone", "is required (?phone=+15551234567)"))?;
    let phone = Phone::parse(&raw).map_err(|e| ApiError::field("phone", e))?;
    Ok(Json(consent_view(&app, &phone).await?))
}

async fn consent_view(app: &App, phone: &Phone) -> ApiResult<Value> {
    use smsdesk_domain::consent::{opted_out, opted_out_everywhere};
    let history = app.store.consent_history(phone).await?;
    let mut numbers = Vec::new();
    for channel in app.store.list_channels().await? {
        for n in &channel.numbers {
            numbers.push(json!({
                "number": n.number, "channel_id": channel.id, "opted_out": opted_out(&history, &n.number),
            }));
        }
    }
    Ok(json!({
        "phone": phone, "opted_out_everywhere": opted_out_everywhere(&history), "numbers": numbers,
        "history": history,
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsentBody {
    phone: String,
    /// One of our numbers (digits, or E.164); absent: every number of the organization.
    #[serde(default)]
    number: Option<String>,
    opted_out: bool,
    #[serde(default)]
    note: Option<String>,
}

/// An admin records a consent change (cause `admin`), e.g. an opt-out received by phone or in writing.
async fn change_consent(
    State(app): State<Arc<App>>,
    who: Principal,
    Body(body): Body<ConsentBody>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    use smsdesk_domain::consent::{ConsentCause, ConsentChange, ConsentEvent};
    who.require_admin()?;
    let phone = Phone::parse(&body.phone).map_err(|e| ApiError::field("phone", e))?;
    let mut channel_id = None;
    let number = match body.number.as_deref() {
        None => None,
        Some(raw) => {
            let n = Phone::parse(raw).map_err(|e| ApiError::field("number", e))?;
            let channel = app.store.list_channels().await?.into_iter().find(|c| c.number(&n).is_some());
            let channel = channel
                .ok_or_else(|| ApiError::field("number", format!("{n} is not a number of any channel")))?;
            channel_id = Some(channel.id);
            Some(n)
        }
    };
    let note = body.note.map(|n| n.trim().to_string()).filter(|n| !n.is_empty());
    if note.as_ref().is_some_and(|n| n.chars().count() > 500) {
        return Err(ApiError::field("note", "must be at most 500 characters"));
    }
    let change = ConsentChange {
        id: app.ids.new_id("consent_"),
        customer: phone.clone(),
        number,
        channel_id,
        event: if body.opted_out { ConsentEvent::OptOut } else { ConsentEvent::OptIn },
        cause: ConsentCause::Admin,
        detail: note,
        at: app.clock.now(),
    };
    app.store.record_consent(&change).await?;
    tracing::info!(customer = %phone.masked(), everywhere = change.number.is_none(), opted_out = body.opted_out, "consent changed by an admin");
    Ok((StatusCode::CREATED, Json(consent_view(&app, &phone).await?)))
}

async fn rotate_credentials(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
    Body(body): Body<Value>,
) -> ApiResult<Json<Value>> {
    who.require_admin()?;
    Ok(Json(channels::rotate(&app, &id, &body).await?))
}

async fn set_numbers(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
    Body(body): Body<Value>,
) -> ApiResult<Json<Value>> {
    who.require_admin()?;
    Ok(Json(channels::set_numbers(&app, &id, &body).await?))
}

async fn validate_channel(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    who.require_admin()?;
    Ok(Json(channels::validate(&app, &id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewContact {
    name: String,
    phone: String,
}

async fn create_contact(
    State(app): State<Arc<App>>,
    who: Principal,
    Body(body): Body<NewContact>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    who.require_admin()?;
    let phone = Phone::parse(&body.phone).map_err(|e| ApiError::field("phone", e))?;
    let name = body.name.trim();
    if name.is_empty() {
        return Err(ApiError::field("name", "must not be empty"));
    }
    let contact = Contact {
        id: ContactId::new(app.ids.new_id(ContactId::PREFIX)),
        name: name.to_string(),
        phone,
        created_at: app.clock.now(),
    };
    app.store.put_contact(&contact).await?;
    Ok((StatusCode::CREATED, Json(json!(contact))))
}
