//! One rule on every route: an agent reads or acts on a conversation only when it is assigned to them, or
//! reads it while it waits in one of their queues (and takes it only through assignment); an admin may do
//! everything. Proactive texts go out only from numbers of the sender's queues, never into another agent's
//! conversation, never closing or moving one they did not open. Contacts, the queue list and webhooks follow.

use crate::*;
use serde_json::{Value, json};

/// A second number, feeding a second queue, on its own channel.
const B_NUMBER: &str = "15555550199";
const B_NUMBER_E164: &str = "+15555550199";

struct TwoQueues {
    s: Setup,
    queue_b: String,
    channel_b: String,
}

impl TwoQueues {
    async fn new() -> Option<Self> {
        let s = Setup::new().await?;
        let queue_b = s.api().create_queue("Billing").await;
        let channel_b = s
            .api()
            .telesign_channel_with(
                &s.fake,
                &[B_NUMBER],
                &queue_b,
                serde_json::json!({"automated_messages_enabled": false}),
            )
            .await;
        let channel_b = channel_b["id"].as_str().expect("channel id").to_string();
        Some(Self { s, queue_b, channel_b })
    }

    /// A customer's text to the B number.
    async fn text_b(&self, reference: &str, from: &str, body: &str) {
        self.s.text_on(&self.channel_b, B_NUMBER, reference, from, body).await;
    }
}

/// Every route that names a conversation, as (method, path, body), each with a body it would take: a
/// conversation the caller may not see is absent on all of them. `message` is one of its messages (for the
/// resend route); `queue` and `agent` are the caller's own (a transfer, a move or an assignment toward the
/// caller). The upload has its own helper ([`upload`]): its body is a file.
fn conversation_routes(
    id: &str,
    message: &str,
    queue: &str,
    agent: &str,
) -> Vec<(&'static str, String, Option<Value>)> {
    vec![
        ("GET", format!("/v1/conversations/{id}"), None),
        ("GET", format!("/v1/conversations/{id}/export"), None),
        ("GET", format!("/v1/conversations/{id}/transfer-targets"), None),
        ("GET", format!("/v1/conversations/{id}/wrap-up-options"), None),
        ("POST", format!("/v1/conversations/{id}/messages"), Some(json!({"text": "side door"}))),
        ("POST", format!("/v1/conversations/{id}/messages/{message}/resend"), None),
        ("POST", format!("/v1/conversations/{id}/notes"), Some(json!({"text": "side note"}))),
        ("POST", format!("/v1/conversations/{id}/close"), None),
        ("POST", format!("/v1/conversations/{id}/wait"), None),
        ("POST", format!("/v1/conversations/{id}/end"), None),
        ("POST", format!("/v1/conversations/{id}/wrap-up"), Some(json!({"disposition": "resolved"}))),
        ("POST", format!("/v1/conversations/{id}/accept"), None),
        ("POST", format!("/v1/conversations/{id}/decline"), None),
        ("POST", format!("/v1/conversations/{id}/transfer"), Some(json!({"queue_id": queue}))),
        ("POST", format!("/v1/conversations/{id}/transfer/cancel"), None),
        ("POST", format!("/v1/conversations/{id}/assign"), Some(json!({"agent_id": agent}))),
        ("POST", format!("/v1/conversations/{id}/queue"), Some(json!({"queue_id": queue}))),
        ("POST", format!("/v1/conversations/{id}/contact"), Some(json!({"contact_id": "ct_whatever"}))),
    ]
}

/// The caller uploads a picture to the conversation: (status, answer).
async fn upload(s: &Setup, token: &str, id: &str) -> (u16, Value) {
    let png: &[u8] = b"\x89PNG\r\n\x1a\n";
    let r = s
        .api()
        .http
        .post(format!("{}/v1/conversations/{id}/media", s.api().base))
        .bearer_auth(token)
        .header("content-type", "image/png")
        .body(png.to_vec())
        .send()
        .await
        .expect("the upload reaches the app");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The id of the conversation's first message (the customer's text), read as the admin.
async fn first_message(s: &Setup, id: &str) -> String {
    let c = s.api().conversation(ADMIN_TOKEN, id).await;
    c["messages"][0]["id"].as_str().expect("a message id").to_string()
}

