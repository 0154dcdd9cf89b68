//! Where a conversation may be transferred (`GET /v1/conversations/{id}/transfer-targets`): every queue and
//! every other agent, by name, for the console's transfer dialog. An agent may transfer to any of them
//! (`POST /v1/conversations/{id}/transfer`) but may not list queues or agents through the admin routes, so
//! without this the agent would have to know the ids.

use crate::App;
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::http::Path;
use crate::http::views::PresenceSchema;
use crate::services::conversations::{self, Need};
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use smsdesk_domain::*;
use std::sync::Arc;
use utoipa::ToSchema;

/// Adds the transfer targets route to `router`.
pub fn routes(router: Router<Arc<App>>) -> Router<Arc<App>> {
    router.route("/v1/conversations/{id}/transfer-targets", get(transfer_targets))
}

/// The queues and agents a conversation may go to, by name.
#[derive(Serialize, ToSchema)]
pub struct TransferTargets {
    pub queues: Vec<TransferQueue>,
    /// Every agent but the one who holds the conversation.
    pub agents: Vec<TransferAgent>,
}

#[derive(Serialize, ToSchema)]
pub struct TransferQueue {
    #[schema(value_type = String)]
    pub id: QueueId,
    pub name: String,
}

#[derive(Serialize, ToSchema)]
pub struct TransferAgent {
    #[schema(value_type = String)]
    pub id: AgentId,
    pub name: String,
    #[schema(value_type = PresenceSchema)]
    pub presence: Presence,
    /// Whether a transfer to this agent may start now (available, below its capacity and its team's);
    /// otherwise it is refused.
    pub can_take: bool,
}

/// Where the conversation may be transferred: every queue, and every agent but its holder (who may act on
/// it: the agent who holds it, a supervisor of its queue, the admin).
#[utoipa::path(get, path = "/v1/conversations/{id}/transfer-targets", tag = "agent", params(("id" = String, Path)),
    responses((status = 200, description = "The queues and agents it may go to", body = TransferTargets)))]
pub(crate) async fn transfer_targets(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<TransferTargets>> {
    let conversation = conversations::authorize(&app, &who, &id, Need::Act).await?;
    let mut queues: Vec<TransferQueue> = app
        .store
        .list_queues()
        .await?
        .into_iter()
        .map(|q| TransferQueue { id: q.id, name: q.name })
        .collect();
    queues.sort_by(|a, b| a.name.cmp(&b.name));
    let teams = app.store.list_teams().await?;
    let mut agents: Vec<TransferAgent> = app
        .store
        .list_agents()
        .await?
        .into_iter()
        .filter(|a| Some(&a.id) != conversation.agent_id.as_ref())
        .map(|a| TransferAgent {
            can_take: a.has_free_capacity() && smsdesk_domain::team::team_has_room(&a, &teams),
            id: a.id,
            name: a.name,
            presence: a.presence,
        })
        .collect();
    agents.sort_by(|a, b| b.can_take.cmp(&a.can_take).then_with(|| a.name.cmp(&b.name)));
    Ok(Json(TransferTargets { queues, agents }))
}
