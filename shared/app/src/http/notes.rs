//! Private notes on a conversation (`POST /v1/conversations/{id}/notes`): for colleagues, never sent to the
//! customer; the transcript (`GET /v1/conversations/{id}`) and the export list them as `notes`.

use crate::App;
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::http::Body;
use crate::http::Path;
use crate::http::views::ts;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use smsdesk_domain::notes::Note;
use smsdesk_domain::*;
use std::sync::Arc;
use utoipa::ToSchema;

/// Adds the notes route to `router`.
pub fn routes(router: Router<Arc<App>>) -> Router<Arc<App>> {
    router.route("/v1/conversations/{id}/notes", post(add_note))
}

/// A private note as the API shows it.
#[derive(Serialize, ToSchema)]
pub struct NoteView {
    #[schema(value_type = String)]
    pub id: NoteId,
    /// Who wrote it (null: the admin).
    #[schema(value_type = Option<String>)]
    pub agent_id: Option<AgentId>,
    pub author_name: String,
    pub text: String,
    #[schema(format = DateTime)]
    pub created_at: String,
}

impl From<&Note> for NoteView {
    fn from(n: &Note) -> Self {
        Self {
            id: n.id.clone(),
            agent_id: n.agent_id.clone(),
            author_name: n.author_name.clone(),
            text: n.text.clone(),
            created_at: ts(n.created_at),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoteBody {
    /// 1 to 2000 characters (surrounding whitespace is trimmed).
    text: String,
}

/// Adds a private note to the conversation (the agent who holds it, a supervisor of its queue, the admin).
/// It is never sent to the customer.
#[utoipa::path(post, path = "/v1/conversations/{id}/notes", tag = "agent", params(("id" = String, Path)),
    request_body = NoteBody,
    responses((status = 201, description = "The note", body = NoteView)))]
pub(crate) async fn add_note(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
    Body(body): Body<NoteBody>,
) -> ApiResult<(StatusCode, Json<NoteView>)> {
    let note = crate::services::notes::add(&app, &who, &id, &body.text).await?;
    Ok((StatusCode::CREATED, Json(NoteView::from(&note))))
}
