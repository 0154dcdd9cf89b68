//! Agents' identity provider subject (the JWT `sub` that signs in as the agent behind API Gateway): set by
//! an admin, shown in reads, unique.

use crate::*;
use serde_json::json;

#[tokio::test]
async fn an_agents_subject_is_shown_in_reads_and_belongs_to_one_agent() {
    let app = spawn_app().await.expect("the app");
    let api = &app.api;
    let queue = api.create_queue("Support").await;
    let subject = format!("idp-user-{}", uuid::Uuid::new_v4());
    let body = |subject: &str| json!({"name": "Ada", "queues": [queue], "capacity": 2, "subject": subject});
    let created = api.ok("POST", "/v1/agents", ADMIN_TOKEN, Some(body(&subject)), 201).await;
    assert_eq!(created["subject"], subject.as_str(), "{created}");
    assert!(created["token"].as_str().is_some_and(|t| !t.is_empty()), "{created}");
    let id = created["id"].as_str().expect("agent id");
    let read = api.ok("GET", &format!("/v1/agents/{id}"), ADMIN_TOKEN, None, 200).await;
    assert_eq!(read["subject"], subject.as_str(), "{read}");

    let (status, answer) = api.admin("POST", "/v1/agents", Some(body(&subject))).await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "conflict", "{answer}");
    assert!(answer["error"]["message"].as_str().is_some_and(|m| m.contains("subject")), "{answer}");

    let (status, answer) = api.admin("POST", "/v1/agents", Some(body("  "))).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"]["message"].as_str().is_some_and(|m| m.starts_with("subject")), "{answer}");

    let listed = api.ok("GET", "/v1/agents", ADMIN_TOKEN, None, 200).await;
    let holders: Vec<&serde_json::Value> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|a| a["subject"] == subject.as_str())
        .collect();
    assert_eq!(holders.len(), 1, "one agent has the subject: {listed}");
    assert_eq!(holders[0]["id"], id);
}

/// An agent lists each queue once (as a team does): a queue named twice is a 400 naming the second.
#[tokio::test]
async fn an_agent_created_with_a_queue_twice_is_refused_naming_it() {
    let Some(s) = Setup::new().await else { return };
    let body = json!({"name": "Bob", "queues": [s.queue, s.queue], "capacity": 1});
    let (status, answer) = s.api().call("POST", "/v1/agents", Some(ADMIN_TOKEN), Some(body)).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"]["message"].as_str().is_some_and(|m| m.starts_with("queues[1]")), "{answer}");
}

/// A value of the wrong type names its field, not the body.
#[tokio::test]
async fn a_value_of_the_wrong_type_is_a_400_naming_its_field() {
    let Some(s) = Setup::new().await else { return };
    let body = json!({"phone": "+15555550999", "opted_out": "yes"});
    let (status, answer) = s.api().call("POST", "/v1/consent", Some(ADMIN_TOKEN), Some(body)).await;
    assert_eq!(status, 400, "{answer}");
    assert!(answer["error"]["message"].as_str().is_some_and(|m| m.starts_with("opted_out: ")), "{answer}");
}