/// A conversation id nobody has.
const NO_SUCH: &str = "cv_0000000000000000000000000000000f";

/// The routes only supervisors and admins use on a waiting conversation: an agent's role is refused there
/// (403) before any conversation is looked up.
fn for_supervisors(path: &str) -> bool {
    path.ends_with("/assign") || path.ends_with("/queue")
}

/// Every route that names `id` answers `token` as it answers for a conversation that does not exist (status
/// and code): 404 `not_found`, or 403 where an agent's role is refused first ([`for_supervisors`]).
/// `message` is one of the conversation's messages; `who` names the caller in a failure.
async fn absent_everywhere(s: &Setup, token: &str, who: &str, id: &str, message: &str, agent: &str) {
    let routes = conversation_routes(id, message, &s.queue, agent);
    let absent = conversation_routes(NO_SUCH, message, &s.queue, agent);
    for ((method, path, body), (_, no_such, _)) in routes.into_iter().zip(absent) {
        let (status, answer) = s.api().call(method, &path, Some(token), body.clone()).await;
        let (expected, _) = s.api().call(method, &no_such, Some(token), body).await;
        assert!(
            status == 404 || (status == 403 && for_supervisors(&path)),
            "{method} {path} by {who}: {status} {answer}"
        );
        assert_eq!(status, expected, "{method} {path} by {who}: as for no conversation at all: {answer}");
        let code = if status == 404 { "not_found" } else { "forbidden" };
        assert_eq!(answer["error"]["code"], code, "{method} {path} by {who}: {answer}");
    }
    let (status, answer) = upload(s, token, id).await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (404, &json!("not_found")),
        "an upload by {who}: {answer}"
    );
}

#[tokio::test]
async fn an_agent_of_queue_a_is_refused_on_every_route_for_conversations_of_queue_b() {
    let Some(t) = TwoQueues::new().await else { return };
    let s = &t.s;
    let (ada_id, ada) = s.agent("Ada", 2).await; // queue A only
    let (bo_id, bo) = s.api().create_agent("Bo", &[&t.queue_b], 1).await;
    s.api().presence(&bo_id, &bo, "available").await;

    // Bo takes one customer of queue B; a second one waits in queue B (Bo is full).
    t.text_b("AU000000000000000000000000000001", "15555550401", "billing question").await;
    let assigned = s.work_item_for(&bo, "+15555550401").await;
    t.text_b("AU000000000000000000000000000002", "15555550402", "me too").await;
    let waiting = s.waiting_for("+15555550402", "the second customer waits in queue B").await;
    let contact = eventually(30, "Bo's customer gets a contact", || async {
        let c = s.api().conversation(&bo, &assigned).await;
        c["contact_id"].as_str().map(str::to_string)
    })
    .await;

    // Bo's reply (sent: were Ada let through, its resend would be refused as not resendable, not absent).
    let reply = s.reply(&bo, &assigned, "Let me look.").await;
    s.message_status(&bo, &assigned, &reply, "sent").await;
    let first_text = first_message(s, &waiting).await;
    for (conversation, message) in [(&assigned, &reply), (&waiting, &first_text)] {
        absent_everywhere(s, &ada, "an agent of another queue", conversation, message, &ada_id).await;
    }
    // Proactive texts from B's number (into B's conversations or to anyone): Ada does not serve queue B.
    for (to, session) in [("+15555550401", true), ("+15555550402", false), ("+15555550403", true)] {
        let body = json!({"channel_id": t.channel_b, "from": B_NUMBER_E164, "to": to, "text": "hi", "session": session});
        let (status, answer) = s.api().call("POST", "/v1/messages", Some(&ada), Some(body)).await;
        assert_eq!(status, 403, "proactive from a number of queue B: {answer}");
        assert!(answer["error"]["message"].as_str().is_some_and(|m| m.contains(&t.queue_b)), "{answer}");
    }
    // Contacts of queue B's conversations are not Ada's to read.
    let listed = s.api().ok("GET", "/v1/contacts?phone=%2B15555550401", &ada, None, 200).await;
    assert_eq!(listed["items"], json!([]), "{listed}");
    let (status, _) = s.api().call("GET", &format!("/v1/contacts/{contact}"), Some(&ada), None).await;
    assert_eq!(status, 404);
    // Bo and an admin do read it.
    let listed = s.api().ok("GET", "/v1/contacts?phone=%2B15555550401", &bo, None, 200).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1), "{listed}");
    s.api().ok("GET", &format!("/v1/contacts/{contact}"), &bo, None, 200).await;
    s.api().ok("GET", &format!("/v1/contacts/{contact}"), ADMIN_TOKEN, None, 200).await;

    // Nothing changed: Bo's conversation is still Bo's with his reply, the other still waits in B, nothing
    // but Bo's reply was sent, nothing was noted or uploaded.
    s.app.settled().await;
    let a = s.api().conversation(ADMIN_TOKEN, &assigned).await;
    assert_eq!((a["state"].as_str(), a["agent_id"].as_str()), (Some("active"), Some(bo_id.as_str())));
    assert_eq!(a["messages"].as_array().map(Vec::len), Some(2), "{a}");
    let w = s.api().conversation(ADMIN_TOKEN, &waiting).await;
    assert_eq!((w["state"].as_str(), w["queue_id"].as_str()), (Some("open"), Some(t.queue_b.as_str())));
    assert_eq!(w["messages"].as_array().map(Vec::len), Some(1), "{w}");
    for id in [&assigned, &waiting] {
        let export =
            s.api().ok("GET", &format!("/v1/conversations/{id}/export"), ADMIN_TOKEN, None, 200).await;
        assert_eq!(export["conversation"]["media"], json!([]), "{export}");
        assert_eq!(export["conversation"]["notes"], json!([]), "{export}");
    }
    assert_eq!(s.fake.sends().len(), 1, "only Bo's reply was sent: {:?}", s.fake.sends());
}

