//! Admin API for routing (issue 11 points 1, 2, 7, 8): queues' settings (`GET`/`PATCH`/`DELETE
//! /v1/queues/{id}`) and keyword menus (`/v1/menus`). Changes are JSON merge patches (RFC 7396) over the
//! stored record; the result is validated as a whole, and a bad value is a 400 naming the field and rule.

use crate::App;
use crate::auth::{Admin, Principal};
use crate::error::{ApiError, ApiResult};
use crate::http::Body;
use crate::http::Path;
use crate::http::queue_views::{QueueAgentView, QueueNumberView, WrapUpOptions};
use crate::http::views::{MenuList, MenuSettings, MenuView, NewMenu, QueueSettings, QueueStats, QueueView};
use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use secrecy::SecretString;
use serde_json::{Map, Value, json};
use smsdesk_domain::validation::{self, FieldError};
use smsdesk_domain::*;
use std::sync::Arc;

/// Adds the queue settings and menu routes to `router`.
pub fn routes(router: Router<Arc<App>>) -> Router<Arc<App>> {
    router
        .route("/v1/queues/{id}", get(get_queue).patch(patch_queue).delete(delete_queue))
        .route("/v1/queues/{id}/stats", get(queue_stats))
        .route("/v1/conversations/{id}/wrap-up-options", get(wrap_up_options))
        .route("/v1/menus", post(create_menu).get(list_menus))
        .route("/v1/menus/{id}", get(get_menu).patch(patch_menu).delete(delete_menu))
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> Self {
        ApiError::field(e.field, e.rule)
    }
}

/// RFC 7396: `patch` merged into `target` (null removes a member; objects merge; anything else replaces).
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(changes) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(fields) = target {
        for (key, value) in changes {
            if value.is_null() {
                fields.remove(key);
            } else {
                merge_patch(fields.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

/// After [`merge_patch`]: every member `patch` set to `null` that has a default in `defaults` (the record's
/// defaults as JSON, nested as the record is) is set to that default rather than left missing. RFC 7396's
/// `null` removes a member; for a setting that always has a value, removing it is going back to its default
/// (`{"attachments": {"customer": null}}` is the default `false`, `{"smart_encoding": null}` the default).
/// A member without a default in `defaults` stays removed: optional settings become unset, map entries go.
pub fn reset_to_defaults(merged: &mut Value, patch: &Value, defaults: &Value) {
    let (Value::Object(fields), Value::Object(changes), Value::Object(defaults)) = (merged, patch, defaults)
    else {
        return;
    };
    for (key, change) in changes {
        let Some(default) = defaults.get(key) else { continue };
        if change.is_null() {
            fields.insert(key.clone(), default.clone());
        } else if let Some(field) = fields.get_mut(key) {
            reset_to_defaults(field, change, default);
        }
    }
}

/// Whether `patch` sets the member at `path` (`a.b.c`, as [`from_merged`] names fields) to `null`.
fn nulled(patch: &Value, path: &str) -> bool {
    let mut at = patch;
    for name in path.split('.') {
        match at.get(name) {
            Some(next) => at = next,
            None => return false,
        }
    }
    at.is_null()
}

/// The body must be an object that leaves `immutable` alone.
pub(crate) fn patch_object<'a>(body: &'a Value, immutable: &[&str]) -> ApiResult<&'a Map<String, Value>> {
    let fields = body.as_object().ok_or_else(|| ApiError::field("body", "must be a JSON object"))?;
    if let Some(field) = immutable.iter().find(|f| fields.contains_key(**f)) {
        return Err(ApiError::field(field, "cannot be changed"));
    }
    Ok(fields)
}

/// A record read back from merged JSON; a type error names the field.
pub(crate) fn from_merged<T: serde::de::DeserializeOwned>(merged: Value) -> ApiResult<T> {
    from_patched(merged, &Value::Null)
}

/// As [`from_merged`], for `merged` = the stored record with `patch` merged in: a field the patch set to
/// `null` that has no default (a queue's `name`, `operating_hours.time_zone`) is a 400 that says so and how
/// to go on, rather than a bare "is required".
pub(crate) fn from_patched<T: serde::de::DeserializeOwned>(merged: Value, patch: &Value) -> ApiResult<T> {
    serde_path_to_error::deserialize(merged).map_err(|e| {
        // The path to the value that did not fit (`offline_handback_secs`, `bot.url`, `hours.days[2]`);
        // "." for the body itself.
        let path = e.path().to_string();
        let msg = e.into_inner().to_string();
        let under = |name: &str| if path == "." { name.to_string() } else { format!("{path}.{name}") };
        match msg.strip_prefix("missing field `") {
            Some(rest) => {
                let field = under(rest.split('`').next().unwrap_or_default());
                if nulled(patch, &field) {
                    ApiError::field(field, NO_DEFAULT)
                } else {
                    ApiError::field(field, "is required")
                }
            }
            None if path == "." => ApiError::field("body", format!("is not valid: {msg}")),
            None => ApiError::field(path, format!("is not valid: {msg}")),
        }
    })
}

/// Why a `null` in a merge patch was refused: the field has no default to go back to.
pub(crate) const NO_DEFAULT: &str = "has no default, so null cannot reset it: give it a value (null resets a \
     setting to its default, or removes an optional one)";

fn internal(e: serde_json::Error) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", format!("a record did not serialize: {e}"))
}

// ---- Queues ----

/// The bot part of a request: `{"url", "secret"}`; the secret goes to the secret store, never the record.
fn take_bot_secret(fields: &mut Map<String, Value>) -> ApiResult<Option<SecretString>> {
    let Some(Value::Object(bot)) = fields.get_mut("bot") else { return Ok(None) };
    match bot.remove("secret") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if (16..=256).contains(&s.len()) => Ok(Some(SecretString::from(s))),
        Some(_) => Err(ApiError::field("bot.secret", "must be a string of 16 to 256 characters")),
    }
}

