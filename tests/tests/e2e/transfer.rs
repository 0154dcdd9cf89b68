//! Transfers: to an agent (who must have room: 409 otherwise) and to a queue; either way the previous agent
//! gets the capacity back and serves whoever waits.

use crate::*;
use serde_json::json;

#[tokio::test]
async fn a_transfer_moves_the_conversation_and_frees_the_previous_agent() {
    let Some(s) = Setup::new().await else { return };
    let billing = s.api().create_queue("Billing").await;
    let (ada, ada_token) = s.agent("Ada", 1).await;
    // Brook serves Billing only, so nothing waiting in Support goes to him by itself.
    let (brook, brook_token) = s.api().create_agent("Brook", &[&billing], 1).await;
    s.api().presence(&brook, &brook_token, "available").await;

    s.text("T1000000000000000000000000000001", "15555550401", "first").await;
    let first = s.work_item_for(&ada_token, "+15555550401").await;
    s.text("T1000000000000000000000000000002", "15555550402", "second").await;
    let waiting = eventually(10, "the second customer waits (Ada is full)", || async {
        s.api().work_items(ADMIN_TOKEN).await.into_iter().find(|w| w["customer"] == "+15555550402")
    })
    .await;
    assert_eq!(waiting["state"], "open", "{waiting}");
    let second = waiting["conversation_id"].as_str().expect("id").to_string();

    // Ada hands the first customer to Brook.
    let moved = s
        .api()
        .ok(
            "POST",
            &format!("/v1/conversations/{first}/transfer"),
            &ada_token,
            Some(json!({"agent_id": brook})),
            200,
        )
        .await;
    assert_eq!((&moved["state"], &moved["agent_id"]), (&json!("active"), &json!(brook)), "{moved}");
    let brooks: Vec<_> =
        s.api().work_items(&brook_token).await.into_iter().map(|w| w["conversation_id"].clone()).collect();
    assert_eq!(brooks, vec![json!(first)]);
    // Ada got her capacity back: the waiting customer is hers now, and only that one.
    s.work_item_for(&ada_token, "+15555550402").await;
    let adas: Vec<_> =
        s.api().work_items(&ada_token).await.into_iter().map(|w| w["conversation_id"].clone()).collect();
    assert_eq!(adas, vec![json!(second)]);
    let (status, body) =
        s.api().call("GET", &format!("/v1/conversations/{first}"), Some(&ada_token), None).await;
    assert_eq!((status, &body["error"]["code"]), (404, &json!("not_found")), "Ada no longer sees it: {body}");

    // Brook is full: a transfer to him is a 409 that says so, and changes nothing.
    let (status, body) = s
        .api()
        .call(
            "POST",
            &format!("/v1/conversations/{second}/transfer"),
            Some(&ada_token),
            Some(json!({"agent_id": brook})),
        )
        .await;
    assert_eq!((status, &body["error"]["code"]), (409, &json!("agent_unavailable")), "{body}");
    assert!(
        body["error"]["message"].as_str().is_some_and(|m| m.contains(&brook) && m.contains("1/1")),
        "{body}"
    );
    let c = s.api().conversation(&ada_token, &second).await;
    assert_eq!((&c["state"], &c["agent_id"]), (&json!("active"), &json!(ada)), "{c}");

    // Unknown targets and ambiguous bodies are 400s naming the field.
    for (body, field) in [
        (json!({"agent_id": "ag_nope"}), "agent_id"),
        (json!({"queue_id": "q_nope"}), "queue_id"),
        (json!({"agent_id": brook, "queue_id": billing}), "agent_id"),
    ] {
        let (status, answer) = s
            .api()
            .call("POST", &format!("/v1/conversations/{second}/transfer"), Some(&ada_token), Some(body))
            .await;
        assert_eq!((status, &answer["error"]["code"]), (400, &json!("invalid_request")), "{answer}");
        assert!(answer["error"]["message"].as_str().is_some_and(|m| m.starts_with(field)), "{answer}");
    }

    // Ada sends the second customer to Billing: it waits there (Brook is full), and Ada is free.
    let moved = s
        .api()
        .ok(
            "POST",
            &format!("/v1/conversations/{second}/transfer"),
            &ada_token,
            Some(json!({"queue_id": billing})),
            200,
        )
        .await;
    assert_eq!(moved["state"], "open", "{moved}");
    assert_eq!(moved["queue_id"], billing.as_str());
    assert_eq!(moved["agent_id"], json!(null));
    assert_eq!(s.api().work_items(&ada_token).await, Vec::<serde_json::Value>::new());

    // Brook resolves the first customer: his capacity goes to the one waiting in Billing.
    s.api().ok("POST", &format!("/v1/conversations/{first}/close"), &brook_token, None, 200).await;
    s.work_item_for(&brook_token, "+15555550402").await;
    let c = s.api().conversation(&brook_token, &second).await;
    assert_eq!((&c["state"], &c["queue_id"]), (&json!("active"), &json!(billing)), "{c}");

    // A closed conversation cannot be transferred.
    let (status, body) = s
        .api()
        .call(
            "POST",
            &format!("/v1/conversations/{first}/transfer"),
            Some(&brook_token),
            Some(json!({"queue_id": s.queue})),
        )
        .await;
    assert_eq!((status, &body["error"]["code"]), (409, &json!("conversation_closed")), "{body}");
}
