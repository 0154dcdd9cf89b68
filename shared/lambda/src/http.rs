//! HTTP functions behind an API Gateway HTTP API (payload format 2.0), and the caller's identity.
//!
//! API Gateway's JWT authorizer verifies the bearer token (issuer, audience, signature, expiry) before the
//! function runs and passes the token's claims in the request context. [`run_http`] turns them into a plain
//! [`Claims`] in the request's extensions, and into the application's
//! [`GatewayIdentity`](smsdesk_app::GatewayIdentity) (see [`crate::identity`]), so handlers never see Lambda
//! types.
//!
//! Claim names read (the rule lives in `smsdesk_app::claims`, shared with `smsdesk dev --oidc-issuer`; API Gateway passes every claim as a string; arrays arrive as `[a b c]`):
//! - `sub`: the subject (required; without it there are no claims). An agent is the one whose `subject` an
//!   admin set to this value (`POST /v1/agents`); users cannot change their own `sub`.
//! - scopes: the authorizer's `scopes` list, plus the `scope` / `scp` claims (space-separated).
//! - groups: `cognito:groups`, then `groups`.
//! - admin: a group named `smsdesk-admin`, or a scope `smsdesk-admin` (also as `<resource-server>/smsdesk-admin`).
//!
//! No other claim names an agent: attributes such as `custom:agent_id` may be writable by the user
//! themselves, so they are not read.

use axum::body::Body;
use axum::http::Request;
use axum::response::Response;
use lambda_http::request::{LambdaRequest, RequestContext};
use lambda_runtime::LambdaEvent;
use std::convert::Infallible;
use tower::Service;
use tower::util::MapRequest;

use smsdesk_app::claims::claims_from_jwt;
#[cfg(test)]
use smsdesk_app::claims::string_list;
pub use smsdesk_app::claims::{ADMIN_ROLE, Claims, GROUP_CLAIMS};

// The wrappers below go around the whole router, once, rather than through `Router::layer`, which wraps
// every route's handlers one by one while the function starts (bench/coldstart/README.md).

/// Serves `service` (an axum `Router`) to API Gateway HTTP API events until the Lambda environment shuts
/// down: [`lambda_service`] run by the Lambda runtime.
pub async fn run_http<S>(service: S) -> Result<(), lambda_http::Error>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    lambda_runtime::run(lambda_service(service)).await
}

/// `service` as Lambda invokes it: an API Gateway HTTP API event (payload 2.0) in, through lambda_http's
/// conversion, with [`Claims`] and the application's identity in the request's extensions when the route
/// has the JWT authorizer; lambda_http's response (serialized by the runtime) out.
pub fn lambda_service<S>(
    service: S,
) -> impl Service<LambdaEvent<LambdaRequest>, Response = impl serde::Serialize, Error = Infallible> + Clone
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let service = with_claims(with_principal(service, crate::identity));
    let to_axum: fn(lambda_http::Request) -> Request<Body> = |request| request.map(Body::new);
    lambda_http::Adapter::from(MapRequest::new(service, to_axum))
}

/// Starts one call of [`lambda_service`]. The adapter is not Send (it names the response type by
/// reference), so it lives only here; an axum Router is always ready, and the call's future is Send.
fn call<S>(
    service: S,
    event: LambdaEvent<LambdaRequest>,
) -> Result<impl Future<Output = Result<impl serde::Serialize, Infallible>> + Send, String>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    use std::task::{Context, Poll, Waker};
    let service = with_claims(with_principal(service, crate::identity));
    let to_axum: fn(lambda_http::Request) -> Request<Body> = |request| request.map(Body::new);
    let mut adapter = lambda_http::Adapter::from(MapRequest::new(service, to_axum));
    if adapter.poll_ready(&mut Context::from_waker(Waker::noop())) != Poll::Ready(Ok(())) {
        return Err("the function's service was not ready".into());
    }
    Ok(adapter.call(event))
}

