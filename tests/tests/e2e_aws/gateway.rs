//! Behind API Gateway (AWS shape only): the JWT authorizer's claims are the identity. An admin is a token
//! with the `smsdesk-admin` group; an agent is the one whose `subject` an admin set to the token's `sub`;
//! claims a user might set on themselves name nobody.

use crate::*;
use serde_json::json;

#[tokio::test]
async fn an_agent_is_the_one_whose_subject_is_the_tokens_sub_and_nothing_else_names_one() {
    let app = spawn_app().await.expect("the AWS shape");
    let idp = &app.aws.as_ref().expect("the AWS shape").identities;
    let api = &app.api;
    let queue = api.create_queue("Support").await;
    let subject = format!("idp-user-{}", uuid::Uuid::new_v4());
    let created = api
        .ok(
            "POST",
            "/v1/agents",
            ADMIN_TOKEN,
            Some(json!({"name": "Ada", "queues": [queue], "capacity": 2, "subject": subject})),
            201,
        )
        .await;
    let id = created["id"].as_str().expect("agent id").to_string();

    // The agent's own sign-in acts as the agent.
    let jwt = idp.token_for_subject(&subject);
    api.ok("POST", &format!("/v1/agents/{id}/presence"), &jwt, Some(json!({"status": "available"})), 200)
        .await;
    let agent = api.ok("GET", &format!("/v1/agents/{id}"), ADMIN_TOKEN, None, 200).await;
    assert_eq!(agent["presence"], "available", "{agent}");
    let (status, body) = api.call("GET", "/v1/agents", Some(&jwt), None).await;
    assert_eq!(status, 403, "an agent is no admin: {body}");

    // A verified token whose sub is no agent's: 401 from the function (our error body, not API Gateway's).
    let stranger = idp.token_for_subject(&format!("idp-user-{}", uuid::Uuid::new_v4()));
    let (status, body) = api.call("GET", "/v1/work-items", Some(&stranger), None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthorized", "{body}");

    // Attributes a user may write on themselves name no agent.
    let forged = idp.token_with_claims(
        &format!("idp-user-{}", uuid::Uuid::new_v4()),
        json!({"custom:agent_id": id, "smsdesk:agent_id": id, "agent_id": id}),
    );
    let (status, body) = api
        .call("POST", &format!("/v1/agents/{id}/presence"), Some(&forged), Some(json!({"status": "away"})))
        .await;
    assert_eq!(status, 401, "{body}");
    let agent = api.ok("GET", &format!("/v1/agents/{id}"), ADMIN_TOKEN, None, 200).await;
    assert_eq!(agent["presence"], "available", "the forged token changed nothing: {agent}");

    // Groups other than the admin group make no admin.
    let lookalike =
        idp.token_with_claims(&subject, json!({"cognito:groups": "[smsdesk-administrators agents]"}));
    let (status, body) = api.call("GET", "/v1/agents", Some(&lookalike), None).await;
    assert_eq!(status, 403, "{body}");
}

#[tokio::test]
async fn api_gateway_answers_for_what_no_route_or_no_token_covers() {
    let app = spawn_app().await.expect("the AWS shape");
    let api = &app.api;
    let (status, body) = api.call("GET", "/v1/work-items", None, None).await;
    assert_eq!((status, body["message"].as_str()), (401, Some("Unauthorized")), "{body}");
    let (status, body) = api.call("GET", "/v1/work-items", Some("not-a-jwt"), None).await;
    assert_eq!((status, body["message"].as_str()), (401, Some("Unauthorized")), "{body}");
    let (status, body) = api.call("GET", "/healthz", None, None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")), "/healthz has no authorizer: {body}");
    // Every method reaches the webhook function (Vonage may call with GET), which refuses what it cannot
    // authenticate with the one 401.
    let (status, body) = api.call("GET", "/webhooks/telesign/ch_1", None, None).await;
    assert_eq!(
        (status, body["error"]["message"].as_str()),
        (401, Some("webhook signature check failed")),
        "the function answers, not API Gateway: {body}"
    );
    let (status, body) = api.call("GET", "/nothing-here", None, None).await;
    assert_eq!((status, body["message"].as_str()), (404, Some("Not Found")), "{body}");
    // The console's static files have no authorizer (agent-api serves them); the API behind them does.
    let (status, body) = api.call("GET", "/", None, None).await;
    assert!(status == 200 && body.as_str().is_some_and(|b| b.contains("smsdesk console")), "{status} {body}");
    let (status, body) = api.call("GET", "/console/app.js", None, None).await;
    assert!(status == 200 && body.as_str().is_some_and(|b| b.contains("/v1/work-items")), "{status}");
    let (status, _) = api.call("GET", "/console/nope.js", None, None).await;
    assert_eq!(status, 404);
}