/// Checks a queue's settings (the queue rules of the domain, and the bot's URL for this shape).
pub fn validate_queue(app: &App, queue: &WorkQueue) -> ApiResult<()> {
    validation::validate_queue(queue)?;
    if let Some(bot) = &queue.bot {
        validation::check_bot_url("bot.url", &bot.url, app.config.allow_loopback_http)?;
    }
    Ok(())
}

/// Validates `queue` and stores it with its bot secret (required the first time a bot is set).
pub async fn store_queue(
    app: &App,
    queue: &WorkQueue,
    had_bot: bool,
    secret: Option<SecretString>,
) -> ApiResult<()> {
    validate_queue(app, queue)?;
    if queue.bot.is_some() && secret.is_none() && !had_bot {
        return Err(ApiError::field("bot.secret", "is required when a bot is set"));
    }
    if let Some(secret) = &secret {
        if queue.bot.is_none() {
            return Err(ApiError::field("bot.secret", "needs bot.url"));
        }
        app.secrets.put_bot_secret(&queue.id, secret).await?;
    }
    app.store.put_queue(queue).await?;
    Ok(())
}

/// A new queue from a create request's settings (`name` and optional settings).
pub async fn create(app: &App, body: &Value) -> ApiResult<WorkQueue> {
    let mut fields = patch_object(body, &["id", "created_at"])?.clone();
    if let Some(Value::String(name)) = fields.get("name") {
        let trimmed = name.trim().to_string();
        fields.insert("name".into(), Value::String(trimmed));
    }
    let secret = take_bot_secret(&mut fields)?;
    fields.insert("id".into(), json!(QueueId::new(app.ids.new_id(QueueId::PREFIX))));
    fields.insert("created_at".into(), json!(rfc3339_text(app.clock.now())));
    let queue: WorkQueue = from_merged(Value::Object(fields))?;
    store_queue(app, &queue, false, secret).await?;
    Ok(queue)
}

