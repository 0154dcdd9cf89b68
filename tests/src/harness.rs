//! The app under test: `smsdesk dev` on port 0 with its own database file, either in this process
//! ([`TestApp`]) or as the real binary in a child process ([`DevProcess`], for restarts and kills).

use crate::FakeTelesign;
use crate::{FaultyQueue, TestClock};
use serde_json::{Value, json};
use smsdesk::dev::{DevOptions, DevPorts, DevServer, start_with};
use smsdesk_app::App;
use smsdesk_ports::{MessageQueue, QueueKind};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const ADMIN_TOKEN: &str = "test-admin-token";

/// The time an API answer gives as RFC 3339 (`created_at`, a consent change's `at`), or a panic naming it.
pub fn time_at(v: &Value) -> time::OffsetDateTime {
    let text = v.as_str().unwrap_or_else(|| panic!("not a time: {v}"));
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Polls `check` until it returns Some, or panics after `secs` seconds with `what`.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    // Checked often at first, then less: each check is requests to the app and through it to the store
    // (DynamoDB Local in the AWS shape, shared by the tests running at once), which the app under test needs.
    let mut pause = Duration::from_millis(25);
    loop {
        crate::aws_shape::check_faults();
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {secs}s waiting for: {what}");
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_millis(200));
    }
}

/// An HTTP client for the API at `base`.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn new(base: impl Into<String>) -> Self {
        Self { base: base.into(), http: smsdesk_providers::http::client().expect("http client") }
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.call_with(method, path, token, &[], body).await
    }

    /// As [`Api::call`], with extra request headers.
    pub async fn call_with(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request reaches the app");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("the answer's body reads");
        crate::aws_shape::check_faults();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn admin(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call(method, path, Some(ADMIN_TOKEN), body).await
    }

    /// Asserts the status and returns the body.
    pub async fn ok(&self, method: &str, path: &str, token: &str, body: Option<Value>, expect: u16) -> Value {
        let (status, value) = self.call(method, path, Some(token), body).await;
        assert_eq!(status, expect, "{method} {path} answered {status}: {value}");
        value
    }

    /// A queue that auto-accepts (conversations go straight to their agent, as the tests written before
    /// offers expect); offers have their own tests ([`Api::create_offering_queue`]).
    pub async fn create_queue(&self, name: &str) -> String {
        let v = self
            .ok("POST", "/v1/queues", ADMIN_TOKEN, Some(json!({"name": name, "auto_accept": true})), 201)
            .await;
        v["id"].as_str().expect("queue id").to_string()
    }

    /// A queue with the product's default: conversations are offered, and accepted or declined.
    pub async fn create_offering_queue(&self, name: &str, settings: serde_json::Value) -> String {
        let mut body = json!({"name": name});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), settings.as_object()) {
            body.extend(extra.clone());
        }
        let v = self.ok("POST", "/v1/queues", ADMIN_TOKEN, Some(body), 201).await;
        v["id"].as_str().expect("queue id").to_string()
    }

    /// Creates an agent and returns (id, token).
    pub async fn create_agent(&self, name: &str, queues: &[&str], capacity: u32) -> (String, String) {
        let v = self
            .ok(
                "POST",
                "/v1/agents",
                ADMIN_TOKEN,
                Some(json!({"name": name, "queues": queues, "capacity": capacity})),
                201,
            )
            .await;
        (v["id"].as_str().expect("agent id").to_string(), v["token"].as_str().expect("token").to_string())
    }

    pub async fn presence(&self, agent: &str, token: &str, status: &str) {
        self.ok("POST", &format!("/v1/agents/{agent}/presence"), token, Some(json!({"status": status})), 200)
            .await;
    }

    /// A TeleSign channel on the fake, with `numbers` (digits) all feeding `queue`; returns the channel JSON.
    pub async fn telesign_channel(&self, fake: &FakeTelesign, numbers: &[&str], queue: &str) -> Value {
        self.telesign_channel_with(fake, numbers, queue, json!({})).await
    }

    /// As [`Api::telesign_channel`], with further channel settings (`settings` is merged into the body).
    pub async fn telesign_channel_with(
        &self,
        fake: &FakeTelesign,
        numbers: &[&str],
        queue: &str,
        settings: Value,
    ) -> Value {
        let numbers: Vec<Value> = numbers
            .iter()
            // Fast enough that send pacing (a geo number's default is 1/s) never slows a test that is not
            // about pacing.
            .map(|n| json!({"number": n, "type": "geo", "description": "support line", "queue": queue, "send_rate": 50}))
            .collect();
        self.ok(
            "POST",
            "/v1/channels",
            ADMIN_TOKEN,
            Some({
                let mut body = json!({
                    "name": "TeleSign US",
                    "provider": "telesign",
                    "credentials": {"customer_id": fake.customer_id, "api_key": fake.api_key},
                    "base_url": fake.base_url(),
                    "numbers": numbers,
                });
                if let (Some(b), Some(extra)) = (body.as_object_mut(), settings.as_object()) {
                    b.extend(extra.clone());
                }
                body
            }),
            201,
        )
        .await
    }

    /// POSTs a raw webhook body with the given Authorization header (None: no header).
    pub async fn webhook(&self, path: &str, body: &[u8], authorization: Option<&str>) -> (u16, Value) {
        let mut req = self
            .http
            .post(format!("{}{}", self.base, path))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(a) = authorization {
            req = req.header("authorization", a).header("x-ts-authorization", a);
        }
        let resp = req.send().await.expect("webhook reaches the app");
        crate::aws_shape::check_faults();
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("the answer's body reads");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn conversation(&self, token: &str, id: &str) -> Value {
        self.ok("GET", &format!("/v1/conversations/{id}"), token, None, 200).await
    }

    pub async fn work_items(&self, token: &str) -> Vec<Value> {
        let v = self.ok("GET", "/v1/work-items", token, None, 200).await;
        v["items"].as_array().cloned().unwrap_or_else(|| panic!("work items without an items list: {v}"))
    }

    /// Waits (up to 30 s) until `token` has a work item; the first one's conversation id.
    pub async fn first_conversation(&self, token: &str, what: &str) -> String {
        eventually(30, what, || async {
            self.work_items(token)
                .await
                .into_iter()
                .next()
                .and_then(|w| w["conversation_id"].as_str().map(str::to_string))
        })
        .await
    }
}

