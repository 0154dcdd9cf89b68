//! Teams (issue 11.3): `POST/GET /v1/teams`, `GET/PATCH/DELETE /v1/teams/{id}`. Admins write; supervisors
//! (and admins) read. A team's settings are `name` (2 to 30 characters of letters, digits, `-`, `_`, `.`,
//! `:`), `capacity` (1 to 10000: the most conversations its members hold at once, together) and `queues`
//! (served by every member besides their own). Membership is set on the agent: `PATCH /v1/agents/{id}`
//! with `{"team_id": "tm_..."}` (or `null` to leave); an agent is in at most one team. A team with
//! members cannot be deleted (409 `team_has_members`): move its members out first.

use crate::App;
use crate::auth::{Admin, Principal};
use crate::error::{ApiError, ApiResult};
use crate::http::Body;
use crate::http::Path;
use crate::http::queues::{from_merged, merge_patch, patch_object, rfc3339_text};
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Value, json};
use smsdesk_domain::team::{self, Team};
use smsdesk_domain::*;
use smsdesk_ports::{TeamDelete, TeamSettings};
use std::sync::Arc;
use utoipa::ToSchema;

/// Adds the team routes to `router`.
pub fn routes(router: Router<Arc<App>>) -> Router<Arc<App>> {
    router
        .route("/v1/teams", post(create_team).get(list_teams))
        .route("/v1/teams/{id}", get(get_team).patch(patch_team).delete(delete_team))
}

/// A team as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct TeamView {
    #[schema(value_type = String)]
    pub id: TeamId,
    pub name: String,
    /// The most conversations the members hold at once, together.
    pub capacity: u32,
    /// Queues every member serves besides its own.
    #[schema(value_type = Vec<String>)]
    pub queues: Vec<QueueId>,
    /// Conversations the members hold now, together.
    pub active: u32,
    /// The members' agent ids.
    #[schema(value_type = Vec<String>)]
    pub members: Vec<AgentId>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// Teams.
#[derive(Serialize, ToSchema)]
pub struct TeamList {
    pub items: Vec<TeamView>,
}

/// A team's settings (`PATCH /v1/teams/{id}`: a JSON merge patch of them; `POST /v1/teams` takes
/// [`NewTeam`]). A refusal is a 400 naming the field and the rule.
#[derive(ToSchema)]
#[allow(dead_code)] // the schema of the request body, read as JSON
pub struct TeamSettingsBody {
    #[schema(nullable = false, min_length = 2, max_length = 30)]
    pub name: Option<String>,
    #[schema(nullable = false, minimum = 1, maximum = 10000)]
    pub capacity: Option<u32>,
    /// null: none.
    pub queues: Option<Vec<String>>,
}

/// A new team (`POST /v1/teams`): `name` and `capacity`, and the queues every member serves.
#[derive(ToSchema)]
#[allow(dead_code)] // the schema of the request body, read as JSON
pub struct NewTeam {
    /// 2 to 30 characters, each a letter, a digit, `-`, `_`, `.` or `:`.
    #[schema(min_length = 2, max_length = 30)]
    pub name: String,
    #[schema(minimum = 1, maximum = 10000)]
    pub capacity: u32,
    #[schema(nullable = false)]
    pub queues: Option<Vec<String>>,
}

fn view(t: &Team, agents: &[Agent]) -> TeamView {
    TeamView {
        id: t.id.clone(),
        name: t.name.clone(),
        capacity: t.capacity,
        queues: t.queues.clone(),
        active: t.active,
        members: team::members(agents, &t.id).into_iter().cloned().collect(),
        created_at: rfc3339_text(t.created_at),
    }
}

/// Admins, and supervisors, may read teams.
async fn require_reader(app: &App, who: &Principal) -> ApiResult<()> {
    let Some(id) = who.agent_id() else { return Ok(()) };
    match app.store.get_agent(id).await? {
        Some(a) if a.role == Role::Supervisor => Ok(()),
        _ => Err(ApiError::forbidden("reading teams needs a supervisor or an admin token")),
    }
}

/// Fields the store keeps, or that are set elsewhere: refused in a request with the reason.
fn refuse_kept(fields: &serde_json::Map<String, Value>) -> ApiResult<()> {
    for (field, rule) in [
        ("active", "is kept by smsdesk and cannot be set"),
        ("members", "is set on each agent: PATCH /v1/agents/{id} with team_id"),
    ] {
        if fields.contains_key(field) {
            return Err(ApiError::field(field, rule));
        }
    }
    for field in fields.keys() {
        if !["name", "capacity", "queues", "id", "created_at"].contains(&field.as_str()) {
            return Err(ApiError::field(field, "is not a setting of a team"));
        }
    }
    Ok(())
}

/// Validates a team: its own rules, then that each queue exists.
async fn check(app: &App, t: &Team) -> ApiResult<()> {
    team::validate(t)?;
    for (i, q) in t.queues.iter().enumerate() {
        if app.store.get_queue(q).await?.is_none() {
            return Err(ApiError::field(format!("queues[{i}]"), format!("no queue '{q}'")));
        }
    }
    Ok(())
}

