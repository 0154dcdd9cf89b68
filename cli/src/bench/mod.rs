//! `smsdesk bench`: the load run of issue 12, all on loopback. It starts `smsdesk dev` (this binary, or
//! `--server PATH`) in a child process on a fresh database (so that the server's CPU and peak memory are its
//! own) and a fake TeleSign ([`provider::LoadProvider`]), then
//!   1. posts N signed TeleSign texts (each from another customer, spread over the channel's numbers) plus a
//!      share of exact replays, shuffled, from C concurrent connections, and times each acknowledgement;
//!   2. waits until every text is in a conversation assigned to an agent (enough agents for N);
//!   3. has the agents reply to every conversation and waits until the fake has taken every reply;
//!   4. posts two delivery receipts per reply (an intermediate "sent" and the final "delivered") in a
//!      shuffled order, with replays, and waits until they are applied;
//!   5. checks the store itself (the SQLite file, read-only) and the fake's log: every acknowledged text is
//!      stored once (lost, duplicated), every accepted reply was sent once, no status went backwards.
//!
//! [`run`] serves the `smsdesk bench` command and the small-size test in the e2e suite
//! (`tests/tests/e2e/bench.rs`).

pub mod aws;
pub mod provider;
pub mod server;

use indicatif::{ProgressBar, ProgressStyle};
use provider::{LoadProvider, telesign_dlr, telesign_mo};
use rand::seq::SliceRandom;
use reqwest::Method;
use serde_json::{Value, json};
use server::{Client, DevChild};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("setting up the run: {0}")]
    Setup(String),
    #[error("smsdesk dev exited during the run ({0}); see its log")]
    ServerExited(String),
    #[error("reading the server's database: {0}")]
    Store(#[from] rusqlite::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("reading the AWS shape's table: {0}")]
    Aws(String),
}

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Distinct inbound texts.
    pub texts: usize,
    /// Concurrent HTTP connections posting webhooks and replies.
    pub connections: usize,
    /// Exact replays posted on top, as a share of `texts` (0.3: 30% more posts).
    pub replay_share: f64,
    /// Agents sharing the conversations (each gets the capacity for its share); more when the texts need
    /// more than 100 per agent.
    pub agents: usize,
    /// The channel's numbers the texts are spread over (each paced at 1,000 sends/s, the most allowed).
    pub numbers: usize,
    /// The `smsdesk` binary to run as the server.
    pub binary: PathBuf,
    /// Progress bars on stderr.
    pub progress: bool,
    /// Longest wait for any one phase to settle.
    pub phase_timeout: Duration,
    /// Where the server's log (stderr) goes; a file in the run's temporary directory by default.
    pub server_log: Option<PathBuf>,
    /// The AWS shape (`binary` is then `smsdesk-aws-shape`, on the emulators) instead of `smsdesk dev`.
    pub aws: bool,
    /// Customer texts per conversation (each answered by one reply): 1 makes every text open a new
    /// conversation (the worst case); more sends the same customers' further texts into their open ones.
    pub texts_per_conversation: usize,
    /// One post at a time, this long apart (texts, replies and receipts alike), instead of `connections`
    /// at once: the traffic of a quiet hour, where every queue and stream batch holds a single message.
    pub pace: Option<Duration>,
}

impl BenchOptions {
    pub fn new(texts: usize, binary: PathBuf) -> Self {
        Self {
            texts,
            connections: 64,
            replay_share: 0.3,
            agents: 10,
            numbers: 10,
            binary,
            progress: false,
            phase_timeout: Duration::from_secs(600),
            server_log: None,
            aws: false,
            texts_per_conversation: 1,
            pace: None,
        }
    }
}

