//! Media routes: an agent's upload (`POST /v1/conversations/{id}/media`, the raw bytes as the body; the
//! answer's `id` then goes in a reply's `media` list), the conversation export with its media list and CRM
//! events, and the embedded shape's signed media links (`GET /v1/media/{conversation}/{id}?exp=&sig=`:
//! no bearer token, the signature is the permission; S3's presigned links never come here).

use crate::App;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::http::views::{ConversationExport, ExportView, MediaSummary, TimelineView};
use crate::http::{Path, Query};
use crate::services::{conversations, media};
use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use smsdesk_domain::ContactLink;
use smsdesk_domain::media::is_media_id;
use std::sync::Arc;

/// The largest upload body read (the largest provider limit, Twilio's 5 MB, plus room): a channel's own
/// limit is checked on the bytes, with a 422 naming it.
pub const MAX_UPLOAD_BYTES: usize = 6 * 1024 * 1024;

pub fn routes(router: Router<Arc<App>>) -> Router<Arc<App>> {
    router
        .route("/v1/conversations/{id}/media", post(upload).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)))
        .route("/v1/conversations/{id}/export", get(export))
        .route("/v1/media/{conversation}/{id}", get(signed_media))
}

/// An agent's upload: the raw bytes as the body. The answer's `id` goes in a reply's `media` list.
#[utoipa::path(post, path = "/v1/conversations/{id}/media", tag = "media", params(("id" = String, Path)),
    request_body(content = String, description = "The file's bytes; Content-Type is the file's type (image/jpeg, image/png, ...)",
        content_type = "application/octet-stream"),
    responses((status = 201, description = "Stored", body = MediaSummary)))]
pub(crate) async fn upload(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
    body: Result<Bytes, axum::extract::rejection::BytesRejection>,
) -> ApiResult<(StatusCode, Json<MediaSummary>)> {
    // Over the limit: the API's JSON error, as every other route answers it (not axum's plain text).
    let body = body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("uploads are limited to {MAX_UPLOAD_BYTES} bytes"),
        ),
        _ => ApiError::field("body", format!("could not be read: {e}")),
    })?;
    let item = media::upload(&app, &who, &id, body.to_vec()).await?;
    Ok((StatusCode::CREATED, Json(media::summary(&item))))
}

/// The conversation as the transcript shows it, its media list, and the CRM events written for it.
#[utoipa::path(get, path = "/v1/conversations/{id}/export", tag = "media", params(("id" = String, Path)),
    responses((status = 200, description = "The conversation, its media and CRM events", body = ExportView)))]
pub(crate) async fn export(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<ExportView>> {
    let c = conversations::visible(&app, &who, &id).await?;
    let view = crate::http::agent::conversation_view(&app, &c).await?;
    let mut list = Vec::new();
    for item in media::items(&app, &c.id).await? {
        list.push(media::view(&app, &item).await?);
    }
    let crm_events = match &c.contact {
        ContactLink::Linked { contact_id } => app
            .store
            .timeline(contact_id)
            .await?
            .iter()
            .filter(|e| e.conversation_id == c.id)
            .map(TimelineView::from)
            .collect(),
        _ => Vec::new(),
    };
    Ok(Json(ExportView { conversation: ConversationExport { conversation: view, media: list, crm_events } }))
}

#[derive(Deserialize)]
struct LinkQuery {
    exp: Option<i64>,
    sig: Option<String>,
}

async fn signed_media(
    State(app): State<Arc<App>>,
    Path((conversation, id)): Path<(String, String)>,
    Query(q): Query<LinkQuery>,
) -> Result<Response, ApiError> {
    let gone = || ApiError::not_found("no such media, or the link expired");
    let (Some(exp), Some(sig)) = (q.exp, q.sig) else { return Err(gone()) };
    if !is_media_id(&id) {
        return Err(gone());
    }
    let store = app.media().ok_or_else(gone)?;
    let key = format!("{conversation}/{id}");
    let object = store.open_link(&key, exp, &sig, app.clock.now()).await?.ok_or_else(gone)?;
    let disposition = if object.content_type.starts_with("image/") { "inline" } else { "attachment" };
    Ok((
        [
            (header::CONTENT_TYPE, object.content_type),
            (header::CONTENT_DISPOSITION, disposition.to_string()),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
            (header::CACHE_CONTROL, "private, max-age=60".to_string()),
            (header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox".to_string()),
        ],
        object.bytes,
    )
        .into_response())
}