/// A TeleSign mobile-originated callback body, as TeleSign posts it.
pub fn telesign_mo(reference: &str, from: &str, to: &str, text: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "reference_id": reference,
        "sub_resource": "mo_sms",
        "submit_timestamp": "2026-11-23T10:00:00Z",
        "errors": [],
        "status": {"code": 1500, "description": "Delivered", "updated_on": "2026-11-23T10:00:00Z"},
        "user_response": {"phone_number": from, "mo_message": text, "sender_id": to, "iso_country_code": "US"},
    }))
    .expect("json")
}

/// A TeleSign delivery report body.
pub fn telesign_dlr(reference: &str, external_id: Option<&str>, code: i64, description: &str) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "reference_id": reference,
        "external_id": external_id,
        "submit_timestamp": "2026-11-23T10:00:01Z",
        "status": {"code": code, "description": description, "updated_on": "2026-11-23T10:00:05Z"},
        "additional_info": {"message_parts_count": 1},
    }))
    .expect("json")
}

/// `smsdesk dev` in this process.
pub struct TestApp {
    pub api: Api,
    pub server: Option<DevServer>,
    /// The AWS shape, when the app runs on DynamoDB Local and moto instead of the embedded store.
    pub aws: Option<crate::aws_shape::AwsShape>,
    pub dir: tempfile::TempDir,
    /// The app's clock (both shapes): move it forward to make time pass for the app.
    pub clock: Arc<TestClock>,
    /// The fault injector around the app's real queue (both shapes).
    pub faults: Arc<FaultyQueue>,
    /// The longest delay after which a queued or deferred piece of work could still act (visibility
    /// timeout, send lease, retry delays): what [`TestApp::settled`] waits past.
    pub max_delay: Duration,
}

impl TestApp {
    pub async fn spawn() -> Self {
        Self::spawn_embedded(true).await
    }

    /// As [`TestApp::spawn`], without the timers' sweep: only what the queues deliver acts (an offer timer,
    /// not the sweep, expires an offer).
    pub async fn spawn_without_sweep() -> Self {
        Self::spawn_embedded(false).await
    }

