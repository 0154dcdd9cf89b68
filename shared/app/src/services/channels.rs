//! Channels: a provider account, its credentials (kept in the secret store, never returned) and its numbers,
//! each feeding a queue. Input is checked field by field so a 400 says which field broke which rule.

use crate::App;
use crate::error::{ApiError, ApiResult};
use serde_json::{Map, Value, json};
use smsdesk_domain::*;
use smsdesk_ports::Credentials;
use smsdesk_providers::{CredentialsError, Provider, Validation};

fn str_field<'a>(obj: &'a Map<String, Value>, path: &str, key: &str) -> ApiResult<&'a str> {
    match obj.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        Some(Value::String(_)) => Err(ApiError::field(format!("{path}{key}"), "must not be empty")),
        Some(_) => Err(ApiError::field(format!("{path}{key}"), "must be a string")),
        None => Err(ApiError::field(format!("{path}{key}"), "is required")),
    }
}

fn opt_str<'a>(obj: &'a Map<String, Value>, path: &str, key: &str) -> ApiResult<Option<&'a str>> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::field(format!("{path}{key}"), "must be a string")),
    }
}

/// The provider named in a channel request: one smsdesk has, and (for an embedded-only one) in the shape
/// that has it.
fn provider_for(app: &App, kind: ProviderKind) -> ApiResult<&dyn Provider> {
    let provider = app.providers.get(kind.as_str()).ok_or_else(|| {
        ApiError::field(
            "provider",
            format!("'{kind}' is not supported yet (supported: {})", app.providers.names().join(", ")),
        )
    })?;
    if provider.embedded_only() && !app.config.sandbox {
        return Err(ApiError::field("provider", format!("the {kind} provider exists only in `smsdesk dev`")));
    }
    Ok(provider)
}

fn credentials_error(e: CredentialsError) -> ApiError {
    ApiError::field(e.field, e.rule)
}

fn redacted(app: &App, credentials: &Credentials) -> Value {
    app.providers.get(credentials.provider().as_str()).map_or_else(|| json!({}), |p| p.redact(credentials))
}

async fn parse_number(app: &App, index: usize, value: &Value) -> ApiResult<ChannelNumber> {
    let path = format!("numbers[{index}].");
    let obj =
        value.as_object().ok_or_else(|| ApiError::field(format!("numbers[{index}]"), "must be an object"))?;
    let raw = match obj.get("number") {
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err(ApiError::field(format!("{path}number"), "must be a string of digits")),
        None => return Err(ApiError::field(format!("{path}number"), "is required")),
    };
    let number = Phone::parse_digits(raw).map_err(|e| ApiError::field(format!("{path}number"), e))?;
    let type_raw = str_field(obj, &path, "type")?;
    let number_type = NumberType::parse(type_raw).ok_or_else(|| {
        ApiError::field(
            format!("{path}type"),
            format!("'{type_raw}' is not one of geo, short_code, toll_free"),
        )
    })?;
    match (number_type, number.is_short_code()) {
        (NumberType::ShortCode, false) => {
            return Err(ApiError::field(format!("{path}number"), "a short_code has 3 to 6 digits"));
        }
        (NumberType::Geo | NumberType::TollFree, true) => {
            return Err(ApiError::field(format!("{path}number"), "needs the country code (8 to 15 digits)"));
        }
        _ => {}
    }
    let description = opt_str(obj, &path, "description")?.unwrap_or_default().to_string();
    let queue = QueueId::new(str_field(obj, &path, "queue")?);
    if app.store.get_queue(&queue).await?.is_none() {
        return Err(ApiError::field(format!("{path}queue"), format!("no queue '{queue}'")));
    }
    Ok(ChannelNumber { number, number_type, description, queue })
}

fn parse_base_url(value: Option<&str>) -> ApiResult<Option<String>> {
    let Some(url) = value.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
    let rest = url.strip_prefix("https://").or_else(|| url.strip_prefix("http://")).ok_or_else(|| {
        ApiError::field("base_url", "must start with https:// (or http:// for local tests)")
    })?;
    if rest.is_empty() || rest.contains(char::is_whitespace) {
        return Err(ApiError::field("base_url", "must be a URL with a host"));
    }
    Ok(Some(url.trim_end_matches('/').to_string()))
}

