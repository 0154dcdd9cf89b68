//! Admin API: queues, agents and presence, channels and their validation, contacts.

use crate::App;
use crate::auth::{Admin, Principal, token_hash};
use crate::error::{ApiError, ApiResult};
use crate::http::Body;
use crate::http::Path;
use crate::http::views::*;
use crate::services::{assignment, channels, offers};
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;
use smsdesk_domain::validation;
use smsdesk_domain::*;
use smsdesk_ports::{AgentSettings, AgentWrite};
use std::sync::Arc;
use utoipa::ToSchema;

/// Adds the admin routes to `router`.
pub fn routes(router: Router<Arc<App>>) -> Router<Arc<App>> {
    let router = router
        .route("/v1/queues", post(create_queue).get(list_queues))
        .route("/v1/agents", post(create_agent).get(list_agents))
        .route("/v1/agents/{id}", get(get_agent).patch(patch_agent))
        .route("/v1/agents/{id}/presence", post(set_presence))
        .route("/v1/channels", post(create_channel).get(list_channels))
        .route("/v1/channels/{id}", get(get_channel).patch(patch_channel))
        .route("/v1/consent", get(get_consent).post(change_consent))
        .route("/v1/channels/{id}/credentials", axum::routing::put(rotate_credentials))
        .route("/v1/channels/{id}/numbers", axum::routing::put(set_numbers))
        .route("/v1/contacts", post(create_contact));
    let router = crate::http::teams::routes(router);
    crate::http::customers::routes(crate::http::quick_replies::routes(crate::http::queues::routes(router)))
}

/// Adds the channel validation route to `router`.
pub fn validate_routes(router: Router<Arc<App>>) -> Router<Arc<App>> {
    router.route("/v1/channels/{id}/validate", post(validate_channel))
}

/// Adds the channel validation route of agent-api, which does not validate: in AWS validate-credentials
/// does, on the API's route (its own role may call End User Messaging; agent-api's build links no such
/// client). API Gateway never sends agent-api this path; agent-api's own function URL
/// (`ApiIngress=FunctionUrl`) sends it everything, so the admin is told where the call goes.
pub fn validate_elsewhere_routes(router: Router<Arc<App>>) -> Router<Arc<App>> {
    router.route("/v1/channels/{id}/validate", post(validate_elsewhere))
}

/// 421 naming the URL that validates the channel: the API's.
async fn validate_elsewhere(State(app): State<Arc<App>>, who: Principal, Path(id): Path<String>) -> ApiError {
    if let Err(e) = who.require_admin() {
        return e;
    }
    let api = app.config.public_base_url.trim_end_matches('/');
    ApiError::new(
        StatusCode::MISDIRECTED_REQUEST,
        "validate_at_api",
        format!("channels are validated at the API's URL: POST {api}/v1/channels/{id}/validate"),
    )
}

/// Creates a queue (admin): `{"name"}` and optionally any queue setting (`hidden`, `service_level_seconds`,
/// `expiry_seconds`, `expiry_message`, `bot`: `{"url", "secret"}`, offers' and priority settings), validated as
/// `PATCH /v1/queues/{id}` validates them.
#[utoipa::path(post, path = "/v1/queues", tag = "admin", request_body = NewQueue,
    responses((status = 201, description = "Created", body = QueueView)))]
pub(crate) async fn create_queue(
    State(app): State<Arc<App>>,
    _: Admin,
    Body(body): Body<Value>,
) -> ApiResult<(StatusCode, Json<QueueView>)> {
    let queue = crate::http::queues::create(&app, &body).await?;
    Ok((StatusCode::CREATED, Json(crate::http::queues::view(&app, &queue).await?)))
}

/// Every queue with how many conversations wait in it (admins; supervisors: the queues they serve).
#[utoipa::path(get, path = "/v1/queues", tag = "admin",
    responses((status = 200, description = "The queues", body = QueueList)))]