    async fn spawn_embedded(sweep: bool) -> Self {
        crate::logs::install();
        let dir = tempfile::tempdir().expect("tempdir");
        let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        let mut options = DevOptions::new(addr, dir.path().join("smsdesk.db"));
        options.admin_token = Some(ADMIN_TOKEN.to_string());
        options.retry_base = Duration::from_millis(100);
        options.sweep_every = if sweep { Duration::from_millis(500) } else { Duration::from_secs(24 * 3600) };
        // Above the bot's 3 s timeout with room for the rest of the router's job, as in the AWS shape (5 s):
        // a job that outlives its visibility is delivered again to the queue's other poller, and a bot that
        // timed out would be asked a second time.
        options.visibility = Duration::from_secs(5);
        options.send_lease = Duration::from_secs(3);
        options.stranded = crate::STRANDED_IN_TESTS;
        let max_delay = test_max_delay(&options);
        let clock = Arc::new(TestClock::new());
        let (wrap_queue, faults) = fault_injector();
        let ports = DevPorts {
            clock: Some(clock.clone()),
            wrap_queue: Some(wrap_queue),
            on_http_thread: Some(crate::logs::inherit()),
        };
        let server = start_with(options, ports).await.expect("smsdesk dev starts");
        let faults = faults.lock().expect("lock").take().expect("the queue was wrapped");
        let api = Api::new(server.url());
        Self { api, server: Some(server), aws: None, dir, clock, faults, max_delay }
    }

    /// The functions as infra/template.yaml deploys them, on DynamoDB Local and moto (see crate::aws_shape),
    /// behind a loopback API Gateway that dispatches by the template's routes. Always Some (the Option is
    /// kept for the callers written when a skip returned None); without the emulators it panics.
    pub async fn spawn_aws() -> Option<Self> {
        Self::spawn_aws_shape(true, false, false).await
    }

    /// As [`TestApp::spawn_aws`], with the timers' schedule off (see [`TestApp::spawn_without_sweep`]).
    pub async fn spawn_aws_without_sweep() -> Option<Self> {
        Self::spawn_aws_shape(false, false, false).await
    }

    /// As [`TestApp::spawn_aws`], deployed with the template's `WebhookIngress=FunctionUrl`: the webhook
    /// function also behind its own function URL (`aws.function_url`).
    pub async fn spawn_aws_with_webhook_function_url() -> Self {
        Self::spawn_aws_shape(true, true, false).await.expect("the AWS shape")
    }

    /// As [`TestApp::spawn_aws`], deployed with the template's `WebhookIngress=FunctionUrl` and
    /// `ApiIngress=FunctionUrl`: the webhook function and the API function each also behind its own function
    /// URL (`aws.function_url`, `aws.api_url`).
    pub async fn spawn_aws_with_function_urls() -> Self {
        Self::spawn_aws_shape(true, true, true).await.expect("the AWS shape")
    }

    async fn spawn_aws_shape(
        sweep: bool,
        webhook_function_url: bool,
        api_function_url: bool,
    ) -> Option<Self> {
        crate::logs::install();
        let (dynamodb, sqs) = crate::aws_shape::endpoints();
        let clock = Arc::new(TestClock::new());
        let (wrap_queue, faults) = fault_injector();
        let hooks = crate::aws_shape::Hooks {
            clock: clock.clone(),
            sweep,
            wrap_queue,
            webhook_function_url,
            api_function_url,
        };
        let shape = crate::aws_shape::AwsShape::start_with(ADMIN_TOKEN, dynamodb, sqs, hooks).await;
        let faults = faults.lock().expect("lock").take().expect("the queue was wrapped");
        let max_delay = shape.max_delay();
        let api = Api::new(format!("http://{}", shape.addr));
        Some(Self {
            api,
            server: None,
            aws: Some(shape),
            dir: tempfile::tempdir().expect("tempdir"),
            clock,
            faults,
            max_delay,
        })
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("smsdesk.db")
    }
}

// ---- Settling, the test clock and the fault injector (issue 8, points 3 and 7) ----

/// A queue wrapper for [`DevPorts::wrap_queue`] (or the AWS shape's hooks) that puts a [`FaultyQueue`]
/// around the real adapter, and the slot where the wrapper leaves it for the test.
#[allow(clippy::type_complexity)]
pub(crate) fn fault_injector() -> (
    Box<dyn FnOnce(Arc<dyn MessageQueue>) -> Arc<dyn MessageQueue> + Send>,
    Arc<Mutex<Option<Arc<FaultyQueue>>>>,
) {
    let slot = Arc::new(Mutex::new(None));
    let fill = slot.clone();
    let wrap = Box::new(move |inner: Arc<dyn MessageQueue>| -> Arc<dyn MessageQueue> {
        let faulty = Arc::new(FaultyQueue::new(inner));
        *fill.lock().expect("lock") = Some(faulty.clone());
        faulty
    });
    (wrap, slot)
}

