//! Faults around the real queue and store: a reply that cannot be queued fails visibly (503, `failed` in the
//! transcript); a send whose claim is held elsewhere waits for the lease and then goes once; a timeline event
//! that arrives before the contact is linked waits for the link; a close whose CRM work could not be queued
//! and is asked again queues it then, once.

use crate::*;
use smsdesk_domain::MessageId;
use smsdesk_ports::QueueKind;

#[tokio::test]
async fn a_reply_that_cannot_be_queued_is_failed_visibly_and_answered_503() {
    let Some(s) = Setup::new().await else { return };
    let (_agent, token) = s.agent("Ada", 1).await;
    s.text("W1000000000000000000000000000001", "15555550601", "hello").await;
    let conversation = s.work_item_for(&token, "+15555550601").await;

    s.app.faults.fail_sends(QueueKind::Outbound);
    let (status, body) = s
        .api()
        .call(
            "POST",
            &format!("/v1/conversations/{conversation}/messages"),
            Some(&token),
            Some(serde_json::json!({"text": "lost on the way?"})),
        )
        .await;
    assert_eq!((status, &body["error"]["code"]), (503, &serde_json::json!("unavailable")), "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("queued")), "{body}");
    let c = s.api().conversation(&token, &conversation).await;
    let outbound: Vec<_> =
        c["messages"].as_array().expect("messages").iter().filter(|m| m["direction"] == "outbound").collect();
    assert_eq!(outbound.len(), 1, "the reply is in the transcript: {c}");
    assert_eq!(outbound[0]["text"], "lost on the way?");
    assert_eq!(outbound[0]["status"], "failed", "never left `queued` with nothing to send it");
    assert!(outbound[0]["error"].as_str().is_some_and(|e| e.contains("could not be queued")), "{c}");

    // The queue is back: the agent's next reply goes out, and only that one.
    s.app.faults.heal(QueueKind::Outbound);
    let id = s.reply(&token, &conversation, "second try").await;
    s.message_status(&token, &conversation, &id, "sent").await;
    s.app.settled().await;
    let sends = s.fake.sends();
    assert_eq!(sends.len(), 1, "{sends:?}");
    assert_eq!(sends[0].field("message"), Some("second try"));
}

#[tokio::test]
async fn a_send_whose_claim_is_held_elsewhere_waits_and_an_abandoned_claim_is_never_sent_blindly() {
    let Some(s) = Setup::new().await else { return };
    let (_agent, token) = s.agent("Ada", 1).await;
    s.text("X1000000000000000000000000000001", "15555550611", "hello").await;
    let conversation = s.work_item_for(&token, "+15555550611").await;

    // The job is held back on its way to the queue while another sender (this test) claims the message.
    s.app.faults.hold(QueueKind::Outbound, |_| true);
    let id = s.reply(&token, &conversation, "claimed elsewhere").await;
    assert_eq!(s.app.faults.held(), 1);
    let app = s.app.app();
    let lease = app.config.send_lease;
    let claimed = match app
        .store
        .claim_send(&MessageId::new(id.clone()), app.clock.now(), lease)
        .await
        .expect("claim_send")
    {
        smsdesk_ports::SendClaim::Claimed(message) => message,
        other => panic!("the test takes the claim: {other:?}"),
    };
    let claimed_at = std::time::Instant::now();
    assert_eq!(claimed.attempts, 1);
    s.app.faults.release().await.expect("release the held job");

    // outbound-send finds the claim held and defers the job, sending nothing.
    eventually(30, "outbound-send defers the job", || async {
        (s.app.faults.retries(QueueKind::Outbound) >= 1).then_some(())
    })
    .await;
    assert!(s.fake.sends().is_empty(), "nothing is sent while the claim is held: {:?}", s.fake.sends());
    let waiting = s.message_where(&token, &conversation, "the reply", |m| m["id"] == id.as_str()).await;
    assert_eq!(waiting["status"], "queued");

    // The other sender never settles its claim (it may have reached the provider, then died): once the
    // lease has run out the reply is not sent blindly but shown `unknown`, with why, and nothing went out.
    let unknown = s.message_status(&token, &conversation, &id, "unknown").await;
    assert!(
        unknown["error"].as_str().unwrap_or_default().contains("may have accepted"),
        "the agent sees why: {unknown}"
    );
    assert!(claimed_at.elapsed() >= lease, "not before the {lease:?} lease ran out");
    s.app.settled().await;
    assert!(s.fake.sends().is_empty(), "an abandoned claim is never sent again: {:?}", s.fake.sends());
    s.app.assert_no_dead_letters().await;
}

#[tokio::test]
async fn a_timeline_event_before_the_link_job_links_the_contact_itself() {
    let Some(s) = Setup::new().await else { return };
    // The contact link job is slow to arrive.
    s.app.faults.hold(QueueKind::Crm, |m| m.body.contains("\"job\":\"link_conversation\""));
    let (_agent, token) = s.agent("Ada", 1).await;
    s.text("Y1000000000000000000000000000001", "15555550621", "hello").await;
    let conversation = s.work_item_for(&token, "+15555550621").await;
    // The work item can show before the router has queued the link job (the assignment may come from the
    // timers' sweep, beside the router): wait for the job to be held rather than expect it already.
    eventually(30, "the link job is held", || async { (s.app.faults.held() == 1).then_some(()) }).await;

    // The agent resolves it before the link job has run: crm-upsert's event job finds the link pending and
    // links the contact itself (created, as nobody has the number), rather than waiting for the link job.
    s.api().ok("POST", &format!("/v1/conversations/{conversation}/close"), &token, None, 200).await;
    let kinds_on_contact = || async {
        let (contacts, kinds) = timeline_kinds(&s, "+15555550621", &token, &conversation).await?;
        kinds.contains(&"conversation_closed".to_string()).then_some((contacts, kinds))
    };
    let (contacts, timeline) =
        eventually(30, "the closing event on the contact's timeline", kinds_on_contact).await;
    assert_eq!(s.app.faults.held(), 1, "the link job is still held: the event job linked the contact");
    assert_eq!(s.app.faults.retries(QueueKind::Crm), 0, "no crm job was put off for the link");
    assert_eq!(contacts, 1, "one contact for the number");
    assert!(timeline.contains(&"conversation_started".to_string()), "{timeline:?}");
    let c = s.api().conversation(&token, &conversation).await;
    assert_ne!(c["contact_state"], "pending", "the conversation is linked: {c}");

    // The held link job arrives late and changes nothing: still one contact, each event once.
    s.app.faults.release().await.expect("release the link job");
    s.app.settled().await;
    let (contacts, timeline) = eventually(30, "the timeline", kinds_on_contact).await;
    assert_eq!(contacts, 1, "still one contact for the number");
    assert_eq!(timeline.iter().filter(|k| *k == "conversation_started").count(), 1, "{timeline:?}");
    assert_eq!(timeline.iter().filter(|k| *k == "conversation_closed").count(), 1, "{timeline:?}");
    s.app.assert_no_dead_letters().await;
}

/// The close commits, then its CRM work cannot be queued (the agent gets a 5xx). The agent closes again: the
/// conversation is closed already, and what the first close could not queue is queued now, each entry
/// once, so the contact still gets the transcript and the closing entry.
#[tokio::test]
async fn a_close_whose_crm_work_failed_queues_it_when_asked_again_once() {
    let Some(s) = Setup::new().await else { return };
    let (_agent, token) = s.agent("Ada", 1).await;
    s.text("Y2000000000000000000000000000001", "15555550631", "hello").await;
    let conversation = s.work_item_for(&token, "+15555550631").await;
    s.reply(&token, &conversation, "How can I help?").await;
    s.app.settled().await;

    s.app.faults.fail_sends(QueueKind::Crm);
    let close = format!("/v1/conversations/{conversation}/close");
    let (status, body) = s.api().call("POST", &close, Some(&token), None).await;
    assert_eq!(status, 503, "the close's follow-up could not be queued: {body}");
    s.app.faults.heal(QueueKind::Crm);
    let closed = s.api().ok("POST", &close, &token, None, 200).await;
    assert_eq!(closed["state"], "closed", "{closed}");
    // And a third time changes nothing more.
    s.api().ok("POST", &close, &token, None, 200).await;

    let timeline = || async {
        let (_, kinds) = timeline_kinds(&s, "+15555550631", ADMIN_TOKEN, &conversation).await?;
        (kinds.contains(&"conversation_closed".to_string()) && kinds.contains(&"transcript".to_string()))
            .then_some(kinds)
    };
    eventually(30, "the transcript and the closing entry on the contact", timeline).await;
    s.app.settled().await;
    let kinds = eventually(30, "the timeline", timeline).await;
    assert_eq!(kinds.iter().filter(|k| *k == "conversation_closed").count(), 1, "{kinds:?}");
    assert_eq!(kinds.iter().filter(|k| *k == "transcript").count(), 1, "{kinds:?}");
    s.app.assert_no_dead_letters().await;
}

/// How many contacts have `phone`, and the kinds of the first one's timeline entries of `conversation`, as
/// `token` reads them; None before the phone has a contact.
async fn timeline_kinds(
    s: &Setup,
    phone: &str,
    token: &str,
    conversation: &str,
) -> Option<(usize, Vec<String>)> {
    let query = format!("/v1/contacts?phone={}", phone.replace('+', "%2B"));
    let found = s.api().ok("GET", &query, token, None, 200).await;
    let items = found["items"].as_array()?.clone();
    let id = items.first()?["id"].as_str()?.to_string();
    let contact = s.api().ok("GET", &format!("/v1/contacts/{id}"), token, None, 200).await;
    let kinds = contact["timeline"]
        .as_array()?
        .iter()
        .filter(|e| e["conversation_id"] == conversation)
        .filter_map(|e| e["kind"].as_str().map(str::to_string))
        .collect();
    Some((items.len(), kinds))
}
