//! `GET /v1/events`: the console's live updates over a WebSocket, in `smsdesk dev`. It tails the change
//! feed (the embedded `changes` table, filled by triggers) and sends each caller the changes it may see.
//!
//! Protocol (JSON text frames; the same one API Gateway's WebSocket API is to speak in AWS):
//! 1. The client's first message authenticates and says where to resume:
//!    `{"type": "auth", "token": "<agent or admin token>", "since": <last seq seen, or null>}`. The token is
//!    never in the URL (URLs get logged). No valid first message within 10 s, or a bad token: an
//!    `{"type": "error", "code", "message"}` and the socket closes with code 4401.
//! 2. The server answers `{"type": "hello", "role": "agent"|"admin", "agent_id", "head": <newest seq>}`.
//!    With `since` it then sends every change after it the caller may see; when the feed no longer keeps
//!    them (retention) or `since` is from another database, `{"type": "reset", "seq"}` instead: reload
//!    everything through the API and resume from `seq`. Then `{"type": "caught_up", "seq"}`.
//! 3. Live: `{"type": "change", "seq", "entity": "conversation"|"message", "id", "conversation_id",
//!    "data"}` as they commit; the client re-reads what changed through the API (which checks access
//!    again). A ping every 15 s keeps proxies from closing an idle socket.

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use serde::Deserialize;
use serde_json::json;
use smsdesk_app::auth::{Principal, principal_of_token};
use smsdesk_app::{App, services::live};
use smsdesk_ports::{ChangeFeed, ChangePage};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often an idle socket looks for new changes.
const POLL: Duration = Duration::from_millis(100);
const PAGE: usize = 500;
const AUTH_WITHIN: Duration = Duration::from_secs(10);
const PING_EVERY: Duration = Duration::from_secs(15);
/// Close code for a missing or refused token (4000-4999: the application's own).
const UNAUTHORIZED: u16 = 4401;

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    Auth { token: String, since: Option<i64> },
}

#[derive(Clone)]
pub struct Events {
    pub app: Arc<App>,
    pub feed: Arc<dyn ChangeFeed>,
    pub shutdown: watch::Receiver<bool>,
}

/// The `/v1/events` route.
pub fn route(router: axum::Router, events: Events) -> axum::Router {
    router.route(
        "/v1/events",
        axum::routing::get(move |ws: WebSocketUpgrade| {
            let events = events.clone();
            async move { upgrade(ws, events) }
        }),
    )
}

fn upgrade(ws: WebSocketUpgrade, events: Events) -> Response {
    ws.on_upgrade(move |socket| async move {
        let mut shutdown = events.shutdown.clone();
        tokio::select! {
            _ = serve(socket, &events) => {}
            _ = shutdown.wait_for(|stop| *stop) => {}
        }
    })
}

async fn send(socket: &mut WebSocket, value: serde_json::Value) -> bool {
    socket.send(Message::Text(value.to_string().into())).await.is_ok()
}

async fn refuse(mut socket: WebSocket, code: &str, message: &str) {
    let _ = send(&mut socket, json!({"type": "error", "code": code, "message": message})).await;
    let frame = CloseFrame { code: UNAUTHORIZED, reason: Utf8Bytes::from(code.to_owned()) };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

/// The first text message, parsed; None when the client sent nothing usable in time.
async fn first_message(socket: &mut WebSocket) -> Option<ClientMessage> {
    let read = async {
        while let Some(Ok(msg)) = socket.recv().await {
            match msg {
                Message::Text(text) => return serde_json::from_str::<ClientMessage>(&text).ok(),
                Message::Close(_) => return None,
                _ => continue,
            }
        }
        None
    };
    tokio::time::timeout(AUTH_WITHIN, read).await.ok().flatten()
}

async fn serve(mut socket: WebSocket, events: &Events) {
    let Some(ClientMessage::Auth { token, since }) = first_message(&mut socket).await else {
        return refuse(socket, "unauthorized", "the first message must be {\"type\": \"auth\", \"token\"}")
            .await;
    };
    let who = match principal_of_token(&events.app, token.trim()).await {
        Ok(who) => who,
        Err(e) => {
            tracing::info!(reason = %e.message, "live updates: token refused");
            return refuse(socket, "unauthorized", "unknown token").await;
        }
    };
    let head = match events.feed.changes_after(i64::MAX - 1, 1).await {
        Ok(page) => page.head,
        Err(e) => {
            tracing::warn!(error = %e, "live updates: the change feed could not be read");
            return;
        }
    };
    let (role, agent_id) = match &who {
        Principal::Admin => ("admin", None),
        Principal::Agent(id) => ("agent", Some(id.to_string())),
    };
    if !send(&mut socket, json!({"type": "hello", "role": role, "agent_id": agent_id, "head": head})).await {
        return;
    }
    let mut after = since.unwrap_or(head);
    let mut caught_up = false;
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        let page = match events.feed.changes_after(after, PAGE).await {
            Ok(page) => page,
            Err(e) => {
                tracing::warn!(error = %e, "live updates: the change feed could not be read");
                tokio::time::sleep(POLL * 10).await;
                continue;
            }
        };
        if page.gap_after(after) {
            after = page.head;
            if !send(&mut socket, json!({"type": "reset", "seq": after})).await {
                return;
            }
            continue;
        }
        if !forward(&mut socket, events, &who, &page, &mut after).await {
            return;
        }
        if page.changes.len() == PAGE {
            continue;
        }
        if !caught_up {
            caught_up = true;
            if !send(&mut socket, json!({"type": "caught_up", "seq": after})).await {
                return;
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(POLL) => {}
            _ = ping.tick() => {
                if socket.send(Message::Ping(Default::default())).await.is_err() {
                    return;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// Sends the changes of `page` that `who` may see, and moves `after` past the whole page.
async fn forward(
    socket: &mut WebSocket,
    events: &Events,
    who: &Principal,
    page: &ChangePage,
    after: &mut i64,
) -> bool {
    let Some(last) = page.changes.last().map(|c| c.seq) else { return true };
    let visible = match live::visible(&events.app, who, page).await {
        Ok(v) => v,
        Err(e) => {
            tracing::warn!(error = %e, "live updates: access could not be checked");
            return true;
        }
    };
    for change in visible {
        let mut message = json!(change);
        message["type"] = json!("change");
        if !send(socket, message).await {
            return false;
        }
    }
    *after = last;
    true
}
