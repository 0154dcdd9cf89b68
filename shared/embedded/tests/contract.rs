//! The port contract suites against the embedded adapters, on a database file and in memory, plus the
//! durability the embedded shape promises: data and queued messages are still there after a reopen, and
//! after the process dies without any cleanup.

use smsdesk_domain::ChannelId;
use smsdesk_embedded::{EmbeddedDb, EmbeddedQueue, EmbeddedStore};
use smsdesk_ports::{ChannelStore, Credentials, MessageQueue, QueueKind, QueueMessage, SecretStore, Store};
use std::sync::Arc;
use std::time::Duration;

/// The embedded queue honours any visibility; this keeps the redelivery checks quick.
const FAST: Duration = Duration::from_millis(200);

fn file_db() -> (tempfile::TempDir, EmbeddedDb) {
    let dir = tempfile::tempdir().unwrap();
    let db = EmbeddedDb::open(&dir.path().join("smsdesk.db")).unwrap();
    (dir, db)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_contract_on_a_file() {
    let (_dir, db) = file_db();
    let store: Arc<dyn Store> = Arc::new(db.store());
    smsdesk_contract::store_contract(store.clone()).await;
    // A second run on the same data: the suite must not depend on an empty store.
    smsdesk_contract::store_contract(store).await;
}

/// Distribution under 200 conversations, 20 agents and concurrent presence changes and closes, on a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn distribution_stress_on_a_file() {
    let (_dir, db) = file_db();
    smsdesk_contract::store::distribution_stress_contract(Arc::new(db.store())).await;
}

