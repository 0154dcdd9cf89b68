//! `/openapi.json`: the API's contract, generated from the routes' Rust types by utoipa (OpenAPI 3.1). The
//! committed copy (`docs/openapi.json`) is checked to equal what the code generates; `smsdesk openapi >
//! docs/openapi.json` regenerates it.
//!
//! Documented here: the admin, agent, media and sandbox routes (bearer token), and `/healthz`. Not here: the
//! providers' webhooks (each provider's own contract, authenticated by its signature), the console's static
//! files, the signed media links and the live-updates WebSocket (`/v1/events`).

use crate::http::views::{ConsoleConfig, ErrorBody, Health};
use crate::http::{admin, agent, media, queues, quick_replies, sandbox};
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "smsdesk",
        description = "The SMS channel of a contact center: admin and agent API. Errors are \
                       `{\"error\": {\"code\", \"message\"}}`, the message naming the field and the rule it broke.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    paths(
        healthz,
        console_config,
        admin::create_queue,
        admin::list_queues,
        queues::get_queue,
        queues::patch_queue,
        queues::delete_queue,
        queues::queue_stats,
        queues::wrap_up_options,
        queues::create_menu,
        queues::list_menus,
        queues::get_menu,
        queues::patch_menu,
        queues::delete_menu,
        quick_replies::create,
        quick_replies::list,
        quick_replies::get_one,
        quick_replies::patch,
        quick_replies::delete,
        crate::http::customers::get_language,
        crate::http::customers::put_language,
        crate::http::teams::create_team,
        crate::http::teams::list_teams,
        crate::http::teams::get_team,
        crate::http::teams::patch_team,
        crate::http::teams::delete_team,
        admin::create_agent,
        admin::list_agents,
        admin::get_agent,
        admin::patch_agent,
        admin::set_presence,
        admin::create_channel,
        admin::list_channels,
        admin::get_channel,
        admin::patch_channel,
        admin::get_consent,
        admin::change_consent,
        admin::rotate_credentials,
        admin::set_numbers,
        admin::validate_channel,
        admin::create_contact,
        agent::me,
        agent::work_items,
        agent::waiting_items,
        agent::team_items,
        agent::conversation,
        agent::reply,
        agent::resend,
        agent::close,
        agent::wait,
        agent::end,
        agent::wrap_up,
        crate::http::notes::add_note,
        agent::transfer,
        agent::cancel_transfer,
        agent::assign,
        agent::move_to_queue,
        crate::http::transfer_targets::transfer_targets,
        agent::accept,
        agent::decline,
        agent::pick_contact,
        agent::proactive,
        agent::preview,
        agent::contacts,
        agent::contact,
        media::upload,
        media::export,
        sandbox::inbound,
        sandbox::outbox,
    ),
    components(schemas(ErrorBody)),
    modifiers(&Security),
)]
pub struct ApiDoc;

/// Liveness (no token).
#[utoipa::path(get, path = "/healthz", tag = "health", security(()),
    responses((status = 200, description = "The process answers", body = Health)))]
#[allow(dead_code)] // the document's entry for `http::healthz`
fn healthz() {}

#[utoipa::path(get, path = "/console/config.json", tag = "health", security(()),
    responses((status = 200, description = "How the console signs in", body = ConsoleConfig)))]
#[allow(dead_code)] // the document's entry for `http::console::config`
fn console_config() {}

/// The document, as `/openapi.json` serves it.
pub fn document() -> Document {
    ApiDoc::openapi()
}

/// The document as committed in `docs/openapi.json`: pretty JSON and a final newline.
pub fn document_json() -> String {
    let mut json = document().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}

/// The bearer token on every `/v1` route, and the error answers every route may give.
struct Security;

impl Modify for Security {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The admin token, or an agent's token (`POST /v1/agents` shows it once). In AWS, \
                         API Gateway's JWT authorizer checks the identity provider's token.",
                    ))
                    .build(),
            ),
        );
        for (_, name, description) in ERRORS {
            components.responses.insert(name.to_string(), error(description).into());
        }
        for (path, item) in doc.paths.paths.iter_mut() {
            let secured = path.starts_with("/v1/");
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
                &mut item.head,
                &mut item.options,
                &mut item.trace,
            ]
            .into_iter()
            .flatten()
            {
                if secured {
                    op.security = Some(vec![SecurityRequirement::new("bearer", Vec::<String>::new())]);
                }
                add_errors(op, secured);
            }
        }
    }
}

/// The error answers, each one entry of `components.responses` (status, name, description).
const ERRORS: &[(&str, &str, &str)] = &[
    ("400", "BadRequest", "Bad input: the message names the field and the rule"),
    ("401", "Unauthorized", "No token, or an unknown one"),
    ("403", "Forbidden", "The caller's role may not do this"),
    ("404", "NotFound", "No such thing, or not one the caller may see"),
    ("409", "Conflict", "The state does not allow it (already closed, another agent's, taken)"),
    ("413", "TooLarge", "The body is over the size limit"),
    ("415", "UnsupportedMediaType", "The body is not `application/json`"),
    ("422", "Unprocessable", "The text breaks a rule of SMS (over 1600 characters, media refused)"),
    ("431", "HeadersTooLarge", "Request line and headers over 16 KiB"),
    ("500", "Internal", "Internal error"),
    ("502", "ProviderUnreachable", "The provider could not be reached (`provider_unreachable`)"),
    ("503", "Unavailable", "Storage is temporarily unavailable: retry"),
];