#[tokio::test]
async fn a_waiting_conversation_of_the_agents_queue_is_readable_but_taken_only_through_assignment() {
    let Some(s) = Setup::new().await else { return };
    let (ada_id, ada) = s.api().create_agent("Ada", &[&s.queue], 1).await; // offline: texts wait
    s.text("AU000000000000000000000000000011", "15555550411", "anyone there?").await;
    let waiting = s.waiting_for("+15555550411", "the text waits in queue A").await;
    let seen = s.api().conversation(&ada, &waiting).await;
    assert_eq!(seen["state"], "open");
    // Ada reads it; what only its holder does is not hers (409 `not_assigned`); she is not offered it; giving
    // it by hand or moving it is for supervisors.
    let message = first_message(&s, &waiting).await;
    for (method, path, body) in conversation_routes(&waiting, &message, &s.queue, &ada_id) {
        let (status, answer) = s.api().call(method, &path, Some(&ada), body).await;
        let expected = match path.rsplit('/').next().unwrap_or_default() {
            _ if method == "GET" && !path.ends_with("/transfer-targets") => (200, Value::Null),
            "accept" | "decline" => (409, json!("not_offered")),
            _ if for_supervisors(&path) => (403, json!("forbidden")),
            _ => (409, json!("not_assigned")),
        };
        assert_eq!(
            (status, answer["error"]["code"].clone()),
            expected,
            "{method} {path} on a waiting conversation: {answer}"
        );
    }
    let (status, answer) = upload(&s, &ada, &waiting).await;
    assert_eq!((status, &answer["error"]["code"]), (409, &json!("not_assigned")), "an upload: {answer}");
    // A sessionless proactive text neither writes into it nor closes it.
    let to = json!({"channel_id": s.channel, "from": OUR_NUMBER_E164, "to": "+15555550411", "text": "Hello", "session": false});
    let (status, answer) = s.api().call("POST", "/v1/messages", Some(&ada), Some(to.clone())).await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "conversation_waiting");
    // With a session, an agent who cannot take it now (offline) is told so.
    let mut with_session = to.clone();
    with_session["session"] = json!(true);
    let (status, answer) = s.api().call("POST", "/v1/messages", Some(&ada), Some(with_session.clone())).await;
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"]["code"], "agent_unavailable");
    let c = s.api().conversation(ADMIN_TOKEN, &waiting).await;
    assert_eq!(c["state"], "open", "still waiting in its queue: {c}");
    assert_eq!(c["messages"].as_array().map(Vec::len), Some(1), "{c}");

    // Online, the conversation becomes Ada's through assignment, and then she acts on it.
    s.api().presence(&ada_id, &ada, "available").await;
    s.work_item_for(&ada, "+15555550411").await;
    let sent = s.api().ok("POST", "/v1/messages", &ada, Some(json!({"channel_id": s.channel, "from": OUR_NUMBER_E164, "to": "+15555550411", "text": "Here now", "session": false})), 202).await;
    assert_eq!(sent["conversation_id"], waiting.as_str(), "written into her own conversation");
    let c = s.api().conversation(&ada, &waiting).await;
    assert_eq!(c["state"], "active", "a sessionless text never closes a conversation it did not open: {c}");
}