pub(crate) fn rfc3339_text(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

async fn load_queue(app: &App, id: &str) -> ApiResult<WorkQueue> {
    let id = QueueId::new(id);
    app.store.get_queue(&id).await?.ok_or_else(|| ApiError::not_found(format!("no queue '{id}'")))
}

/// Who may read queues: an admin, or a supervisor (then only the queues they serve:
/// [`smsdesk_domain::access::reads_queue`]); an agent is refused. The caller as
/// [`crate::services::conversations::caller`] loads it (a team's queues included).
pub(crate) async fn queue_reader(app: &App, who: &Principal) -> ApiResult<Option<Agent>> {
    let agent = crate::services::conversations::caller(app, who).await?;
    match &agent {
        Some(a) if a.role != Role::Supervisor => {
            Err(ApiError::forbidden("reading queues needs a supervisor or an admin token"))
        }
        _ => Ok(agent),
    }
}

/// A queue the caller may read; one a supervisor does not serve is not confirmed (404, as for conversations).
async fn readable_queue(app: &App, who: &Principal, id: &str) -> ApiResult<WorkQueue> {
    let reader = queue_reader(app, who).await?;
    let queue = load_queue(app, id).await?;
    if !access::reads_queue(crate::services::conversations::actor(&reader), &queue.id) {
        return Err(ApiError::not_found(format!("no queue '{id}'")));
    }
    Ok(queue)
}

/// A queue as the API shows it: its settings, the numbers that feed it and the agents that serve it (both
/// derived; the agents as distribution counts them: those with the queue, and the members of the teams
/// that serve it), and how many conversations wait in it. A bot's secret is never shown.
pub async fn view(app: &App, queue: &WorkQueue) -> ApiResult<QueueView> {
    let mut numbers = Vec::new();
    for channel in app.store.list_channels().await? {
        for n in channel.numbers.iter().filter(|n| n.queue == queue.id) {
            numbers.push(QueueNumberView {
                channel_id: channel.id.clone(),
                number: n.number.clone(),
                menu: n.menu.clone(),
            });
        }
    }
    let teams = app.store.list_teams().await?;
    let agents = crate::services::teams::agents_serving(app, &queue.id, &teams)
        .await?
        .iter()
        .map(|a| QueueAgentView {
            id: a.id.clone(),
            name: a.name.clone(),
            presence: a.presence.as_str().into(),
            active: a.active,
            capacity: a.capacity,
        })
        .collect();
    let waiting = app.store.waiting_in_queue(&queue.id, 1000).await?.len();
    Ok(QueueView::new(queue, numbers, agents, waiting))
}

/// A queue with its settings, numbers, agents and what waits in it (admins; supervisors, of their queues).
#[utoipa::path(get, path = "/v1/queues/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, description = "The queue", body = QueueView)))]
pub(crate) async fn get_queue(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<QueueView>> {
    let queue = readable_queue(&app, &who, &id).await?;
    Ok(Json(view(&app, &queue).await?))
}

/// Changes a queue's settings (admin), JSON merge patch; `id` and `created_at` cannot change.
#[utoipa::path(patch, path = "/v1/queues/{id}", tag = "admin", params(("id" = String, Path)),
    request_body = QueueSettings,
    responses((status = 200, description = "The queue after the change", body = QueueView)))]
pub(crate) async fn patch_queue(
    State(app): State<Arc<App>>,
    _: Admin,
    Path(id): Path<String>,
    Body(body): Body<Value>,
) -> ApiResult<Json<QueueView>> {
    let current = load_queue(&app, &id).await?;
    let mut changes = patch_object(&body, &["id", "created_at"])?.clone();
    let secret = take_bot_secret(&mut changes)?;
    let changes = Value::Object(changes);
    let mut merged = serde_json::to_value(&current).map_err(internal)?;
    merge_patch(&mut merged, &changes);
    let queue: WorkQueue = from_patched(merged, &changes)?;
    store_queue(&app, &queue, current.bot.is_some(), secret).await?;
    Ok(Json(view(&app, &queue).await?))
}

/// What the wrap-up form of a conversation offers: its queue's dispositions and tags, and whether a
/// disposition is required. Anyone who may read the conversation may read it.
#[utoipa::path(get, path = "/v1/conversations/{id}/wrap-up-options", tag = "agent", params(("id" = String, Path)),
    responses((status = 200, description = "The wrap-up choices of the conversation's queue", body = WrapUpOptions)))]