/// The figures and the checks of one run.
#[derive(Clone, Debug, Default)]
pub struct BenchReport {
    pub texts: usize,
    pub connections: usize,
    /// The gap between posts when they went one at a time (`--pace-ms`).
    pub pace_ms: Option<u64>,
    pub agents: usize,
    pub numbers: usize,
    pub webhook_posts: usize,
    /// Distinct texts whose webhook got a 2xx.
    pub accepted: usize,
    /// Webhook answers other than 2xx (texts and receipts).
    pub refused: usize,
    pub routed: usize,
    pub replies_accepted: usize,
    /// Replies answered other than 202 after [`server::REPLY_ATTEMPTS`] tries.
    pub replies_refused: usize,
    pub sent: usize,
    pub delivered: usize,
    /// Acknowledged texts missing from the store plus accepted replies the provider never got.
    pub lost: usize,
    /// Texts stored more than once plus replies the provider got more than once.
    pub duplicated: usize,
    /// Replies whose final status is below the highest one reported for them.
    pub downgraded: usize,
    /// Phases that did not settle within the phase timeout.
    pub timed_out: Vec<&'static str>,
    pub webhooks_per_s: f64,
    pub routed_per_s: f64,
    pub sent_per_s: f64,
    pub receipts_per_s: f64,
    pub ack_p50_ms: f64,
    pub ack_p95_ms: f64,
    pub ack_p99_ms: f64,
    pub ack_max_ms: f64,
    pub reply_p50_ms: f64,
    pub reply_p99_ms: f64,
    /// The server's CPU time (user + system) over the run, and as a share of one core.
    pub server_cpu_s: f64,
    pub server_cpu_cores: f64,
    pub peak_rss_mb: f64,
    pub wall_s: f64,
    /// `embedded` or `aws`.
    pub shape: &'static str,
    /// The AWS shape's requests per message, by phase ([`aws::per_message`]).
    pub aws_requests: Option<Value>,
}

impl BenchReport {
    /// Whether the run proved what it must: nothing lost, duplicated, downgraded, refused or stuck.
    pub fn clean(&self) -> bool {
        self.lost + self.duplicated + self.downgraded + self.refused + self.replies_refused == 0
            && self.timed_out.is_empty()
    }

    /// The last line of the command: one JSON object for scripts.
    pub fn json(&self) -> Value {
        let r2 = |x: f64| (x * 100.0).round() / 100.0;
        let mut out = json!({
            "shape": self.shape,
            "texts": self.texts,
            "connections": self.connections,
            "pace_ms": self.pace_ms,
            "agents": self.agents,
            "numbers": self.numbers,
            "webhook_posts": self.webhook_posts,
            "accepted": self.accepted,
            "refused": self.refused,
            "routed": self.routed,
            "replies_accepted": self.replies_accepted,
            "replies_refused": self.replies_refused,
            "sent": self.sent,
            "delivered": self.delivered,
            "lost": self.lost,
            "duplicated": self.duplicated,
            "downgraded": self.downgraded,
            "timed_out": self.timed_out,
            "webhooks_per_s": r2(self.webhooks_per_s),
            "routed_per_s": r2(self.routed_per_s),
            "sent_per_s": r2(self.sent_per_s),
            "receipts_per_s": r2(self.receipts_per_s),
            "ack_p50_ms": r2(self.ack_p50_ms),
            "ack_p95_ms": r2(self.ack_p95_ms),
            "ack_p99_ms": r2(self.ack_p99_ms),
            "ack_max_ms": r2(self.ack_max_ms),
            "reply_p50_ms": r2(self.reply_p50_ms),
            "reply_p99_ms": r2(self.reply_p99_ms),
            "server_cpu_s": r2(self.server_cpu_s),
            "server_cpu_cores": r2(self.server_cpu_cores),
            "peak_rss_mb": r2(self.peak_rss_mb),
            "wall_s": r2(self.wall_s),
        });
        if let Some(requests) = &self.aws_requests {
            out["aws_requests"] = requests.clone();
        }
        out
    }

