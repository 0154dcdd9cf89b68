//! A customer's language (issue 10.3), kept per phone across conversations: read by any agent
//! (`GET /v1/customers/{phone}/language`), set by an admin or a supervisor
//! (`PUT /v1/customers/{phone}/language` `{"language": "es"}`), validated against the languages smsdesk has
//! texts for. A customer also picks it by texting a language keyword ("ESPAÑOL").

use crate::App;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::http::Body;
use crate::http::Path;
use crate::http::views::{CustomerLanguageBody, CustomerLanguageView};
use crate::services::language;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use smsdesk_domain::*;
use std::sync::Arc;

/// Adds the customer routes to `router`.
pub fn routes(router: Router<Arc<App>>) -> Router<Arc<App>> {
    router.route("/v1/customers/{phone}/language", get(get_language).put(put_language))
}

fn phone(raw: &str) -> ApiResult<Phone> {
    Phone::parse(raw).map_err(|e| ApiError::field("phone", e))
}

/// The customer's language, if one was picked (keyword) or set (admin); null: the channel's default applies.
#[utoipa::path(get, path = "/v1/customers/{phone}/language", tag = "agent",
    params(("phone" = String, Path, description = "The customer's number, E.164 (+ as %2B) or digits")),
    responses((status = 200, description = "The customer's language", body = CustomerLanguageView)))]
pub(crate) async fn get_language(
    State(app): State<Arc<App>>,
    _who: Principal,
    Path(raw): Path<String>,
) -> ApiResult<Json<CustomerLanguageView>> {
    let customer = phone(&raw)?;
    let kept = language::get(&app, &customer).await?;
    Ok(Json(CustomerLanguageView::of(customer, kept)))
}

/// Sets the customer's language (an admin or a supervisor): one smsdesk has texts for (400 naming
/// `language` otherwise). The customer's next conversations start in it.
#[utoipa::path(put, path = "/v1/customers/{phone}/language", tag = "admin", request_body = CustomerLanguageBody,
    params(("phone" = String, Path, description = "The customer's number, E.164 (+ as %2B) or digits")),
    responses((status = 200, description = "The customer's language", body = CustomerLanguageView)))]
pub(crate) async fn put_language(
    State(app): State<Arc<App>>,
    who: Principal,
    Path(raw): Path<String>,
    body: Result<Body<CustomerLanguageBody>, ApiError>,
) -> ApiResult<Json<CustomerLanguageView>> {
    if let Some(id) = who.agent_id() {
        let role = app.store.get_agent(id).await?.map(|a| a.role);
        if role != Some(Role::Supervisor) {
            return Err(ApiError::forbidden("an admin or a supervisor sets a customer's language"));
        }
    }
    // The body is judged only once the caller may make the change (403 before any 400).
    let Body(body) = body?;
    let customer = phone(&raw)?;
    let kept = language::set_by_admin(&app, &customer, body.language.trim()).await?;
    Ok(Json(CustomerLanguageView::of(customer, Some(kept))))
}