/// The same with teams whose capacity is below the sum of their members', on a file.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn team_distribution_stress_on_a_file() {
    let (_dir, db) = file_db();
    smsdesk_contract::store::team_distribution_stress_contract(Arc::new(db.store())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn store_contract_in_memory() {
    let store: Arc<dyn Store> = Arc::new(EmbeddedStore::open_in_memory().unwrap());
    smsdesk_contract::store_contract(store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn secrets_contract_on_a_file_and_in_memory() {
    let (_dir, db) = file_db();
    smsdesk_contract::secrets_contract(Arc::new(db.store())).await;
    smsdesk_contract::secrets_contract(Arc::new(EmbeddedStore::open_in_memory().unwrap())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queue_contract_on_a_file() {
    let (_dir, db) = file_db();
    let queue: Arc<dyn MessageQueue> = Arc::new(db.queue());
    smsdesk_contract::queue_contract(queue.clone(), FAST).await;
    smsdesk_contract::queue_contract(queue, FAST).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queue_contract_in_memory() {
    let queue: Arc<dyn MessageQueue> = Arc::new(EmbeddedQueue::open_in_memory().unwrap());
    smsdesk_contract::queue_contract(queue, FAST).await;
}

fn crm(body: &str) -> QueueMessage {
    QueueMessage { body: body.into(), group: None, dedupe_id: None }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_and_queued_messages_survive_a_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("smsdesk.db");
    let queue_id = smsdesk_domain::QueueId::new("q_reopen");
    let channel = smsdesk_contract::fixtures::channel(&queue_id);
    {
        let db = EmbeddedDb::open(&path).unwrap();
        let (store, queue) = (db.store(), db.queue());
        assert_eq!(store.put_channel(&channel).await.unwrap(), smsdesk_ports::ChannelWrite::Stored);
        store
            .put_credentials(&channel.id, &Credentials::empty(smsdesk_domain::ProviderKind::Sandbox))
            .await
            .unwrap();
        queue.send(QueueKind::Crm, crm("waiting")).await.unwrap();
        queue.send(QueueKind::Crm, crm("in flight")).await.unwrap();
        let got = queue.receive(QueueKind::Crm, 1, Duration::from_secs(3600)).await.unwrap();
        assert_eq!(got[0].body, "waiting");
    }
    let store = EmbeddedStore::open(&path).unwrap();
    let queue = store.queue();
    assert_eq!(store.get_channel(&channel.id).await.unwrap(), Some(channel.clone()));
    let creds = store.get_credentials(&channel.id).await.unwrap().map(|c| c.to_stored_json());
    assert_eq!(creds, Some(Credentials::empty(smsdesk_domain::ProviderKind::Sandbox).to_stored_json()));
    assert_eq!(queue.depth(QueueKind::Crm).await.unwrap(), 2, "both messages are still queued");
    let got = queue.receive(QueueKind::Crm, 10, Duration::from_secs(30)).await.unwrap();
    let bodies: Vec<_> = got.iter().map(|r| r.body.as_str()).collect();
    assert_eq!(bodies, ["in flight"], "the in-flight message keeps its visibility timeout across a reopen");
    assert!(store.get_channel(&ChannelId::new("ch_none")).await.unwrap().is_none());
}

const CRASH_ENV: &str = "SMSDESK_EMBEDDED_CRASH_DB";

/// The child half: sends, then dies at once without running any destructor or closing the database.
fn send_then_abort(path: &str) -> ! {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let queue = EmbeddedQueue::open(std::path::Path::new(path)).unwrap();
        for i in 0..5 {
            queue.send(QueueKind::Crm, crm(&format!("acknowledged {i}"))).await.unwrap();
        }
    });
    std::process::abort();
}

#[test]
fn acknowledged_sends_survive_the_process_dying() {
    if let Ok(path) = std::env::var(CRASH_ENV) {
        send_then_abort(&path);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("smsdesk.db");
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "acknowledged_sends_survive_the_process_dying", "--nocapture", "--test-threads=1"])
        .env(CRASH_ENV, &path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the child must have died by abort");
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let queue = EmbeddedQueue::open(&path).unwrap();
        assert_eq!(queue.depth(QueueKind::Crm).await.unwrap(), 5, "every acknowledged send survived");
        let got = queue.receive(QueueKind::Crm, 10, Duration::from_secs(30)).await.unwrap();
        assert_eq!(got.len(), 5);
        assert_eq!(got[0].body, "acknowledged 0");
    });
}

#[test]
fn metrics_contract_on_the_prometheus_registry() {
    let metrics = smsdesk_embedded::PrometheusMetrics::new();
    smsdesk_contract::metrics_contract(&metrics, &|| {
        smsdesk_contract::metrics::parse_prometheus(&metrics.render())
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_contract_on_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    let media = Arc::new(smsdesk_embedded::FolderMedia::open(dir.path(), "http://127.0.0.1:9").unwrap());
    let opener = media.clone();
    // The embedded shape's links are served by the HTTP router's media route, which opens them like this.
    let open: smsdesk_contract::media::OpenLink = Box::new(move |link: String| {
        let media = opener.clone();
        Box::pin(async move {
            let rest = link.strip_prefix("http://127.0.0.1:9/v1/media/")?;
            let (key, query) = rest.split_once('?')?;
            let params: std::collections::HashMap<&str, &str> =
                query.split('&').filter_map(|p| p.split_once('=')).collect();
            let exp: i64 = params.get("exp")?.parse().ok()?;
            use smsdesk_ports::MediaStore;
            let opened = media.open_link(key, exp, params.get("sig")?, time::OffsetDateTime::now_utc()).await;
            opened.ok()?.map(|o| o.bytes)
        })
    });
    smsdesk_contract::media_contract(media.clone(), open).await;
    use smsdesk_ports::MediaStore;
    assert_eq!(media.s3_location("cv_x/md_x"), None, "a folder is no S3 bucket");
}

/// The change feed behind the console's live updates (the AWS adapter's run is in shared/aws/tests).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_contract_on_a_file() {
    let (_dir, db) = file_db();
    let store = Arc::new(db.store());
    smsdesk_contract::changes_contract(store.clone(), store.as_ref()).await;
    smsdesk_contract::changes_contract(store.clone(), store.as_ref()).await;
}
