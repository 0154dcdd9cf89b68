//! Fake ACS and AWS End User Messaging APIs on loopback, each checking our requests' authentication
//! independently of smsdesk's code: ACS's HMAC-SHA256 recomputed here; SigV4 recomputed with the AWS
//! SDK's own signer (aws-sigv4) from the credentials the test gave the channel. The AWS fake also plays
//! SNS: it serves the signing certificate and the subscription confirmation URL, and signs SNS messages
//! (SignatureVersion 2) with the key made at test time by `smsdesk_providers::test_support`, whose
//! certificate it serves.

use axum::body::Bytes;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::IntoResponse;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use smsdesk_providers::test_support::sns_signer;
use std::sync::{Arc, Mutex};

/// One send a fake received, and whether its authentication verified.
#[derive(Clone, Debug)]
pub struct Send {
    /// The operation (AWS: the `X-Amz-Target` action, `SendTextMessage` or `SendMediaMessage`); empty
    /// for a fake with one operation.
    pub target: String,
    pub auth_ok: bool,
    pub auth_problem: Option<String>,
    pub body: Value,
    pub provider_id: String,
}

async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await.expect("fake serves") });
    format!("http://{addr}")
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

// ---------------------------------------------------------------------------------------------------------
// ACS
// ---------------------------------------------------------------------------------------------------------

pub struct FakeAcs {
    pub url: String,
    pub access_key: String,
    pub sends: Arc<Mutex<Vec<Send>>>,
}

impl FakeAcs {
    pub async fn start() -> Self {
        let access_key =
            base64::engine::general_purpose::STANDARD.encode(b"fake-acs-resource-key-0123456789");
        let sends: Arc<Mutex<Vec<Send>>> = Arc::default();
        let (key, log) = (access_key.clone(), sends.clone());
        let handler = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let (key, log) = (key.clone(), log.clone());
            async move {
                let problem = acs_auth_problem(&key, &method, &uri, &headers, &body);
                let mut log = log.lock().expect("lock");
                let provider_id = format!("Outgoing_20261123_{}", log.len() + 1);
                log.push(Send {
                    target: String::new(),
                    auth_ok: problem.is_none(),
                    auth_problem: problem.clone(),
                    body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                    provider_id: provider_id.clone(),
                });
                if let Some(p) = problem {
                    return (
                        StatusCode::UNAUTHORIZED,
                        json!({"error": {"code": "Denied", "message": p}}).to_string(),
                    );
                }
                let to = serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|b| b["smsRecipients"][0]["to"].as_str().map(str::to_string));
                (
                    StatusCode::ACCEPTED,
                    json!({"value": [{"to": to, "messageId": provider_id, "httpStatusCode": 202, "repeatabilityResult": "accepted", "successful": true}]}).to_string(),
                )
            }
        };
        let url = serve(axum::Router::new().route("/sms", axum::routing::post(handler))).await;
        Self { url, access_key, sends }
    }

    pub fn sends(&self) -> Vec<Send> {
        self.sends.lock().expect("lock").clone()
    }
}

