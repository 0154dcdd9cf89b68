//! The agent console: static files of our own (`console/` at the repository's root: ES modules and CSS, no
//! framework, no bundle), compiled into the binary and served without a token at `/` and `/console/...`
//! by `smsdesk dev` and by the agent-api function. The page signs in with a token and talks to `/v1/...`.

use crate::http::Path;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;

use crate::App;
use crate::http::views::ConsoleConfig;

/// (path under `/console/`, content type, content).
const FILES: &[(&str, &str, &str)] = &[
    ("oidc.js", "text/javascript; charset=utf-8", include_str!("../../../../console/oidc.js")),
    ("index.html", "text/html; charset=utf-8", include_str!("../../../../console/index.html")),
    ("style.css", "text/css; charset=utf-8", include_str!("../../../../console/style.css")),
    ("app.js", "text/javascript; charset=utf-8", include_str!("../../../../console/app.js")),
    ("api.js", "text/javascript; charset=utf-8", include_str!("../../../../console/api.js")),
    ("live.js", "text/javascript; charset=utf-8", include_str!("../../../../console/live.js")),
    ("segment.js", "text/javascript; charset=utf-8", include_str!("../../../../console/segment.js")),
    ("sound.js", "text/javascript; charset=utf-8", include_str!("../../../../console/sound.js")),
    ("hooks.js", "text/javascript; charset=utf-8", include_str!("../../../../console/hooks.js")),
    ("offers.js", "text/javascript; charset=utf-8", include_str!("../../../../console/offers.js")),
    ("wrapup.js", "text/javascript; charset=utf-8", include_str!("../../../../console/wrapup.js")),
    ("quick.js", "text/javascript; charset=utf-8", include_str!("../../../../console/quick.js")),
];

/// What the browser may load and where it may connect: this origin (the page, the API and the live socket),
/// and for pictures, videos and recordings the media links' origin as well ([`csp`]).
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   media-src 'self'; connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; \
                   frame-ancestors 'none'";

/// The console's policy in this shape: media links are the API's public URL's (`smsdesk dev`, which may
/// differ from the origin the page was opened at) or an S3 bucket's presigned `https:` links (AWS), so
/// pictures, videos and recordings may come from those; with sign-in by OIDC, the page also talks to the
/// issuer (its discovery document, keys and token endpoint).
fn csp(config: &crate::Config) -> String {
    let origin = |url: &str| {
        reqwest::Url::parse(url)
            .ok()
            .map(|u| u.origin().ascii_serialization())
            .filter(|o| o != "null" && !o.contains(';') && !o.contains(' '))
            .unwrap_or_default()
    };
    let media = format!("{} https:", origin(&config.public_base_url));
    let mut csp = CSP
        .replace("img-src 'self' data:", &format!("img-src 'self' data: {media}"))
        .replace("media-src 'self'", &format!("media-src 'self' {media}"));
    if let Some(oidc) = &config.oidc {
        csp = csp.replace(
            "connect-src 'self' ws: wss:",
            &format!("connect-src 'self' ws: wss: https: {}", origin(&oidc.issuer)),
        );
    }
    csp
}

/// Adds `GET /` and `GET /console/{*path}` to `router`.
pub fn routes(router: Router<Arc<App>>) -> Router<Arc<App>> {
    router
        .route("/", get(|State(app): State<Arc<App>>| async move { with_csp(&app, file("index.html")) }))
        .route("/console/config.json", get(config))
        .route(
            "/console/{*path}",
            get(|State(app): State<Arc<App>>, Path(path): Path<String>| async move {
                with_csp(&app, file(&path))
            }),
        )
}

/// `GET /console/config.json`: how the console signs in (no token; nothing secret in it).
pub async fn config(State(app): State<Arc<App>>) -> Json<ConsoleConfig> {
    Json(match &app.config.oidc {
        Some(oidc) => ConsoleConfig::Oidc {
            issuer: oidc.issuer.clone(),
            client_id: oidc.client_id.clone(),
            scopes: oidc.scopes.clone(),
        },
        None => ConsoleConfig::Token,
    })
}

/// The response with this shape's policy ([`csp`]). With OIDC the page reaches the issuer's origin and
/// `https:` (the issuer's discovery document may put the token endpoint on another host, as Cognito does).
fn with_csp(app: &App, mut response: Response) -> Response {
    if let Ok(csp) = HeaderValue::from_str(&csp(&app.config)) {
        response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

fn file(path: &str) -> Response {
    let Some((_, content_type, body)) = FILES.iter().find(|(p, _, _)| *p == path) else {
        return crate::error::ApiError::not_found("no such console file").into_response();
    };
    let mut response = (StatusCode::OK, *body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_the_page_imports_is_served() {
        for (name, _, body) in FILES {
            for line in body.lines().filter(|l| l.trim_start().starts_with("import ")) {
                let Some(from) = line.split(['"', '\'']).nth(1) else { continue };
                let target = from.trim_start_matches("./");
                assert!(FILES.iter().any(|(p, _, _)| *p == target), "{name} imports {from}, not served");
            }
            if name.ends_with(".html") {
                for src in body.split("src=\"/console/").skip(1).chain(body.split("href=\"/console/").skip(1))
                {
                    let target = src.split('"').next().unwrap_or_default();
                    assert!(FILES.iter().any(|(p, _, _)| *p == target), "{name} loads {target}, not served");
                }
            }
        }
    }

    #[test]
    fn media_links_may_come_from_the_public_url_and_https_and_nothing_else_from_elsewhere() {
        let directives = |csp: &str| -> Vec<String> { csp.split("; ").map(str::to_string).collect() };
        let base = CSP.replace("img-src 'self' data:", "img-src 'self' data: http://127.0.0.1:9000 https:");
        let base = base.replace("media-src 'self'", "media-src 'self' http://127.0.0.1:9000 https:");
        let config = crate::Config::new("http://127.0.0.1:9000/", crate::AuthMode::GatewayClaims);
        assert_eq!(directives(&csp(&config)), directives(&base));
        assert!(csp(&config).starts_with("default-src 'none'; script-src 'self'; style-src 'self';"));
    }

    #[test]
    fn an_unknown_file_is_a_404() {
        assert_eq!(file("../Cargo.toml").status(), StatusCode::NOT_FOUND);
        assert_eq!(file("index.html").status(), StatusCode::OK);
    }
}