pub(crate) async fn wrap_up_options(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<WrapUpOptions>> {
    let c = crate::services::conversations::visible(&app, &who, &id).await?;
    let queue = app
        .store
        .get_queue(&c.queue_id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no queue '{}'", c.queue_id)))?;
    Ok(Json(WrapUpOptions::from(&queue)))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct StatsQuery {
    /// UTC days counted back from today, 1 (the default: today) to 90.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 90)]
    days: Option<String>,
}

/// A queue's service level over the last `days` UTC days (default 1: today), with what waits in it now:
/// `{"queue_id", "from", "to", "service_level_seconds", "answered", "answered_within_target",
/// "service_level" (a share from 0 to 1, or null), "days": [{"day", "answered", "within_target"}],
/// "waiting", "oldest_waiting_seconds"}`. Admins read every queue's, supervisors those of their queues.
#[utoipa::path(get, path = "/v1/queues/{id}/stats", tag = "admin", params(("id" = String, Path), StatsQuery),
    responses((status = 200, description = "The queue's service level", body = QueueStats)))]
pub(crate) async fn queue_stats(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
    q: Result<Query<StatsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<QueueStats>> {
    use smsdesk_domain::service_level::{self, MAX_REPORT_DAYS};
    let queue = readable_queue(&app, &who, &id).await?;
    // A query string serde refuses (`days` twice) is the API's 400 with a reason, not axum's plain text.
    let Query(q) = q.map_err(|e| ApiError::field("days", e.body_text()))?;
    let days = match q.days.as_deref() {
        None => 1,
        Some(raw) => {
            raw.parse::<u32>().ok().filter(|d| (1..=MAX_REPORT_DAYS).contains(d)).ok_or_else(|| {
                ApiError::field("days", format!("must be a whole number from 1 to {MAX_REPORT_DAYS}"))
            })?
        }
    };
    let now = app.clock.now();
    let (first, last) = service_level::span(now, days);
    let counts = app.store.answer_counts(&queue.id, first, last).await?;
    let report = service_level::report(&queue, &counts.iter().map(|(_, c)| *c).collect::<Vec<_>>());
    let waiting = app.store.waiting_in_queue(&queue.id, 1000).await?;
    let oldest = waiting.iter().map(|c| c.queued_at).min().map(|t| (now - t).whole_seconds().max(0));
    Ok(Json(QueueStats::new(&queue.id, (first, last), &report, &counts, waiting.len(), oldest)))
}

/// What still uses a queue: numbers, agents, conversations not closed, menus.
async fn queue_users(app: &App, id: &QueueId) -> ApiResult<Vec<String>> {
    let mut users = Vec::new();
    for channel in app.store.list_channels().await? {
        for n in channel.numbers.iter().filter(|n| &n.queue == id) {
            users.push(format!("number {} of channel {}", n.number, channel.id));
        }
    }
    for agent in app.store.agents_for_queue(id).await? {
        users.push(format!("agent {}", agent.id));
    }
    for team in app.store.list_teams().await?.into_iter().filter(|t| t.queues.contains(id)) {
        users.push(format!("team {}", team.id));
    }
    for c in app.store.open_conversations().await? {
        if &c.queue_id == id || c.routing.as_ref().and_then(|r| r.bot.as_ref()) == Some(id) {
            users.push(format!("{} conversation {}", c.state.as_str(), c.id));
        }
    }
    for menu in app.store.list_menus().await? {
        let named = menu.default_queue.as_ref() == Some(id)
            || menu.options.iter().any(|o| o.target == MenuTarget::Queue(id.clone()));
        if named {
            users.push(format!("menu {}", menu.id));
        }
    }
    Ok(users)
}

/// Deletes a queue nothing uses any more (admin); 409 names what still uses it.
#[utoipa::path(delete, path = "/v1/queues/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted")))]
pub(crate) async fn delete_queue(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    who.require_admin()?;
    let queue = load_queue(&app, &id).await?;
    let users = queue_users(&app, &queue.id).await?;
    if !users.is_empty() {
        return Err(ApiError::conflict(
            "in_use",
            format!("queue {} is still used by {}", queue.id, users.join(", ")),
        ));
    }
    app.store.delete_queue(&queue.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- Menus ----

/// Checks a menu's rules and that what it names exists.
async fn check_menu(app: &App, menu: &Menu) -> ApiResult<()> {
    menu::validate(menu)?;
    for (i, option) in menu.options.iter().enumerate() {
        let field = format!("options[{i}].target");
        match &option.target {
            MenuTarget::Queue(q) if app.store.get_queue(q).await?.is_none() => {
                return Err(ApiError::field(field, format!("no queue '{q}'")));
            }
            MenuTarget::Menu(m) if app.store.get_menu(m).await?.is_none() => {
                return Err(ApiError::field(field, format!("no menu '{m}'")));
            }
            _ => {}
        }
    }
    if let Some(q) = &menu.default_queue
        && app.store.get_queue(q).await?.is_none()
    {
        return Err(ApiError::field("default_queue", format!("no queue '{q}'")));
    }
    Ok(())
}

/// Creates a keyword menu (admin).
#[utoipa::path(post, path = "/v1/menus", tag = "admin", request_body = NewMenu,
    responses((status = 201, description = "Created", body = MenuView)))]
pub(crate) async fn create_menu(
    State(app): State<Arc<App>>,
    _: Admin,
    Body(body): Body<Value>,
) -> ApiResult<(StatusCode, Json<MenuView>)> {
    let mut fields = patch_object(&body, &["id", "created_at"])?.clone();
    fields.insert("id".into(), json!(MenuId::new(app.ids.new_id(MenuId::PREFIX))));
    fields.insert("created_at".into(), json!(rfc3339_text(app.clock.now())));
    fields.entry("timeout_seconds").or_insert(json!(300));
    let menu: Menu = from_merged(Value::Object(fields))?;
    check_menu(&app, &menu).await?;
    app.store.put_menu(&menu).await?;
    Ok((StatusCode::CREATED, Json(MenuView::from(&menu))))
}

/// Every keyword menu (admin).
#[utoipa::path(get, path = "/v1/menus", tag = "admin",
    responses((status = 200, description = "The menus", body = MenuList)))]