/// The longest of the delays the embedded shape is configured with: visibility timeout, send lease, the
/// last retry delay, and the CRM consumer's wait for a pending contact link.
fn test_max_delay(options: &DevOptions) -> Duration {
    let retries = options.send_attempts.saturating_sub(2).min(20);
    let last_retry = options.retry_base.saturating_mul(1u32 << retries);
    [options.visibility, options.send_lease, last_retry, smsdesk_app::services::crm::LINK_WAIT]
        .into_iter()
        .max()
        .unwrap_or_default()
}

/// The queues [`settle_queue`] waits to drain: not the timers queue, whose messages are due later by design
/// (an offer's timer waits for its refusal timeout; it acts only on an offer still pending then).
const SETTLED_KINDS: [QueueKind; 3] = [QueueKind::Inbound, QueueKind::Outbound, QueueKind::Crm];

/// Waits until every queue of `queue` is empty (nothing waiting, nothing in flight, nothing deferred), then
/// past `max_delay`, and again until the queues are still empty after it: only then can a test assert that
/// something did not happen (no second send, no stray retry). Then checks that no dead-letter queue holds
/// anything. Fails the test on an adapter error, or when the queues do not drain within a minute.
pub async fn settle_queue(queue: &dyn MessageQueue, max_delay: Duration) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60) + max_delay;
    loop {
        loop {
            let mut depth = 0;
            for kind in SETTLED_KINDS {
                depth +=
                    queue.depth(kind).await.unwrap_or_else(|e| panic!("{} queue depth: {e}", kind.name()));
            }
            if depth == 0 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the queues did not drain: {depth} messages left"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(max_delay + Duration::from_millis(250)).await;
        let mut depth = 0;
        for kind in SETTLED_KINDS {
            depth += queue.depth(kind).await.unwrap_or_else(|e| panic!("{} queue depth: {e}", kind.name()));
        }
        if depth == 0 {
            break;
        }
    }
    // Nothing acknowledged was given up on either.
    for kind in QueueKind::ALL {
        let dead =
            queue.dead_letters(kind).await.unwrap_or_else(|e| panic!("{} dead letters: {e}", kind.name()));
        assert!(dead.is_empty(), "{} dead letters: {dead:?}", kind.name());
    }
}

/// [`settle_queue`] for a `smsdesk dev` process running on the database file `data`.
pub async fn settle_database(data: &Path, max_delay: Duration) {
    let db = smsdesk_embedded::EmbeddedDb::open(data).expect("open the dev server's database");
    settle_queue(&db.queue(), max_delay).await;
}

impl TestApp {
    /// The app the handlers run on (its store, queue and clock).
    pub fn app(&self) -> &Arc<App> {
        match (&self.server, &self.aws) {
            (Some(server), _) => &server.app,
            (None, Some(aws)) => &aws.app,
            (None, None) => unreachable!("a TestApp runs one shape"),
        }
    }

    /// Waits until the queues are drained and the longest configured delay has passed (see
    /// [`settle_queue`]); then, and only then, may a test assert that something did not happen.
    pub async fn settled(&self) {
        settle_queue(self.app().queue.as_ref(), self.max_delay).await;
    }

    /// Deletes a media item, its bytes and its record, as the media retention does (the bucket's lifecycle
    /// rule in AWS; by hand in the embedded folder, `<db>.media/`).
    pub async fn expire_media(&self, conversation: &str, id: &str) {
        match &self.aws {
            Some(aws) => {
                for key in [format!("objects/{conversation}/{id}"), format!("items/{conversation}/{id}.json")]
                {
                    let deleted = aws.s3.delete_object().bucket(&aws.media_bucket).key(&key).send().await;
                    deleted.unwrap_or_else(|e| panic!("delete {key} from the media bucket: {e:?}"));
                }
            }
            None => {
                let root = self.dir.path().join("smsdesk.db.media");
                for path in [
                    root.join("objects").join(conversation).join(id),
                    root.join("objects").join(conversation).join(format!("{id}.type")),
                    root.join("items").join(conversation).join(format!("{id}.json")),
                ] {
                    std::fs::remove_file(&path).unwrap_or_else(|e| panic!("remove {}: {e}", path.display()));
                }
            }
        }
    }