pub(crate) async fn list_queues(State(app): State<Arc<App>>, who: Principal) -> ApiResult<Json<QueueList>> {
    let reader = crate::http::queues::queue_reader(&app, &who).await?;
    let actor = crate::services::conversations::actor(&reader);
    let queues = app.store.list_queues().await?;
    let mut items = Vec::with_capacity(queues.len());
    for q in queues.into_iter().filter(|q| smsdesk_domain::access::reads_queue(actor, &q.id)) {
        items.push(crate::http::queues::view(&app, &q).await?);
    }
    Ok(Json(QueueList { items }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewAgent {
    #[schema(min_length = 1)]
    name: String,
    queues: Vec<String>,
    #[schema(minimum = 1, maximum = 100)]
    capacity: u32,
    /// The identity provider's user id (JWT `sub`) that signs in as this agent behind API Gateway.
    #[serde(default)]
    subject: Option<String>,
    /// `agent` (the default) or `supervisor` (reads and acts on everything in their queues).
    #[serde(default)]
    #[schema(example = "agent")]
    role: Option<String>,
}

/// Creates an agent (admin); the answer carries its token, shown this once.
#[utoipa::path(post, path = "/v1/agents", tag = "admin", request_body = NewAgent,
    responses((status = 201, description = "Created, with the agent's token", body = AgentView)))]
pub(crate) async fn create_agent(
    State(app): State<Arc<App>>,
    _: Admin,
    Body(body): Body<NewAgent>,
) -> ApiResult<(StatusCode, Json<AgentView>)> {
    let name = body.name.trim();
    if name.is_empty() {
        return Err(ApiError::field("name", "must not be empty"));
    }
    validation::check_display_name("name", name)?;
    if !(1..=100).contains(&body.capacity) {
        return Err(ApiError::field("capacity", "must be between 1 and 100"));
    }
    let mut queues = Vec::with_capacity(body.queues.len());
    for (i, q) in body.queues.iter().enumerate() {
        let id = QueueId::new(q.clone());
        if queues.contains(&id) {
            return Err(ApiError::field(format!("queues[{i}]"), "each queue at most once"));
        }
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
    let role = match body.role.as_deref() {
        None => Role::Agent,
        Some(raw) => Role::parse(raw)
            .ok_or_else(|| ApiError::field("role", format!("'{raw}' is not one of agent, supervisor")))?,
    };
    let agent = Agent {
        role,
        id: AgentId::new(app.ids.new_id(AgentId::PREFIX)),
        name: name.to_string(),
        queues,
        capacity: body.capacity,
        presence: Presence::Offline,
        active: 0,
        last_assigned_at: None,
        created_at: app.clock.now(),
        subject,
        missed_offers: 0,
        presence_changed_at: None,
        team_id: None,
    };
    let token = new_token();
    if app.store.put_agent(&agent, &token_hash(&token)).await? == AgentWrite::SubjectTaken {
        return Err(ApiError::conflict("conflict", "subject: another agent has this subject"));
    }
    Ok((StatusCode::CREATED, Json(AgentView { token: Some(token), ..AgentView::from(&agent) })))
}

/// `PATCH /v1/agents/{id}` (admin), JSON merge-patch semantics: `name`, `queues` and `capacity` change;
/// presence has its own route, counts are the store's, `id`, `subject` and `created_at` are immutable. Each
/// refusal is a 400 naming the field and the rule. A capacity that grew serves the agent's queues at once.
#[utoipa::path(patch, path = "/v1/agents/{id}", tag = "admin", params(("id" = String, Path)),
    request_body(content = AgentPatch, content_type = "application/json"),
    responses((status = 200, description = "The agent after the change", body = AgentView)))]
