//! The queue contract: SQS semantics in both adapters.
//!
//! Queues may hold messages of other runs (or of tests running at the same time). Every body this suite
//! sends carries a tag unique to the call; messages without it are made visible again at once
//! (`retry_after(0)`) and otherwise ignored. Run at most one queue suite at a time against one set of
//! queues: the suite's receives would otherwise count against the other run's messages.

use smsdesk_ports::{DeadLetter, MessageQueue, PortResult, QueueKind, QueueMessage, Received};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::{Instant, sleep};

use crate::fixtures;

/// A visibility long enough that nothing reappears during a step of the suite.
const LONG: Duration = Duration::from_secs(60);

/// Runs every queue check. `fast_visibility` is the shortest visibility timeout the backend honours
/// (one second for SQS; less for the embedded queue); redelivery checks wait a little more than it.
pub async fn queue_contract(queue: Arc<dyn MessageQueue>, fast_visibility: Duration) {
    let run = Run { queue, tag: fixtures::run_tag(), fast: fast_visibility };
    for kind in QueueKind::ALL {
        run.send_receive_ack(kind).await;
    }
    run.redelivery(QueueKind::Crm).await;
    run.redelivery(QueueKind::Inbound).await;
    run.dead_letter(QueueKind::Crm).await;
    run.given_up(QueueKind::Crm).await;
    run.given_up(QueueKind::Outbound).await;
    run.given_up(QueueKind::Inbound).await;
    run.retry_after(QueueKind::Crm).await;
    run.retry_after(QueueKind::Outbound).await;
    run.fifo_order(QueueKind::Inbound).await;
    run.fifo_order(QueueKind::Outbound).await;
    run.fifo_dedupe(QueueKind::Inbound).await;
    run.fifo_dedupe(QueueKind::Outbound).await;
    run.depth(QueueKind::Crm).await;
    run.delayed(QueueKind::Timers).await;
    run.delay_refused(QueueKind::Inbound).await;
}

fn ok<T>(result: PortResult<T>, what: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => panic!("queue contract: {what} failed: {e}"),
    }
}

struct Run {
    queue: Arc<dyn MessageQueue>,
    tag: String,
    fast: Duration,
}

impl Run {
    fn body(&self, label: &str) -> String {
        format!("contract:{}:{label}:{}", self.tag, fixtures::run_tag())
    }

    fn is_ours(&self, r: &Received) -> bool {
        r.body.starts_with(&format!("contract:{}:", self.tag))
    }

    /// Long enough for a message hidden with the fast visibility to be visible again.
    fn past_fast(&self) -> Duration {
        self.fast + self.fast / 2 + Duration::from_millis(200)
    }

    fn deadline(&self) -> Instant {
        Instant::now() + Duration::from_secs(5) + self.fast * 2
    }

    /// A message for `kind`: FIFO queues get a group and a fresh dedupe id; the standard queue neither.
    fn message(&self, kind: QueueKind, body: &str, group: &str) -> QueueMessage {
        if kind.is_fifo() {
            QueueMessage {
                body: body.into(),
                group: Some(format!("{}:{group}", self.tag)),
                dedupe_id: Some(fixtures::run_tag()),
            }
        } else {
            QueueMessage { body: body.into(), group: None, dedupe_id: None }
        }
    }

    async fn send(&self, kind: QueueKind, message: QueueMessage) {
        ok(self.queue.send(kind, message).await, "send");
    }

    /// One receive; messages of other runs are made visible again at once and left out.
    async fn poll(&self, kind: QueueKind, max: usize, visibility: Duration) -> Vec<Received> {
        let got = ok(self.queue.receive(kind, max, visibility).await, "receive");
        let mut ours = Vec::new();
        for r in got {
            assert!(r.receive_count >= 1, "receive_count starts at 1, got {}", r.receive_count);
            if self.is_ours(&r) {
                ours.push(r);
            } else {
                ok(self.queue.retry_after(kind, &r.receipt, Duration::ZERO).await, "retry_after (foreign)");
            }
        }
        ours
    }

    /// Receives until `done` holds for what arrived, or panics with `what` at the deadline.
    async fn receive_until(
        &self,
        kind: QueueKind,
        max: usize,
        visibility: Duration,
        what: &str,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = self.deadline();
        let mut got = Vec::new();
        loop {
            got.extend(self.poll(kind, max, visibility).await);
            if done(&got) {
                return got;
            }
            if Instant::now() > deadline {
                panic!("queue contract ({}): {what}; received only {got:?}", kind.name());
            }
            sleep(Duration::from_millis(50)).await;
        }
    }