/// One invocation of [`lambda_service`] with the event as JSON, answering the JSON that the Lambda runtime
/// hands back to API Gateway: what the AWS-shape tests do for each HTTP request.
pub async fn invoke_json<S>(service: S, event: serde_json::Value) -> Result<serde_json::Value, String>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    let request: LambdaRequest =
        serde_json::from_value(event).map_err(|e| format!("not an event lambda_http accepts: {e}"))?;
    let event = LambdaEvent::new(request, lambda_runtime::Context::default());
    let response = match call(service, event)?.await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    serde_json::to_value(&response).map_err(|e| format!("the response does not serialize: {e}"))
}

/// `service` behind [`with_claims`].
pub type WithClaims<S> = MapRequest<S, fn(Request<Body>) -> Request<Body>>;

/// Inserts [`Claims`] into each request before `service` sees it.
pub fn with_claims<S>(service: S) -> WithClaims<S> {
    MapRequest::new(service, insert_claims)
}

/// Inserts into each request the application's identity derived from its [`Claims`] (when `derive`
/// returns one), before `service` sees it. [`run_http`] adds the claims themselves outside this wrapper.
pub fn with_principal<S, P, F>(
    service: S,
    derive: F,
) -> MapRequest<S, impl FnMut(Request<Body>) -> Request<Body> + Clone + Send + Sync + 'static>
where
    P: Clone + Send + Sync + 'static,
    F: Fn(&Claims) -> Option<P> + Clone + Send + Sync + 'static,
{
    MapRequest::new(service, move |mut request: Request<Body>| {
        let principal = request.extensions().get::<Claims>().and_then(&derive);
        if let Some(principal) = principal {
            request.extensions_mut().insert(principal);
        }
        request
    })
}

fn insert_claims(mut request: Request<Body>) -> Request<Body> {
    let claims = request.extensions().get::<RequestContext>().and_then(claims_from_context);
    match claims {
        Some(claims) => {
            request.extensions_mut().insert(claims);
        }
        None => {
            // A forged Claims can only come from inside the process, but never keep one we did not read.
            request.extensions_mut().remove::<Claims>();
        }
    }
    request
}

