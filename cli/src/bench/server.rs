//! The server under load: `smsdesk dev` as a child process (so that its CPU time and peak memory are its own,
//! read from /proc), and a small HTTP client for its API and webhooks.

use super::BenchError;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `smsdesk dev --addr 127.0.0.1:0 --data <file>` in a child process; killed when dropped.
pub struct DevChild {
    child: Child,
    pub url: String,
}

impl DevChild {
    /// Starts the child, reads its banner ("smsdesk dev is serving on http://127.0.0.1:N") and waits until
    /// `/healthz` answers.
    pub async fn spawn(
        binary: &Path,
        data: Option<&Path>,
        admin_token: &str,
        log_level: &str,
        stderr: Stdio,
    ) -> Result<Self, BenchError> {
        let mut command = Command::new(binary);
        // Without a database: the AWS shape's server (`smsdesk-aws-shape`), which takes no arguments.
        if let Some(data) = data {
            command.args(["dev", "--addr", "127.0.0.1:0", "--data"]).arg(data);
        }
        let mut child = command
            .env("SMSDESK_ADMIN_TOKEN", admin_token)
            .env("RUST_LOG", log_level)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .map_err(|e| BenchError::Setup(format!("could not start {}: {e}", binary.display())))?;
        let stdout =
            child.stdout.take().ok_or_else(|| BenchError::Setup("no stdout of smsdesk dev".into()))?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        // Reads the banner, then keeps draining the output so that the child never blocks on a full pipe.
        std::thread::spawn(move || {
            use std::io::BufRead;
            let mut lines = std::io::BufReader::new(stdout).lines();
            let first = lines.next().and_then(Result::ok).unwrap_or_default();
            let _ = tx.send(first);
            for _ in lines.map_while(Result::ok) {}
        });
        let mut server = Self { child, url: String::new() };
        let first = tokio::time::timeout(Duration::from_secs(30), rx)
            .await
            .map_err(|_| BenchError::Setup("smsdesk dev did not report its address within 30 s".into()))?
            .unwrap_or_default();
        server.url = first
            .split_once(" is serving on ")
            .map(|(_, url)| url)
            .ok_or_else(|| {
                BenchError::Setup(format!("the server's first line is not its address: {first:?}"))
            })?
            .trim()
            .to_string();
        let http =
            smsdesk_providers::http::client().map_err(|e| BenchError::Setup(format!("http client: {e}")))?;
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = server.exited() {
                return Err(BenchError::ServerExited(status.to_string()));
            }
            let up = http.get(format!("{}/healthz", server.url)).send().await;
            if up.is_ok_and(|r| r.status().is_success()) {
                return Ok(server);
            }
            if Instant::now() > deadline {
                return Err(BenchError::Setup("smsdesk dev did not answer /healthz within 30 s".into()));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// How the child ended, if it has.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for DevChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How many times [`Client::reply`] sends a reply that got no answer, a 429 or a 5xx.
pub const REPLY_ATTEMPTS: u32 = 5;

/// The API and webhooks of the server under load.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub admin_token: String,
    http: reqwest::Client,
}

impl Client {
    pub fn new(base: String, admin_token: String, connections: usize) -> Result<Self, BenchError> {
        let http = smsdesk_providers::http::client_builder()
            .pool_max_idle_per_host(connections.max(1))
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| BenchError::Setup(format!("http client: {e}")))?;
        Ok(Self { base, admin_token, http })
    }

    /// A JSON call; (status, answer). A request that never got an answer is status 0.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, format!("{}{}", self.base, path)).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        match req.send().await {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let text = resp.text().await.unwrap_or_default();
                (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
            }
            Err(_) => (0, Value::Null),
        }
    }

    /// An agent's reply, as the console sends it: with an `Idempotency-Key`, and sent again with the same
    /// key while the answer is a 429, a 5xx or none at all (as an agent presses Send again), at most
    /// [`REPLY_ATTEMPTS`] times. The key makes a retry of a reply that was stored answer as the first
    /// did, never send it twice (the fake provider counts the sends). The last status.
    pub async fn reply(&self, conversation: &str, token: &str, text: &str, key: &str) -> u16 {
        let url = format!("{}/v1/conversations/{conversation}/messages", self.base);
        let mut status = 0;
        for attempt in 0..REPLY_ATTEMPTS {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(500 << attempt.min(4))).await;
            }
            let req = self.http.post(&url).bearer_auth(token).header("Idempotency-Key", key);
            status = match req.json(&json!({ "text": text })).send().await {
                Ok(resp) => resp.status().as_u16(),
                Err(_) => 0,
            };
            if !(status == 0 || status == 429 || status >= 500) {
                break;
            }
        }
        status
    }

    /// An admin call that must answer `expect`; its answer.
    pub async fn admin(&self, path: &str, body: Value, expect: u16) -> Result<Value, BenchError> {
        let (status, answer) = self.call(reqwest::Method::POST, path, &self.admin_token, Some(body)).await;
        if status != expect {
            return Err(BenchError::Setup(format!("POST {path} answered {status}: {answer}")));
        }
        Ok(answer)
    }

    /// POSTs a signed webhook; the answer's status (0: no answer).
    /// A GET answering JSON, without a token (the AWS shape's usage counts); None when it failed.
    pub async fn get_json(&self, path: &str) -> Option<Value> {
        let resp = self.http.get(format!("{}{}", self.base, path)).send().await.ok()?;
        if !resp.status().is_success() {
            return None;
        }
        resp.json().await.ok()
    }

    pub async fn webhook(&self, path: &str, body: &[u8], authorization: &str) -> u16 {
        let sent = self
            .http
            .post(format!("{}{}", self.base, path))
            .header("content-type", "application/json")
            .header("authorization", authorization)
            .body(body.to_vec())
            .send()
            .await;
        match sent {
            Ok(resp) => {
                let status = resp.status().as_u16();
                let _ = resp.bytes().await;
                status
            }
            Err(_) => 0,
        }
    }
}
