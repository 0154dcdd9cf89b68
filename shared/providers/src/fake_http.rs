//! A fake provider API on loopback for the clients' tests: answers with queued replies in order and records
//! every request as it arrived, so each test checks our requests' authentication itself.

use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as the fake saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: String,
}

impl Seen {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// The form body's fields, in order.
    pub fn form(&self) -> Vec<(String, String)> {
        serde_urlencoded::from_str(&self.body).expect("a form body")
    }

    /// The first value of a form field.
    pub fn field(&self, name: &str) -> Option<String> {
        self.form().into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

/// One queued answer.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: u16,
    pub body: &'static str,
    pub delay: Duration,
    pub headers: Vec<(&'static str, &'static str)>,
}

impl From<(u16, &'static str, Duration)> for Reply {
    fn from((status, body, delay): (u16, &'static str, Duration)) -> Self {
        Reply { status, body, delay, headers: Vec::new() }
    }
}

impl From<(u16, &'static str)> for Reply {
    fn from((status, body): (u16, &'static str)) -> Self {
        Reply { status, body, delay: Duration::ZERO, headers: Vec::new() }
    }
}

pub struct FakeApi {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
}

/// Starts a fake answering `replies` in order (then 599 to anything more).
pub async fn start<R: Into<Reply>>(replies: Vec<R>) -> FakeApi {
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let replies: VecDeque<Reply> = replies.into_iter().map(Into::into).collect();
    let replies = Arc::new(Mutex::new(replies));
    let log = seen.clone();
    let handler = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
        let log = log.clone();
        let replies = replies.clone();
        async move {
            log.lock().unwrap().push(Seen {
                method: method.to_string(),
                path: uri.path().to_string(),
                headers,
                body: String::from_utf8(body.to_vec()).unwrap(),
            });
            let reply = replies.lock().unwrap().pop_front().unwrap_or_else(|| (599, "").into());
            tokio::time::sleep(reply.delay).await;
            let mut response = (StatusCode::from_u16(reply.status).unwrap(), reply.body).into_response();
            for (name, value) in reply.headers {
                response.headers_mut().insert(HeaderName::from_static(name), HeaderValue::from_static(value));
            }
            response
        }
    };
    let app = axum::Router::new().fallback(handler);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    FakeApi { url: format!("http://{addr}/"), seen }
}

/// A loopback port that refuses connections: bound (so nobody else can take it) but not listening, for as
/// long as the returned socket lives.
pub fn closed_port() -> (tokio::net::TcpSocket, String) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap();
    (socket, format!("http://{addr}"))
}
