//! The HTTP API and webhooks as one axum `Router`: `smsdesk dev` serves it on a socket; in AWS, lambda_http
//! serves the same routes behind API Gateway (each function mounts the part it owns).

pub mod admin;
pub mod agent;
pub mod console;
pub mod customers;
pub mod media;
pub mod notes;
pub mod openapi;
pub mod queue_views;
pub mod queues;
pub mod quick_replies;
pub mod sandbox;
pub mod teams;
pub mod transfer_targets;
pub mod views;
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
    let mut r = webhooks::routes(base(), &app);
    r = console::routes(agent::routes(admin::validate_routes(admin::routes(r))));
    if app.config.sandbox {
        r = sandbox::routes(r);
    }
    finish(r, app)
}

/// The webhook routes only (the inbound-webhook function).
pub fn webhook_router(app: Arc<App>) -> Router {
    finish(webhooks::routes(Router::new(), &app), app)
}

/// The channel validation route only (the validate-credentials function).
pub fn validate_router(app: Arc<App>) -> Router {
    finish(admin::validate_routes(Router::new()), app)
}

/// The admin and agent API (the agent-api function).
pub fn api_router(app: Arc<App>) -> Router {
    finish(console::routes(agent::routes(admin::validate_elsewhere_routes(admin::routes(base())))), app)
}

/// What every router ends with, once its routes are all there: JSON errors for an unknown path and for a
/// method a route does not take (with its `Allow` header), and the header limit.
fn finish(routes: Router<Arc<App>>, app: Arc<App>) -> Router {
    routes
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .with_state(app)
        .layer(axum::middleware::from_fn(limit_headers))
}

/// The most a request line and its headers may take, as API Gateway's HTTP API caps them (10,240 bytes)
/// with room to spare: `smsdesk dev` refuses the same requests the AWS shape never sees.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// 431 with a reason for a request whose request line and headers exceed [`MAX_HEADER_BYTES`] (hyper's own
/// limit is far larger and answers without a reason).
pub async fn limit_headers(req: Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    let line = req.method().as_str().len() + req.uri().to_string().len();
    let headers: usize = req.headers().iter().map(|(k, v)| k.as_str().len() + v.len() + 4).sum();
    let total = line + headers;
    if total > MAX_HEADER_BYTES {
        return ApiError::new(
            axum::http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers_too_large",
            format!(
                "headers: {total} bytes of request line and headers; at most {MAX_HEADER_BYTES} are read"
            ),
        )
        .into_response();
    }
    next.run(req).await
}

/// `/healthz` and `/openapi.json` (no token).
fn base() -> Router<Arc<App>> {
    Router::new().route("/healthz", get(healthz)).route("/openapi.json", get(openapi_json))
}

async fn healthz() -> axum::Json<views::Health> {
    axum::Json(views::Health { status: "ok".into() })
}

/// The contract ([`openapi`]), generated from the routes' types.
async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(openapi::document())
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

/// 405 for a method the route does not take; axum adds the `Allow` header listing those it does.
pub async fn method_not_allowed(method: axum::http::Method) -> ApiError {
    ApiError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!("{method} is not allowed on this route (the Allow header lists the methods that are)"),
    )
}

/// A path parameter whose rejection is an API error (`{"error": ...}`) naming the parameter, where axum's
/// own answers in plain text (a `%FF` in an id is not UTF-8).
pub struct Path<T>(pub T);

/// The longest path segment a route takes.
const MAX_PATH_SEGMENT: usize = 200;

impl<T, S> axum::extract::FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        use axum::extract::path::ErrorKind;
        use axum::extract::rejection::PathRejection;
        // Ids are far shorter; a longer segment would reach the store's key limit (DynamoDB: 1 KB sort keys,
        // 2 KB partition keys) as a storage error, a 500 for anyone's malformed URL.
        if parts.uri.path().split('/').any(|segment| segment.len() > MAX_PATH_SEGMENT) {
            return Err(ApiError::not_found(format!(
                "no such resource (a path segment over {MAX_PATH_SEGMENT} characters)"
            )));
        }
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Path(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => Err(match e.kind() {
                ErrorKind::InvalidUtf8InPathParam { key } => ApiError::field(key, "is not valid UTF-8"),
                ErrorKind::ParseErrorAtKey { key, .. } | ErrorKind::DeserializeError { key, .. } => {
                    ApiError::field(key, e.body_text())
                }
                _ => ApiError::field("path", e.body_text()),
            }),
            Err(other) => Err(ApiError::new(
                other.status(),
                if other.status().is_client_error() { "invalid_request" } else { "internal" },
                format!("path: {}", other.body_text()),
            )),
        }
    }
}

