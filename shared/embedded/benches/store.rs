//! Throughput of the embedded adapters on a database file (WAL, synchronous=FULL, so every write is an
//! fsync): `cargo bench -p smsdesk-embedded --bench store`. Short runs by design; figures go in
//! BENCHMARKS.md.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use smsdesk_contract::fixtures;
use smsdesk_domain::{MessageStatus, QueueId};
use smsdesk_embedded::EmbeddedDb;
use smsdesk_ports::{MessageQueue, MessageStore, QueueKind, QueueMessage};
use std::time::Duration;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn store(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let db = EmbeddedDb::open(&dir.path().join("bench.db")).unwrap();
    let store = db.store();
    let rt = runtime();
    let queue = QueueId::new("q_bench");

    let mut group = c.benchmark_group("store");
    group.throughput(Throughput::Elements(1));
    group.bench_function("insert_message+list_messages (new conversation)", |b| {
        b.to_async(&rt).iter(|| async {
            let conv = fixtures::fresh_conversation(&queue);
            let m = fixtures::outbound_message(&conv, MessageStatus::Queued, fixtures::now());
            assert!(store.insert_message(&m).await.unwrap());
            assert_eq!(store.list_messages(&conv.id).await.unwrap().len(), 1);
        })
    });

    let conv = fixtures::fresh_conversation(&queue);
    rt.block_on(async {
        for _ in 0..20 {
            let m = fixtures::outbound_message(&conv, MessageStatus::Queued, fixtures::now());
            store.insert_message(&m).await.unwrap();
        }
    });
    group.bench_function("list_messages (20-message transcript)", |b| {
        b.to_async(&rt).iter(|| async { assert_eq!(store.list_messages(&conv.id).await.unwrap().len(), 20) })
    });
    group.finish();
}

fn queue(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let db = EmbeddedDb::open(&dir.path().join("bench.db")).unwrap();
    let queue = db.queue();
    let rt = runtime();

    let mut group = c.benchmark_group("queue");
    group.throughput(Throughput::Elements(1));
    for kind in [QueueKind::Crm, QueueKind::Outbound] {
        group.bench_function(format!("send+receive+ack ({})", kind.name()), |b| {
            b.to_async(&rt).iter(|| async {
                let id = fixtures::run_tag();
                let message = QueueMessage {
                    body: format!("{{\"job\":\"{id}\"}}"),
                    group: Some(id.clone()),
                    dedupe_id: Some(id),
                };
                queue.send(kind, message).await.unwrap();
                let got = queue.receive(kind, 1, Duration::from_secs(30)).await.unwrap();
                queue.ack(kind, &got[0].receipt).await.unwrap();
            })
        });
    }
    group.finish();
}

fn quick() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! { name = benches; config = quick(); targets = store, queue }
criterion_main!(benches);
