//! Fetching a provider's inbound media: the first request goes only to one of the provider's own media
//! origins, with its credentials; a redirect (Twilio's media URLs answer with one to its CDN) is followed
//! by hand WITHOUT credentials, up to [`MAX_REDIRECTS`] hops, over https (or http on loopback when the
//! channel's host is); a loop or a longer chain is refused. At most the channel's size limit is read.

use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

/// Redirect hops followed (Twilio needs one).
pub const MAX_REDIRECTS: usize = 3;
/// One fetch's time budget (the provider's URLs expire; a slow host is retried later).
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// A client for media fetches: no automatic redirects (they are followed by [`fetch`], without
/// credentials), a bounded time per request.
pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    crate::http::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(FETCH_TIMEOUT)
        .connect_timeout(Duration::from_secs(3))
        .build()
}

/// The bytes fetched, and the type the last answer claimed (not trusted: the bytes decide).
#[derive(Debug)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    pub claimed_type: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// Never worth another try: the URL is not the provider's, the host answered 4xx (expired), the body is
    /// over the limit, a redirect loops.
    #[error("{0}")]
    Refused(String),
    /// The host could not be reached, timed out or answered 5xx/429: worth another try.
    #[error("{0}")]
    Transient(String),
}

/// Fetches `url`, which must start on one of `origins` (where `authorization` may go), reading at most
/// `max_bytes`.
pub async fn fetch(
    client: &reqwest::Client,
    url: &str,
    origins: &[String],
    authorization: Option<&SecretString>,
    max_bytes: u64,
) -> Result<Fetched, FetchError> {
    let first = crate::http::origin(url)
        .ok_or_else(|| FetchError::Refused("media URL is not an http(s) URL".into()))?;
    if !origins.iter().any(|o| o.eq_ignore_ascii_case(&first)) {
        return Err(FetchError::Refused(format!("media URL is not on the provider's media host ({first})")));
    }
    let loopback_ok = is_loopback(&first);
    let mut current =
        reqwest::Url::parse(url).map_err(|e| FetchError::Refused(format!("bad media URL: {e}")))?;
    let mut seen = vec![current.to_string()];
    for _hop in 0..=MAX_REDIRECTS {
        let origin = current.origin().ascii_serialization();
        let mut request = client.get(current.clone());
        // Credentials only to the provider's own origin (the first hop always is), never to another host a
        // redirect names.
        if let Some(auth) = authorization
            && origins.iter().any(|o| o.eq_ignore_ascii_case(&origin))
        {
            request = request.header(reqwest::header::AUTHORIZATION, auth.expose_secret());
        }
        let response = request.send().await.map_err(|e| {
            FetchError::Transient(format!("media host unreachable: {}", crate::http::chain(&e.without_url())))
        })?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| FetchError::Refused(format!("redirect ({status}) without a Location")))?;
            let next = current
                .join(location)
                .map_err(|e| FetchError::Refused(format!("redirect to a bad URL: {e}")))?;
            let secure = next.scheme() == "https"
                || (next.scheme() == "http"
                    && loopback_ok
                    && is_loopback(&next.origin().ascii_serialization()));
            if !secure {
                return Err(FetchError::Refused("redirect to a non-https URL refused".into()));
            }
            if seen.contains(&next.to_string()) {
                return Err(FetchError::Refused("redirect loop".into()));
            }
            seen.push(next.to_string());
            current = next;
            continue;
        }
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(FetchError::Transient(format!("media host answered {}", status.as_u16())));
        }
        if !status.is_success() {
            return Err(FetchError::Refused(format!(
                "media host answered {} (the provider's link may have expired)",
                status.as_u16()
            )));
        }
        if response.content_length().is_some_and(|n| n > max_bytes) {
            return Err(FetchError::Refused(format!("too large: over the limit of {max_bytes} bytes")));
        }
        let claimed_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = read_at_most(response, max_bytes).await?;
        return Ok(Fetched { bytes, claimed_type });
    }
    Err(FetchError::Refused(format!("more than {MAX_REDIRECTS} redirects")))
}

fn is_loopback(origin: &str) -> bool {
    reqwest::Url::parse(origin).ok().and_then(|u| u.host_str().map(str::to_string)).is_some_and(|h| {
        h == "localhost" || h.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback()) || h == "[::1]"
    })
}

/// Reads the body, refusing it once it passes `max_bytes` (a lying or absent Content-Length included).
async fn read_at_most(mut response: reqwest::Response, max_bytes: u64) -> Result<Vec<u8>, FetchError> {
    let mut body = Vec::new();
    loop {
        let chunk = response.chunk().await.map_err(|e| {
            FetchError::Transient(format!(
                "media download broke off: {}",
                crate::http::chain(&e.without_url())
            ))
        })?;
        let Some(chunk) = chunk else { return Ok(body) };
        if (body.len() + chunk.len()) as u64 > max_bytes {
            return Err(FetchError::Refused(format!("too large: over the limit of {max_bytes} bytes")));
        }
        body.extend_from_slice(&chunk);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_compare_scheme_host_and_port() {
        assert_eq!(
            crate::http::origin("https://api.twilio.com/2010-04-01/x").as_deref(),
            Some("https://api.twilio.com")
        );
        assert_eq!(
            crate::http::origin("http://127.0.0.1:8080/a?b").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(crate::http::origin("ftp://x/y"), None);
        assert_eq!(crate::http::origin("not a url"), None);
        assert!(is_loopback("http://127.0.0.1:1"));
        assert!(!is_loopback("https://api.twilio.com"));
    }

    #[tokio::test]
    async fn a_url_off_the_providers_origins_is_refused_before_any_request() {
        let client = client().unwrap();
        let origins = vec!["https://api.twilio.com".to_string()];
        // Port 9 on loopback: nothing listens, so reaching it would be Transient, not Refused.
        let err = fetch(&client, "http://127.0.0.1:9/secret", &origins, None, 10).await.unwrap_err();
        assert!(
            matches!(err, FetchError::Refused(ref r) if r.contains("not on the provider's media host")),
            "{err:?}"
        );
        let err =
            fetch(&client, "https://api.twilio.com.evil.example/x", &origins, None, 10).await.unwrap_err();
        assert!(matches!(err, FetchError::Refused(_)), "{err:?}");
    }
}
