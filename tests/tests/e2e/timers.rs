//! Timers, on the app's clock (the test moves it forward): a conversation idle for a day is closed, which
//! frees its agent for whoever waits; a recent one is not.

use crate::*;
use serde_json::json;
use std::time::Duration;

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test]
async fn a_conversation_idle_for_a_day_is_closed_and_its_agent_serves_the_next_customer() {
    let Some(s) = Setup::new().await else { return };
    let (ada, token) = s.agent("Ada", 1).await;
    s.text("V1000000000000000000000000000001", "15555550501", "yesterday").await;
    let idle = s.work_item_for(&token, "+15555550501").await;

    // 23 hours later another customer writes; Ada is full, so they wait.
    s.app.clock.advance(23 * HOUR);
    s.text("V1000000000000000000000000000002", "15555550502", "today").await;
    let waiting = eventually(10, "the second customer waits", || async {
        s.api().work_items(ADMIN_TOKEN).await.into_iter().find(|w| w["customer"] == "+15555550502")
    })
    .await;
    assert_eq!(waiting["state"], "open", "{waiting}");
    let recent = waiting["conversation_id"].as_str().expect("id").to_string();
    let before = s.api().conversation(&token, &idle).await;
    assert_eq!(before["state"], "active", "23 hours idle is not yet a day: {before}");

    // Two hours more: the first is 25 hours idle, the second 2.
    s.app.clock.advance(2 * HOUR);
    s.work_item_for(&token, "+15555550502").await;
    let closed = s.api().ok("GET", &format!("/v1/conversations/{idle}"), ADMIN_TOKEN, None, 200).await;
    assert_eq!(closed["state"], "closed", "{closed}");
    assert_eq!(closed["close_reason"], "closed after inactivity");
    let open = s.api().conversation(&token, &recent).await;
    assert_eq!((&open["state"], &open["agent_id"]), (&json!("active"), &json!(ada)), "{open}");
    let items: Vec<_> =
        s.api().work_items(&token).await.into_iter().map(|w| w["conversation_id"].clone()).collect();
    assert_eq!(items, vec![json!(recent)]);
}