pub(crate) async fn patch_agent(
    State(app): State<Arc<App>>,
    _: Admin,
    Path(id): Path<String>,
    Body(patch): Body<Value>,
) -> ApiResult<Json<AgentView>> {
    let id = AgentId::new(id);
    let agent =
        app.store.get_agent(&id).await?.ok_or_else(|| ApiError::not_found(format!("no agent '{id}'")))?;
    let Some(patch) = patch.as_object() else {
        return Err(ApiError::field("body", "must be a JSON object (merge patch)"));
    };
    let mut settings =
        AgentSettings { name: agent.name.clone(), queues: agent.queues.clone(), capacity: agent.capacity };
    // The team to join (`Some(None)`: leave it), checked with the rest before anything is stored.
    let mut team: Option<Option<TeamId>> = None;
    for (field, value) in patch {
        match field.as_str() {
            "name" => {
                let name = value.as_str().map(str::trim).filter(|n| !n.is_empty());
                let name = name.ok_or_else(|| ApiError::field("name", "must be a non-empty string"))?;
                validation::check_display_name("name", name)?;
                settings.name = name.to_string();
            }
            "capacity" => {
                let capacity = value.as_u64().filter(|c| (1..=100).contains(c));
                let capacity =
                    capacity.ok_or_else(|| ApiError::field("capacity", "must be between 1 and 100"))?;
                settings.capacity = u32::try_from(capacity).unwrap_or(100);
            }
            "queues" => {
                let Some(list) = value.as_array() else {
                    return Err(ApiError::field("queues", "must be a list of queue ids"));
                };
                let mut queues = Vec::with_capacity(list.len());
                for (i, q) in list.iter().enumerate() {
                    let Some(q) = q.as_str() else {
                        return Err(ApiError::field(format!("queues[{i}]"), "must be a queue id"));
                    };
                    let qid = QueueId::new(q);
                    if app.store.get_queue(&qid).await?.is_none() {
                        return Err(ApiError::field(format!("queues[{i}]"), format!("no queue '{q}'")));
                    }
                    if !queues.contains(&qid) {
                        queues.push(qid);
                    }
                }
                settings.queues = queues;
            }
            "team_id" => {
                let joined = match value {
                    Value::Null => None,
                    Value::String(t) => Some(TeamId::new(t.as_str())),
                    _ => return Err(ApiError::field("team_id", "must be a team id or null")),
                };
                if let Some(t) = &joined
                    && app.store.get_team(t).await?.is_none()
                {
                    return Err(ApiError::field("team_id", format!("no team '{t}'")));
                }
                team = Some(joined);
            }
            "id" | "subject" | "created_at" => {
                return Err(ApiError::field(field, "cannot be changed"));
            }
            "presence" => {
                return Err(ApiError::field(field, "is set with POST /v1/agents/{id}/presence"));
            }
            "active" | "missed_offers" | "last_assigned_at" => {
                return Err(ApiError::field(field, "is kept by smsdesk and cannot be set"));
            }
            other => return Err(ApiError::field(other, "is not a setting of an agent")),
        }
    }
    let updated = app
        .store
        .update_agent(&id, &settings)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no agent '{id}'")))?;
    let updated = match team {
        Some(team) => set_team(&app, &id, team.as_ref()).await?,
        None => updated,
    };
    crate::services::assignment::dispatch_for_agent(&app, &id).await?;
    Ok(Json(AgentView::from(&updated)))
}

/// `team_id` of an agent's patch: a team joins it (leaving any other: one team per agent), None leaves the
/// agent's team. The slots the agent holds move with it.
async fn set_team(app: &App, id: &AgentId, team: Option<&TeamId>) -> ApiResult<Agent> {
    match app.store.set_agent_team(id, team).await? {
        smsdesk_ports::TeamJoin::Done(agent) => Ok(agent),
        smsdesk_ports::TeamJoin::NoAgent => Err(ApiError::not_found(format!("no agent '{id}'"))),
        smsdesk_ports::TeamJoin::NoTeam => {
            Err(ApiError::field("team_id", format!("no team '{}'", team.map_or("", TeamId::as_str))))
        }
    }
}

/// A fresh agent token: 244 random bits (two UUIDv4s from the OS's randomness), URL-safe base64.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    bytes[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    format!("sdk_{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Every agent (admin).
#[utoipa::path(get, path = "/v1/agents", tag = "admin",
    responses((status = 200, description = "The agents", body = AgentList)))]
pub(crate) async fn list_agents(State(app): State<Arc<App>>, who: Principal) -> ApiResult<Json<AgentList>> {
    who.require_admin()?;
    let agents = app.store.list_agents().await?;
    Ok(Json(AgentList { items: agents.iter().map(AgentView::from).collect() }))
}

/// One agent: an admin reads any, an agent itself.
#[utoipa::path(get, path = "/v1/agents/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, description = "The agent", body = AgentView)))]
pub(crate) async fn get_agent(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<AgentView>> {
    let id = AgentId::new(id);
    if !who.is_admin() && who.agent_id() != Some(&id) {
        return Err(ApiError::not_found(format!("no agent '{id}'")));
    }
    let agent =
        app.store.get_agent(&id).await?.ok_or_else(|| ApiError::not_found(format!("no agent '{id}'")))?;
    Ok(Json(AgentView::from(&agent)))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PresenceBody {
    /// `available`, `busy`, `away` or `offline`.
    #[schema(value_type = PresenceSchema, example = "available")]
    status: String,
}

/// Sets an agent's presence (the agent itself or an admin).
#[utoipa::path(post, path = "/v1/agents/{id}/presence", tag = "admin", params(("id" = String, Path)),
    request_body = PresenceBody,
    responses((status = 200, description = "The agent", body = AgentView)))]