/// Creates a channel from the admin API's JSON body.
pub async fn create(app: &App, body: &Value) -> ApiResult<Value> {
    let obj = body.as_object().ok_or_else(|| ApiError::field("body", "must be a JSON object"))?;
    let name = str_field(obj, "", "name")?.trim().to_string();
    let provider_raw = str_field(obj, "", "provider")?;
    let provider = ProviderKind::parse(provider_raw).ok_or_else(|| {
        ApiError::field(
            "provider",
            format!("'{provider_raw}' is not one of {}", app.providers.names().join(", ")),
        )
    })?;
    let credentials =
        provider_for(app, provider)?.parse_credentials(obj.get("credentials")).map_err(credentials_error)?;
    let base_url = parse_base_url(opt_str(obj, "", "base_url")?)?;
    let numbers_raw = match obj.get("numbers") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        Some(Value::Array(_)) => return Err(ApiError::field("numbers", "must list at least one number")),
        Some(_) => return Err(ApiError::field("numbers", "must be an array")),
        None => return Err(ApiError::field("numbers", "is required")),
    };
    let mut numbers: Vec<ChannelNumber> = Vec::with_capacity(numbers_raw.len());
    for (i, n) in numbers_raw.iter().enumerate() {
        let parsed = parse_number(app, i, n).await?;
        if numbers.iter().any(|x| x.number == parsed.number) {
            return Err(ApiError::field(format!("numbers[{i}].number"), "is listed twice"));
        }
        numbers.push(parsed);
    }
    let language = opt_str(obj, "", "language")?.map(str::to_string);
    let attachments = match obj.get("attachments") {
        None | Some(Value::Null) => AttachmentPolicy::default(),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| {
            ApiError::field("attachments", format!("must be {{\"customer\": bool, \"agent\": bool}} ({e})"))
        })?,
    };
    let channel = Channel {
        id: ChannelId::new(app.ids.new_id(ChannelId::PREFIX)),
        name,
        provider,
        base_url,
        numbers,
        language,
        attachments,
        created_at: app.clock.now(),
    };
    app.secrets.put_credentials(&channel.id, &credentials).await?;
    app.store.put_channel(&channel).await?;
    tracing::info!(channel = %channel.id, provider = %provider, "channel created");
    Ok(view(app, &channel, &credentials))
}

pub fn callback_url(app: &App, channel: &Channel) -> String {
    format!("{}/webhooks/{}/{}", app.config.public_base_url, channel.provider, channel.id)
}

/// A channel as the API shows it: numbers in E.164, credentials redacted, the callback URL to paste into the
/// provider's portal.
pub fn view(app: &App, channel: &Channel, credentials: &Credentials) -> Value {
    json!({
        "id": channel.id,
        "name": channel.name,
        "provider": channel.provider,
        "base_url": channel.base_url,
        "callback_url": callback_url(app, channel),
        "numbers": channel.numbers.iter().map(|n| json!({
            "number": n.number, "type": n.number_type, "description": n.description, "queue": n.queue,
        })).collect::<Vec<_>>(),
        "language": channel.language,
        "attachments": channel.attachments,
        "credentials": redacted(app, credentials),
        "created_at": channel.created_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
    })
}

pub async fn get(app: &App, id: &str) -> ApiResult<(Channel, Credentials)> {
    let id = ChannelId::new(id);
    let channel =
        app.store.get_channel(&id).await?.ok_or_else(|| ApiError::not_found(format!("no channel '{id}'")))?;
    let credentials = app.secrets.get_credentials(&id).await?.ok_or_else(|| {
        ApiError::new(axum::http::StatusCode::INTERNAL_SERVER_ERROR, "internal", "channel has no credentials")
    })?;
    Ok((channel, credentials))
}

/// Replaces a channel's credentials (key rotation). Sends use the new key at once; a provider that signs
/// its webhooks with the key keeps the replaced one verifying them for its grace period, so texts signed
/// during the change-over are not refused (the answer then shows `previous_key_valid_until`).
pub async fn rotate(app: &App, id: &str, body: &Value) -> ApiResult<Value> {
    let (channel, old) = get(app, id).await?;
    let provider = provider_for(app, channel.provider)?;
    let fresh = provider.parse_credentials(Some(body)).map_err(credentials_error)?;
    let fresh = provider.rotate(&old, fresh, app.clock.now());
    app.secrets.put_credentials(&channel.id, &fresh).await?;
    tracing::info!(channel = %channel.id, "channel credentials rotated");
    Ok(view(app, &channel, &fresh))
}

/// Proves the channel's credentials with the provider's cheapest read-only call.
pub async fn validate(app: &App, id: &str) -> ApiResult<Value> {
    let (channel, credentials) = get(app, id).await?;
    let provider = app
        .providers
        .for_channel(&channel, &credentials)
        .map_err(|e| ApiError::field("provider", e.to_string()))?;
    match provider.validate().await {
        Validation::Valid => Ok(json!({"valid": true})),
        Validation::Invalid { reason } => Ok(json!({"valid": false, "reason": reason})),
        Validation::Unreachable { reason } => Err(ApiError::new(
            axum::http::StatusCode::BAD_GATEWAY,
            "provider_unreachable",
            format!("{} could not be reached: {reason}", channel.provider),
        )),
    }
}