pub(crate) async fn list_menus(State(app): State<Arc<App>>, who: Principal) -> ApiResult<Json<MenuList>> {
    who.require_admin()?;
    let items = app.store.list_menus().await?.iter().map(MenuView::from).collect();
    Ok(Json(MenuList { items }))
}

async fn load_menu(app: &App, id: &str) -> ApiResult<Menu> {
    let id = MenuId::new(id);
    app.store.get_menu(&id).await?.ok_or_else(|| ApiError::not_found(format!("no menu '{id}'")))
}

/// A keyword menu (admin).
#[utoipa::path(get, path = "/v1/menus/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, description = "The menu", body = MenuView)))]
pub(crate) async fn get_menu(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<MenuView>> {
    who.require_admin()?;
    Ok(Json(MenuView::from(&load_menu(&app, &id).await?)))
}

/// Changes a keyword menu (admin), JSON merge patch; `id` and `created_at` cannot change.
#[utoipa::path(patch, path = "/v1/menus/{id}", tag = "admin", params(("id" = String, Path)),
    request_body = MenuSettings,
    responses((status = 200, description = "The menu after the change", body = MenuView)))]
pub(crate) async fn patch_menu(
    State(app): State<Arc<App>>,
    _: Admin,
    Path(id): Path<String>,
    Body(body): Body<Value>,
) -> ApiResult<Json<MenuView>> {
    let current = load_menu(&app, &id).await?;
    let changes = patch_object(&body, &["id", "created_at"])?;
    let mut merged = serde_json::to_value(&current).map_err(internal)?;
    merge_patch(&mut merged, &Value::Object(changes.clone()));
    let menu: Menu = from_merged(merged)?;
    check_menu(&app, &menu).await?;
    app.store.put_menu(&menu).await?;
    Ok(Json(MenuView::from(&menu)))
}

