//! The port contract suites (`smsdesk-contract`) against the AWS adapters, on DynamoDB Local (store) and
//! moto's server (SQS, Secrets Manager), started on loopback by `scripts/emulators.sh start`:
//!
//! ```sh
//! eval "$(scripts/emulators.sh start)"; cargo test -p smsdesk-aws --test contract; scripts/emulators.sh stop
//! ```
//!
//! Built without `SMSDESK_EMULATORS=1` (which `scripts/emulators.sh start` exports beside the endpoints
//! `SMSDESK_DYNAMODB_ENDPOINT` and `SMSDESK_SQS_ENDPOINT`), these tests are left out and
//! `tests/emulators.rs` reports one ignored test that says why (build.rs), except under CI (`CI=true`),
//! where every test runs and fails saying what is missing. Each test makes its own uniquely
//! named table, queues or secret prefix.
#![cfg(not(smsdesk_aws_emulators_missing))]

use aws_sdk_dynamodb::config::retry::{RetryConfig, RetryPartition, TokenBucket};
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{Credentials, Region};
use aws_sdk_dynamodb::types::AttributeValue;
use smsdesk_aws::aws_types::SdkConfig;
use smsdesk_aws::{AwsAdapters, AwsConfig, DEFAULT_SECRET_PREFIX, DynamoStore, create_queues, create_tables};
use smsdesk_aws::{dynamodb_client, sqs_client};
use smsdesk_ports::{ChangeFeed, DedupeStore, MessageQueue, SecretStore, Store};
use std::sync::Arc;
use std::time::Duration;

/// Where the emulators listen (always Some: a test without them fails).
struct Endpoints {
    dynamodb: String,
    sqs: String,
}

fn endpoints(test: &str) -> Option<Endpoints> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    match (var("SMSDESK_DYNAMODB_ENDPOINT"), var("SMSDESK_SQS_ENDPOINT")) {
        (Some(dynamodb), Some(sqs)) => {
            for url in [&dynamodb, &sqs] {
                assert!(
                    url.starts_with("http://127.0.0.1:") || url.starts_with("http://localhost:"),
                    "emulator endpoints must be on loopback, got {url}"
                );
            }
            Some(Endpoints { dynamodb, sqs })
        }
        _ => panic!(
            "{test}: SMSDESK_DYNAMODB_ENDPOINT and SMSDESK_SQS_ENDPOINT are not set. Run the AWS adapter tests \
             through the test script, which starts DynamoDB Local and moto on loopback \
             (eval \"$(scripts/emulators.sh start)\"; cargo test -p smsdesk-aws)."
        ),
    }
}

/// A name no other test or run uses.
fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// Dummy credentials and region: the emulators accept anything, and nothing reaches AWS.
/// Built the way the functions build theirs (no aws-config).
/// The timeouts are the emulators' own: DynamoDB Local and moto on a busy two-core CI machine can take
/// longer than the 4 s attempt the functions allow real AWS. Retries are the emulators' own too: under
/// concurrent writes DynamoDB Local answers 500 "timed out ... waiting for a lock" (its own table lock,
/// which DynamoDB does not have), so a call gets ten attempts, not three. The store's client also has
/// its own unlimited retry quota ([`store_client`]).
async fn sdk() -> SdkConfig {
    let credentials = Credentials::new("test", "test", None, None, "smsdesk-contract-tests");
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(20))
        .operation_timeout(Duration::from_secs(60))
        .build();
    smsdesk_aws::sdk_config(Region::new("us-east-1"), credentials)
        .to_builder()
        .timeout_config(timeouts)
        .retry_config(RetryConfig::standard().with_max_attempts(10).with_max_backoff(Duration::from_secs(2)))
        .build()
}

fn config(e: &Endpoints, table: String) -> AwsConfig {
    AwsConfig {
        table,
        queues: Default::default(),
        secret_prefix: DEFAULT_SECRET_PREFIX.to_string(),
        dynamodb_endpoint: Some(e.dynamodb.clone()),
        sqs_endpoint: Some(e.sqs.clone()),
        secrets_endpoint: Some(e.sqs.clone()),
        media_bucket: None,
        s3_endpoint: Some(e.sqs.clone()),
    }
}

