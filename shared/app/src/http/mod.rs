//! The HTTP API and webhooks as one axum `Router`: `smsdesk dev` serves it on a socket; in AWS, lambda_http
//! serves the same routes behind API Gateway (each function mounts the part it owns).

pub mod admin;
pub mod agent;
pub mod console;
pub mod media;
pub mod sandbox;
pub mod webhooks;

use crate::App;
use crate::error::ApiError;
use axum::Router;
use axum::extract::{FromRequest, Request};
use axum::routing::get;
use serde::de::DeserializeOwned;
use std::sync::Arc;

// Each module adds its routes to one `Router` rather than building its own to be merged: axum inserts
// every route of a merged router again, and each insert copies the path tree, which made building the
// agent-api router a third of that function's cold start (bench/coldstart/README.md).

/// Every route: what `smsdesk dev` serves.
pub fn router(app: Arc<App>) -> Router {
    let mut r = webhooks::routes(Router::new().route("/healthz", get(healthz)), &app);
    r = console::routes(agent::routes(admin::routes(r)));
    if app.config.sandbox {
        r = sandbox::routes(r);
    }
    r.fallback(not_found).with_state(app)
}

/// The webhook routes only (the inbound-webhook function).
pub fn webhook_router(app: Arc<App>) -> Router {
    webhooks::routes(Router::new(), &app).fallback(not_found).with_state(app)
}

/// The channel validation route only (the validate-credentials function).
pub fn validate_router(app: Arc<App>) -> Router {
    admin::validate_routes(Router::new()).fallback(not_found).with_state(app)
}

/// The admin and agent API (the agent-api function).
pub fn api_router(app: Arc<App>) -> Router {
    console::routes(agent::routes(admin::routes(Router::new().route("/healthz", get(healthz)))))
        .fallback(not_found)
        .with_state(app)
}

async fn healthz() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({"status": "ok"}))
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

/// A JSON body whose rejections are API errors (`{"error": ...}`) that say what is wrong.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::field("body", format!("could not be read: {e}")))?;
        if bytes.is_empty() {
            return Err(ApiError::field("body", "a JSON object is required"));
        }
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error(&mut de).map(Body)
    }
}

fn serde_path_to_error<T: DeserializeOwned>(
    de: &mut serde_json::Deserializer<serde_json::de::SliceRead<'_>>,
) -> Result<T, ApiError> {
    T::deserialize(&mut *de).map_err(|e| {
        let msg = e.to_string();
        // serde says "missing field `text` at line 1 column 2": lead with the field name.
        if let Some(rest) = msg.strip_prefix("missing field `") {
            let field = rest.split('`').next().unwrap_or("body");
            return ApiError::field(field, "is required");
        }
        if let Some(rest) = msg.strip_prefix("unknown field `") {
            let field = rest.split('`').next().unwrap_or("body");
            return ApiError::field(field, "is not a known field");
        }
        ApiError::field("body", format!("is not valid: {msg}"))
    })
}