pub(crate) async fn set_presence(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
    Body(body): Body<PresenceBody>,
) -> ApiResult<Json<AgentView>> {
    let id = AgentId::new(id);
    if !who.is_admin() && who.agent_id() != Some(&id) {
        return Err(ApiError::forbidden("an agent may set only its own presence"));
    }
    let presence = Presence::parse(&body.status).ok_or_else(|| {
        ApiError::field("status", format!("'{}' is not one of available, busy, away, offline", body.status))
    })?;
    let agent = app
        .store
        .set_presence(&id, presence, app.clock.now())
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no agent '{id}'")))?;
    if presence == Presence::Available {
        assignment::dispatch_for_agent(&app, &id).await?;
    } else {
        offers::withdraw_all(&app, &id).await?;
    }
    let agent = app.store.get_agent(&id).await?.unwrap_or(agent);
    Ok(Json(AgentView::from(&agent)))
}

/// Creates a channel (admin). The body is checked field by field (a 400 names the field and the rule).
#[utoipa::path(post, path = "/v1/channels", tag = "admin", request_body = channels::NewChannel,
    responses((status = 201, description = "Created", body = ChannelView)))]
pub(crate) async fn create_channel(
    State(app): State<Arc<App>>,
    _: Admin,
    Body(body): Body<Value>,
) -> ApiResult<(StatusCode, Json<ChannelView>)> {
    Ok((StatusCode::CREATED, Json(channels::create(&app, &body).await?)))
}

/// Every channel, credentials redacted (admin).
#[utoipa::path(get, path = "/v1/channels", tag = "admin",
    responses((status = 200, description = "The channels", body = ChannelList)))]
pub(crate) async fn list_channels(
    State(app): State<Arc<App>>,
    who: Principal,
) -> ApiResult<Json<ChannelList>> {
    who.require_admin()?;
    let mut items = Vec::new();
    for c in app.store.list_channels().await? {
        if let Some(creds) = app.secrets.get_credentials(&c.id).await? {
            items.push(channels::view(&app, &c, &creds));
        }
    }
    Ok(Json(ChannelList { items }))
}

/// One channel, credentials redacted (admin).
#[utoipa::path(get, path = "/v1/channels/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, description = "The channel", body = ChannelView)))]
pub(crate) async fn get_channel(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<ChannelView>> {
    who.require_admin()?;
    let (channel, credentials) = channels::get(&app, &id).await?;
    Ok(Json(channels::view(&app, &channel, &credentials)))
}

/// `PATCH /v1/channels/{id}`: JSON merge patch of the channel's settings (see [`channels::patch`]).
#[utoipa::path(patch, path = "/v1/channels/{id}", tag = "admin", params(("id" = String, Path)),
    request_body(content = channels::ChannelPatch, description = "JSON merge patch of the channel's settings"),
    responses((status = 200, description = "The channel", body = ChannelView)))]
pub(crate) async fn patch_channel(
    State(app): State<Arc<App>>,
    _: Admin,
    Path(id): Path<String>,
    Body(body): Body<Value>,
) -> ApiResult<Json<ChannelView>> {
    Ok(Json(channels::patch(&app, &id, &body).await?))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ConsentQuery {
    /// The customer's phone number.
    phone: Option<String>,
}

/// A customer's consent: per number of every channel, organization-wide, and the whole history (the audit
/// trail: every change with its time, number, cause).
#[utoipa::path(get, path = "/v1/consent", tag = "admin", params(ConsentQuery),
    responses((status = 200, description = "The customer's consent and its history", body = ConsentView)))]
pub(crate) async fn get_consent(
    State(app): State<Arc<App>>,
    who: Principal,
    crate::http::Query(q): crate::http::Query<ConsentQuery>,
) -> ApiResult<Json<ConsentView>> {
    who.require_admin()?;
    let raw = q.phone.ok_or_else(|| ApiError::field("phone", "is required (?phone=+15551234567)"))?;
    let phone = Phone::parse(&raw).map_err(|e| ApiError::field("phone", e))?;
    Ok(Json(consent_view(&app, &phone).await?))
}