/// The claims of a request that API Gateway's JWT authorizer let through; `None` for other requests.
pub fn claims_from_context(context: &RequestContext) -> Option<Claims> {
    let RequestContext::ApiGatewayV2(context) = context else { return None };
    let jwt = context.authorizer.as_ref()?.jwt.as_ref()?;
    claims_from_jwt(&jwt.claims, jwt.scopes.as_deref().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use axum::{Extension, Router};
    use std::collections::HashMap;
    use tower::ServiceExt;

    fn event(claims: serde_json::Value, scopes: serde_json::Value) -> String {
        serde_json::json!({
            "version": "2.0",
            "routeKey": "GET /v1/work-items",
            "rawPath": "/v1/work-items",
            "rawQueryString": "",
            "headers": {"host": "abc.execute-api.eu-west-1.amazonaws.com", "authorization": "Bearer x"},
            "requestContext": {
                "accountId": "123456789012",
                "apiId": "abc",
                "authorizer": {"jwt": {"claims": claims, "scopes": scopes}},
                "domainName": "abc.execute-api.eu-west-1.amazonaws.com",
                "domainPrefix": "abc",
                "http": {"method": "GET", "path": "/v1/work-items", "protocol": "HTTP/1.1",
                         "sourceIp": "192.0.2.1", "userAgent": "test"},
                "requestId": "id",
                "routeKey": "GET /v1/work-items",
                "stage": "$default",
                "time": "12/Mar/2026:19:03:58 +0000",
                "timeEpoch": 1773342238000u64
            },
            "isBase64Encoded": false
        })
        .to_string()
    }

    fn context(event: &str) -> RequestContext {
        let request = lambda_http::request::from_str(event).unwrap();
        request.extensions().get::<RequestContext>().unwrap().clone()
    }

    #[test]
    fn an_agent_token_gives_its_subject_and_no_self_set_agent_id() {
        let ctx = context(&event(
            serde_json::json!({"sub": "u-1", "smsdesk:agent_id": "ag_1", "custom:agent_id": "ag_2",
                               "cognito:groups": "[agents support]"}),
            serde_json::Value::Null,
        ));
        let claims = claims_from_context(&ctx).unwrap();
        assert_eq!(
            claims,
            Claims {
                sub: "u-1".into(),
                scopes: vec![],
                groups: vec!["agents".into(), "support".into()],
                admin: false
            }
        );
    }

    #[test]
    fn the_admin_group_or_scope_makes_an_admin() {
        let by_group = claims_from_jwt(
            &HashMap::from([("sub".into(), "a".into()), ("groups".into(), "[smsdesk-admin]".into())]),
            &[],
        )
        .unwrap();
        assert!(by_group.admin);
        let by_scope = claims_from_jwt(
            &HashMap::from([
                ("sub".into(), "a".into()),
                ("scope".into(), "openid smsdesk/smsdesk-admin".into()),
            ]),
            &[],
        )
        .unwrap();
        assert!(by_scope.admin);
        assert_eq!(by_scope.scopes, ["openid", "smsdesk/smsdesk-admin"]);
        let by_authorizer =
            claims_from_jwt(&HashMap::from([("sub".into(), "a".into())]), &["smsdesk-admin".to_owned()])
                .unwrap();
        assert!(by_authorizer.admin);
        let lookalike = claims_from_jwt(
            &HashMap::from([
                ("sub".into(), "a".into()),
                ("groups".into(), "[smsdesk-administrators]".into()),
            ]),
            &[],
        )
        .unwrap();
        assert!(!lookalike.admin);
    }

    #[test]
    fn claims_need_a_subject() {
        assert_eq!(claims_from_jwt(&HashMap::from([("groups".into(), "[smsdesk-admin]".into())]), &[]), None);
    }

    #[test]
    fn list_claims_in_every_shape() {
        assert_eq!(string_list("[a b]"), ["a", "b"]);
        assert_eq!(string_list(r#"["a","b"]"#), ["a", "b"]);
        assert_eq!(string_list("a, b"), ["a", "b"]);
        assert!(string_list("[]").is_empty());
    }

    async fn whoami(claims: Option<Extension<Claims>>, principal: Option<Extension<String>>) -> String {
        let sub = claims.map(|Extension(c)| c.sub).unwrap_or_else(|| "-".into());
        let principal = principal.map(|Extension(p)| p).unwrap_or_else(|| "-".into());
        format!("{sub} {principal}")
    }

    async fn call<S>(service: S, request: Request<Body>) -> String
    where
        S: Service<Request<Body>, Response = Response, Error = Infallible>,
    {
        let response = service.oneshot(request).await.unwrap();
        let bytes = axum::body::to_bytes(response.into_body(), 1024).await.unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    fn app() -> impl Service<Request<Body>, Response = Response, Error = Infallible> {
        let router = Router::new().route("/v1/work-items", get(whoami));
        let router = with_principal(router, |c: &Claims| (!c.admin).then(|| format!("agent:{}", c.sub)));
        with_claims(router)
    }

    #[tokio::test]
    async fn the_router_sees_claims_and_the_derived_principal() {
        let request = lambda_http::request::from_str(&event(
            serde_json::json!({"sub": "u-9"}),
            serde_json::Value::Null,
        ))
        .unwrap();
        let request = request.map(Body::new);
        assert_eq!(call(app(), request).await, "u-9 agent:u-9");
    }

    #[tokio::test]
    async fn a_request_without_an_authorizer_has_no_claims_even_if_one_was_planted() {
        let mut request = Request::get("/v1/work-items").body(Body::empty()).unwrap();
        request.extensions_mut().insert(Claims { sub: "forged".into(), admin: true, ..Claims::default() });
        assert_eq!(call(app(), request).await, "- -");
    }
}
