//! Quick replies (issue 10.6): admins keep them (`/v1/quick-replies`, JSON merge patches like every
//! setting); an agent lists those of one conversation, filled in (`GET /v1/quick-replies?conversation_id=`).

use crate::App;
use crate::auth::{Admin, Principal};
use crate::error::{ApiError, ApiResult};
use crate::http::Body;
use crate::http::Path;
use crate::http::queues::{from_merged, merge_patch, patch_object, rfc3339_text};
use crate::http::views::{NewQuickReply, QuickReplyList, QuickReplySettings, QuickReplyView};
use crate::services::{automated, conversations};
use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};
use smsdesk_domain::automated::DEFAULT_LANGUAGE;
use smsdesk_domain::quick_reply::{self, Values};
use smsdesk_domain::*;
use smsdesk_ports::QuickReplyWrite;
use std::sync::Arc;

/// Adds the quick reply routes to `router`.
pub fn routes(router: Router<Arc<App>>) -> Router<Arc<App>> {
    router
        .route("/v1/quick-replies", get(list).post(create))
        .route("/v1/quick-replies/{id}", get(get_one).patch(patch).delete(delete))
}

const IMMUTABLE: [&str; 2] = ["id", "created_at"];

/// Checks the rules and that the queue exists, then stores; a taken shortcut is a 409.
async fn store(app: &App, reply: &QuickReply) -> ApiResult<()> {
    quick_reply::validate(reply)?;
    if let Some(q) = &reply.queue_id
        && app.store.get_queue(q).await?.is_none()
    {
        return Err(ApiError::field("queue_id", format!("no queue '{q}'")));
    }
    match app.store.put_quick_reply(reply).await? {
        QuickReplyWrite::Stored => Ok(()),
        QuickReplyWrite::ShortcutTaken => Err(ApiError::conflict(
            "shortcut_taken",
            format!(
                "shortcut: '{}' is already a quick reply's in {} for language '{}'",
                reply.shortcut,
                reply.queue_id.as_ref().map_or("every queue".to_string(), |q| format!("queue '{q}'")),
                reply.language
            ),
        )),
    }
}

async fn load(app: &App, id: &str) -> ApiResult<QuickReply> {
    let id = QuickReplyId::new(id);
    app.store.get_quick_reply(&id).await?.ok_or_else(|| ApiError::not_found(format!("no quick reply '{id}'")))
}

/// Creates a quick reply (admin).
#[utoipa::path(post, path = "/v1/quick-replies", tag = "admin", request_body = NewQuickReply,
    responses((status = 201, description = "Created", body = QuickReplyView),
        (status = 409, description = "The shortcut is taken in that queue and language")))]
pub(crate) async fn create(
    State(app): State<Arc<App>>,
    _: Admin,
    Body(body): Body<Value>,
) -> ApiResult<(StatusCode, Json<QuickReplyView>)> {
    let mut fields = patch_object(&body, &IMMUTABLE)?.clone();
    fields.insert("id".into(), json!(QuickReplyId::new(app.ids.new_id(QuickReplyId::PREFIX))));
    fields.insert("created_at".into(), json!(rfc3339_text(app.clock.now())));
    fields.entry("language").or_insert(json!(DEFAULT_LANGUAGE));
    let reply: QuickReply = from_merged(Value::Object(fields))?;
    store(&app, &reply).await?;
    Ok((StatusCode::CREATED, Json(QuickReplyView::of(&reply))))
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// The conversation the agent answers: its queue's quick replies and the organization-wide ones, in the
    /// customer's language, filled in. Without it (admins only): every quick reply as written.
    conversation_id: Option<String>,
}

/// Quick replies: with `conversation_id`, those an agent may use in that conversation (read access to it,
/// as `GET /v1/conversations/{id}`), filled in; without, every quick reply as written (admin).
#[utoipa::path(get, path = "/v1/quick-replies", tag = "agent", params(ListQuery),
    responses((status = 200, description = "The quick replies", body = QuickReplyList)))]
