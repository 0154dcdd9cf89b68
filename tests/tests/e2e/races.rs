//! Races (issue 7.5): a customer's text that arrives while the agent closes the conversation is never filed
//! into a conversation that was already closed, where nobody would see it. Either it landed before the
//! close (it is in the transcript the agent closed, filed earlier than the close) or it opens a new
//! conversation that reaches the agent.

use crate::*;
use serde_json::{Value, json};

fn holds(conversation: &Value, text: &str) -> Option<Value> {
    conversation["messages"].as_array().and_then(|ms| ms.iter().find(|m| m["text"] == text).cloned())
}

#[tokio::test]
async fn a_text_racing_the_close_is_never_filed_into_the_closed_conversation() {
    let Some(s) = Setup::new().await else { return };
    let (_agent, token) = s.agent("Ada", 20).await;
    for round in 0..8u32 {
        let customer = format!("155555504{round:02}");
        let e164 = format!("+{customer}");
        s.text(&format!("R{round:02}00000000000000000000000000001"), &customer, "hello").await;
        let first = s.work_item_for(&token, &e164).await;
        s.message_where(&token, &first, "the first text is filed", |m| m["text"] == "hello").await;

        // The close and the next text race; the text starts a little earlier each round, as a router
        // that found the conversation open is then still filing while the close commits.
        let late = format!("are you still there? ({round})");
        let reference = format!("R{round:02}00000000000000000000000000002");
        let text = s.text(&reference, &customer, &late);
        let close = async {
            tokio::time::sleep(std::time::Duration::from_millis(u64::from(round) * 3)).await;
            s.api().ok("POST", &format!("/v1/conversations/{first}/close"), &token, None, 200).await
        };
        let ((), closed) = tokio::join!(text, close);
        assert_eq!(closed["state"], "closed");

        // Wherever the text went, the agent can see it: in the conversation as it was before the close, or
        // in a new open conversation in their work items.
        let (api, token2, first2, late2, e1642) =
            (s.api().clone(), token.clone(), first.clone(), late.clone(), e164.clone());
        let (conversation, message) = eventually(30, "the racing text is filed", || {
            let (api, token, first, late, e164) =
                (api.clone(), token2.clone(), first2.clone(), late2.clone(), e1642.clone());
            async move {
                let old = api.conversation(&token, &first).await;
                if let Some(m) = holds(&old, &late) {
                    return Some((old, m));
                }
                for item in
                    api.work_items(&token).await.into_iter().filter(|w| w["customer"] == e164.as_str())
                {
                    let id = item["conversation_id"].as_str().unwrap_or_default().to_string();
                    let c = api.conversation(&token, &id).await;
                    if let Some(m) = holds(&c, &late) {
                        return Some((c, m));
                    }
                }
                None
            }
        })
        .await;
        if conversation["id"] == first.as_str() {
            assert!(
                time_at(&message["created_at"]) <= time_at(&conversation["closed_at"]),
                "round {round}: the text was filed into the conversation after it closed: {conversation}"
            );
        } else {
            assert_ne!(conversation["state"], json!("closed"), "round {round}: the new conversation is open");
        }
    }
}