/// ACS's scheme, recomputed: `VERB\npath?query\ndate;host;b64(sha256(body))` with the decoded key.
fn acs_auth_problem(
    key: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Option<String> {
    let hash = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(body));
    if header(headers, "x-ms-content-sha256") != hash {
        return Some("x-ms-content-sha256 is not the body's hash".into());
    }
    let date = header(headers, "x-ms-date");
    if httpdate::parse_http_date(date).is_err() {
        return Some(format!("x-ms-date {date:?} is not an HTTP date"));
    }
    let path_and_query = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let sts = format!("{method}\n{path_and_query}\n{date};{};{hash}", header(headers, "host"));
    let Ok(key) = base64::engine::general_purpose::STANDARD.decode(key) else {
        return Some("the fake's key is not base64".into());
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(&key) else {
        return Some("HMAC refused the key".into());
    };
    mac.update(sts.as_bytes());
    let expected = format!(
        "HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    );
    (header(headers, "authorization") != expected)
        .then(|| format!("Authorization does not verify over {sts:?}"))
}

// ---------------------------------------------------------------------------------------------------------
// AWS End User Messaging SMS and SNS
// ---------------------------------------------------------------------------------------------------------

pub const AWS_KEY_ID: &str = "AKIDSMSDESKTEST";
pub const AWS_SECRET: &str = "smsdesk/test/secret/key/0123456789abcdef";
pub const AWS_REGION: &str = "us-east-1";
pub const SNS_TOPIC: &str = "arn:aws:sns:us-east-1:111122223333:smsdesk-two-way";

pub struct FakeAws {
    pub url: String,
    pub sends: Arc<Mutex<Vec<Send>>>,
    /// Subscription confirmations received (GETs of the SubscribeURL).
    pub confirmations: Arc<Mutex<usize>>,
}

impl FakeAws {
    pub async fn start() -> Self {
        let sends: Arc<Mutex<Vec<Send>>> = Arc::default();
        let confirmations: Arc<Mutex<usize>> = Arc::default();
        let log = sends.clone();
        let api = move |method: Method, uri: Uri, headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            async move {
                let problem = sigv4_problem(&method, &uri, &headers, &body);
                let target = header(&headers, "x-amz-target").to_string();
                let action = target.strip_prefix("PinpointSMSVoiceV2.").unwrap_or_default().to_string();
                let parsed: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let invalid = match action.as_str() {
                    "SendTextMessage" => None,
                    "SendMediaMessage" => media_message_problem(&parsed),
                    _ => Some(format!("unexpected {target}")),
                };
                if let Some(message) = invalid {
                    return (
                        StatusCode::BAD_REQUEST,
                        json!({"__type": "ValidationException", "Message": message}).to_string(),
                    );
                }
                let mut log = log.lock().expect("lock");
                let provider_id = format!("aws-msg-{}", log.len() + 1);
                log.push(Send {
                    target: action,
                    auth_ok: problem.is_none(),
                    auth_problem: problem.clone(),
                    body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                    provider_id: provider_id.clone(),
                });
                match problem {
                    Some(p) => (
                        StatusCode::FORBIDDEN,
                        json!({"__type": "InvalidSignatureException", "Message": p}).to_string(),
                    ),
                    None => (StatusCode::OK, json!({"MessageId": provider_id}).to_string()),
                }
            }
        };
        let counter = confirmations.clone();
        let confirm = move || {
            let counter = counter.clone();
            async move {
                *counter.lock().expect("lock") += 1;
                "<ConfirmSubscriptionResponse/>".into_response()
            }
        };
        let app = axum::Router::new()
            .route("/", axum::routing::post(api))
            .route(
                "/SimpleNotificationService-test.pem",
                axum::routing::get(|| async { sns_signer().cert_pem() }),
            )
            .route("/confirm", axum::routing::get(confirm));
        Self { url: serve(app).await, sends, confirmations }
    }

    pub fn sends(&self) -> Vec<Send> {
        self.sends.lock().expect("lock").clone()
    }

    pub fn cert_url(&self) -> String {
        format!("{}/SimpleNotificationService-test.pem", self.url)
    }

    /// A signed SNS SubscriptionConfirmation whose SubscribeURL is this fake's.
    pub fn confirmation(&self) -> String {
        let mut v = json!({
            "Type": "SubscriptionConfirmation", "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
            "Token": "2336412f37fb687f5d51e6e2425c464de", "TopicArn": SNS_TOPIC,
            "Message": "You have chosen to subscribe to the topic.", "SubscribeURL": format!("{}/confirm?Token=2336412f", self.url),
            "Timestamp": "2026-11-23T11:59:59.000Z", "SigningCertURL": self.cert_url(),
        });
        sns_signer().sign_v2(&mut v);
        v.to_string()
    }

    /// A signed SNS Notification carrying `message` (a two-way SMS or a delivery event).
    pub fn notification(&self, id: &str, message: &Value) -> String {
        let mut v = json!({
            "Type": "Notification", "MessageId": id, "TopicArn": SNS_TOPIC, "Message": message.to_string(),
            "Timestamp": "2026-11-23T11:59:59.000Z", "SigningCertURL": self.cert_url(),
            "UnsubscribeURL": format!("{}/unsubscribe", self.url),
        });
        sns_signer().sign_v2(&mut v);
        v.to_string()
    }
}

/// What End User Messaging's `SendMediaMessage` refuses (its API reference): no destination or
/// origination, a body over 1600 characters, more than one media file, a media URL that is not
/// `s3://bucket/key` (`s3://([a-z0-9\.-]{3,63})/(.+)`).
fn media_message_problem(body: &Value) -> Option<String> {
    let text = |k: &str| body[k].as_str().filter(|s| !s.is_empty());
    if text("DestinationPhoneNumber").is_none() || text("OriginationIdentity").is_none() {
        return Some("DestinationPhoneNumber and OriginationIdentity are required".into());
    }
    if body["MessageBody"].as_str().is_some_and(|b| b.chars().count() > 1600) {
        return Some("MessageBody is over 1600 characters".into());
    }
    let urls = body["MediaUrls"].as_array().cloned().unwrap_or_default();
    if urls.len() > 1 {
        return Some(format!("MediaUrls has {} items; at most 1", urls.len()));
    }
    if urls.is_empty() && text("MessageBody").is_none() {
        return Some("a media message needs a MessageBody or MediaUrls".into());
    }
    for url in &urls {
        let ok =
            url.as_str().and_then(|u| u.strip_prefix("s3://")).and_then(|r| r.split_once('/')).is_some_and(
                |(bucket, key)| {
                    (3..=63).contains(&bucket.len())
                        && bucket
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
                        && !key.is_empty()
                },
            );
        if !ok {
            return Some(format!("MediaUrls: {url} is not an s3://bucket/key URI"));
        }
    }
    None
}

/// Recomputes the request's SigV4 signature with aws-sigv4 over the headers it says it signed; checks the
/// scope names our key, region and the `sms-voice` service.
fn sigv4_problem(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Option<String> {
    sigv4_check(method, uri, headers, body).err()
}

fn sigv4_check(method: &Method, uri: &Uri, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    let key = SigningKey { key_id: AWS_KEY_ID, secret: AWS_SECRET, region: AWS_REGION, service: "sms-voice" };
    sigv4_verify(method, uri, headers, body, &key)
}

/// Who is expected to have signed a request, and for which region and service.
pub struct SigningKey<'a> {
    pub key_id: &'a str,
    pub secret: &'a str,
    pub region: &'a str,
    pub service: &'a str,
}

/// Recomputes a request's SigV4 signature with aws-sigv4 over the headers it says it signed; checks that
/// the scope names `key`'s id, region and service.
pub fn sigv4_verify(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    key: &SigningKey<'_>,
) -> Result<(), String> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
    let auth = header(headers, "authorization");
    let malformed = || format!("Authorization {auth:?} is not SigV4");
    let rest = auth.strip_prefix("AWS4-HMAC-SHA256 Credential=").ok_or_else(malformed)?;
    let (scope, rest) = rest.split_once(", SignedHeaders=").ok_or_else(malformed)?;
    let (signed, signature) = rest.split_once(", Signature=").ok_or_else(malformed)?;
    let date = header(headers, "x-amz-date");
    let want_scope = format!(
        "{}/{}/{}/{}/aws4_request",
        key.key_id,
        date.get(..8).unwrap_or_default(),
        key.region,
        key.service
    );
    if scope != want_scope {
        return Err(format!("credential scope {scope} is not {want_scope}"));
    }
    let format = time::macros::format_description!("[year][month][day]T[hour][minute][second]Z");
    let at = time::PrimitiveDateTime::parse(date, format)
        .map_err(|e| format!("x-amz-date {date:?}: {e}"))?
        .assume_utc();
    let identity = aws_credential_types::Credentials::new(key.key_id, key.secret, None, None, "fake").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(key.region)
        .name(key.service)
        .time(at.into())
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| e.to_string())?
        .into();
    let host = header(headers, "host");
    let url = format!("http://{host}{}", uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"));
    let signed_headers: Vec<(&str, &str)> =
        signed.split(';').filter(|h| *h != "x-amz-date").map(|h| (h, header(headers, h))).collect();
    let request =
        SignableRequest::new(method.as_str(), url, signed_headers.into_iter(), SignableBody::Bytes(body))
            .map_err(|e| e.to_string())?;
    let expected = sign(request, &params).map_err(|e| e.to_string())?.signature().to_string();
    if expected == signature { Ok(()) } else { Err(format!("SigV4 signature {signature} is not {expected}")) }
}
