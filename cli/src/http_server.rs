//! `smsdesk dev`'s HTTP server: the app's router on a TCP listener, as `axum::serve` runs it (HTTP/1.1,
//! upgrades for the live-updates WebSocket, graceful shutdown), with the limits a server facing the
//! internet needs and `axum::serve` has none of (issue: held connections made the server unreachable):
//! - a request's line and headers must arrive within [`HttpLimits::header_read_timeout`], which is also how
//!   long a kept-alive connection may sit idle before its next request (hyper's `header_read_timeout`);
//! - a request body must not stall longer than [`HttpLimits::body_read_timeout`] between two pieces
//!   (tower-http's `TimeoutBody`): the read fails, the handler answers 400, the connection closes;
//! - at most [`HttpLimits::max_connections`] connections are open at once, upgraded WebSockets included
//!   (each holds its permit for as long as its socket lives); the next one is accepted when one closes,
//!   well before the process runs out of file descriptors.
//!
//! A WebSocket, once upgraded, is no longer HTTP: none of the timeouts apply to it (the console keeps one
//! open all day; the live-updates code pings it and closes it at shutdown).

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

/// The limits of [`serve`] (README, "smsdesk dev": the defaults, and the flags that change them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HttpLimits {
    /// The longest a client may take to send a request's line and headers, and the longest a kept-alive
    /// connection waits for its next request.
    pub header_read_timeout: Duration,
    /// The longest a request body may pause between two pieces.
    pub body_read_timeout: Duration,
    /// The most connections open at once (WebSockets included).
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            // Far above what a team's consoles and providers use (`smsdesk bench` opens 64), far below the
            // usual limits on open files (1,024 and up).
            max_connections: 512,
        }
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes; then stops accepting, lets
/// the requests in flight finish (their connections close after their answer) and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: HttpLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Every connection task holds a clone of `stopping`'s receiver (it tells them to finish) and of
    // `done_rx` (dropped when the task ends): `done_tx.closed()` waits for them all.
    let (stop_tx, stopping) = watch::channel(false);
    let (done_tx, done_rx) = watch::channel(());
    let mut listener = listener;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A free slot first: the next connection waits in the listen backlog while all are taken.
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break, // never closed
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            (stream, _) = axum::serve::Listener::accept(&mut listener) => stream,
            () = &mut shutdown => break,
        };
        let io = TokioIo::new(Permitted { stream, _permit: permit });
        let (stopping, done) = (stopping.clone(), done_rx.clone());
        tokio::spawn(serve_connection(io, router.clone(), limits, stopping, done));
    }
    let _ = stop_tx.send(true);
    drop(done_rx);
    drop(listener);
    done_tx.closed().await;
}

async fn serve_connection(
    io: TokioIo<Permitted>,
    router: Router,
    limits: HttpLimits,
    mut stopping: watch::Receiver<bool>,
    _done: watch::Receiver<()>,
) {
    let body_timeout = limits.body_read_timeout;
    let service = hyper::service::service_fn(move |request: hyper::Request<Incoming>| {
        let request = request.map(|body| TimeoutBody::new(body_timeout, body));
        router.clone().oneshot(request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let connection = builder.serve_connection(io, service).with_upgrades();
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "HTTP connection ended");
            }
            return;
        }
        _ = stopping.wait_for(|stop| *stop) => connection.as_mut().graceful_shutdown(),
    }
    if let Err(e) = connection.await {
        tracing::debug!(error = %e, "HTTP connection ended");
    }
}

/// A connection and its slot among [`HttpLimits::max_connections`], given back when the socket closes
/// (after an upgrade, when the WebSocket does).
struct Permitted {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for Permitted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Permitted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::{get, post};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::time::{Instant, timeout};

    const SHORT: Duration = Duration::from_millis(300);
    /// How long a test waits for what must happen within [`SHORT`] (generous: a loaded machine).
    const PATIENCE: Duration = Duration::from_secs(10);

    fn app() -> Router {
        Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/echo", post(|body: String| async move { body }))
            .route(
                "/ws",
                get(|ws: axum::extract::ws::WebSocketUpgrade| async move {
                    ws.on_upgrade(|mut socket| async move {
                        while let Some(Ok(message)) = socket.recv().await {
                            if socket.send(message).await.is_err() {
                                break;
                            }
                        }
                    })
                }),
            )
    }