#[tokio::test]
async fn a_proactive_text_never_enters_another_agents_conversation() {
    let Some(s) = Setup::new().await else { return };
    let (ada_id, ada) = s.agent("Ada", 1).await;
    s.text("AU000000000000000000000000000021", "15555550421", "hello").await;
    s.work_item_for(&ada, "+15555550421").await;
    let (_bo_id, bo) = s.agent("Bo", 1).await; // same queue
    for session in [true, false] {
        let body = json!({"channel_id": s.channel, "from": OUR_NUMBER_E164, "to": "+15555550421", "text": "mine now", "session": session});
        let (status, answer) = s.api().call("POST", "/v1/messages", Some(&bo), Some(body)).await;
        assert_eq!(status, 409, "{answer}");
        assert_eq!(answer["error"]["code"], "conversation_assigned", "{answer}");
    }
    let items = s.api().work_items(&ada).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["agent_id"], ada_id.as_str());
    let c = s.api().conversation(&ada, items[0]["conversation_id"].as_str().expect("id")).await;
    assert_eq!(c["messages"].as_array().map(Vec::len), Some(1), "nothing was written: {c}");
    assert!(s.fake.sends().is_empty());

    // A sessionless notice to a new customer opens a conversation and closes it again.
    let sent = s
        .api()
        .ok(
            "POST",
            "/v1/messages",
            &bo,
            Some(json!({"channel_id": s.channel, "from": OUR_NUMBER_E164, "to": "+15555550422", "text": "Your parcel is here"})),
            202,
        )
        .await;
    let notice = s.api().conversation(ADMIN_TOKEN, sent["conversation_id"].as_str().expect("id")).await;
    assert_eq!(notice["state"], "closed", "{notice}");
}

#[tokio::test]
async fn the_queue_list_is_for_admins() {
    let Some(s) = Setup::new().await else { return };
    let (_a, ada) = s.agent("Ada", 1).await;
    let (status, answer) = s.api().call("GET", "/v1/queues", Some(&ada), None).await;
    assert_eq!(status, 403, "{answer}");
    let listed = s.api().ok("GET", "/v1/queues", ADMIN_TOKEN, None, 200).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1), "{listed}");
}

#[tokio::test]
async fn every_webhook_refused_before_its_signature_check_gets_the_same_401() {
    let Some(s) = Setup::new().await else { return };
    let raw = telesign_mo("AU000000000000000000000000000031", "15555550431", OUR_NUMBER, "hello");
    let good = s.fake.sign_callback(&raw);
    let forged = FakeTelesign::start().await.sign_callback(&raw);
    let answers = [
        ("bad signature", s.api().webhook(&s.webhook_path(), &raw, Some(&forged)).await),
        ("no signature", s.api().webhook(&s.webhook_path(), &raw, None).await),
        ("unknown channel", s.api().webhook("/webhooks/telesign/ch_nope", &raw, Some(&good)).await),
        (
            "another provider's path",
            s.api().webhook(&format!("/webhooks/twilio/{}", s.channel), &raw, Some(&good)).await,
        ),
        (
            "unknown provider",
            s.api().webhook(&format!("/webhooks/nope/{}", s.channel), &raw, Some(&good)).await,
        ),
    ];
    let (_, first) = &answers[0];
    assert_eq!(first.0, 401, "{first:?}");
    for (what, answer) in &answers {
        assert_eq!(answer, first, "{what} must answer exactly like a bad signature");
    }
}