    /// A Markdown table of the figures, for humans and BENCHMARKS.md.
    pub fn table(&self) -> String {
        let rows = [
            (
                "texts (distinct) / webhook posts (with replays)",
                format!("{} / {}", self.texts, self.webhook_posts),
            ),
            ("webhooks acknowledged per second", format!("{:.0}", self.webhooks_per_s)),
            (
                "ack latency p50 / p95 / p99 / max",
                format!(
                    "{:.1} / {:.1} / {:.1} / {:.1} ms",
                    self.ack_p50_ms, self.ack_p95_ms, self.ack_p99_ms, self.ack_max_ms
                ),
            ),
            (
                "texts routed and assigned per second (from the first post)",
                format!("{:.0}", self.routed_per_s),
            ),
            (
                "reply accepted (202) p50 / p99",
                format!("{:.1} / {:.1} ms", self.reply_p50_ms, self.reply_p99_ms),
            ),
            ("replies sent per second (from the first reply)", format!("{:.0}", self.sent_per_s)),
            ("delivery receipts applied per second", format!("{:.0}", self.receipts_per_s)),
            (
                "accepted / routed / sent / delivered",
                format!("{} / {} / {} / {}", self.accepted, self.routed, self.sent, self.delivered),
            ),
            (
                "lost / duplicated / downgraded / refused (webhooks, replies)",
                format!(
                    "{} / {} / {} / {}, {}",
                    self.lost, self.duplicated, self.downgraded, self.refused, self.replies_refused
                ),
            ),
            (
                "server CPU (user+system)",
                format!("{:.1} s ({:.2} cores over the run)", self.server_cpu_s, self.server_cpu_cores),
            ),
            ("server peak RSS", format!("{:.1} MB", self.peak_rss_mb)),
        ];
        let mut out = String::from("| measure | value |\n|---|---|\n");
        for (k, v) in rows {
            out.push_str(&format!("| {k} | {v} |\n"));
        }
        if !self.timed_out.is_empty() {
            out.push_str(&format!("| phases that did not settle | {} |\n", self.timed_out.join(", ")));
        }
        out
    }
}

fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// (user + system CPU seconds, peak RSS in MB) of a process, from /proc.
pub fn process_usage(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; in clock ticks (100/s).
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    let cpu = (ticks(11) + ticks(12)) / 100.0;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let hwm_kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .unwrap_or(0.0);
    (cpu, hwm_kb / 1024.0)
}

