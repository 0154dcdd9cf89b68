//! `POST /webhooks/{provider}/{channel_id}`: authenticated by the provider's signature (the sandbox, which has no
//! secret: by the admin token), never by agent tokens.
//! 2xx once every event is durable (a text on the inbound queue, a delivery receipt applied); 401 for anything
//! refused before or at the signature check (unknown provider or channel, bad or missing signature; the same
//! answer for each, the reason only in the log); 400 malformed; 413 oversize.

use crate::App;
use crate::error::ApiError;
use crate::http::Path;
use crate::services::intake;
use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use smsdesk_providers::WebhookRequest;
use std::sync::Arc;
use tracing::Instrument;

/// Adds the webhook route, with its body limit, to `router`. Every method reaches the handler: the
/// provider decides which ones it calls with (405 for the others).
pub fn routes(router: Router<Arc<App>>, app: &App) -> Router<Arc<App>> {
    router.route(
        "/webhooks/{provider}/{channel_id}",
        any(receive).layer(DefaultBodyLimit::max(app.config.max_webhook_bytes)),
    )
}

async fn receive(
    State(app): State<Arc<App>>,
    Path((provider, channel_id)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("webhook bodies are limited to {} bytes", app.config.max_webhook_bytes),
            )
            .into_response();
        }
        Err(e) => return ApiError::field("body", format!("could not be read: {e}")).into_response(),
    };
    let host = headers.get(axum::http::header::HOST).and_then(|h| h.to_str().ok());
    let base = app.config.webhook_base_url_of(host);
    let headers: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.as_str().to_ascii_lowercase(), v.to_string())))
        .collect();
    let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or_else(|| uri.path());
    let url = format!("{base}{path_and_query}");
    let request = WebhookRequest { method: method.as_str(), url: &url, headers: &headers, body: &body };
    let span = tracing::info_span!("webhook", provider = %provider, channel = %channel_id);
    match intake::receive_webhook(&app, &provider, &channel_id, &request).instrument(span).await {
        Ok((_, Some(reply))) => {
            let content_type = match reply.content_type {
                std::borrow::Cow::Borrowed(constant) => Ok(axum::http::HeaderValue::from_static(constant)),
                std::borrow::Cow::Owned(built) => axum::http::HeaderValue::try_from(built),
            };
            let mut response =
                (StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK), reply.body).into_response();
            if let Ok(content_type) = content_type {
                response.headers_mut().insert(axum::http::header::CONTENT_TYPE, content_type);
            }
            for (name, value) in reply.headers {
                if let Ok(value) = axum::http::HeaderValue::try_from(value) {
                    response.headers_mut().insert(name, value);
                }
            }
            response
        }
        Ok((summary, None)) => {
            (StatusCode::OK, axum::Json(Accepted { status: "accepted", summary })).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// The answer to a webhook taken (providers without an answer of their own): `{"status": "accepted",
/// "queued", "applied", "duplicates"}`.
#[derive(serde::Serialize)]
struct Accepted {
    status: &'static str,
    #[serde(flatten)]
    summary: intake::IntakeSummary,
}
