//! `GET /v1/events`: the console's live updates over a WebSocket, in `smsdesk dev`. It tails the change
//! feed (the embedded `changes` table, filled by triggers) and sends each caller the changes it may see.
//!
//! Protocol (JSON text frames; the same one API Gateway's WebSocket API is to speak in AWS):
//! 1. The client's first message authenticates and says where to resume:
//!    `{"type": "auth", "token": "<agent or admin token>", "since": <last seq seen, or null>}`. The token is
//!    never in the URL (URLs get logged). No valid first message within 10 s, or a bad token: an
//!    `{"type": "error", "code", "message"}` and the socket closes with code 4401.
//! 2. The server answers `{"type": "hello", "role": "agent"|"supervisor"|"admin", "agent_id", "head": <newest
//!    seq>}`.
//!    With `since` it then sends every change after it the caller may see; when the feed no longer keeps
//!    them (retention) or `since` is from another database, `{"type": "reset", "seq"}` instead: reload
//!    everything through the API and resume from `seq`. Then `{"type": "caught_up", "seq"}`.
//! 3. Live: `{"type": "change", "seq", "entity": "conversation"|"message", "id", "conversation_id",
//!    "data"}` as they commit; the client re-reads what changed through the API (which checks access
//!    again). A ping every 15 s keeps proxies from closing an idle socket.
//!
//! The messages and the catch-up live in `smsdesk_app::services::live` (shared with the AWS shape's `live`
//! function, shared/lambda/src/live.rs); this file is the socket.

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use smsdesk_app::auth::principal_of_token;
use smsdesk_app::error::ApiError;
use smsdesk_app::services::live::protocol::{ClientMessage, ServerMessage, UNAUTHORIZED};
use smsdesk_app::{App, services::live};
use smsdesk_ports::ChangeFeed;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often an idle socket looks for new changes.
const POLL: Duration = Duration::from_millis(100);
const AUTH_WITHIN: Duration = Duration::from_secs(10);
/// The largest message a client may send (an auth message with a token is a few KB).
const MAX_CLIENT_MESSAGE: usize = 64 * 1024;
const PING_EVERY: Duration = Duration::from_secs(15);

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
        axum::routing::get(move |ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>| {
            let events = events.clone();
            async move {
                match ws {
                    Ok(ws) => upgrade(ws, events),
                    // Not a WebSocket handshake: answered as every API error is, in JSON.
                    Err(e) => ApiError::new(e.status(), "invalid_request", e.body_text()).into_response(),
                }
            }
        }),
    )
}

fn upgrade(ws: WebSocketUpgrade, events: Events) -> Response {
    // A client says little (its token, where it left off); a stranger may not send megabytes before that.
    ws.max_message_size(MAX_CLIENT_MESSAGE).max_frame_size(MAX_CLIENT_MESSAGE).on_upgrade(
        move |socket| async move {
            let mut shutdown = events.shutdown.clone();
            tokio::select! {
                _ = serve(socket, &events) => {}
                _ = shutdown.wait_for(|stop| *stop) => {}
            }
        },
    )
}

async fn send(socket: &mut WebSocket, message: &ServerMessage) -> bool {
    socket.send(Message::Text(message.to_text().into())).await.is_ok()
}

async fn refuse(mut socket: WebSocket, message: &str) {
    let _ = send(&mut socket, &ServerMessage::unauthorized(message)).await;
    let frame = CloseFrame { code: UNAUTHORIZED, reason: Utf8Bytes::from_static("unauthorized") };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

/// The first text message, parsed; None when the client sent nothing usable in time.
async fn first_message(socket: &mut WebSocket) -> Option<ClientMessage> {
    let read = async {
        while let Some(Ok(msg)) = socket.recv().await {
            match msg {
                Message::Text(text) => return ClientMessage::parse(&text),
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
        return refuse(socket, "the first message must be {\"type\": \"auth\", \"token\"}").await;
    };
    let who = match principal_of_token(&events.app, token.trim()).await {
        Ok(who) => who,
        Err(e) => {
            tracing::info!(reason = %e.message, "live updates: token refused");
            return refuse(socket, "unknown token").await;
        }
    };
    let head = match live::head(events.feed.as_ref()).await {
        Ok(head) => head,
        Err(e) => {
            tracing::warn!(error = %e, "live updates: the change feed could not be read");
            return;
        }
    };
    let hello = match live::hello(&events.app, &who, head).await {
        Ok(Some(hello)) => hello,
        Ok(None) => return refuse(socket, "unknown token").await,
        Err(e) => {
            tracing::warn!(error = %e, "live updates: the agent could not be read");
            return;
        }
    };
    if !send(&mut socket, &hello).await {
        return;
    }
    let mut after = since.unwrap_or(head);
    let mut caught_up = false;
    let mut ping = tokio::time::interval(PING_EVERY);
    ping.tick().await;
    loop {
        let step = match live::step(&events.app, events.feed.as_ref(), &who, after).await {
            Ok(step) => step,
            Err(e) => {
                tracing::warn!(error = %e, "live updates: the change feed could not be read");
                tokio::time::sleep(POLL * 10).await;
                continue;
            }
        };
        for frame in &step.frames {
            if !send(&mut socket, frame).await {
                return;
            }
        }
        after = step.after;
        if step.more {
            continue;
        }
        if !caught_up {
            caught_up = true;
            if !send(&mut socket, &ServerMessage::CaughtUp { seq: after }).await {
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