fn bar(show: bool, len: usize, what: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len as u64);
    pb.set_style(
        ProgressStyle::with_template("{prefix:>10} [{bar:40}] {pos}/{len} {per_sec} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    pb.set_prefix(what.to_string());
    pb
}

/// A line on stderr about the run's progress.
fn note(show: bool, line: String) {
    if show || std::env::var_os("SMSDESK_BENCH_TRACE").is_some() {
        eprintln!("smsdesk bench: {line}");
    }
}

/// The store, read-only beside the running server (WAL lets a reader in while the server writes).
struct StoreView {
    conn: rusqlite::Connection,
}

impl StoreView {
    fn open(path: &Path) -> Result<Self, BenchError> {
        let conn = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(Duration::from_secs(5))?;
        Ok(Self { conn })
    }

    fn count(&self, sql: &str) -> Result<usize, BenchError> {
        let n: i64 = self.conn.query_row(sql, [], |r| r.get(0))?;
        Ok(usize::try_from(n).unwrap_or(0))
    }

    fn assigned(&self) -> Result<usize, BenchError> {
        self.count("SELECT COUNT(*) FROM conversations WHERE agent_id IS NOT NULL")
    }

    /// (conversation id, agent id) of every assigned conversation.
    fn conversations(&self) -> Result<Vec<(String, String)>, BenchError> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, agent_id FROM conversations WHERE agent_id IS NOT NULL ORDER BY id")?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// (provider message id, status) of every message in a direction.
    fn messages(&self, direction: &str) -> Result<Vec<(Option<String>, String)>, BenchError> {
        let mut stmt = self.conn.prepare(
            "SELECT provider_message_id, json_extract(body, '$.status') FROM messages \
             WHERE json_extract(body, '$.direction') = ?1",
        )?;
        let rows = stmt.query_map([direction], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn outbound_with_status(&self, status: &str) -> Result<usize, BenchError> {
        self.count(&format!(
            "SELECT COUNT(*) FROM messages WHERE json_extract(body, '$.direction') = 'outbound' \
             AND json_extract(body, '$.status') = '{status}'"
        ))
    }
}

/// The store under load, as the checks read it: the SQLite file, or the AWS shape's table.
enum View {
    Sqlite(StoreView),
    Dynamo(aws::DynamoView),
}

impl View {
    /// How often a phase's check polls (a scan of the table costs more than a SQLite count).
    fn poll_every(&self) -> Duration {
        match self {
            View::Sqlite(_) => Duration::from_millis(20),
            View::Dynamo(_) => Duration::from_millis(250),
        }
    }

    async fn assigned(&self) -> Result<usize, BenchError> {
        match self {
            View::Sqlite(v) => v.assigned(),
            View::Dynamo(d) => Ok(d.scan().await?.conversations.iter().filter(|(_, a)| a.is_some()).count()),
        }
    }

    async fn conversations(&self) -> Result<Vec<(String, String)>, BenchError> {
        match self {
            View::Sqlite(v) => v.conversations(),
            View::Dynamo(d) => {
                let mut all: Vec<(String, String)> = d
                    .scan()
                    .await?
                    .conversations
                    .into_iter()
                    .filter_map(|(id, agent)| Some((id, agent?)))
                    .collect();
                all.sort();
                Ok(all)
            }
        }
    }

    async fn messages(&self, direction: &str) -> Result<Vec<(Option<String>, String)>, BenchError> {
        match self {
            View::Sqlite(v) => v.messages(direction),
            View::Dynamo(d) => Ok(d
                .scan()
                .await?
                .messages
                .into_iter()
                .filter(|(dir, _, _)| dir == direction)
                .map(|(_, status, reference)| (reference, status))
                .collect()),
        }
    }

    async fn outbound_with_status(&self, status: &str) -> Result<usize, BenchError> {
        match self {
            View::Sqlite(v) => v.outbound_with_status(status),
            View::Dynamo(_) => {
                Ok(self.messages("outbound").await?.iter().filter(|(_, s)| s == status).count())
            }
        }
    }
}

/// Posts `jobs` from `connections` concurrent tasks, or with `pace` one at a time that long apart; returns
/// each post's index, latency and answer status.
async fn post_all<J, F, Fut>(
    jobs: Vec<J>,
    (connections, pace): (usize, Option<Duration>),
    pb: &ProgressBar,
    post: F,
) -> Vec<(usize, Duration, u16)>
where
    J: Send + Sync + 'static,
    F: Fn(Arc<Vec<J>>, usize) -> Fut + Send + Sync + Clone + 'static,
    Fut: std::future::Future<Output = u16> + Send,
{
    let jobs = Arc::new(jobs);
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    let connections = if pace.is_some() { 1 } else { connections.max(1) };
    for _ in 0..connections {
        let (jobs, next, post, pb) = (jobs.clone(), next.clone(), post.clone(), pb.clone());
        workers.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= jobs.len() {
                    break;
                }
                let t = Instant::now();
                let status = post(jobs.clone(), i).await;
                out.push((i, t.elapsed(), status));
                pb.inc(1);
                if let Some(gap) = pace {
                    tokio::time::sleep(gap).await;
                }
            }
            out
        }));
    }
    let mut all = Vec::new();
    for w in workers {
        // A poster task only panics if the runtime is going down; its posts count as unanswered.
        if let Ok(done) = w.await {
            all.extend(done);
        }
    }
    all
}

/// Polls `check` every `every` until it says done or `timeout` passes; whether it settled. Fails at once
/// when the server has exited.
async fn until<F, Fut>(
    server: &mut DevChild,
    timeout: Duration,
    every: Duration,
    pb: &ProgressBar,
    mut check: F,
) -> Result<bool, BenchError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(usize, bool), BenchError>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(status) = server.exited() {
            return Err(BenchError::ServerExited(status.to_string()));
        }
        let (pos, done) = check().await?;
        pb.set_position(pos as u64);
        if done {
            return Ok(true);
        }
        if Instant::now() > deadline {
            return Ok(false);
        }
        tokio::time::sleep(every).await;
    }
}

/// The most conversations an agent may hold (`POST /v1/agents` refuses more).
const MAX_CAPACITY: usize = 100;