    /// Receives the message with `body`, panicking if it does not come.
    async fn receive_one(&self, kind: QueueKind, body: &str, visibility: Duration, what: &str) -> Received {
        let got = self.receive_until(kind, 10, visibility, what, |v| v.iter().any(|r| r.body == body)).await;
        let mut matching = got.into_iter().filter(|r| r.body == body);
        let first = matching.next().unwrap_or_else(|| panic!("queue contract: {what}"));
        assert!(
            matching.next().is_none(),
            "queue contract ({}): {body} delivered twice at once",
            kind.name()
        );
        first
    }

    /// The message with `body`, hidden for the fast visibility (no earlier than `hidden_at`), stays hidden
    /// until that runs out (a panic with `hidden` if a receive right away hands it over before) and then
    /// comes back (a panic with `back` if it does not). A receive right away that returns it only after the
    /// visibility ran out (a loaded machine was slow to answer) proves nothing, and that delivery is the
    /// one returned.
    async fn hidden_then_back(
        &self,
        kind: QueueKind,
        body: &str,
        hidden_at: Instant,
        hidden: &str,
        back: &str,
    ) -> Received {
        let got = self.poll(kind, 10, LONG).await.into_iter().find(|r| r.body == body);
        let waited = hidden_at.elapsed();
        match got {
            Some(_) if waited < self.fast => {
                panic!("queue contract ({}): {hidden}; delivered again after {waited:?}", kind.name())
            }
            Some(late) => late,
            None => {
                sleep(self.past_fast()).await;
                self.receive_one(kind, body, LONG, back).await
            }
        }
    }

    /// Polls for `wait` and returns every message of ours that arrived (hidden for `visibility`).
    async fn quiet(&self, kind: QueueKind, wait: Duration, visibility: Duration) -> Vec<Received> {
        let until = Instant::now() + wait;
        let mut got = Vec::new();
        loop {
            got.extend(self.poll(kind, 10, visibility).await);
            if Instant::now() >= until {
                return got;
            }
            sleep(Duration::from_millis(50)).await;
        }
    }

    async fn ack(&self, kind: QueueKind, r: &Received) {
        ok(self.queue.ack(kind, &r.receipt).await, "ack");
    }

    async fn send_receive_ack(&self, kind: QueueKind) {
        let body = self.body("basic");
        let message = self.message(kind, &body, "basic");
        self.send(kind, message.clone()).await;
        assert!(
            ok(self.queue.depth(kind).await, "depth") >= 1,
            "{}: depth counts a sent message",
            kind.name()
        );
        let r = self.receive_one(kind, &body, self.fast, "a sent message must be received").await;
        assert_eq!(r.receive_count, 1, "{}: first delivery has receive_count 1", kind.name());
        assert!(!r.message_id.is_empty() && !r.receipt.is_empty(), "message id and receipt are set");
        assert_eq!(r.group, message.group, "{}: the group travels with the message", kind.name());
        self.ack(kind, &r).await;
        let again = self.quiet(kind, self.past_fast(), LONG).await;
        assert!(again.is_empty(), "{}: an acked message must not come back, got {again:?}", kind.name());
    }

    /// A delayed message is hidden for its delay (whole seconds, as SQS's DelaySeconds), then delivered once.
    async fn delayed(&self, kind: QueueKind) {
        let body = self.body("delayed");
        let sent_at = Instant::now();
        let delay = Duration::from_millis(1500); // rounded up: two seconds
        ok(self.queue.send_delayed(kind, self.message(kind, &body, "delayed"), delay).await, "send_delayed");
        assert!(
            ok(self.queue.depth(kind).await, "depth") >= 1,
            "{}: a delayed message counts in the depth",
            kind.name()
        );
        // Received during its delay, and after: whenever a receive hands it over, the delay (rounded up to
        // 2 s) has run out. (Judged by when the receive returned, since sent_at was before the send: a
        // receive a loaded machine started in the delay and finished after it is no early delivery.)
        let mut delivered = None;
        while delivered.is_none() && sent_at.elapsed() < Duration::from_millis(1200) {
            delivered = self.poll(kind, 10, LONG).await.into_iter().find(|r| r.body == body);
            sleep(Duration::from_millis(50)).await;
        }
        let r = match delivered {
            Some(r) => r,
            None => {
                self.receive_one(kind, &body, LONG, "a delayed message must be delivered after its delay")
                    .await
            }
        };
        let waited = sent_at.elapsed();
        assert!(
            waited >= Duration::from_millis(1900),
            "{}: delivered after {waited:?}, before the delay (rounded up to 2 s) ran out",
            kind.name()
        );
        assert_eq!(r.receive_count, 1, "{}: a delayed message's first delivery", kind.name());
        self.ack(kind, &r).await;
        let over = self
            .queue
            .send_delayed(kind, self.message(kind, &body, "delayed"), Duration::from_secs(901))
            .await;
        assert!(over.is_err(), "{}: a delay over 15 minutes is refused", kind.name());
    }