async fn consent_view(app: &App, phone: &Phone) -> ApiResult<ConsentView> {
    use smsdesk_domain::consent::{opted_out, opted_out_everywhere};
    let history = app.store.consent_history(phone).await?;
    let mut numbers = Vec::new();
    for channel in app.store.list_channels().await? {
        for n in &channel.numbers {
            numbers.push(ConsentNumberView {
                number: n.number.clone(),
                channel_id: channel.id.clone(),
                opted_out: opted_out(&history, &n.number),
            });
        }
    }
    Ok(ConsentView {
        phone: phone.clone(),
        opted_out_everywhere: opted_out_everywhere(&history),
        numbers,
        history: serde_json::to_value(&history).unwrap_or_default(),
    })
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsentBody {
    phone: String,
    /// One of our numbers (digits, or E.164); absent: every number of the organization.
    #[serde(default)]
    number: Option<String>,
    opted_out: bool,
    #[serde(default)]
    note: Option<String>,
}

/// An admin records a consent change (cause `admin`), e.g. an opt-out received by phone or in writing.
#[utoipa::path(post, path = "/v1/consent", tag = "admin", request_body = ConsentBody,
    responses((status = 201, description = "The customer's consent after the change", body = ConsentView)))]
pub(crate) async fn change_consent(
    State(app): State<Arc<App>>,
    _: Admin,
    Body(body): Body<ConsentBody>,
) -> ApiResult<(StatusCode, Json<ConsentView>)> {
    use smsdesk_domain::consent::{ConsentCause, ConsentChange, ConsentEvent};
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
    if let Some(note) = &note {
        validation::check_free_text("note", note)?;
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

/// Replaces the channel's credentials (key rotation; admin). The body is the provider's credential fields.
#[utoipa::path(put, path = "/v1/channels/{id}/credentials", tag = "admin", params(("id" = String, Path)),
    request_body(content = Object, description = "The provider's credential fields (as `credentials` of a new channel)"),
    responses((status = 200, description = "The channel", body = ChannelView)))]
pub(crate) async fn rotate_credentials(
    State(app): State<Arc<App>>,
    _: Admin,
    Path(id): Path<String>,
    Body(body): Body<Value>,
) -> ApiResult<Json<ChannelView>> {
    Ok(Json(channels::rotate(&app, &id, &body).await?))
}

/// Sets the channel's numbers; open conversations on them move here (admin).
#[utoipa::path(put, path = "/v1/channels/{id}/numbers", tag = "admin", params(("id" = String, Path)),
    request_body = channels::NumbersBody,
    responses((status = 200, description = "The channel, with how many conversations moved", body = ChannelView)))]
pub(crate) async fn set_numbers(
    State(app): State<Arc<App>>,
    _: Admin,
    Path(id): Path<String>,
    Body(body): Body<Value>,
) -> ApiResult<Json<ChannelView>> {
    Ok(Json(channels::set_numbers(&app, &id, &body).await?))
}

/// Proves the channel's credentials with the provider's cheapest read-only call (admin); 502
/// `provider_unreachable` when the provider cannot be reached.
#[utoipa::path(post, path = "/v1/channels/{id}/validate", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, description = "Whether the provider accepted the credentials", body = ValidationView)))]
pub(crate) async fn validate_channel(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<ValidationView>> {
    who.require_admin()?;
    Ok(Json(channels::validate(&app, &id).await?))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewContact {
    #[schema(min_length = 1)]
    name: String,
    /// E.164.
    #[schema(example = "+15551234567")]
    phone: String,
}

/// Creates a CRM contact (admin).
#[utoipa::path(post, path = "/v1/contacts", tag = "admin", request_body = NewContact,
    responses((status = 201, description = "Created", body = ContactView)))]
pub(crate) async fn create_contact(
    State(app): State<Arc<App>>,
    _: Admin,
    Body(body): Body<NewContact>,
) -> ApiResult<(StatusCode, Json<ContactView>)> {
    let phone = Phone::parse(&body.phone).map_err(|e| ApiError::field("phone", e))?;
    let name = body.name.trim();
    if name.is_empty() {
        return Err(ApiError::field("name", "must not be empty"));
    }
    validation::check_display_name("name", name)?;
    let contact = Contact {
        id: ContactId::new(app.ids.new_id(ContactId::PREFIX)),
        name: name.to_string(),
        phone,
        created_at: app.clock.now(),
    };
    app.store.put_contact(&contact).await?;
    Ok((StatusCode::CREATED, Json(ContactView::from(&contact))))
}