/// A DynamoDB client for the contract, with a retry quota of its own that never runs out.
///
/// By default every client in a process draws its retries from one shared quota (500 tokens, 14 a
/// retry): a burst of DynamoDB Local's lock 500s across the suites running side by side empties it,
/// and from then on a call fails at its first 500 however many attempts it is allowed (CI at
/// `fbc711a` failed so, with ten). DynamoDB Local's lock is the emulator's, not DynamoDB's, so the
/// contract retries it for as long as the attempts last.
fn store_client(sdk: &SdkConfig, cfg: &AwsConfig) -> aws_sdk_dynamodb::Client {
    let partition =
        RetryPartition::custom("smsdesk-contract-dynamodb").token_bucket(TokenBucket::unlimited()).build();
    aws_sdk_dynamodb::Client::from_conf(
        dynamodb_client(sdk, cfg).config().to_builder().retry_partition(partition).build(),
    )
}

/// A store on a fresh table.
async fn store(e: &Endpoints) -> (DynamoStore, AwsConfig) {
    let sdk = sdk().await;
    let cfg = config(e, unique("smsdesk-contract"));
    let client = store_client(&sdk, &cfg);
    if let Err(err) = create_tables(&client, &cfg).await {
        panic!("creating table {} on {}: {err}", cfg.table, e.dynamodb);
    }
    (DynamoStore::new(client, cfg.table.clone()), cfg)
}

macro_rules! store_suite {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn $name() {
            let Some(e) = endpoints(stringify!($name)) else { return };
            let (store, _) = store(&e).await;
            let store: Arc<dyn Store> = Arc::new(store);
            smsdesk_contract::store::$name(store).await;
        }
    )*};
}

store_suite!(
    channels_contract,
    number_claims_contract,
    work_queues_contract,
    menus_contract,
    quick_replies_contract,
    customer_language_contract,
    queue_answers_contract,
    agents_contract,
    agent_subjects_contract,
    conversations_contract,
    routing_contract,
    assignment_contract,
    offers_contract,
    transfers_contract,
    lifecycle_contract,
    handback_contract,
    distribution_stress_contract,
    teams_contract,
    team_distribution_stress_contract,
    messages_contract,
    status_contract,
    send_claims_contract,
    queued_before_contract,
    queued_before_during_inserts_contract,
    open_with_message_contract,
    contacts_contract,
    consent_contract,
    dedupe_contract,
    outbox_contract,
    notes_contract,
    media_claims_contract,
);

