//! A fake Lambda Runtime API on loopback: just enough HTTP/1.1 for lambda_runtime's client (keep-alive,
//! Content-Length bodies). Each connection runs in its own task and hands requests to [`FakeApi::measure`],
//! which decides the answer.

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, Command};
use tokio::sync::{mpsc, oneshot};

const NEXT: &str = "/2018-06-01/runtime/invocation/next";
const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

/// One request from the bootstrap, and the way to answer it (dropping `reply` leaves it unanswered).
struct Incoming {
    method: String,
    path: String,
    body: String,
    reply: oneshot::Sender<Reply>,
}

struct Reply {
    status: &'static str,
    headers: Vec<(String, String)>,
    body: String,
}

/// One measured start.
#[derive(Clone, Copy, Debug)]
pub struct Run {
    /// exec -> first poll of /next.
    pub init: Duration,
    /// /next answered -> response (or error) posted; `None` without `--invoke`.
    pub invoke: Option<Duration>,
    /// Whether the invocation posted a response rather than an error.
    pub invoke_ok: Option<bool>,
    /// VmHWM of the process at its first poll, in KiB.
    pub peak_rss_kib: Option<u64>,
}

pub struct FakeApi {
    port: u16,
    incoming: mpsc::UnboundedReceiver<Incoming>,
}

impl FakeApi {
    pub async fn start() -> std::io::Result<FakeApi> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let (sender, incoming) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve(stream, sender.clone()));
            }
        });
        Ok(FakeApi { port, incoming })
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts `binary`, waits for its first poll (and, with an event, for its answer), then kills it.
    pub async fn measure(
        &mut self,
        binary: &Path,
        env: &[(String, String)],
        event: Option<&str>,
        limit: Duration,
    ) -> Result<Run, String> {
        while self.incoming.try_recv().is_ok() {}
        let mut command = Command::new(binary);
        command.env_clear().envs(env.iter().cloned()).stdin(Stdio::null()).stdout(Stdio::null());
        command.stderr(Stdio::piped()).kill_on_drop(true);
        let started = Instant::now();
        let mut child = command.spawn().map_err(|e| format!("cannot exec {}: {e}", binary.display()))?;
        let result = tokio::time::timeout(limit, self.observe(&mut child, started, event)).await;
        let _ = child.start_kill();
        let stderr = collect_stderr(&mut child).await;
        let _ = child.wait().await;
        match result {
            Ok(Ok(run)) => Ok(run),
            Ok(Err(message)) => Err(format!("{message}\n{stderr}")),
            Err(_) => Err(format!("no answer within {limit:?}\n{stderr}")),
        }
    }

    async fn observe(
        &mut self,
        child: &mut Child,
        started: Instant,
        event: Option<&str>,
    ) -> Result<Run, String> {
        let first = self.next_request(child).await?;
        let init = started.elapsed();
        if first.method != "GET" || first.path != NEXT {
            return Err(format!("first request was {} {}, not GET {NEXT}", first.method, first.path));
        }
        let peak_rss_kib = child.id().and_then(peak_rss_kib);
        let Some(event) = event else {
            return Ok(Run { init, invoke: None, invoke_ok: None, peak_rss_kib });
        };
        let sent = Instant::now();
        let _ = first.reply.send(invocation(event));
        loop {
            let request = self.next_request(child).await?;
            let ok = if request.path.ends_with("/response") {
                true
            } else if request.path.ends_with("/error") || request.path.ends_with("/init/error") {
                false
            } else {
                continue;
            };
            let invoke = sent.elapsed();
            if std::env::var_os("COLDSTART_SHOW_RESPONSES").is_some() {
                eprintln!("coldstart: {} -> {}", request.path, request.body);
            }
            let _ =
                request.reply.send(Reply { status: "202 Accepted", headers: Vec::new(), body: "{}".into() });
            return Ok(Run { init, invoke: Some(invoke), invoke_ok: Some(ok), peak_rss_kib });
        }
    }

    async fn next_request(&mut self, child: &mut Child) -> Result<Incoming, String> {
        tokio::select! {
            request = self.incoming.recv() => request.ok_or_else(|| "the fake API stopped".to_owned()),
            status = child.wait() => Err(format!("the bootstrap exited before polling: {status:?}")),
        }
    }
}

