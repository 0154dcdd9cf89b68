//! Who is calling. Locally: `Authorization: Bearer <token>`, the admin token or an agent's token (stored as
//! its SHA-256). Behind API Gateway: the JWT authorizer has verified the token and the Lambda glue puts what
//! it says into the request as a [`GatewayIdentity`]; an admin by group or scope, otherwise the agent whose
//! `subject` is the token's `sub` (no such agent: 401). On the function's own URL (no authorizer), the
//! function verifies the issuer's bearer JWT itself (`Config::jwt`) and reads it by the same rule.

use crate::App;
use crate::error::ApiError;
use crate::oidc;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use smsdesk_domain::AgentId;
use std::sync::Arc;
use subtle::ConstantTimeEq;

#[derive(Clone, Debug)]
pub enum AuthMode {
    /// Bearer tokens checked here (`smsdesk dev`).
    Tokens { admin_token: SecretString },
    /// API Gateway verified a JWT; the Lambda glue inserted a [`GatewayIdentity`].
    GatewayClaims,
}

/// The caller as API Gateway's JWT authorizer verified it (inserted by the Lambda glue, never read from a
/// header): the token's `sub`, and whether its groups or scopes name the admin role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GatewayIdentity {
    pub subject: String,
    pub admin: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    Admin,
    Agent(AgentId),
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        matches!(self, Principal::Admin)
    }

    pub fn agent_id(&self) -> Option<&AgentId> {
        match self {
            Principal::Agent(id) => Some(id),
            Principal::Admin => None,
        }
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() { Ok(()) } else { Err(ApiError::forbidden("this needs an admin token")) }
    }
}

/// SHA-256 hex of an agent token: what the store keeps.
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl FromRequestParts<Arc<App>> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        if let AuthMode::GatewayClaims = app.config.auth {
            if let Some(identity) = parts.extensions.get::<GatewayIdentity>() {
                return principal_of_identity(app, identity).await;
            }
            // Not through API Gateway's authorizer: the function's own URL (template parameter
            // `ApiIngress=FunctionUrl`), where the function checks the issuer's JWTs itself.
            return match &app.config.jwt {
                Some(verifier) => principal_of_jwt(app, verifier, bearer(parts)?).await,
                None => Err(ApiError::unauthorized("no verified identity on the request")),
            };
        }
        principal_of_token(app, bearer(parts)?).await
    }
}

/// The caller of an admin-only route, checked as the request's first extractor: a caller who is not an
/// admin gets 403 before the body is read, never a 400 that would tell them the body's rules.
pub struct Admin;

impl FromRequestParts<Arc<App>> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        Principal::from_request_parts(parts, app).await?.require_admin().map(|()| Admin)
    }
}

/// The token of the request's `Authorization: Bearer <token>` header.
fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header = parts
        .headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("Authorization: Bearer <token> is required"))?;
    let value = header.to_str().map_err(|_| ApiError::unauthorized("Authorization header is not text"))?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("Authorization must be 'Bearer <token>'"))
}

/// The caller a JWT of the configured issuer names, checked here as API Gateway's JWT authorizer checks it.
async fn principal_of_jwt(
    app: &App,
    verifier: &oidc::JwtVerifier,
    token: &str,
) -> Result<Principal, ApiError> {
    let claims = verifier.verify(token).await.map_err(|e| match e {
        // Not the caller's fault, and the token may be good: 503, so a client tries again, not signs out.
        oidc::JwtError::Keys(_) => {
            tracing::warn!(reason = %e, "a bearer JWT could not be checked");
            ApiError::new(axum::http::StatusCode::SERVICE_UNAVAILABLE, "unavailable", e.to_string())
        }
        _ => {
            tracing::info!(reason = %e, "a bearer JWT was refused");
            ApiError::unauthorized(e.to_string())
        }
    })?;
    let identity = crate::claims::identity(&claims)
        .ok_or_else(|| ApiError::unauthorized("the token names no caller"))?;
    principal_of_identity(app, &identity).await
}

/// The caller a bearer token names under [`AuthMode::Tokens`]: the admin token, or an agent's token. Also
/// what the live-updates socket checks the token of its first message with (a browser cannot set headers
/// on a WebSocket, and a token in the URL would be logged).
pub async fn principal_of_token(app: &App, token: &str) -> Result<Principal, ApiError> {
    if let AuthMode::GatewayClaims = app.config.auth {
        return Err(ApiError::unauthorized("bearer tokens are checked by API Gateway in this shape"));
    }
    if let Some(admin) = app.admin_token()
        && bool::from(token.as_bytes().ct_eq(admin.expose_secret().as_bytes()))
    {
        return Ok(Principal::Admin);
    }
    if let Some(verifier) = &app.config.jwt
        && token.split('.').count() == 3
    {
        return principal_of_jwt(app, verifier, token).await;
    }
    match app.store.agent_by_token(&token_hash(token)).await? {
        Some(agent) => Ok(Principal::Agent(agent.id)),
        None => Err(ApiError::unauthorized("unknown token")),
    }
}

/// The caller a verified identity names: an admin by group or scope, otherwise the agent whose `subject` is
/// the token's `sub` (none: 401). The same for API Gateway's claims and `smsdesk dev --oidc-issuer`.
pub async fn principal_of_identity(app: &App, identity: &GatewayIdentity) -> Result<Principal, ApiError> {
    if identity.admin {
        return Ok(Principal::Admin);
    }
    match app.store.agent_by_subject(&identity.subject).await? {
        Some(agent) => Ok(Principal::Agent(agent.id)),
        None => Err(ApiError::unauthorized("the token's subject is no agent's")),
    }
}