fn error(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
        )
        .build()
}

/// The error answers of an operation (the ones it does not document itself): every one on a `/v1` route,
/// 500 on the others.
fn add_errors(op: &mut Operation, secured: bool) {
    for (status, name, _) in ERRORS {
        if secured || *status == "500" {
            let reference = Ref::new(format!("#/components/responses/{name}"));
            op.responses.responses.entry(status.to_string()).or_insert_with(|| reference.into());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed contract equals what the code generates.
    #[test]
    fn the_committed_openapi_json_is_what_the_code_generates() {
        let committed = include_str!("../../../../docs/openapi.json");
        let generated = document_json();
        if committed != generated {
            let diff: Vec<String> = committed
                .lines()
                .zip(generated.lines())
                .enumerate()
                .filter(|(_, (a, b))| a != b)
                .take(10)
                .map(|(i, (a, b))| format!("line {}:\n  committed: {a}\n  generated: {b}", i + 1))
                .collect();
            panic!(
                "docs/openapi.json is not what the code generates ({} vs {} lines); first differences:\n{}\n\
                 Regenerate it with: cargo run -q -p smsdesk -- openapi > docs/openapi.json",
                committed.lines().count(),
                generated.lines().count(),
                diff.join("\n")
            );
        }
    }

    #[test]
    fn every_v1_operation_needs_the_bearer_token_and_documents_the_error_shape() {
        let doc = document();
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(json["openapi"], "3.1.0");
        let paths = json["paths"].as_object().unwrap();
        assert!(paths.len() > 25, "{} paths", paths.len());
        for (path, item) in paths {
            for (method, op) in item.as_object().unwrap() {
                let secured = op
                    .get("security")
                    .and_then(|s| s.as_array())
                    .is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
                assert_eq!(secured, path.starts_with("/v1/"), "{method} {path}");
                assert_eq!(
                    op["responses"]["500"]["$ref"], "#/components/responses/Internal",
                    "{method} {path}"
                );
                if path.starts_with("/v1/") {
                    assert_eq!(op["responses"]["401"]["$ref"], "#/components/responses/Unauthorized");
                }
            }
        }
    }

    /// The request schemas refuse what the server refuses, where a schema can say it: a tool that builds
    /// requests from the document (Schemathesis) gets no 400 for a request the document allows.
    #[test]
    fn request_schemas_say_what_the_server_refuses() {
        let json = serde_json::to_value(document()).unwrap();
        let schemas = &json["components"]["schemas"];
        let body = |method: &str, path: &str| {
            let schema = &json["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"];
            let name = schema["$ref"].as_str().unwrap_or_else(|| panic!("{method} {path}: {schema}"));
            schemas[name.trim_start_matches("#/components/schemas/")].clone()
        };
        let required = |schema: &serde_json::Value| -> Vec<String> {
            serde_json::from_value(schema["required"].clone()).unwrap_or_default()
        };
        // Creations say what they need, and no field a creation refuses as null is nullable.
        for (path, needs) in [
            ("/v1/queues", &["name"][..]),
            ("/v1/menus", &["name", "text", "options"]),
            ("/v1/quick-replies", &["shortcut", "title", "text"]),
            ("/v1/teams", &["name", "capacity"]),
        ] {
            let schema = body("post", path);
            assert_eq!(required(&schema), needs, "POST {path}: {schema}");
        }
        assert_eq!(body("post", "/v1/quick-replies")["properties"]["title"]["type"], "string");
        assert_eq!(body("post", "/v1/teams")["properties"]["queues"]["type"], "array");
        assert_eq!(body("post", "/v1/queues")["properties"]["name"]["minLength"], 2);
        // A presence is one of four.
        let status = &body("post", "/v1/agents/{id}/presence")["properties"]["status"];
        let named = status["$ref"].as_str().unwrap_or_default().trim_start_matches("#/components/schemas/");
        assert_eq!(schemas[named]["enum"], serde_json::json!(["available", "busy", "away", "offline"]));
        // A channel's patch names its settings and nothing else; send rates have their bounds.
        let patch = body("patch", "/v1/channels/{id}");
        assert_eq!(patch["additionalProperties"], false, "{patch}");
        assert_eq!(patch["properties"]["name"]["type"], "string", "{patch}");
        let rate = &schemas["NewNumber"]["properties"]["send_rate"];
        assert_eq!(
            (rate["minimum"].as_f64(), rate["maximum"].as_f64()),
            (Some(0.01), Some(1000.0)),
            "{rate}"
        );
        // The Idempotency-Key header is a non-empty string of visible ASCII, never null.
        for path in ["/v1/messages", "/v1/conversations/{id}/messages"] {
            let params = json["paths"][path]["post"]["parameters"].as_array().unwrap();
            let key = params.iter().find(|p| p["name"] == "Idempotency-Key").expect("the header");
            assert_eq!(key["schema"]["type"], "string", "{path}: {key}");
            assert_eq!(
                (key["schema"]["minLength"].as_u64(), key["schema"]["maxLength"].as_u64()),
                (Some(1), Some(255))
            );
        }
    }
}