fn invocation(event: &str) -> Reply {
    let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
    let headers = [
        ("Lambda-Runtime-Aws-Request-Id", REQUEST_ID.to_owned()),
        ("Lambda-Runtime-Deadline-Ms", (now_ms + 30_000).to_string()),
        (
            "Lambda-Runtime-Invoked-Function-Arn",
            "arn:aws:lambda:us-east-1:123456789012:function:bench".into(),
        ),
        (
            "Lambda-Runtime-Trace-Id",
            "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419".into(),
        ),
        ("Content-Type", "application/json".into()),
    ];
    Reply {
        status: "200 OK",
        headers: headers.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        body: event.to_owned(),
    }
}

async fn collect_stderr(child: &mut Child) -> String {
    let Some(mut stderr) = child.stderr.take() else { return String::new() };
    let mut text = String::new();
    let _ = tokio::time::timeout(Duration::from_secs(1), stderr.read_to_string(&mut text)).await;
    let tail: Vec<&str> = text.lines().rev().take(20).collect();
    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
}

/// Peak resident set of a live process (Linux /proc), in KiB.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn serve(stream: TcpStream, sender: mpsc::UnboundedSender<Incoming>) {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    while let Some((method, path, body)) = read_request(&mut reader).await {
        let (reply, answer) = oneshot::channel();
        if sender.send(Incoming { method, path, body, reply }).is_err() {
            return;
        }
        // Unanswered (the sender dropped): hold the connection until the bootstrap is killed.
        let Ok(reply) = answer.await else {
            std::future::pending::<()>().await;
            return;
        };
        let mut head = format!("HTTP/1.1 {}\r\nContent-Length: {}\r\n", reply.status, reply.body.len());
        for (key, value) in &reply.headers {
            head.push_str(&format!("{key}: {value}\r\n"));
        }
        head.push_str("\r\n");
        if write.write_all(head.as_bytes()).await.is_err()
            || write.write_all(reply.body.as_bytes()).await.is_err()
        {
            return;
        }
    }
}

/// Reads one request (head and Content-Length body); `None` at end of stream or on garbage.
async fn read_request<R: AsyncBufReadExt + Unpin>(reader: &mut R) -> Option<(String, String, String)> {
    let mut line = String::new();
    if reader.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).await.ok()? == 0 {
            return None;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body).await.ok()?;
    Some((method, path, String::from_utf8_lossy(&body).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn requests_are_read_with_their_bodies() {
        let raw = b"POST /2018-06-01/runtime/invocation/x/response HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nhost: a\r\n\r\n";
        let mut reader = BufReader::new(&raw[..]);
        let first = read_request(&mut reader).await.unwrap();
        assert_eq!(
            first,
            ("POST".to_owned(), "/2018-06-01/runtime/invocation/x/response".to_owned(), "{}".to_owned())
        );
        let second = read_request(&mut reader).await.unwrap();
        assert_eq!(second.1, NEXT);
        assert_eq!(read_request(&mut reader).await, None);
    }

    /// A bootstrap in bash: polls /next, and when answered posts a response.
    const SCRIPT: &str = r#"#!/bin/bash
exec 3<>"/dev/tcp/${AWS_LAMBDA_RUNTIME_API%:*}/${AWS_LAMBDA_RUNTIME_API#*:}"
printf 'GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n' >&3
while IFS= read -r line <&3; do [[ "$line" == $'\r' ]] && break; done
printf 'POST /2018-06-01/runtime/invocation/x/response HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}' >&3
sleep 30
"#;

    fn script() -> std::path::PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = std::env::temp_dir().join(format!("coldstart-test-{}.sh", std::process::id()));
        std::fs::write(&path, SCRIPT).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    #[tokio::test]
    async fn a_bootstrap_is_measured_to_its_first_poll_and_through_one_invocation() {
        let path = script();
        let mut api = FakeApi::start().await.unwrap();
        let env = [("AWS_LAMBDA_RUNTIME_API".to_owned(), api.address())];
        let init_only = api.measure(&path, &env, None, Duration::from_secs(10)).await.unwrap();
        assert!(init_only.init > Duration::ZERO && init_only.invoke.is_none());
        let invoked = api.measure(&path, &env, Some("{}"), Duration::from_secs(10)).await.unwrap();
        assert_eq!(invoked.invoke_ok, Some(true));
        assert!(invoked.invoke.is_some());
        let _ = std::fs::remove_file(path);
    }

    #[tokio::test]
    async fn a_bootstrap_that_exits_early_is_an_error() {
        let mut api = FakeApi::start().await.unwrap();
        let result = api.measure(Path::new("/bin/true"), &[], None, Duration::from_secs(10)).await;
        assert!(result.unwrap_err().contains("exited before polling"));
    }
}