    /// Every queue's dead-letter queue is empty: nothing the app acknowledged was given up on.
    pub async fn assert_no_dead_letters(&self) {
        for kind in QueueKind::ALL {
            let dead = self.app().queue.dead_letters(kind).await.expect("dead letters");
            assert!(dead.is_empty(), "{} dead letters: {dead:?}", kind.name());
        }
    }
}

/// The real `smsdesk` binary in a child process, on a fixed database file.
pub struct DevProcess {
    pub api: Api,
    child: Child,
}

/// The `smsdesk` binary, built by cargo if needed.
pub fn smsdesk_binary() -> PathBuf {
    smsdesk_binary_built(false)
}

/// The `smsdesk` binary of the debug or the release profile, built by cargo if needed.
pub fn smsdesk_binary_built(release: bool) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf();
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let mut args = vec!["build", "--quiet", "-p", "smsdesk", "--bin", "smsdesk"];
    if release {
        args.push("--release");
    }
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(&args)
        .current_dir(&root)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build -p smsdesk failed");
    target.join(if release { "release" } else { "debug" }).join("smsdesk")
}

/// A loopback port that is bound but not listening: connections to it are refused (a provider that is
/// down) until [`ClosedPort::listen`] hands the same socket over to a server. Nobody else can take the
/// port in between, unlike a port found by binding and dropping a listener.
pub struct ClosedPort {
    socket: tokio::net::TcpSocket,
    pub addr: SocketAddr,
}

impl ClosedPort {
    pub fn new() -> Self {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.bind("127.0.0.1:0".parse().expect("addr")).expect("bind 127.0.0.1:0");
        let addr = socket.local_addr().expect("addr");
        Self { socket, addr }
    }

    /// The port starts listening: the listener for a server that now comes up on it.
    pub fn listen(self) -> tokio::net::TcpListener {
        self.socket.listen(1024).expect("listen")
    }
}

impl Default for ClosedPort {
    fn default() -> Self {
        Self::new()
    }
}

impl DevProcess {
    /// `smsdesk dev --addr 127.0.0.1:0`: the child binds a free port itself and reports it on its first
    /// line of output ("smsdesk dev is serving on http://127.0.0.1:N").
    pub async fn spawn(binary: &Path, data: &Path, extra_env: &[(&str, &str)]) -> Self {
        Self::spawn_logging_to(binary, data, extra_env, Stdio::inherit()).await
    }

    /// As [`DevProcess::spawn`], with the process's stderr (its log) going to `stderr`, e.g. a file.
    pub async fn spawn_logging_to(
        binary: &Path,
        data: &Path,
        extra_env: &[(&str, &str)],
        stderr: impl Into<Stdio>,
    ) -> Self {
        let mut cmd = Command::new(binary);
        cmd.args(["dev", "--addr", "127.0.0.1:0", "--data"])
            .arg(data)
            .env("SMSDESK_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(stderr);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("smsdesk starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = tokio::sync::oneshot::channel();
        // Reads the banner, then keeps draining the output so that the child never blocks on a full pipe.
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut lines = std::io::BufReader::new(stdout).lines();
            let first = lines.next().and_then(Result::ok).unwrap_or_default();
            let _ = tx.send(first);
            for _ in lines.map_while(Result::ok) {}
        });
        let first = tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .expect("smsdesk dev reports its address within 30 s")
            .unwrap_or_default();
        let url = first
            .strip_prefix("smsdesk dev is serving on ")
            .unwrap_or_else(|| panic!("smsdesk dev's first line is not its address: {first:?}"))
            .trim()
            .to_string();
        let api = Api::new(url);
        let probe = api.clone();
        eventually(30, "smsdesk dev answers /healthz", || {
            let probe = probe.clone();
            async move {
                probe
                    .http
                    .get(format!("{}/healthz", probe.base))
                    .send()
                    .await
                    .ok()
                    .filter(|r| r.status().is_success())
                    .map(|_| ())
            }
        })
        .await;
        Self { api, child }
    }

    /// The child's process id (for its CPU time and peak memory in /proc).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How the child ended, if it has (a server that dies under a test must say so, not look hung).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGKILL: no clean shutdown, as in a crash.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for DevProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