/// One run; see the module's documentation.
pub async fn run(opts: BenchOptions) -> Result<BenchReport, BenchError> {
    let n = opts.texts.max(1);
    let show = opts.progress;
    let dir = tempfile::tempdir()?;
    note(show, format!("data in {}", dir.path().display()));
    let db_path = dir.path().join("smsdesk.db");
    let fake = LoadProvider::start().await?;
    let log_path = opts.server_log.clone().unwrap_or_else(|| dir.path().join("smsdesk.log"));
    let log = std::fs::File::create(&log_path)?;
    let level = std::env::var("SMSDESK_BENCH_SERVER_LOG").unwrap_or_else(|_| "warn".into());
    let admin_token = format!("bench_{}", uuid::Uuid::new_v4().simple());
    note(show, format!("starting {} dev (log: {})", opts.binary.display(), log_path.display()));
    let data = (!opts.aws).then_some(db_path.as_path());
    let mut server = DevChild::spawn(&opts.binary, data, &admin_token, &level, log.into()).await?;
    let pid = server.pid();
    let api = Client::new(server.url.clone(), admin_token, opts.connections)?;

    // Agents take what they are given (no offer round-trip): the run measures the pipe, not agents' clicks.
    let queue = api.admin("/v1/queues", json!({"name": "Bench", "auto_accept": true}), 201).await?;
    let queue = queue["id"].as_str().unwrap_or_default().to_string();
    let numbers: Vec<String> = (0..opts.numbers.max(1)).map(|k| format!("1555555{:04}", 100 + k)).collect();
    let channel = api
        .admin(
            "/v1/channels",
            json!({
                "name": "TeleSign bench",
                "provider": "telesign",
                "credentials": {"customer_id": fake.customer_id, "api_key": fake.api_key},
                "base_url": fake.base_url(),
                // The run counts what reaches the provider for the agents' replies: no automated messages.
                "automated_messages_enabled": false,
                "numbers": numbers.iter().map(|n| json!({
                    "number": n, "type": "geo", "description": "bench line", "queue": queue, "send_rate": 1000,
                })).collect::<Vec<_>>(),
            }),
            201,
        )
        .await?;
    let channel = channel["id"].as_str().unwrap_or_default().to_string();
    // An agent holds at most 100 conversations (the API's limit): enough agents for every text, each with
    // one slot to spare.
    let agents = opts.agents.max(n.div_ceil(MAX_CAPACITY - 1)).max(1);
    let capacity = u32::try_from(n.div_ceil(agents) + 1).unwrap_or(u32::MAX);
    let mut tokens: HashMap<String, String> = HashMap::new();
    for i in 0..agents {
        let agent = api
            .admin(
                "/v1/agents",
                json!({"name": format!("Agent {i}"), "queues": [queue], "capacity": capacity}),
                201,
            )
            .await?;
        let (id, token) = (
            agent["id"].as_str().unwrap_or_default().to_string(),
            agent["token"].as_str().unwrap_or_default().to_string(),
        );
        let (status, answer) = api
            .call(
                Method::POST,
                &format!("/v1/agents/{id}/presence"),
                &token,
                Some(json!({"status": "available"})),
            )
            .await;
        if status != 200 {
            return Err(BenchError::Setup(format!("presence answered {status}: {answer}")));
        }
        tokens.insert(id, token);
    }
    let path = format!("/webhooks/telesign/{channel}");
    let view = if opts.aws {
        View::Dynamo(aws::DynamoView::connect(&aws::usage(&api).await?.0)?)
    } else {
        View::Sqlite(StoreView::open(&db_path)?)
    };
    let every = view.poll_every();
    let v = &view;
    // The AWS shape's requests so far (after the setup), and per phase from here on.
    let mut usage_marks = Vec::new();
    if opts.aws {
        usage_marks.push(aws::settled_usage(&api, opts.phase_timeout).await?);
    }
    let mut timed_out = Vec::new();
    note(
        show,
        format!(
            "set up: {} numbers, {agents} agents of capacity {capacity}; posting webhooks",
            numbers.len()
        ),
    );
    let (cpu_before, _) = process_usage(pid);
    let run_started = Instant::now();

    // Rounds: the first text of each customer opens a conversation (and a CRM contact); with
    // `texts_per_conversation` N > 1 the same customers text N - 1 more times into their open conversation,
    // each text answered by the agent and each answer receipted (the typical mix of BENCHMARKS.md).
    let rounds = opts.texts_per_conversation.max(1);
    let posting = (opts.connections, opts.pace);
    let mut rng = rand::rng();
    let references: Vec<String> = (0..n * rounds).map(|j| format!("{:032X}", j + 1)).collect();
    let mut accepted_texts = HashSet::new();
    let mut refused = 0;
    let mut latencies: Vec<Duration> = Vec::new();
    let mut reply_latencies: Vec<Duration> = Vec::new();
    let mut conversations: Vec<(String, String)> = Vec::new();
    let (mut webhook_posts, mut replies_accepted, mut receipt_posts) = (0, 0, 0);
    let mut replies_refused = 0;
    let mut sent_refs: Vec<String> = Vec::new();
    let (mut ack_wall, mut routed_wall, mut sent_wall, mut receipts_wall) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO, Duration::ZERO);
    // Per round: (texts, webhook posts, replies, receipt posts).
    let mut round_counts: Vec<(usize, usize, usize, usize)> = Vec::new();
    for round in 0..rounds {
        let text = if round == 0 { "Where is my order?" } else { "Thanks. And when will it arrive?" };
        // 1. Inbound webhooks: every text once, a share of them again (exact replays), in a shuffled order.
        let mut posts: Vec<usize> = (round * n..(round + 1) * n).collect();
        let replays = ((n as f64) * opts.replay_share.max(0.0)).round() as usize;
        posts.extend((0..replays).map(|i| round * n + (i * 7919) % n));
        posts.shuffle(&mut rng);
        let bodies: Vec<(Vec<u8>, String)> = posts
            .iter()
            .map(|&j| {
                let i = j % n;
                let raw = telesign_mo(
                    &references[j],
                    &format!("1555{:07}", 1_000_000 + i),
                    &numbers[i % numbers.len()],
                    text,
                );
                let sig = fake.sign_callback(&raw);
                (raw, sig)
            })
            .collect();
        let pb = bar(show, bodies.len(), "webhooks");
        let (api2, path2) = (api.clone(), path.clone());
        let started = Instant::now();
        let acks = post_all(bodies, posting, &pb, move |bodies, i| {
            let (api, path) = (api2.clone(), path2.clone());
            async move {
                let (raw, sig) = &bodies[i];
                api.webhook(&path, raw, sig).await
            }
        })
        .await;
        ack_wall += started.elapsed();
        pb.finish();
        webhook_posts += posts.len();
        for (i, latency, status) in &acks {
            latencies.push(*latency);
            if (200..300).contains(status) {
                accepted_texts.insert(posts[*i]);
            } else {
                refused += 1;
            }
        }
        note(
            show,
            format!(
                "webhooks posted (round {}): {} texts accepted so far, {refused} refused",
                round + 1,
                accepted_texts.len()
            ),
        );

        // 2. Until every text is in a conversation with an agent (later rounds: in the transcripts).
        let pb = bar(show, n, "routed");
        let want = accepted_texts.len();
        let first = round == 0;
        if !until(&mut server, opts.phase_timeout, every, &pb, move || async move {
            let done = if first { v.assigned().await? } else { v.messages("inbound").await?.len() };
            Ok((done, done >= want))
        })
        .await?
        {
            timed_out.push("routing");
        }
        routed_wall += started.elapsed();
        pb.finish();
        if first {
            conversations = view.conversations().await?;
            note(show, format!("routing settled: {} conversations assigned", conversations.len()));
        }
        if opts.aws {
            usage_marks.push(aws::settled_usage(&api, opts.phase_timeout).await?);
        }

        // 3. Every agent answers each of its conversations.
        let pb = bar(show, conversations.len(), "replies");
        let jobs: Vec<(String, String)> = conversations
            .iter()
            .map(|(conversation, agent)| {
                (conversation.clone(), tokens.get(agent).cloned().unwrap_or_default())
            })
            .collect();
        let api3 = api.clone();
        let replies_started = Instant::now();
        let answers = post_all(jobs, posting, &pb, move |jobs, i| {
            let api = api3.clone();
            async move {
                let (conversation, token) = &jobs[i];
                api.reply(conversation, token, "It ships today.", &format!("bench-{round}-{conversation}"))
                    .await
            }
        })
        .await;
        pb.finish();
        let round_replies = answers.iter().filter(|(_, _, s)| *s == 202).count();
        replies_accepted += round_replies;
        replies_refused += answers.len() - round_replies;
        reply_latencies.extend(answers.iter().map(|(_, d, _)| *d));
        let pb = bar(show, round_replies, "sent");
        let f = &fake;
        let want = replies_accepted;
        if !until(&mut server, opts.phase_timeout, every, &pb, move || async move {
            let sent = f.accepted();
            Ok((sent, sent >= want))
        })
        .await?
        {
            timed_out.push("sending");
        }
        sent_wall += replies_started.elapsed();
        pb.finish();
        // The sender stores each send's reference id right after the provider's answer (earlier rounds'
        // replies are `delivered` by now).
        let pb = bar(show, round_replies, "stored");
        if !until(&mut server, opts.phase_timeout, every, &pb, move || async move {
            let stored = v.outbound_with_status("sent").await?;
            Ok((stored, stored >= round_replies))
        })
        .await?
        {
            timed_out.push("recording sends");
        }
        pb.finish();

        // 4. Delivery receipts: for each reply an intermediate "sent" (203) and the final "delivered" (200),
        // in a shuffled order (so that many finals come first), plus replays of a share of them.
        if opts.aws {
            usage_marks.push(aws::settled_usage(&api, opts.phase_timeout).await?);
        }
        let known: HashSet<String> = sent_refs.iter().cloned().collect();
        let round_refs: Vec<String> = view
            .messages("outbound")
            .await?
            .into_iter()
            .filter_map(|(reference, _)| reference)
            .filter(|r| !known.contains(r))
            .collect();
        let mut receipts: Vec<Vec<u8>> = Vec::new();
        for (k, reference) in round_refs.iter().enumerate() {
            receipts.push(telesign_dlr(reference, 203, "Delivered to gateway"));
            receipts.push(telesign_dlr(reference, 200, "Delivered to handset"));
            if (k as f64) < (round_refs.len() as f64) * opts.replay_share {
                receipts.push(telesign_dlr(reference, 200, "Delivered to handset"));
            }
        }
        sent_refs.extend(round_refs);
        receipts.shuffle(&mut rng);
        let signed: Vec<(Vec<u8>, String)> = receipts
            .into_iter()
            .map(|raw| {
                let sig = fake.sign_callback(&raw);
                (raw, sig)
            })
            .collect();
        let pb = bar(show, signed.len(), "receipts");
        let (api4, path4) = (api.clone(), path.clone());
        let receipts_started = Instant::now();
        let receipt_answers = post_all(signed, posting, &pb, move |jobs, i| {
            let (api, path) = (api4.clone(), path4.clone());
            async move {
                let (raw, sig) = &jobs[i];
                api.webhook(&path, raw, sig).await
            }
        })
        .await;
        pb.finish();
        refused += receipt_answers.iter().filter(|(_, _, s)| !(200..300).contains(s)).count();
        receipt_posts += receipt_answers.len();
        let pb = bar(show, sent_refs.len(), "delivered");
        let want = sent_refs.len();
        if !until(&mut server, opts.phase_timeout, every, &pb, move || async move {
            let delivered = v.outbound_with_status("delivered").await?;
            Ok((delivered, delivered >= want))
        })
        .await?
        {
            timed_out.push("delivery receipts");
        }
        receipts_wall += receipts_started.elapsed();
        pb.finish();
        if opts.aws {
            usage_marks.push(aws::settled_usage(&api, opts.phase_timeout).await?);
        }
        round_counts.push((n, posts.len(), round_replies, receipt_answers.len()));
    }
    latencies.sort();
    reply_latencies.sort();

    let aws_requests = if opts.aws {
        // usage_marks: the mark after the setup, then three per round (after routing, sending, receipts).
        let phase =
            |round: usize, k: usize| usage_marks[3 * round + k + 1].since(&usage_marks[3 * round + k]);
        let all = usage_marks[usage_marks.len() - 1].since(&usage_marks[0]);
        let (texts, posts, replies, receipts) = round_counts[0];
        // The first round: every text opens a conversation and a CRM contact (the worst case per text).
        let mut out =
            aws::costs_of_rounds(&[(phase(0, 0), phase(0, 1), phase(0, 2))], texts, posts, replies, receipts);
        out["per_timers_run"] = aws::per_timers_invocation(&all);
        out["inbound_posts"] = json!(posts);
        out["receipt_posts"] = json!(receipts);
        if rounds > 1 {
            let phases: Vec<_> = (0..rounds).map(|r| (phase(r, 0), phase(r, 1), phase(r, 2))).collect();
            let sum =
                |f: fn(&(usize, usize, usize, usize)) -> usize| round_counts.iter().map(f).sum::<usize>();
            let mut mix =
                aws::costs_of_rounds(&phases, sum(|c| c.0), sum(|c| c.1), sum(|c| c.2), sum(|c| c.3));
            mix["texts_per_conversation"] = json!(rounds);
            mix["note"] = json!(format!(
                "each conversation: {rounds} customer texts and {rounds} replies (the first text opens it and \
                 creates the CRM contact), each reply with 2 delivery receipts"
            ));
            out["typical_mix"] = mix;
        }
        Some(out)
    } else {
        None
    };

    // 5. The checks, on the store and on the fake's log.
    let (cpu_after, peak_rss_mb) = process_usage(pid);
    let wall = run_started.elapsed();
    let stored_refs: Vec<String> =
        view.messages("inbound").await?.into_iter().filter_map(|(reference, _)| reference).collect();
    let distinct: HashSet<&str> = stored_refs.iter().map(String::as_str).collect();
    let lost_in = accepted_texts.iter().filter(|&&i| !distinct.contains(references[i].as_str())).count();
    let duplicated_in = stored_refs.len() - distinct.len();
    let sends_by_message = fake.sends_by_message();
    let accepted_at_fake = fake.accepted();
    let duplicated_out = sends_by_message.values().map(|c| c.saturating_sub(1)).sum::<usize>();
    let lost_out = replies_accepted.saturating_sub(sends_by_message.len());
    let delivered = view.outbound_with_status("delivered").await?;
    // Every reply was reported delivered (the highest status); any other final status went backwards or
    // dropped a receipt.
    let downgraded = sent_refs.len() - delivered.min(sent_refs.len());

    let secs = |d: Duration| d.as_secs_f64().max(1e-9);
    let report = BenchReport {
        texts: n * rounds,
        connections: if opts.pace.is_some() { 1 } else { opts.connections },
        pace_ms: opts.pace.map(|p| u64::try_from(p.as_millis()).unwrap_or(u64::MAX)),
        agents,
        numbers: numbers.len(),
        webhook_posts,
        accepted: accepted_texts.len(),
        refused: refused + fake.unauthorized(),
        routed: conversations.len(),
        replies_accepted,
        replies_refused,
        sent: accepted_at_fake,
        delivered,
        lost: lost_in + lost_out,
        duplicated: duplicated_in + duplicated_out,
        downgraded,
        timed_out,
        webhooks_per_s: webhook_posts as f64 / secs(ack_wall),
        routed_per_s: conversations.len() as f64 / secs(routed_wall),
        sent_per_s: accepted_at_fake as f64 / secs(sent_wall),
        receipts_per_s: receipt_posts as f64 / secs(receipts_wall),
        ack_p50_ms: percentile_ms(&latencies, 0.50),
        ack_p95_ms: percentile_ms(&latencies, 0.95),
        ack_p99_ms: percentile_ms(&latencies, 0.99),
        ack_max_ms: percentile_ms(&latencies, 1.0),
        reply_p50_ms: percentile_ms(&reply_latencies, 0.50),
        reply_p99_ms: percentile_ms(&reply_latencies, 0.99),
        server_cpu_s: cpu_after - cpu_before,
        server_cpu_cores: (cpu_after - cpu_before) / secs(wall),
        peak_rss_mb,
        wall_s: wall.as_secs_f64(),
        shape: if opts.aws { "aws" } else { "embedded" },
        aws_requests,
    };
    drop(server);
    Ok(report)
}