/// Roles: a supervisor reads and acts on every conversation of their queues (another agent's included) and
/// on none of another queue; an agent of the same queue does not; `GET /v1/me` says who each token is.
#[tokio::test]
async fn a_supervisor_acts_on_every_conversation_of_their_queues_and_on_none_of_another() {
    let Some(t) = TwoQueues::new().await else { return };
    let s = &t.s;
    let (ada_id, ada) = s.agent("Ada", 1).await; // queue A
    let (_cy_id, cy) = s.api().create_agent("Cy", &[&s.queue], 1).await; // queue A, offline
    let sue = s
        .api()
        .ok(
            "POST",
            "/v1/agents",
            ADMIN_TOKEN,
            Some(json!({"name": "Sue", "queues": [s.queue], "capacity": 1, "role": "supervisor"})),
            201,
        )
        .await;
    assert_eq!(sue["role"], "supervisor", "{sue}");
    let (sue_id, sue) = (sue["id"].as_str().unwrap().to_string(), sue["token"].as_str().unwrap().to_string());
    let (status, refused) = s
        .api()
        .call(
            "POST",
            "/v1/agents",
            Some(ADMIN_TOKEN),
            Some(json!({"name": "X", "queues": [], "capacity": 1, "role": "boss"})),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["error"]["message"].as_str().is_some_and(|m| m.starts_with("role: ")), "{refused}");

    // Ada's customer in queue A; a customer waiting in queue B.
    s.text("AU000000000000000000000000000031", "15555550431", "help please").await;
    let adas = s.work_item_for(&ada, "+15555550431").await;
    t.text_b("AU000000000000000000000000000032", "15555550432", "billing").await;
    let in_b = s.waiting_for("+15555550432", "the text waits in queue B").await;

    // Cy (an agent of queue A) may not see Ada's conversation; Sue reads it and answers in it.
    let (status, _) = s.api().call("GET", &format!("/v1/conversations/{adas}"), Some(&cy), None).await;
    assert_eq!(status, 404, "an agent does not see another agent's conversation");
    let seen = s.api().ok("GET", &format!("/v1/conversations/{adas}"), &sue, None, 200).await;
    assert_eq!(seen["agent_id"], ada_id.as_str(), "{seen}");
    let path = format!("/v1/conversations/{adas}/messages");
    let sent = s.api().ok("POST", &path, &sue, Some(json!({"text": "A supervisor here."})), 202).await;
    assert_eq!(sent["status"], "queued", "{sent}");
    // Queue B's conversation is not Sue's on any route.
    let first_text = first_message(s, &in_b).await;
    absent_everywhere(s, &sue, "a supervisor of another queue", &in_b, &first_text, &sue_id).await;
    // Admin routes stay the admin's.
    let (status, _) = s.api().call("GET", "/v1/agents", Some(&sue), None).await;
    assert_eq!(status, 403);

    // Who am I.
    let me = s.api().ok("GET", "/v1/me", &sue, None, 200).await;
    assert_eq!(
        (me["role"].as_str(), me["agent_id"].as_str(), me["name"].as_str()),
        (Some("supervisor"), Some(sue_id.as_str()), Some("Sue"))
    );
    assert_eq!(me["queues"], json!([s.queue]), "{me}");
    let me = s.api().ok("GET", "/v1/me", &ada, None, 200).await;
    assert_eq!((me["role"].as_str(), me["presence"].as_str()), (Some("agent"), Some("available")), "{me}");
    let me = s.api().ok("GET", "/v1/me", ADMIN_TOKEN, None, 200).await;
    assert_eq!((me["role"].as_str(), me["agent_id"].as_str()), (Some("admin"), None), "{me}");
    assert_eq!(me["queues"].as_array().map(Vec::len), Some(2), "the admin serves every queue: {me}");
    let (status, _) = s.api().call("GET", "/v1/me", Some("not-a-token"), None).await;
    assert_eq!(status, 401);
}

