//! Signing in through an OpenID Connect issuer (issue 13.1).
//!
//! [`OidcSettings`]: what `GET /console/config.json` tells the console (issuer, public client id, scopes),
//! in both shapes. [`JwtVerifier`]: `smsdesk dev --oidc-issuer` checking bearer JWTs itself as API
//! Gateway's JWT authorizer does in AWS: RS256 against the issuer's JWKS (found through its discovery
//! document, cached), `iss`, audience (`aud`, or `client_id` for tokens without `aud`, as the authorizer
//! accepts Cognito access tokens), `exp` and `nbf`. The verified claims then go through the same rule as
//! the gateway's ([`crate::claims`]).

use crate::claims::{self, Claims};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How the console signs in through an issuer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcSettings {
    /// The issuer URL (`iss`), without a trailing slash.
    pub issuer: String,
    /// The console's public client (no secret; PKCE).
    pub client_id: String,
    /// Scopes the console asks for.
    pub scopes: Vec<String>,
}

impl OidcSettings {
    pub fn new(issuer: &str, client_id: &str, scopes: Option<&str>) -> Self {
        let scopes = scopes
            .map(|s| s.split([' ', ',']).filter(|s| !s.is_empty()).map(str::to_owned).collect::<Vec<_>>())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| vec!["openid".into(), "profile".into(), "email".into()]);
        Self {
            issuer: issuer.trim_end_matches('/').to_string(),
            client_id: client_id.trim().to_string(),
            scopes,
        }
    }
}

/// Why a bearer JWT is refused (logged; the caller gets 401, or 503 when the issuer's keys could not be
/// fetched).
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    #[error("the token is not a JWT this server accepts: {0}")]
    Malformed(String),
    #[error("the token names no key of the issuer")]
    UnknownKey,
    #[error("the issuer's keys could not be fetched: {0}")]
    Keys(String),
    #[error("the token was refused: {0}")]
    Invalid(String),
    #[error("the token is not for this audience")]
    Audience,
    #[error("the token has no subject")]
    NoSubject,
}

/// How long fetched keys are used before they are fetched again.
const KEYS_TTL: Duration = Duration::from_secs(600);
/// A token naming an unknown key refetches the keys (a rotation), at most this often.
const REFETCH_EVERY: Duration = Duration::from_secs(30);
/// The longest a fetch of the discovery document or the keys may take (the client's own timeout may be
/// longer: in Lambda it is the providers' client).
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// Clock skew allowed on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 30;

struct Keys {
    set: JwkSet,
    fetched: Instant,
}

/// Verifies bearer JWTs of one issuer for any of its audiences.
pub struct JwtVerifier {
    issuer: String,
    audiences: Vec<String>,
    http: reqwest::Client,
    keys: Mutex<Option<Keys>>,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .finish()
    }
}

impl JwtVerifier {
    pub fn new(issuer: &str, audience: &str, http: reqwest::Client) -> Self {
        Self::for_audiences(issuer, vec![audience.to_string()], http)
    }

    /// A verifier that accepts a token for any of `audiences` (API Gateway's JWT authorizer takes a list).
    pub fn for_audiences(issuer: &str, audiences: Vec<String>, http: reqwest::Client) -> Self {
        Self { issuer: issuer.trim_end_matches('/').to_string(), audiences, http, keys: Mutex::new(None) }
    }