    /// A server with `limits` on a free port; its address and the sender that stops it.
    async fn start(limits: HttpLimits) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve(listener, app(), limits, async move {
            let _ = stopped.await;
        }));
        (addr, stop)
    }

    fn short() -> HttpLimits {
        HttpLimits { header_read_timeout: SHORT, body_read_timeout: SHORT, max_connections: 4 }
    }

    /// Reads until the server closes the connection; what it sent, and when it closed.
    async fn read_to_close(stream: &mut TcpStream) -> (String, Instant) {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match timeout(PATIENCE, stream.read(&mut buf)).await.expect("the server closes the connection") {
                Ok(0) | Err(_) => return (String::from_utf8_lossy(&all).into_owned(), Instant::now()),
                Ok(n) => all.extend_from_slice(&buf[..n]),
            }
        }
    }

    #[tokio::test]
    async fn a_connection_that_sends_partial_headers_or_nothing_is_closed_after_the_header_timeout() {
        let (addr, _stop) = start(short()).await;
        let mut partial = TcpStream::connect(addr).await.expect("connect");
        partial.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.expect("write");
        let mut silent = TcpStream::connect(addr).await.expect("connect");
        let opened = Instant::now();
        let (_, closed) = read_to_close(&mut partial).await;
        assert!(closed - opened >= SHORT - Duration::from_millis(50), "not before the timeout");
        let (sent, _) = read_to_close(&mut silent).await;
        assert!(!sent.contains("200 OK"), "{sent}");
    }

    #[tokio::test]
    async fn a_kept_alive_connection_is_closed_when_idle_past_the_header_timeout() {
        let (addr, _stop) = start(short()).await;
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
        let (answer, _) = read_to_close(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    }

    #[tokio::test]
    async fn a_body_that_stalls_is_refused_and_its_connection_closed() {
        let (addr, _stop) = start(short()).await;
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let head =
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nhalf";
        stream.write_all(head).await.expect("write");
        let (answer, _) = read_to_close(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
        // A whole body within the timeout is answered.
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let whole = b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
        stream.write_all(whole).await.expect("write");
        let (answer, _) = read_to_close(&mut stream).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK") && answer.ends_with("hello"), "{answer}");
    }

    #[tokio::test]
    async fn connections_past_the_limit_wait_for_a_free_slot() {
        let limits = HttpLimits { header_read_timeout: Duration::from_secs(60), ..short() };
        let (addr, _stop) = start(limits).await;
        let mut held = Vec::new();
        for _ in 0..limits.max_connections {
            let mut stream = TcpStream::connect(addr).await.expect("connect");
            stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n").await.expect("write");
            let mut buf = [0u8; 512];
            let n = timeout(PATIENCE, stream.read(&mut buf)).await.expect("answered").expect("read");
            assert!(buf[..n].starts_with(b"HTTP/1.1 200 OK"));
            held.push(stream);
        }
        // One more: connected (the backlog), not served while every slot is held.
        let mut waiting = TcpStream::connect(addr).await.expect("connect");
        waiting
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut buf = [0u8; 512];
        assert!(timeout(SHORT * 2, waiting.read(&mut buf)).await.is_err(), "served past the limit");
        // A slot freed: it is served.
        drop(held.pop());
        let (answer, _) = read_to_close(&mut waiting).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    }

    #[tokio::test]
    async fn a_websocket_outlives_every_timeout_and_holds_its_slot() {
        use futures::{SinkExt, StreamExt};
        use tokio_tungstenite::tungstenite::Message;
        let limits = HttpLimits { max_connections: 1, ..short() };
        let (addr, _stop) = start(limits).await;
        let (mut socket, _) =
            tokio_tungstenite::connect_async(format!("ws://{addr}/ws")).await.expect("upgrade");
        tokio::time::sleep(SHORT * 4).await;
        socket.send(Message::Text("still here".into())).await.expect("send");
        let echo = timeout(PATIENCE, socket.next()).await.expect("an answer").expect("a frame").expect("ok");
        assert_eq!(echo, Message::Text("still here".into()));
        // Its slot is the only one: another connection waits until the socket closes.
        let mut waiting = TcpStream::connect(addr).await.expect("connect");
        waiting
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .expect("write");
        let mut buf = [0u8; 512];
        assert!(timeout(SHORT * 2, waiting.read(&mut buf)).await.is_err(), "served past the limit");
        socket.close(None).await.expect("close");
        drop(socket);
        let (answer, _) = read_to_close(&mut waiting).await;
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    }
}