/// The whole store suite again, on one table, as `store_contract` runs it for every adapter.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn whole_store_contract_on_one_table() {
    let Some(e) = endpoints("whole_store_contract_on_one_table") else { return };
    let (store, _) = store(&e).await;
    smsdesk_contract::store_contract(Arc::new(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqs_queue_contract() {
    let Some(e) = endpoints("sqs_queue_contract") else { return };
    let sdk = sdk().await;
    let mut cfg = config(&e, "unused".into());
    let urls = match create_queues(&sqs_client(&sdk, &cfg), &unique("smsdesk-contract")).await {
        Ok(urls) => urls,
        Err(err) => panic!("creating queues on {}: {err}", e.sqs),
    };
    cfg.queues = urls;
    let queue: Arc<dyn MessageQueue> = Arc::new(AwsAdapters::new(&sdk, &cfg).queue);
    // SQS visibility timeouts are whole seconds.
    smsdesk_contract::queue_contract(queue, Duration::from_secs(1)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_manager_contract() {
    let Some(e) = endpoints("secrets_manager_contract") else { return };
    let sdk = sdk().await;
    let mut cfg = config(&e, "unused".into());
    cfg.secret_prefix = format!("{}/channels/", unique("smsdesk-contract"));
    let secrets: Arc<dyn SecretStore> = Arc::new(AwsAdapters::new(&sdk, &cfg).secrets);
    smsdesk_contract::secrets_contract(secrets).await;
}

/// Creating the table twice is harmless, and TTL is on `expires_at`, the attribute dedupe items carry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_creation_is_idempotent_and_dedupe_items_expire_by_ttl() {
    let Some(e) = endpoints("table_creation_is_idempotent_and_dedupe_items_expire_by_ttl") else { return };
    let (store, cfg) = store(&e).await;
    let client = store.client().clone();
    create_tables(&client, &cfg).await.unwrap_or_else(|err| panic!("second create_tables: {err}"));
    let ttl = client.describe_time_to_live().table_name(&cfg.table).send().await.unwrap();
    let spec = ttl.time_to_live_description().unwrap();
    assert_eq!(spec.attribute_name(), Some(smsdesk_aws::TTL_ATTRIBUTE));

    let at = time::OffsetDateTime::now_utc();
    let key = unique("ttl-check");
    assert!(store.remember(&key, at, Duration::from_secs(90)).await.unwrap());
    let item = client
        .get_item()
        .table_name(&cfg.table)
        .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(format!("DEDUPE#{key}")))
        .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("DEDUPE".into()))
        .send()
        .await
        .unwrap();
    let expires_at: i64 = item.item().unwrap()["expires_at"].as_n().unwrap().parse().unwrap();
    let expected = at.unix_timestamp() + 90;
    assert!((expected..=expected + 1).contains(&expires_at), "expires_at {expires_at} vs {expected}");
}

/// The table's items under `pk`, in sort key order, read as they are stored.
async fn items_under(
    store: &DynamoStore,
    pk: &str,
) -> Vec<std::collections::HashMap<String, AttributeValue>> {
    let answer = store
        .client()
        .query()
        .table_name(store.table())
        .key_condition_expression("pk = :pk")
        .expression_attribute_values(":pk", AttributeValue::S(pk.into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap_or_else(|e| panic!("query: {e}"));
    answer.items().to_vec()
}

/// The sort keys under `pk` (the adapter's transcript entries are `CONV#<id>` / `MSG#...`).
async fn sort_keys(store: &DynamoStore, pk: String) -> Vec<String> {
    items_under(store, &pk).await.iter().filter_map(|i| i.get("sk")?.as_s().ok().cloned()).collect()
}

/// `open_with_message` writes the text's transcript entry before its transaction; when the text does not
/// open the conversation (another is open already, or the text was filed before), no entry is left under
/// the conversation that was not opened, and the filed text's own entry stays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_that_opens_nothing_leaves_no_transcript_entry() {
    use smsdesk_contract::fixtures;
    use smsdesk_domain::{Conversation, ConversationId, Message, QueueId};
    use smsdesk_ports::{MessageStore, OpenWith};
    let Some(e) = endpoints("a_text_that_opens_nothing_leaves_no_transcript_entry") else { return };
    let (store, _) = store(&e).await;
    let t = fixtures::now();
    let first = fixtures::fresh_conversation(&QueueId::new(fixtures::id("q_")));
    let text = fixtures::inbound_message(&first, &fixtures::id("prov_"), t);
    assert_eq!(store.open_with_message(&first, &text).await.unwrap(), OpenWith::Opened);

    // The customer's conversation is open already: the text is not stored under the second one.
    let second = Conversation { id: ConversationId::new(fixtures::id("conv_")), ..first.clone() };
    let other = fixtures::inbound_message(&second, &fixtures::id("prov_"), t + time::Duration::seconds(1));
    assert!(matches!(store.open_with_message(&second, &other).await.unwrap(), OpenWith::Existing(_)));
    assert_eq!(sort_keys(&store, format!("CONV#{}", second.id)).await, Vec::<String>::new());

    // A replay of the filed text for a new conversation: a duplicate, nothing under the new one.
    let third = fixtures::fresh_conversation(&first.queue_id);
    let replayed = Message { conversation_id: third.id.clone(), ..text.clone() };
    assert_eq!(store.open_with_message(&third, &replayed).await.unwrap(), OpenWith::Duplicate);
    assert_eq!(sort_keys(&store, format!("CONV#{}", third.id)).await, Vec::<String>::new());

    // The first conversation keeps its item and its text's entry.
    let kept = sort_keys(&store, format!("CONV#{}", first.id)).await;
    assert_eq!(kept.iter().filter(|sk| sk.starts_with("MSG#")).count(), 1, "{kept:?}");
    assert_eq!(store.list_messages(&first.id).await.unwrap(), vec![text]);
}

/// The EMF adapter needs no emulator: CloudWatch reads its lines from the function's log.
#[test]
fn metrics_contract_on_embedded_metric_format_lines() {
    #[derive(Clone, Default)]
    struct Captured(Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let captured = Captured::default();
    let metrics = smsdesk_aws::EmfMetrics::new("smsdesk", Box::new(captured.clone()), Box::new(|| 0));
    smsdesk_contract::metrics_contract(&metrics, &|| {
        let text = String::from_utf8(captured.0.lock().expect("buffer").clone()).expect("utf-8 lines");
        smsdesk_contract::metrics::parse_emf(&text)
    });
}

/// A plain HTTP/1.0 GET on loopback (the presigned link of moto's S3): the body on 200, else None.
async fn http_get(url: String) -> Option<Vec<u8>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_at(rest.find('/')?);
    let mut stream = tokio::net::TcpStream::connect(host).await.ok()?;
    let request = format!("GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.ok()?;
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&answer[..split]).to_string();
    head.split_whitespace().nth(1).filter(|code| *code == "200")?;
    Some(answer[split + 4..].to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_media_contract() {
    let Some(e) = endpoints("s3_media_contract") else { return };
    let sdk = sdk().await;
    let client = smsdesk_aws::s3_client(&sdk, Some(&e.sqs));
    let bucket = unique("smsdesk-media");
    if let Err(err) = smsdesk_aws::create_media_bucket(&client, &bucket).await {
        panic!("creating bucket {bucket} on {}: {err}", e.sqs);
    }
    let media = Arc::new(smsdesk_aws::S3Media::new(client.clone(), bucket.clone()));
    let open: smsdesk_contract::media::OpenLink = Box::new(|link| Box::pin(http_get(link)));
    smsdesk_contract::media_contract(media.clone(), open).await;

    // The S3 location is where the bytes are: what End User Messaging reads when it sends them.
    use smsdesk_ports::MediaStore;
    let key = "cv_location/md_x";
    media.put_object(key, "image/png", vec![4, 2]).await.expect("put");
    let location = media.s3_location(key).expect("an S3 store names its objects' locations");
    let (in_bucket, object) = smsdesk_contract::media::s3_parts(&location).expect("s3:// URI");
    assert_eq!(in_bucket, bucket);
    let got = client.get_object().bucket(in_bucket).key(object).send().await.expect("GetObject");
    assert_eq!(got.body.collect().await.expect("body").into_bytes().as_ref(), &[4u8, 2][..]);
}

/// The change feed on DynamoDB: the table's writes, read from DynamoDB Local's stream as Lambda's event
/// source mapping would read them ([`smsdesk_aws::StreamReader`]), turned into changes and appended as the
/// `live` function does ([`smsdesk_aws::change_of_write`], [`DynamoStore::append_changes`]) before each read.
struct StreamedFeed {
    store: DynamoStore,
    reader: smsdesk_aws::StreamReader,
}

impl StreamedFeed {
    async fn pump(&self) -> smsdesk_ports::PortResult<()> {
        let mut changes = Vec::new();
        for record in self.reader.read().await? {
            let data = &record["dynamodb"];
            let image = |name: &str| data.get(name).and_then(smsdesk_aws::from_dynamodb_item);
            let at = (data["ApproximateCreationDateTime"].as_f64().unwrap_or(0.0) * 1000.0) as i64;
            changes.extend(smsdesk_aws::change_of_write(
                image("NewImage").as_ref(),
                image("OldImage").as_ref(),
                at,
            ));
        }
        self.store.append_changes(changes).await?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl ChangeFeed for StreamedFeed {
    async fn changes_after(
        &self,
        after: i64,
        limit: usize,
    ) -> smsdesk_ports::PortResult<smsdesk_ports::ChangePage> {
        self.pump().await?;
        self.store.changes_after(after, limit).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn changes_contract_on_the_table_stream() {
    let Some(e) = endpoints("changes_contract_on_the_table_stream") else { return };
    let (store, _) = store(&e).await;
    let reader = smsdesk_aws::StreamReader::for_table(&e.dynamodb, store.table())
        .await
        .expect("the table's stream on DynamoDB Local");
    let feed = StreamedFeed { store: store.clone(), reader };
    smsdesk_contract::changes_contract(Arc::new(store.clone()), &feed).await;
    smsdesk_contract::changes_contract(Arc::new(store), &feed).await;
}

/// A change for the feed's own tests: message `id` of conversation `c1`, moved to `status`.
fn new_change(id: String, status: &str) -> smsdesk_aws::NewChange {
    smsdesk_aws::NewChange {
        entity: smsdesk_ports::ChangeEntity::Message,
        id,
        conversation_id: smsdesk_domain::ConversationId::new("c1"),
        data: serde_json::json!({"status": status, "direction": "outbound", "author": "agent"}),
        at: 1_700_000_000_000,
    }
}

async fn counter_seq(store: &DynamoStore) -> i64 {
    let answer = store
        .client()
        .get_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S("CHGSEQ".into()))
        .key("sk", AttributeValue::S("SEQ".into()))
        .consistent_read(true)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get: {e}"));
    answer.item().and_then(|i| i.get("seq")?.as_n().ok()?.parse().ok()).expect("the counter")
}

/// The feed on DynamoDB beyond the shared contract: writers racing each other get numbers without holes,
/// each batch one item (read back across items and within one); when every item has expired the numbers
/// start again above all given before, and a client from before is told to reload exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn change_batches_are_numbered_without_holes_and_start_again_above_the_old_numbers() {
    let Some(e) =
        endpoints("change_batches_are_numbered_without_holes_and_start_again_above_the_old_numbers")
    else {
        return;
    };
    let (store, _) = store(&e).await;
    let empty = store.changes_after(i64::MAX - 1, 1).await.expect("the head");
    assert_eq!((empty.head, empty.oldest), (0, 1), "a new table's feed");

    // Eight writers, five batches of three each, at once.
    let mut writers = Vec::new();
    for w in 0..8 {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            let mut numbered = Vec::new();
            for b in 0..5 {
                let batch = (0..3).map(|i| new_change(format!("m{w}-{b}-{i}"), "sent")).collect();
                let written = store.append_changes(batch).await.expect("append");
                let seqs: Vec<i64> = written.iter().map(|c| c.seq).collect();
                assert_eq!(seqs, [seqs[0], seqs[0] + 1, seqs[0] + 2], "a batch's numbers follow each other");
                numbered.extend(written);
            }
            numbered
        }));
    }
    let mut written = Vec::new();
    for writer in writers {
        written.extend(writer.await.expect("writer"));
    }
    written.sort_by_key(|c| c.seq);
    assert_eq!(written.iter().map(|c| c.seq).collect::<Vec<_>>(), (1..=120).collect::<Vec<_>>());
    assert_eq!(items_under(&store, "CHG").await.len(), 40, "one item per batch");
    let page = store.changes_after(0, 1000).await.expect("the feed");
    assert_eq!(page.changes, written, "read back as written, in order");
    assert_eq!((page.head, page.oldest), (120, 1));
    // A page that starts and ends inside items.
    let some = store.changes_after(10, 7).await.expect("a page");
    assert_eq!(some.changes.iter().map(|c| c.seq).collect::<Vec<_>>(), (11..=17).collect::<Vec<_>>());
    assert!(!some.gap_after(10));

    // Past a multiple of 1024 the counter follows.
    for b in 0..10 {
        let batch = (0..100).map(|i| new_change(format!("n{b}-{i}"), "delivered")).collect();
        store.append_changes(batch).await.expect("append a full item");
    }
    assert_eq!(counter_seq(&store).await, 1120, "the batch that passed 1024 moved the counter");

    // A day without a change: every item expired, some removed by TTL.
    let items = items_under(&store, "CHG").await;
    for item in &items {
        let key = [("pk", item["pk"].clone()), ("sk", item["sk"].clone())];
        let mut update = store.client().update_item().table_name(store.table());
        for (name, value) in key {
            update = update.key(name, value);
        }
        let expired = AttributeValue::N((time::OffsetDateTime::now_utc().unix_timestamp() - 60).to_string());
        update
            .update_expression("SET expires_at = :e")
            .expression_attribute_values(":e", expired)
            .send()
            .await
            .expect("expire");
    }
    let newest = items.last().expect("items");
    store
        .client()
        .delete_item()
        .table_name(store.table())
        .key("pk", newest["pk"].clone())
        .key("sk", newest["sk"].clone())
        .send()
        .await
        .expect("TTL removes the newest item");
    let idle = store.changes_after(i64::MAX - 1, 1).await.expect("the head");
    assert_eq!(idle.head, 1120 + 1024 - 1, "the feed says where it starts again");
    assert!(idle.gap_after(500), "a client from before reloads");
    let again = store.append_changes(vec![new_change("r1".into(), "sent")]).await.expect("append");
    assert_eq!(again[0].seq, idle.head + 1, "the numbers start again above every old one");
    // The number after the newest item left is taken by a marker: a writer whose clock still took that
    // item for live cannot put a batch there now.
    let marker = items_under(&store, "CHG")
        .await
        .into_iter()
        .find(|i| i["sk"].as_s().ok() == Some(&format!("{:020}", 1021)));
    assert_eq!(marker.and_then(|m| m["count"].as_n().ok().cloned()).as_deref(), Some("0"), "the marker");
    let resumed = store.changes_after(idle.head, 100).await.expect("resume");
    assert!(!resumed.gap_after(idle.head), "a client that reloaded then follows on without reloading again");
    assert_eq!(resumed.changes.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["r1"]);
    let stale = store.changes_after(1000, 100).await.expect("a stale client");
    assert!(stale.gap_after(1000) && stale.changes.is_empty(), "a client across the hole reloads");
}

/// A table written before batch items (an item per change, the counter at the newest number) keeps its
/// numbers: its changes read back, and the next batch follows on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_items_written_one_per_change_are_read_and_followed_on() {
    let Some(e) = endpoints("change_items_written_one_per_change_are_read_and_followed_on") else { return };
    let (store, _) = store(&e).await;
    let expires = AttributeValue::N((time::OffsetDateTime::now_utc().unix_timestamp() + 3600).to_string());
    for seq in 1..=3 {
        let data = serde_json::json!({"status": "sent", "direction": "outbound", "author": "agent"});
        store
            .client()
            .put_item()
            .table_name(store.table())
            .item("pk", AttributeValue::S("CHG".into()))
            .item("sk", AttributeValue::S(format!("{seq:020}")))
            .item("entity", AttributeValue::S("change".into()))
            .item("seq", AttributeValue::N(seq.to_string()))
            .item("kind", AttributeValue::S("message".into()))
            .item("id", AttributeValue::S(format!("old{seq}")))
            .item("conversation_id", AttributeValue::S("c1".into()))
            .item("data", AttributeValue::S(data.to_string()))
            .item("at", AttributeValue::N("1700000000000".into()))
            .item("expires_at", expires.clone())
            .send()
            .await
            .expect("an old change item");
    }
    store
        .client()
        .put_item()
        .table_name(store.table())
        .item("pk", AttributeValue::S("CHGSEQ".into()))
        .item("sk", AttributeValue::S("SEQ".into()))
        .item("seq", AttributeValue::N("3".into()))
        .send()
        .await
        .expect("the old counter");
    let next = store.append_changes(vec![new_change("new1".into(), "sent")]).await.expect("append");
    assert_eq!(next[0].seq, 4);
    let page = store.changes_after(1, 10).await.expect("the feed");
    let ids: Vec<(i64, &str)> = page.changes.iter().map(|c| (c.seq, c.id.as_str())).collect();
    assert_eq!(ids, [(2, "old2"), (3, "old3"), (4, "new1")]);
    assert_eq!(page.changes[0].data["status"], "sent");
    assert_eq!((page.oldest, page.head), (1, 4));
}