/// Deletes a keyword menu nothing uses any more (admin); 409 names what still uses it.
#[utoipa::path(delete, path = "/v1/menus/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted")))]
pub(crate) async fn delete_menu(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    who.require_admin()?;
    let menu = load_menu(&app, &id).await?;
    let mut users = Vec::new();
    for channel in app.store.list_channels().await? {
        for n in channel.numbers.iter().filter(|n| n.menu.as_ref() == Some(&menu.id)) {
            users.push(format!("number {} of channel {}", n.number, channel.id));
        }
    }
    for other in app.store.list_menus().await? {
        if other.options.iter().any(|o| o.target == MenuTarget::Menu(menu.id.clone())) {
            users.push(format!("menu {}", other.id));
        }
    }
    for c in app.store.open_conversations().await? {
        if c.state == ConversationState::Routing
            && c.routing.as_ref().is_some_and(|r| r.menus.contains(&menu.id))
        {
            users.push(format!("routing conversation {}", c.id));
        }
    }
    if !users.is_empty() {
        return Err(ApiError::conflict(
            "in_use",
            format!("menu {} is still used by {}", menu.id, users.join(", ")),
        ));
    }
    app.store.delete_menu(&menu.id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Settings {
        name: String,
        #[serde(default)]
        grace_secs: Option<u32>,
        #[serde(default)]
        inner: Option<Inner>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        limit: u16,
    }

    /// A value of the wrong type is named by its field, nested ones by their path (issue 10.8).
    #[test]
    fn a_value_that_does_not_fit_is_named_by_its_field() {
        let named = |v: Value| match from_merged::<Settings>(v) {
            Err(e) => e.message.split(':').next().unwrap_or_default().to_string(),
            Ok(s) => panic!("accepted {s:?}"),
        };
        assert_eq!(named(json!({"name": "a", "grace_secs": -1})), "grace_secs");
        assert_eq!(named(json!({"name": "a", "inner": {"limit": "x"}})), "inner.limit");
        assert_eq!(named(json!({"name": "a", "inner": {}})), "inner.limit");
        assert_eq!(named(json!({"grace_secs": 5})), "name");
    }

    #[test]
    fn null_resets_a_setting_to_its_default_and_is_refused_where_there_is_none() {
        let defaults = json!({"enabled": true, "policy": {"customer": false, "agent": false}, "texts": {}});
        let mut merged = json!({"name": "a", "enabled": false, "policy": {"customer": true, "agent": true}, "texts": {"es": 1}});
        let patch =
            json!({"enabled": null, "policy": {"agent": null}, "texts": {"es": null}, "grace_secs": null});
        merge_patch(&mut merged, &patch);
        reset_to_defaults(&mut merged, &patch, &defaults);
        assert_eq!(
            merged,
            json!({"name": "a", "enabled": true, "policy": {"customer": true, "agent": false}, "texts": {}})
        );
        let patch = json!({"texts": null});
        reset_to_defaults(&mut merged, &patch, &defaults);
        assert_eq!(merged["texts"], json!({}));
        // A field without a default: the refusal says why null cannot reset it.
        let patch = json!({"name": null});
        let mut merged = json!({"name": "a"});
        merge_patch(&mut merged, &patch);
        let refused = from_patched::<Settings>(merged.clone(), &patch).expect_err("no name");
        assert_eq!(refused.message, format!("name: {NO_DEFAULT}"));
        assert_eq!(from_merged::<Settings>(merged).expect_err("no name").message, "name: is required");
        let patch = json!({"inner": {"limit": null}});
        let mut merged = json!({"name": "a", "inner": {"limit": 3}});
        merge_patch(&mut merged, &patch);
        let refused = from_patched::<Settings>(merged, &patch).expect_err("no limit");
        assert!(refused.message.starts_with("inner.limit: has no default"), "{}", refused.message);
    }

    #[test]
    fn merge_patch_follows_rfc_7396() {
        // RFC 7396 appendix A, a selection.
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "b"}), json!({"b": "c"}), json!({"a": "b", "b": "c"})),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": {"b": "c"}}), json!({"a": {"b": "d", "c": null}}), json!({"a": {"b": "d"}})),
            (json!({"a": [{"b": "c"}]}), json!({"a": [1]}), json!({"a": [1]})),
            (json!({"e": null}), json!({"a": 1}), json!({"e": null, "a": 1})),
            (json!([1, 2]), json!({"a": "b", "c": null}), json!({"a": "b"})),
            (json!({}), json!({"a": {"bb": {"ccc": null}}}), json!({"a": {"bb": {}}})),
        ];
        for (mut target, patch, expected) in cases {
            merge_patch(&mut target, &patch);
            assert_eq!(target, expected, "patch {patch}");
        }
    }
}