async fn load(app: &App, id: &str) -> ApiResult<Team> {
    app.store.get_team(&TeamId::new(id)).await?.ok_or_else(|| ApiError::not_found(format!("no team '{id}'")))
}

/// Creates a team (admin).
#[utoipa::path(post, path = "/v1/teams", tag = "admin",
    request_body(content = NewTeam, content_type = "application/json"),
    responses((status = 201, description = "Created", body = TeamView)))]
pub(crate) async fn create_team(
    State(app): State<Arc<App>>,
    _: Admin,
    Body(body): Body<Value>,
) -> ApiResult<(StatusCode, Json<TeamView>)> {
    let mut fields = patch_object(&body, &["id", "created_at"])?.clone();
    refuse_kept(&fields)?;
    if let Some(Value::String(name)) = fields.get("name") {
        let trimmed = name.trim().to_string();
        fields.insert("name".into(), Value::String(trimmed));
    }
    fields.insert("id".into(), json!(TeamId::new(app.ids.new_id(TeamId::PREFIX))));
    fields.insert("created_at".into(), json!(rfc3339_text(app.clock.now())));
    let t: Team = from_merged(Value::Object(fields))?;
    check(&app, &t).await?;
    if !app.store.create_team(&t).await? {
        return Err(ApiError::conflict("team_exists", format!("team {} exists already", t.id)));
    }
    Ok((StatusCode::CREATED, Json(view(&t, &[]))))
}

/// Every team (supervisors and admins).
#[utoipa::path(get, path = "/v1/teams", tag = "admin",
    responses((status = 200, description = "The teams", body = TeamList)))]
pub(crate) async fn list_teams(State(app): State<Arc<App>>, who: Principal) -> ApiResult<Json<TeamList>> {
    require_reader(&app, &who).await?;
    let agents = app.store.list_agents().await?;
    let items = app.store.list_teams().await?.iter().map(|t| view(t, &agents)).collect();
    Ok(Json(TeamList { items }))
}

/// One team with its members (supervisors and admins).
#[utoipa::path(get, path = "/v1/teams/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, description = "The team", body = TeamView)))]
pub(crate) async fn get_team(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<TeamView>> {
    require_reader(&app, &who).await?;
    let t = load(&app, &id).await?;
    Ok(Json(view(&t, &app.store.list_agents().await?)))
}

/// Changes a team (admin), JSON merge-patch semantics over `name`, `capacity` and `queues`; `id` and
/// `created_at` are immutable, the counts are smsdesk's. A capacity below what the members hold takes
/// nothing away; a capacity that grew, or a queue added, is served at once.
#[utoipa::path(patch, path = "/v1/teams/{id}", tag = "admin", params(("id" = String, Path)),
    request_body(content = TeamSettingsBody, content_type = "application/json"),
    responses((status = 200, description = "The team after the change", body = TeamView)))]
pub(crate) async fn patch_team(
    State(app): State<Arc<App>>,
    _: Admin,
    Path(id): Path<String>,
    Body(patch): Body<Value>,
) -> ApiResult<Json<TeamView>> {
    let current = load(&app, &id).await?;
    let fields = patch_object(&patch, &["id", "created_at"])?;
    refuse_kept(fields)?;
    let mut merged = serde_json::to_value(&current).map_err(|e| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("a team did not serialize: {e}"))
    })?;
    merge_patch(&mut merged, &patch);
    let wanted: Team = from_merged(merged)?;
    check(&app, &wanted).await?;
    let settings =
        TeamSettings { name: wanted.name.clone(), capacity: wanted.capacity, queues: wanted.queues.clone() };
    let updated = app
        .store
        .update_team(&current.id, &settings)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no team '{id}'")))?;
    let agents = app.store.list_agents().await?;
    // The members may take more now: their queues, the team's included, are served.
    let mut queues = updated.queues.clone();
    for a in agents.iter().filter(|a| team::is_member(a, &updated.id)) {
        for q in &a.queues {
            if !queues.contains(q) {
                queues.push(q.clone());
            }
        }
    }
    crate::services::assignment::dispatch_queues(&app, &queues).await?;
    Ok(Json(view(&updated, &agents)))
}

/// Deletes a team without members (admin); 409 `team_has_members` while agents are in it.
#[utoipa::path(delete, path = "/v1/teams/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted")))]
pub(crate) async fn delete_team(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    who.require_admin()?;
    match app.store.delete_team(&TeamId::new(id.as_str())).await? {
        TeamDelete::Deleted => Ok(StatusCode::NO_CONTENT),
        TeamDelete::NotFound => Err(ApiError::not_found(format!("no team '{id}'"))),
        TeamDelete::HasMembers => Err(ApiError::conflict(
            "team_has_members",
            format!(
                "team {id} still has members: move them out first (PATCH /v1/agents/{{id}} team_id null)"
            ),
        )),
    }
}