pub(crate) async fn list(
    State(app): State<Arc<App>>,
    who: Principal,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<QuickReplyList>> {
    let Query(q) = q.map_err(|e| ApiError::field("conversation_id", e.body_text()))?;
    let Some(conversation_id) = q.conversation_id else {
        who.require_admin()?;
        let items = app.store.list_quick_replies().await?.iter().map(QuickReplyView::of).collect();
        return Ok(Json(QuickReplyList { items }));
    };
    let conversation = conversations::visible(&app, &who, &conversation_id).await?;
    Ok(Json(QuickReplyList { items: filled_for(&app, &who, &conversation).await? }))
}

/// The conversation's quick replies with their placeholders filled in.
async fn filled_for(
    app: &App,
    who: &Principal,
    conversation: &Conversation,
) -> ApiResult<Vec<QuickReplyView>> {
    let channel = app.store.get_channel(&conversation.channel_id).await?;
    let fallback =
        channel.as_ref().and_then(|c| c.language.clone()).unwrap_or_else(|| DEFAULT_LANGUAGE.into());
    let language = match &channel {
        Some(c) => automated::language_of(c, conversation),
        None => conversation.language.clone().unwrap_or_else(|| fallback.clone()),
    };
    let all = app.store.list_quick_replies().await?;
    let picked = quick_reply::for_conversation(&all, &conversation.queue_id, &language, &fallback);
    if picked.is_empty() {
        return Ok(Vec::new());
    }
    // The customer's name: the CRM contact's, unless it is the placeholder name smsdesk gave it.
    let contact = match &conversation.contact {
        ContactLink::Linked { contact_id } => app.store.get_contact(contact_id).await?,
        _ => None,
    };
    let customer_name =
        contact.map(|c| c.name).filter(|n| *n != crm::default_contact_name(&conversation.customer));
    // The agent's name: the caller's when an agent asks, else the conversation's agent's.
    let agent_id = who.agent_id().or(conversation.agent_id.as_ref());
    let agent_name = match agent_id {
        Some(id) => app.store.get_agent(id).await?.map(|a| a.name),
        None => None,
    };
    let queue_name = app.store.get_queue(&conversation.queue_id).await?.map(|q| q.name);
    let values = Values {
        customer_name: customer_name.as_deref(),
        agent_name: agent_name.as_deref(),
        conversation_id: Some(conversation.id.as_str()),
        queue_name: queue_name.as_deref(),
    };
    Ok(picked
        .into_iter()
        .map(|r| QuickReplyView { text: quick_reply::fill(&r.text, &values), ..QuickReplyView::of(r) })
        .collect())
}

/// A quick reply as written (admin).
#[utoipa::path(get, path = "/v1/quick-replies/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 200, description = "The quick reply", body = QuickReplyView)))]
pub(crate) async fn get_one(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<QuickReplyView>> {
    who.require_admin()?;
    Ok(Json(QuickReplyView::of(&load(&app, &id).await?)))
}

/// Changes a quick reply (admin), JSON merge patch; `id` and `created_at` cannot change.
#[utoipa::path(patch, path = "/v1/quick-replies/{id}", tag = "admin", params(("id" = String, Path)),
    request_body = QuickReplySettings,
    responses((status = 200, description = "The quick reply after the change", body = QuickReplyView),
        (status = 409, description = "The shortcut is taken in that queue and language")))]
pub(crate) async fn patch(
    State(app): State<Arc<App>>,
    _: Admin,
    Path(id): Path<String>,
    Body(body): Body<Value>,
) -> ApiResult<Json<QuickReplyView>> {
    let current = load(&app, &id).await?;
    let changes = patch_object(&body, &IMMUTABLE)?;
    let mut merged = serde_json::to_value(&current).map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("a record did not serialize: {e}"),
        )
    })?;
    merge_patch(&mut merged, &Value::Object(changes.clone()));
    let reply: QuickReply = from_merged(merged)?;
    store(&app, &reply).await?;
    Ok(Json(QuickReplyView::of(&reply)))
}

/// Deletes a quick reply (admin).
#[utoipa::path(delete, path = "/v1/quick-replies/{id}", tag = "admin", params(("id" = String, Path)),
    responses((status = 204, description = "Deleted")))]
pub(crate) async fn delete(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    who.require_admin()?;
    let reply = load(&app, &id).await?;
    if !app.store.delete_quick_reply(&reply.id).await? {
        return Err(ApiError::not_found(format!("no quick reply '{}'", reply.id)));
    }
    Ok(StatusCode::NO_CONTENT)
}