    /// The claims of a valid token.
    pub async fn verify(&self, token: &str) -> Result<Claims, JwtError> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| JwtError::Malformed(e.to_string()))?;
        if header.alg != Algorithm::RS256 {
            return Err(JwtError::Malformed(format!("algorithm {:?}, not RS256", header.alg)));
        }
        let key = self.key(header.kid.as_deref()).await?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_issuer(&[&self.issuer]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECS;
        // The audience is checked below: `aud`, or `client_id` when there is no `aud` (Cognito access tokens).
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        let data =
            jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(token, &key, &validation)
                .map_err(|e| JwtError::Invalid(e.to_string()))?;
        let payload = data.claims;
        let ours = |value: Option<&str>| value.is_some_and(|v| self.audiences.iter().any(|a| a == v));
        let for_us = match payload.get("aud") {
            Some(serde_json::Value::String(aud)) => ours(Some(aud)),
            Some(serde_json::Value::Array(auds)) => auds.iter().any(|a| ours(a.as_str())),
            Some(_) => false,
            None => ours(payload.get("client_id").and_then(|c| c.as_str())),
        };
        if !for_us {
            return Err(JwtError::Audience);
        }
        claims::claims_from_json(&payload).ok_or(JwtError::NoSubject)
    }

    async fn key(&self, kid: Option<&str>) -> Result<DecodingKey, JwtError> {
        let mut keys = self.keys.lock().await;
        let fresh = keys.as_ref().is_some_and(|k| k.fetched.elapsed() < KEYS_TTL);
        if !fresh {
            *keys = Some(Keys { set: self.fetch().await?, fetched: Instant::now() });
        }
        let found = |set: &JwkSet| match kid {
            Some(kid) => set.find(kid).cloned(),
            None => (set.keys.len() == 1).then(|| set.keys[0].clone()),
        };
        let mut jwk = keys.as_ref().and_then(|k| found(&k.set));
        if jwk.is_none() && keys.as_ref().is_some_and(|k| k.fetched.elapsed() >= REFETCH_EVERY) {
            let set = self.fetch().await?;
            jwk = found(&set);
            *keys = Some(Keys { set, fetched: Instant::now() });
        }
        let jwk = jwk.ok_or(JwtError::UnknownKey)?;
        DecodingKey::from_jwk(&jwk).map_err(|e| JwtError::Keys(e.to_string()))
    }

    async fn fetch(&self) -> Result<JwkSet, JwtError> {
        #[derive(serde::Deserialize)]
        struct Discovery {
            jwks_uri: String,
        }
        let url = format!("{}/.well-known/openid-configuration", self.issuer);
        let discovery: Discovery = self.get_json(&url).await?;
        self.get_json(&discovery.jwks_uri).await
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, JwtError> {
        let response = self
            .http
            .get(url)
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .map_err(|e| JwtError::Keys(e.to_string()))?;
        let response = response.error_for_status().map_err(|e| JwtError::Keys(e.to_string()))?;
        response.json().await.map_err(|e| JwtError::Keys(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, Header};

    /// Two RSA keys made once per test process (no private key is committed): key 1 is the issuer's,
    /// key 2 signs the tokens it must refuse. Each as (PKCS#1 PEM, base64url modulus).
    fn keys() -> &'static [(String, String); 2] {
        static KEYS: std::sync::OnceLock<[(String, String); 2]> = std::sync::OnceLock::new();
        KEYS.get_or_init(|| {
            let make = || {
                use base64::Engine as _;
                use rsa::pkcs1::EncodeRsaPrivateKey as _;
                use rsa::traits::PublicKeyParts as _;
                let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048).expect("an RSA key");
                let pem = key.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF).expect("the key as PEM").to_string();
                let n = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.n().to_bytes_be());
                (pem, n)
            };
            [make(), make()]
        })
    }

    fn key_1() -> &'static str {
        &keys()[0].0
    }

    fn key_2() -> &'static str {
        &keys()[1].0
    }

    /// A fake issuer on loopback: its discovery document and its JWKS (key 1, kid "k1").
    async fn issuer() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let jwks = format!("{base}/jwks");
        let discovery = serde_json::json!({"issuer": base, "jwks_uri": jwks});
        let keys = serde_json::json!({"keys": [{"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
                                                "n": keys()[0].1, "e": "AQAB"}]});
        let app = axum::Router::new()
            .route(
                "/.well-known/openid-configuration",
                axum::routing::get(move || async move { axum::Json(discovery) }),
            )
            .route("/jwks", axum::routing::get(move || async move { axum::Json(keys) }));
        tokio::spawn(async move { axum::serve(listener, app).await });
        base
    }

    fn now() -> i64 {
        time::OffsetDateTime::now_utc().unix_timestamp()
    }

    fn token(key: &str, claims: serde_json::Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some("k1".into());
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_rsa_pem(key.as_bytes()).unwrap()).unwrap()
    }

    fn claims(iss: &str, aud: &str, exp: i64) -> serde_json::Value {
        serde_json::json!({"sub": "user-7", "iss": iss, "aud": aud, "exp": exp, "nbf": now() - 5,
                           "cognito:groups": ["agents"], "nonce": "n"})
    }

    #[tokio::test]
    async fn a_token_of_the_issuer_for_the_audience_gives_its_claims() {
        let iss = issuer().await;
        let verifier =
            JwtVerifier::new(&iss, "console", smsdesk_providers::http::client_builder().build().unwrap());
        let claims = verifier.verify(&token(key_1(), claims(&iss, "console", now() + 300))).await.unwrap();
        assert_eq!(claims.sub, "user-7");
        assert_eq!(claims.groups, ["agents"]);
        assert!(!claims.admin);
        // A Cognito access token: no `aud`, the client in `client_id`; the admin group makes an admin.
        let access = serde_json::json!({"sub": "admin-1", "iss": iss, "client_id": "console", "exp": now() + 300,
                                        "cognito:groups": ["smsdesk-admin"], "scope": "openid"});
        let claims = verifier.verify(&token(key_1(), access)).await.unwrap();
        assert!(claims.admin);
    }

    #[tokio::test]
    async fn wrong_issuer_audience_expiry_start_or_signature_is_refused() {
        let iss = issuer().await;
        let verifier =
            JwtVerifier::new(&iss, "console", smsdesk_providers::http::client_builder().build().unwrap());
        let refused = [
            ("wrong issuer", token(key_1(), claims("https://elsewhere.example", "console", now() + 300))),
            ("wrong audience", token(key_1(), claims(&iss, "another-app", now() + 300))),
            ("expired", token(key_1(), claims(&iss, "console", now() - 120))),
            ("not yet valid", {
                let mut c = claims(&iss, "console", now() + 600);
                c["nbf"] = serde_json::json!(now() + 300);
                token(key_1(), c)
            }),
            ("signed by another key", token(key_2(), claims(&iss, "console", now() + 300))),
            ("no subject", {
                let mut c = claims(&iss, "console", now() + 300);
                c.as_object_mut().unwrap().remove("sub");
                token(key_1(), c)
            }),
            ("not a JWT", "abc.def.ghi".to_string()),
        ];
        for (why, token) in refused {
            assert!(verifier.verify(&token).await.is_err(), "{why} was accepted");
        }
        // The same verifier still accepts a good token (the refusals did not spoil its keys).
        assert!(verifier.verify(&token(key_1(), claims(&iss, "console", now() + 300))).await.is_ok());
    }

    #[tokio::test]
    async fn a_verifier_of_several_audiences_accepts_each_and_no_other() {
        let iss = issuer().await;
        let http = smsdesk_providers::http::client_builder().build().unwrap();
        let verifier = JwtVerifier::for_audiences(&iss, vec!["console".into(), "scripts".into()], http);
        for aud in ["console", "scripts"] {
            assert!(verifier.verify(&token(key_1(), claims(&iss, aud, now() + 300))).await.is_ok(), "{aud}");
        }
        let access = serde_json::json!({"sub": "a", "iss": iss, "client_id": "scripts", "exp": now() + 300});
        assert!(verifier.verify(&token(key_1(), access)).await.is_ok(), "client_id of a listed audience");
        let other = token(key_1(), claims(&iss, "another-app", now() + 300));
        assert!(matches!(verifier.verify(&other).await, Err(JwtError::Audience)));
    }

    #[test]
    fn scopes_default_to_openid_profile_email() {
        let s = OidcSettings::new("https://issuer.example/", "c", None);
        assert_eq!(s.issuer, "https://issuer.example");
        assert_eq!(s.scopes, ["openid", "profile", "email"]);
        assert_eq!(
            OidcSettings::new("i", "c", Some("openid smsdesk/agent")).scopes,
            ["openid", "smsdesk/agent"]
        );
    }
}
