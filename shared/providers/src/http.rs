//! The providers' HTTPS client: rustls with *ring* crypto and Mozilla's roots compiled in (webpki-roots).
//!
//! Building it reads and parses no file, so it costs nothing at a Lambda cold start, and it needs no
//! process-wide crypto provider (reqwest is built with `rustls-no-provider`). *ring* rather than aws-lc:
//! no C library of 1 MB in every bootstrap and no jitter-entropy warm-up on the first handshake
//! (bench/coldstart/README.md); the trade-off is that rustls offers no post-quantum hybrid key exchange with
//! *ring*. The roots are Mozilla's as of the build: a rebuild picks up changes.

use std::sync::Arc;

/// A reqwest builder with [`tls_config`]; add timeouts and build. Should the TLS configuration be refused
/// (it is not: see the tests), the builder has none and `build()` reports that no TLS provider is set.
pub fn client_builder() -> reqwest::ClientBuilder {
    let builder = reqwest::Client::builder();
    match tls_config() {
        Ok(tls) => builder.tls_backend_preconfigured(tls),
        Err(_) => builder,
    }
}

/// The origin (`scheme://host[:port]`, lower-case, default ports left out) of a URL, or None when it has no
/// host or is not http(s).
pub fn origin(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return None;
    }
    let origin = parsed.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// A client with [`tls_config`] and reqwest's other defaults (tools and tests).
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    client_builder().build()
}

/// The most of a provider's answer smsdesk reads: their answers are a few hundred bytes; a broken or hostile
/// endpoint must not make a function buffer megabytes.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Reads a provider's answer body, at most `limit` bytes (the rest is never read; a cut multi-byte character
/// becomes U+FFFD).
pub async fn read_capped(mut response: reqwest::Response, limit: usize) -> Result<String, reqwest::Error> {
    let hint = response.content_length().and_then(|n| usize::try_from(n).ok()).unwrap_or(0);
    let mut body = Vec::with_capacity(hint.min(limit));
    while let Some(chunk) = response.chunk().await? {
        let room = limit - body.len();
        if chunk.len() >= room {
            body.extend_from_slice(&chunk[..room]);
            break;
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}

/// An error and its causes on one line (reqwest's top-level message alone says little).
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// A send that got no answer. A request that could not even be built is permanent; a connection that never
/// opened (refused, DNS, TLS handshake, connect timeout) sent nothing, so another try is safe; anything else
/// (a timeout or a dropped connection once the request may have been written, an answer that could not be
/// read) leaves the provider's verdict unknown: it may have taken the text, so it is not sent again blindly.
pub fn send_transport_error(provider: &str, error: &reqwest::Error) -> crate::SendError {
    let reason = format!("{provider}: {}", chain(error));
    if error.is_builder() {
        crate::SendError::Permanent { reason }
    } else if error.is_connect() {
        crate::SendError::Transient { reason }
    } else {
        crate::SendError::Unknown { reason }
    }
}

/// One TLS client configuration: *ring* crypto, TLS 1.2 and 1.3, Mozilla's roots.
pub fn tls_config() -> Result<rustls::ClientConfig, rustls::Error> {
    let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reqwest_accepts_the_preconfigured_tls() {
        // reqwest refuses a preconfigured TLS value of a type it does not know (a rustls version skew).
        assert!(client_builder().build().is_ok());
    }

    #[tokio::test]
    async fn answers_are_read_up_to_the_cap_only() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let huge = "x".repeat(4 * MAX_ANSWER_BYTES);
        let app = axum::Router::new()
            .route("/huge", axum::routing::get(move || async move { huge }))
            .route("/small", axum::routing::get(|| async { "{\"ok\":true}" }));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let http = client().unwrap();
        let response = http.get(format!("http://{addr}/huge")).send().await.unwrap();
        assert_eq!(read_capped(response, MAX_ANSWER_BYTES).await.unwrap().len(), MAX_ANSWER_BYTES);
        let response = http.get(format!("http://{addr}/small")).send().await.unwrap();
        assert_eq!(read_capped(response, MAX_ANSWER_BYTES).await.unwrap(), "{\"ok\":true}");
    }

    #[test]
    fn tls_offers_both_default_versions() {
        let config = tls_config().expect("ring offers TLS 1.2 and 1.3");
        let suites = &config.crypto_provider().cipher_suites;
        for version in [&rustls::version::TLS13, &rustls::version::TLS12] {
            assert!(suites.iter().any(|s| s.version() == version), "no {version:?} suite");
        }
    }
}