    /// A FIFO queue takes no per-message delay (as SQS): refused, not sent undelayed.
    async fn delay_refused(&self, kind: QueueKind) {
        assert!(kind.is_fifo());
        let body = self.body("fifo-delayed");
        let sent =
            self.queue.send_delayed(kind, self.message(kind, &body, "fifo"), Duration::from_secs(1)).await;
        assert!(sent.is_err(), "{}: a FIFO queue refuses a per-message delay", kind.name());
    }

    async fn redelivery(&self, kind: QueueKind) {
        let body = self.body("redeliver");
        self.send(kind, self.message(kind, &body, "redeliver")).await;
        let hidden_at = Instant::now();
        let first = self.receive_one(kind, &body, self.fast, "a sent message must be received").await;
        let hidden = "a message in flight must stay hidden";
        let back = "an unacked message must come back after its visibility";
        let second = self.hidden_then_back(kind, &body, hidden_at, hidden, back).await;
        assert_eq!(second.message_id, first.message_id, "{}: a redelivery is the same message", kind.name());
        assert_eq!(second.receive_count, 2, "{}: receive_count grows on redelivery", kind.name());
        self.ack(kind, &second).await;
    }

    async fn dead_letter(&self, kind: QueueKind) {
        let body = self.body("poison");
        self.send(kind, self.message(kind, &body, "poison")).await;
        for n in 1..=kind.max_receives() {
            let r = self.receive_one(kind, &body, self.fast, "an unacked message must come back").await;
            assert_eq!(r.receive_count, n, "{}: receive_count counts deliveries", kind.name());
            sleep(self.past_fast()).await;
        }
        let after = self.quiet(kind, self.past_fast(), LONG).await;
        assert!(
            after.iter().all(|r| r.body != body),
            "{}: after {} receives the message must go to the dead-letter queue, not be delivered again",
            kind.name(),
            kind.max_receives()
        );
        let dead = self.dead_letter_of(kind, &body, "dead_letters must list the poison message").await;
        assert!(
            dead.reason.contains("receive"),
            "{}: the backstop names the receive limit: {}",
            kind.name(),
            dead.reason
        );
    }

    /// Waits until the dead-letter queue lists `body`; returns its entry.
    async fn dead_letter_of(&self, kind: QueueKind, body: &str, what: &str) -> DeadLetter {
        let deadline = self.deadline();
        loop {
            let dead = ok(self.queue.dead_letters(kind).await, "dead_letters");
            if let Some(d) = dead.into_iter().find(|d| d.body == body) {
                return d;
            }
            assert!(Instant::now() < deadline, "{}: {what}", kind.name());
            sleep(Duration::from_millis(100)).await;
        }
    }

    /// A consumer gives up: `dead_letter` moves the message to the dead-letter queue at once, with its
    /// reason and group, whatever its receive count; a FIFO group goes on with its next message; `redrive`
    /// brings it back to the end of the queue as a fresh message of the same group, and off the list.
    async fn given_up(&self, kind: QueueKind) {
        let (doomed, next) = (self.body("given-up"), self.body("behind"));
        let message = self.message(kind, &doomed, "given-up");
        self.send(kind, message.clone()).await;
        let r = self.receive_one(kind, &doomed, LONG, "a sent message must be received").await;
        assert_eq!(r.receive_count, 1, "{}: first delivery", kind.name());
        // Sent while the first is in flight: on a FIFO queue it waits behind it.
        self.send(kind, self.message(kind, &next, "given-up")).await;
        let reason = format!("gave up after 3 attempts: provider said no ({})", self.tag);
        ok(self.queue.dead_letter(kind, &r, &reason).await, "dead_letter");

        let behind = self.receive_one(kind, &next, LONG, "the group goes on after a dead letter").await;
        self.ack(kind, &behind).await;
        let dead = self.dead_letter_of(kind, &doomed, "dead_letters must list a given-up message").await;
        assert_eq!(dead.reason, reason, "{}: the consumer's reason is kept", kind.name());
        assert_eq!(dead.group, message.group, "{}: the group is kept", kind.name());
        let again = self.quiet(kind, self.past_fast(), LONG).await;
        assert!(again.iter().all(|r| r.body != doomed), "{}: a dead letter is not delivered", kind.name());
        for r in &again {
            self.ack(kind, r).await;
        }

        let moved =
            ok(self.queue.redrive(kind, Some(std::slice::from_ref(&dead.message_id))).await, "redrive");
        assert_eq!(moved, 1, "{}: redrive moves the named dead letter", kind.name());
        let back = self.receive_one(kind, &doomed, LONG, "a redriven message is delivered again").await;
        assert_eq!(
            back.receive_count,
            1,
            "{}: a redriven message starts its receive count afresh",
            kind.name()
        );
        assert_eq!(back.group, message.group, "{}: a redriven message keeps its group", kind.name());
        let listed = ok(self.queue.dead_letters(kind).await, "dead_letters");
        assert!(
            listed.iter().all(|d| d.body != doomed),
            "{}: a redriven message leaves the list",
            kind.name()
        );
        self.ack(kind, &back).await;
        let none = ok(self.queue.redrive(kind, Some(&[format!("no-such-{}", self.tag)])).await, "redrive");
        assert_eq!(none, 0, "{}: redriving an unknown id moves nothing", kind.name());
    }