/// `GET /v1/work-items/team`: a supervisor lists the conversations their queues' agents hold, each with the
/// agent's name, and none of another queue; an admin lists every held one; an agent is refused (403).
#[tokio::test]
async fn a_supervisors_team_list_holds_what_their_agents_hold_in_their_queues_only() {
    let Some(t) = TwoQueues::new().await else { return };
    let s = &t.s;
    let (_ada_id, ada) = s.agent("Ada", 2).await; // queue A
    let (bo_id, bo) = s.api().create_agent("Bo", &[&t.queue_b], 2).await;
    s.api().presence(&bo_id, &bo, "available").await;
    let (_, sue) = s.supervisor("Sue", &[&s.queue]).await;

    s.text("AU000000000000000000000000000061", "15555550461", "help please").await;
    let adas = s.work_item_for(&ada, "+15555550461").await;
    t.text_b("AU000000000000000000000000000062", "15555550462", "billing").await;
    let bos = s.work_item_for(&bo, "+15555550462").await;

    let team = |token: String| async move {
        s.api().ok("GET", "/v1/work-items/team", &token, None, 200).await["items"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    };
    let sues = team(sue.clone()).await;
    let listed: Vec<(&str, &str)> = sues
        .iter()
        .filter_map(|w| Some((w["conversation_id"].as_str()?, w["agent_name"].as_str()?)))
        .collect();
    assert_eq!(listed, [(adas.as_str(), "Ada")], "Ada's, by name; not queue B's: {sues:?}");
    let all = team(ADMIN_TOKEN.to_string()).await;
    for id in [&adas, &bos] {
        assert!(all.iter().any(|w| w["conversation_id"] == id.as_str()), "the admin sees {id}: {all:?}");
    }
    let (status, answer) = s.api().call("GET", "/v1/work-items/team", Some(&ada), None).await;
    assert_eq!(status, 403, "an agent supervises nothing: {answer}");
}

/// Queues: a supervisor reads the queues they serve (the list, one, its stats with what waits, who serves
/// it with their load) and not another (404, as for its conversations); an agent is refused (403).
#[tokio::test]
async fn a_supervisor_reads_their_queues_figures_and_not_another_queues() {
    let Some(t) = TwoQueues::new().await else { return };
    let s = &t.s;
    let (ada_id, ada) = s.agent("Ada", 2).await; // queue A
    let (_, sue) = s.supervisor("Sue", &[&s.queue]).await;
    s.text("AU000000000000000000000000000071", "15555550471", "help please").await;
    s.work_item_for(&ada, "+15555550471").await;

    let list = s.api().ok("GET", "/v1/queues", &sue, None, 200).await;
    let ids: Vec<&str> =
        list["items"].as_array().expect("items").iter().filter_map(|q| q["id"].as_str()).collect();
    assert_eq!(ids, [s.queue.as_str()], "only the supervisor's queue: {list}");
    let queue = s.api().ok("GET", &format!("/v1/queues/{}", s.queue), &sue, None, 200).await;
    let serving = queue["agents"].as_array().expect("agents");
    let adas = serving.iter().find(|a| a["id"] == ada_id.as_str()).expect("Ada serves the queue");
    assert_eq!(
        (&adas["presence"], &adas["active"], &adas["capacity"]),
        (&json!("available"), &json!(1), &json!(2))
    );
    let stats = s.api().ok("GET", &format!("/v1/queues/{}/stats", s.queue), &sue, None, 200).await;
    assert_eq!(stats["queue_id"], s.queue.as_str(), "{stats}");

    for path in [format!("/v1/queues/{}", t.queue_b), format!("/v1/queues/{}/stats", t.queue_b)] {
        let (status, answer) = s.api().call("GET", &path, Some(&sue), None).await;
        assert_eq!(status, 404, "{path}, another queue: {answer}");
    }
    for path in
        ["/v1/queues".to_string(), format!("/v1/queues/{}", s.queue), format!("/v1/queues/{}/stats", s.queue)]
    {
        let (status, answer) = s.api().call("GET", &path, Some(&ada), None).await;
        assert_eq!((status, &answer["error"]["code"]), (403, &json!("forbidden")), "{path} by an agent");
    }
}

/// By hand: a supervisor gives a conversation that waits in their queue to the agent they pick (here one of
/// another queue, whom distribution would never pick); the transcript says so. Only what waits is given
/// (409 once it is held), only to an agent who can take it (409), never by an agent (403) nor by a
/// supervisor of another queue (404).
#[tokio::test]
async fn a_supervisor_gives_a_waiting_conversation_to_the_agent_they_pick() {
    let Some(t) = TwoQueues::new().await else { return };
    let s = &t.s;
    let (bo_id, bo) = s.api().create_agent("Bo", &[&t.queue_b], 2).await;
    s.api().presence(&bo_id, &bo, "available").await;
    let (cy_id, _cy) = s.api().create_agent("Cy", &[&t.queue_b], 2).await; // offline
    let (_, sue) = s.supervisor("Sue", &[&s.queue]).await;
    let (_, vic) = s.supervisor("Vic", &[&t.queue_b]).await;

    // Nobody serves queue A: the text waits there.
    s.text("AU000000000000000000000000000081", "15555550481", "anyone?").await;
    let api = s.api().clone();
    let waiting = eventually(30, "the conversation waits in queue A", || {
        let (api, sue) = (api.clone(), sue.clone());
        async move {
            let items = api.ok("GET", "/v1/work-items/waiting", &sue, None, 200).await;
            items["items"].as_array()?.iter().find(|w| w["customer"] == "+15555550481")?["conversation_id"]
                .as_str()
                .map(str::to_string)
        }
    })
    .await;
    let path = format!("/v1/conversations/{waiting}/assign");
    let to = |agent: &str| Some(json!({"agent_id": agent}));

    let (status, answer) = s.api().call("POST", &path, Some(&bo), to(&bo_id)).await;
    assert_eq!(
        (status, &answer["error"]["code"]),
        (403, &json!("forbidden")),
        "an agent takes nothing by hand"
    );
    let (status, answer) = s.api().call("POST", &path, Some(&vic), to(&bo_id)).await;
    assert_eq!(status, 404, "a supervisor of another queue: {answer}");
    let (status, answer) = s.api().call("POST", &path, Some(&sue), to(&cy_id)).await;
    assert_eq!((status, &answer["error"]["code"]), (409, &json!("agent_unavailable")), "Cy is offline");
    let (status, answer) = s.api().call("POST", &path, Some(&sue), to("ag_nobody")).await;
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(status == 400 && message.starts_with("agent_id"), "no such agent: {status} {answer}");

    let given = s.api().ok("POST", &path, &sue, to(&bo_id), 200).await;
    assert_eq!((&given["state"], &given["agent_id"]), (&json!("active"), &json!(bo_id)), "{given}");
    assert_eq!(s.work_item_for(&bo, "+15555550481").await, waiting);
    let read = s.api().ok("GET", &format!("/v1/conversations/{waiting}"), &bo, None, 200).await;
    let entries: Vec<&str> =
        read["messages"].as_array().expect("messages").iter().filter_map(|m| m["text"].as_str()).collect();
    assert!(entries.contains(&"Sue gave the conversation to Bo."), "{entries:?}");
    let (status, answer) = s.api().call("POST", &path, Some(&sue), to(&bo_id)).await;
    assert_eq!((status, &answer["error"]["code"]), (409, &json!("invalid_state")), "held now: {answer}");
}

/// Moved: a supervisor moves a conversation that waits in their queue to another queue, where it waits from
/// then and distribution gives it to that queue's agent; the transcript says who moved it from where to
/// where. Never by an agent (403) nor by a supervisor of another
/// queue (404); not to the queue it is in, nor to no queue (400); once an agent holds it, 409.
#[tokio::test]
async fn a_supervisor_moves_a_waiting_conversation_to_another_queue() {
    let Some(t) = TwoQueues::new().await else { return };
    let s = &t.s;
    let (_, sue) = s.supervisor("Sue", &[&s.queue]).await;
    let (_, vic) = s.supervisor("Vic", &[&t.queue_b]).await;
    let (bo_id, bo) = s.api().create_agent("Bo", &[&t.queue_b], 2).await; // offline for now

    // Nobody serves queue Support: the text waits there.
    s.text("AU000000000000000000000000000082", "15555550482", "is anyone there?").await;
    let api = s.api().clone();
    let waiting = eventually(30, "the conversation waits in queue Support", || {
        let (api, sue) = (api.clone(), sue.clone());
        async move {
            let items = api.ok("GET", "/v1/work-items/waiting", &sue, None, 200).await;
            items["items"].as_array()?.iter().find(|w| w["customer"] == "+15555550482")?["conversation_id"]
                .as_str()
                .map(str::to_string)
        }
    })
    .await;
    let path = format!("/v1/conversations/{waiting}/queue");
    let to = |queue: &str| Some(json!({"queue_id": queue}));

    let (status, answer) = s.api().call("POST", &path, Some(&bo), to(&t.queue_b)).await;
    assert_eq!((status, &answer["error"]["code"]), (403, &json!("forbidden")), "an agent moves nothing");
    let (status, answer) = s.api().call("POST", &path, Some(&vic), to(&t.queue_b)).await;
    assert_eq!(status, 404, "a supervisor of another queue: {answer}");
    for (queue, why) in [(s.queue.as_str(), "the queue it waits in"), ("q_nowhere", "no such queue")] {
        let (status, answer) = s.api().call("POST", &path, Some(&sue), to(queue)).await;
        let message = answer["error"]["message"].as_str().unwrap_or_default();
        assert!(status == 400 && message.starts_with("queue_id"), "{why}: {status} {answer}");
    }

    let moved = s.api().ok("POST", &path, &sue, to(&t.queue_b), 200).await;
    assert_eq!(
        (&moved["state"], &moved["queue_id"], &moved["agent_id"]),
        (&json!("open"), &json!(t.queue_b), &Value::Null),
        "waiting in Billing: {moved}"
    );
    let items = s.api().ok("GET", "/v1/work-items/waiting", &vic, None, 200).await;
    let listed = items["items"].as_array().is_some_and(|i| i.iter().any(|w| w["conversation_id"] == waiting));
    assert!(listed, "Billing's supervisor sees it waiting: {items}");
    let (status, _) = s.api().call("GET", &format!("/v1/conversations/{waiting}"), Some(&sue), None).await;
    assert_eq!(status, 404, "out of Sue's queues now");

    // Billing's agent becomes available: distribution gives it to them.
    s.api().presence(&bo_id, &bo, "available").await;
    assert_eq!(s.work_item_for(&bo, "+15555550482").await, waiting);
    let read = s.api().ok("GET", &format!("/v1/conversations/{waiting}"), &bo, None, 200).await;
    let entries: Vec<&str> =
        read["messages"].as_array().expect("messages").iter().filter_map(|m| m["text"].as_str()).collect();
    assert!(
        entries.contains(&"Sue moved the conversation from queue Support to queue Billing."),
        "{entries:?}"
    );
    let (status, answer) = s.api().call("POST", &path, Some(&vic), to(&s.queue)).await;
    assert_eq!((status, &answer["error"]["code"]), (409, &json!("invalid_state")), "held now: {answer}");
}

/// An admin-only route answers an agent 403 whatever its body: the role is checked before the body is read,
/// so a caller who may not make the change never learns the body's rules from a 400.
#[tokio::test]
async fn an_agent_gets_403_from_admin_routes_before_any_check_of_the_body() {
    let Some(s) = Setup::new().await else { return };
    let (agent, token) = s.agent("Ada", 1).await;
    let (queue, channel) = (&s.queue, &s.channel);
    let routes: Vec<(&str, String)> = vec![
        ("POST", "/v1/queues".into()),
        ("PATCH", format!("/v1/queues/{queue}")),
        ("POST", "/v1/agents".into()),
        ("PATCH", format!("/v1/agents/{agent}")),
        ("POST", "/v1/channels".into()),
        ("PATCH", format!("/v1/channels/{channel}")),
        ("PUT", format!("/v1/channels/{channel}/credentials")),
        ("PUT", format!("/v1/channels/{channel}/numbers")),
        ("POST", "/v1/consent".into()),
        ("POST", "/v1/contacts".into()),
        ("POST", "/v1/menus".into()),
        ("POST", "/v1/quick-replies".into()),
        ("POST", "/v1/teams".into()),
        ("PUT", "/v1/customers/%2B15555550123/language".into()),
    ];
    for (method, path) in &routes {
        for body in [json!({}), json!({"state": "opted_out", "capacity": 2270.5}), json!([1, 2])] {
            let (status, answer) = s.api().call(method, path, Some(&token), Some(body.clone())).await;
            assert_eq!(
                (status, &answer["error"]["code"]),
                (403, &json!("forbidden")),
                "{method} {path} {body}: {answer}"
            );
        }
    }
}
