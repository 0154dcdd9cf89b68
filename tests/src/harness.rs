//! The app under test: `smsdesk dev` on port 0 with its own database file, either in this process
//! ([`TestApp`]) or as the real binary in a child process ([`DevProcess`], for restarts and kills).

use crate::FakeTelesign;
use serde_json::{Value, json};
use smsdesk::dev::{DevOptions, DevServer, start};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const ADMIN_TOKEN: &str = "test-admin-token";

/// Polls `check` until it returns Some, or panics after `secs` seconds with `what`.
pub async fn eventually<T, F, Fut>(secs: u64, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out after {secs}s waiting for: {what}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
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
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request reaches the app");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
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

    pub async fn create_queue(&self, name: &str) -> String {
        let v = self.ok("POST", "/v1/queues", ADMIN_TOKEN, Some(json!({"name": name})), 201).await;
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
        let numbers: Vec<Value> = numbers
            .iter()
            .map(|n| json!({"number": n, "type": "geo", "description": "support line", "queue": queue}))
            .collect();
        self.ok(
            "POST",
            "/v1/channels",
            ADMIN_TOKEN,
            Some(json!({
                "name": "TeleSign US",
                "provider": "telesign",
                "credentials": {"customer_id": fake.customer_id, "api_key": fake.api_key},
                "base_url": fake.base_url(),
                "numbers": numbers,
            })),
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
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn conversation(&self, token: &str, id: &str) -> Value {
        self.ok("GET", &format!("/v1/conversations/{id}"), token, None, 200).await
    }

    pub async fn work_items(&self, token: &str) -> Vec<Value> {
        let v = self.ok("GET", "/v1/work-items", token, None, 200).await;
        v["items"].as_array().cloned().unwrap_or_default()
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
}

impl TestApp {
    pub async fn spawn() -> Self {
        crate::logs::install();
        let dir = tempfile::tempdir().expect("tempdir");
        let addr: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        let mut options = DevOptions::new(addr, dir.path().join("smsdesk.db"));
        options.admin_token = Some(ADMIN_TOKEN.to_string());
        options.retry_base = Duration::from_millis(100);
        options.sweep_every = Duration::from_millis(500);
        options.visibility = Duration::from_secs(5);
        let server = start(options).await.expect("smsdesk dev starts");
        let api = Api::new(server.url());
        Self { api, server: Some(server), aws: None, dir }
    }

    /// The same handlers on the AWS adapters (DynamoDB Local, moto's SQS and Secrets Manager), queue consumers
    /// fed real SQS events. None when the AWS tests are skipped knowingly (SMSDESK_SKIP_AWS_TESTS=1).
    pub async fn spawn_aws() -> Option<Self> {
        crate::logs::install();
        let (dynamodb, sqs) = crate::aws_shape::endpoints()?;
        let shape = crate::aws_shape::AwsShape::start(ADMIN_TOKEN, dynamodb, sqs).await;
        let api = Api::new(format!("http://{}", shape.addr));
        Some(Self { api, server: None, aws: Some(shape), dir: tempfile::tempdir().expect("tempdir") })
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("smsdesk.db")
    }
}

/// The real `smsdesk` binary in a child process, on a fixed database file.
pub struct DevProcess {
    pub api: Api,
    child: Child,
}

/// The `smsdesk` binary, built by cargo if needed.
pub fn smsdesk_binary() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root").to_path_buf();
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--quiet", "-p", "smsdesk", "--bin", "smsdesk"])
        .current_dir(&root)
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo build -p smsdesk failed");
    target.join("debug").join("smsdesk")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port()
}

impl DevProcess {
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
        let port = free_port();
        let mut cmd = Command::new(binary);
        cmd.args(["dev", "--addr", &format!("127.0.0.1:{port}"), "--data"])
            .arg(data)
            .env("SMSDESK_ADMIN_TOKEN", ADMIN_TOKEN)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(stderr);
        for (k, v) in extra_env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("smsdesk starts");
        let api = Api::new(format!("http://127.0.0.1:{port}"));
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