    async fn retry_after(&self, kind: QueueKind) {
        let body = self.body("retry");
        self.send(kind, self.message(kind, &body, "retry")).await;
        let r = self.receive_one(kind, &body, LONG, "a sent message must be received").await;
        let hidden_at = Instant::now();
        ok(self.queue.retry_after(kind, &r.receipt, self.fast).await, "retry_after");
        let hidden = "retry_after must keep the message hidden for the delay";
        let back = "retry_after must deliver again after the delay";
        let again = self.hidden_then_back(kind, &body, hidden_at, hidden, back).await;
        assert_eq!(again.receive_count, 2, "{}: a retried message counts the delivery", kind.name());
        ok(self.queue.retry_after(kind, &again.receipt, Duration::ZERO).await, "retry_after(0)");
        let now = self.receive_one(kind, &body, LONG, "retry_after(0) must make it visible at once").await;
        assert_eq!(now.receive_count, 3, "{}: third delivery", kind.name());
        self.ack(kind, &now).await;
    }

    async fn fifo_order(&self, kind: QueueKind) {
        let (a1, a2, b1) = (self.body("a1"), self.body("a2"), self.body("b1"));
        let msg_a1 = self.message(kind, &a1, "a");
        let group_a = msg_a1.group.clone();
        self.send(kind, msg_a1).await;
        self.send(kind, self.message(kind, &a2, "a")).await;
        self.send(kind, self.message(kind, &b1, "b")).await;

        let got = self
            .receive_until(kind, 1, LONG, "the group's first message must be received", |v| {
                v.iter().any(|r| r.group == group_a)
            })
            .await;
        let first_a = got.iter().find(|r| r.group == group_a).map(|r| r.body.clone());
        assert_eq!(
            first_a.as_deref(),
            Some(a1.as_str()),
            "{}: a group's messages come in order",
            kind.name()
        );
        let mut in_flight = got;
        if !in_flight.iter().any(|r| r.body == b1) {
            let more = self
                .receive_until(kind, 10, LONG, "another group must not be blocked", |v| {
                    v.iter().any(|r| r.body == b1)
                })
                .await;
            in_flight.extend(more);
        }
        in_flight.extend(self.quiet(kind, Duration::from_millis(300), LONG).await);
        assert!(
            !in_flight.iter().any(|r| r.body == a2),
            "{}: no message of a group may be delivered while an earlier one is in flight",
            kind.name()
        );
        for r in &in_flight {
            self.ack(kind, r).await;
        }
        let next = self.receive_one(kind, &a2, LONG, "after the ack the group's next message comes").await;
        self.ack(kind, &next).await;
    }

    async fn fifo_dedupe(&self, kind: QueueKind) {
        let (first, second) = (self.body("dedupe-1"), self.body("dedupe-2"));
        let mut message = self.message(kind, &first, "dedupe");
        self.send(kind, message.clone()).await;
        message.body = second.clone();
        self.send(kind, message).await;
        let r =
            self.receive_one(kind, &first, LONG, "the first of two sends with one dedupe id arrives").await;
        self.ack(kind, &r).await;
        let dup = self.quiet(kind, Duration::from_millis(500), LONG).await;
        assert!(
            !dup.iter().any(|r| r.body == second),
            "{}: a send with a dedupe id seen in the last 5 minutes must be dropped",
            kind.name()
        );
        for r in &dup {
            self.ack(kind, r).await;
        }
    }

    async fn depth(&self, kind: QueueKind) {
        let bodies: Vec<String> = (0..3).map(|i| self.body(&format!("depth{i}"))).collect();
        for b in &bodies {
            self.send(kind, self.message(kind, b, "depth")).await;
        }
        let depth = ok(self.queue.depth(kind).await, "depth");
        assert!(depth >= 3, "{}: depth counts waiting messages, got {depth}", kind.name());
        let got = self
            .receive_until(kind, 10, LONG, "every sent message arrives", |v| {
                bodies.iter().all(|b| v.iter().any(|r| &r.body == b))
            })
            .await;
        let in_flight = ok(self.queue.depth(kind).await, "depth");
        assert!(in_flight >= 3, "{}: depth counts messages in flight, got {in_flight}", kind.name());
        for r in &got {
            self.ack(kind, r).await;
        }
    }
}
