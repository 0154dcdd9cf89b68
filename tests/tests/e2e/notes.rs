//! Private notes and the wrap-up form's choices (issue 13.1, 11.6): an agent writes a note on the
//! conversation they hold; it is kept with the transcript and the export, and never reaches the customer.
//! The wrap-up choices of the conversation's queue are readable by whoever may read the conversation.

use crate::*;
use serde_json::json;

fn sales_queue() -> serde_json::Value {
    json!({
        "name": "Sales",
        "dispositions": ["sold", "lost"],
        "tags": ["upsell"],
        "disposition_required": true,
        "wrap_up_limit_secs": 300,
    })
}

#[tokio::test]
async fn a_note_is_kept_with_the_transcript_and_never_sent_to_the_customer() {
    let Some(s) = Setup::with_queue(sales_queue()).await else { return };
    let (ada, token) = s.agent("Ada", 2).await;
    s.text("N1000000000000000000000000000001", "15555550701", "a quote for 12 seats?").await;
    let conversation = s.work_item_for(&token, "+15555550701").await;
    let (_, brook_token) = s.agent("Brook", 2).await;
    let notes_path = format!("/v1/conversations/{conversation}/notes");

    let note = s
        .api()
        .ok("POST", &notes_path, &token, Some(json!({"text": "  VIP: call back after 5 pm  "})), 201)
        .await;
    assert_eq!(note["text"], "VIP: call back after 5 pm", "trimmed: {note}");
    assert_eq!((&note["agent_id"], &note["author_name"]), (&json!(ada), &json!("Ada")), "{note}");
    let admins = s.api().ok("POST", &notes_path, ADMIN_TOKEN, Some(json!({"text": "approved"})), 201).await;
    assert_eq!((&admins["agent_id"], &admins["author_name"]), (&json!(null), &json!("admin")), "{admins}");

    // Refusals name the field; another agent may not write on Ada's conversation.
    for text in [String::from(" \n "), "x".repeat(2001)] {
        let (status, body) =
            s.api().call("POST", &notes_path, Some(&token), Some(json!({"text": text}))).await;
        assert_eq!(status, 400, "{body}");
        assert!(body["error"]["message"].as_str().expect("message").starts_with("text: "), "{body}");
    }
    let (status, body) =
        s.api().call("POST", &notes_path, Some(&brook_token), Some(json!({"text": "hi"}))).await;
    assert_eq!(status, 404, "not Brook's conversation: {body}");

    // The transcript and the export list the notes, oldest first; the messages do not hold them.
    let c = s.api().conversation(&token, &conversation).await;
    let texts: Vec<_> = c["notes"].as_array().expect("notes").iter().map(|n| n["text"].clone()).collect();
    assert_eq!(texts, vec![json!("VIP: call back after 5 pm"), json!("approved")], "{c}");
    assert!(c["messages"].as_array().expect("messages").iter().all(|m| m["text"] != "approved"), "{c}");
    let export =
        s.api().ok("GET", &format!("/v1/conversations/{conversation}/export"), &token, None, 200).await;
    assert_eq!(export["conversation"]["notes"].as_array().map(Vec::len), Some(2), "{export}");

    // A reply queued after the notes goes out alone: the notes never reached the provider (the outbound
    // queue keeps the conversation's order, so a note sent would have gone first).
    let reply = s.reply(&token, &conversation, "Happy to help with a quote").await;
    s.message_status(&token, &conversation, &reply, "sent").await;
    let sent: Vec<String> = s
        .fake
        .sends()
        .iter()
        .filter_map(|seen| seen.form.iter().find(|(k, _)| k == "message").map(|(_, v)| v.clone()))
        .collect();
    assert_eq!(sent, vec!["Happy to help with a quote".to_string()], "only the reply reached TeleSign");
}

#[tokio::test]
async fn the_wrap_up_choices_come_from_the_conversations_queue() {
    let Some(s) = Setup::with_queue(sales_queue()).await else { return };
    let (_, token) = s.agent("Ada", 1).await;
    s.text("N2000000000000000000000000000001", "15555550711", "pricing?").await;
    let conversation = s.work_item_for(&token, "+15555550711").await;
    let (_, brook_token) = s.agent("Brook", 1).await;
    let path = format!("/v1/conversations/{conversation}/wrap-up-options");
    let options = s.api().ok("GET", &path, &token, None, 200).await;
    assert_eq!(options["queue_id"], json!(s.queue), "{options}");
    assert_eq!(options["dispositions"], json!(["sold", "lost"]), "{options}");
    assert_eq!(options["tags"], json!(["upsell"]), "{options}");
    assert_eq!(
        (&options["disposition_required"], &options["wrap_up_limit_secs"]),
        (&json!(true), &json!(300))
    );
    let (status, body) = s.api().call("GET", &path, Some(&brook_token), None).await;
    assert_eq!(status, 404, "not Brook's to read: {body}");
}