/// A query string whose rejection is an API error (`{"error": ...}`), where axum's own answers in plain
/// text (`?phone=a&phone=b`: a field given twice).
pub struct Query<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|e| ApiError::field("query", e.body_text()))
    }
}

/// A JSON body whose rejections are API errors (`{"error": ...}`) that say what is wrong.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req.headers().get(axum::http::header::CONTENT_TYPE).cloned();
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    axum::http::StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("body: is larger than the {MAX_API_BODY_BYTES} bytes an API request may carry"),
                )
            } else {
                ApiError::field("body", format!("could not be read: {e}"))
            }
        })?;
        if bytes.is_empty() {
            return Err(ApiError::field("body", "a JSON object is required"));
        }
        if !is_json(content_type.as_ref()) {
            let given = content_type.as_ref().map_or_else(
                || "none".to_string(),
                |v| String::from_utf8_lossy(v.as_bytes()).chars().take(80).collect(),
            );
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("Content-Type: must be application/json (was {given})"),
            ));
        }
        parse_json(&bytes).map(Body)
    }
}

/// A request body as `T`: one JSON value and nothing after it but whitespace, with no key twice in an
/// object (`{"name": "a", "name": "b"}` is ambiguous: refused, whatever `T` is, `serde_json::Value`
/// included, which would keep the last). A 400 names the field and the rule.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // First the JSON's shape (syntax, a key twice, trailing content), then its meaning as `T`.
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::<UniqueKeys>(&mut de)?;
    de.end().map_err(|e| ApiError::field("body", format!("is not valid: {e}")))?;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error(&mut de)
}

/// Any JSON value whose objects each name a key at most once (serde's error "duplicate field `key`"
/// otherwise, as a struct's derived `Deserialize` says it).
struct UniqueKeys;

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(UniqueKeys)
    }
}

impl<'de> serde::de::Visitor<'de> for UniqueKeys {
    type Value = UniqueKeys;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_unit<E>(self) -> Result<Self, E> {
        Ok(self)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self, A::Error> {
        while seq.next_element::<UniqueKeys>()?.is_some() {}
        Ok(self)
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self, A::Error> {
        let mut seen = std::collections::HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                return Err(serde::de::Error::custom(format_args!("duplicate field `{key}`")));
            }
            map.next_value::<UniqueKeys>()?;
            seen.insert(key);
        }
        Ok(self)
    }
}

/// The most an API request body may carry: axum's default body limit, which every route keeps.
pub const MAX_API_BODY_BYTES: usize = 2 * 1024 * 1024;

/// `application/json` or a `+json` type, with or without parameters (`; charset=utf-8`).
fn is_json(content_type: Option<&axum::http::HeaderValue>) -> bool {
    let Some(value) = content_type.and_then(|v| v.to_str().ok()) else { return false };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn serde_path_to_error<T: DeserializeOwned>(
    de: &mut serde_json::Deserializer<serde_json::de::SliceRead<'_>>,
) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        // Where in the body it broke (`session`, `numbers[0].send_rate`), "." at the top.
        let path = e.path().to_string();
        let msg = e.inner().to_string();
        // serde says "missing field `text` at line 1 column 2": lead with the field name.
        if let Some(rest) = msg.strip_prefix("missing field `") {
            let field = rest.split('`').next().unwrap_or("body");
            return ApiError::field(field, "is required");
        }
        if let Some(rest) = msg.strip_prefix("unknown field `") {
            let field = rest.split('`').next().unwrap_or("body");
            return ApiError::field(field, "is not a known field");
        }
        // Raised at the object that holds the key: its path, then the key.
        if let Some(rest) = msg.strip_prefix("duplicate field `") {
            let key = rest.split('`').next().unwrap_or_default();
            let field = if path == "." { key.to_string() } else { format!("{path}.{key}") };
            return ApiError::field(field, "appears more than once in its object");
        }
        if path != "." {
            return ApiError::field(path, format!("is not valid: {msg}"));
        }
        ApiError::field("body", format!("is not valid: {msg}"))
    })
}
