//! Channels: a provider account, its credentials (kept in the secret store, never returned) and its numbers,
//! each feeding a queue. Input is checked field by field so a 400 says which field broke which rule.

use crate::App;
use crate::error::{ApiError, ApiResult};
use crate::http::views::{AttachmentsView, ChannelView, MediaCapability, NumberView, ValidationView};
use serde_json::{Map, Value, json};
use smsdesk_domain::automated::{DEFAULT_LANGUAGE, effective_templates, validate_messaging};
use smsdesk_domain::lifecycle;
use smsdesk_domain::pacing;
use smsdesk_domain::*;
use smsdesk_ports::Credentials;
use smsdesk_providers::{CredentialsError, Provider, Validation};
use utoipa::ToSchema;

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

/// The body of `POST /v1/channels`, as `/openapi.json` describes it. The handler reads the JSON field by
/// field ([`create`]) so that a 400 names the exact field (`numbers[2].queue`) and the rule it broke.
#[derive(ToSchema)]
#[allow(dead_code)] // the schema of the body [`create`] reads
pub struct NewChannel {
    #[schema(min_length = 1)]
    name: String,
    /// `telesign`, `twilio`, `acs`, `vonage`, `aws` (and `sandbox` in `smsdesk dev`).
    #[schema(example = "twilio")]
    provider: String,
    /// By provider: telesign `customer_id`, `api_key`; twilio `account_sid`, `auth_token`; acs `endpoint`,
    /// `access_key`; vonage `api_key`, `api_secret`, `signature_secret`?, `signature_method`?; aws `region`,
    /// `origination_identity`. Never returned: reads show them redacted.
    #[schema(value_type = Object)]
    credentials: Value,
    /// Overrides the provider's API host (`https://host[:port]`).
    base_url: Option<String>,
    /// The exact URL the provider calls for this channel's webhooks, when not the default.
    public_url: Option<String>,
    numbers: Vec<NewNumber>,
    language: Option<String>,
    /// Close a conversation after this many seconds without a message.
    inactivity_secs: Option<u64>,
    #[schema(value_type = Option<Object>)]
    attachments: Option<AttachmentsView>,
}

/// A number of a channel request.
#[derive(ToSchema)]
#[allow(dead_code)] // the schema of the body [`parse_number`] reads
pub struct NewNumber {
    /// Digits only, with the country code, no `+` (3 to 6 digits for a short code).
    #[schema(example = "15557654321")]
    number: String,
    /// `geo`, `short_code` or `toll_free`.
    #[schema(rename = "type", example = "geo")]
    number_type: String,
    description: Option<String>,
    /// The queue its texts go to.
    queue: String,
    /// Messages per second, from 0.01 to 1000; the type's default when absent.
    #[schema(minimum = 0.01, maximum = 1000)]
    send_rate: Option<f64>,
}

/// The body of `PATCH /v1/channels/{id}`: a JSON merge patch (RFC 7396) of the channel's settings. `null`
/// removes an optional one (`language`, `base_url`, `public_url`, `inactivity_secs`) and resets any other
/// setting to its default, at any depth (`{"attachments": null}`, `{"automated_messages": {"es": {"greeting":
/// null}}}`: the built-in greeting); `name` has no default and refuses it. Any other field is refused with a
/// 400 naming it (numbers and credentials have their own routes).
#[derive(ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // the schema of the body [`patch`] reads
pub struct ChannelPatch {
    #[schema(nullable = false, min_length = 1)]
    name: Option<String>,
    language: Option<String>,
    base_url: Option<String>,
    public_url: Option<String>,
    inactivity_secs: Option<u64>,
    /// null: the default (no media either way, the built-in refusal text, the provider's limits).
    #[schema(value_type = Option<Object>)]
    attachments: Option<Value>,
    /// null: the default, true.
    automated_messages_enabled: Option<bool>,
    /// null: the built-in texts only.
    #[schema(value_type = Option<Object>)]
    automated_messages: Option<Value>,
    /// null: the built-in keywords only.
    #[schema(value_type = Option<Object>)]
    consent_keywords: Option<Value>,
    /// null: the default, false.
    smart_encoding: Option<bool>,
    /// null: the built-in language keywords only.
    #[schema(value_type = Option<Object>)]
    language_keywords: Option<Value>,
}

/// The body of `PUT /v1/channels/{id}/numbers`.
#[derive(ToSchema)]
#[allow(dead_code)] // the schema of the body [`set_numbers`] reads
pub struct NumbersBody {
    numbers: Vec<NewNumber>,
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
    smsdesk_domain::validation::check_display_name(&format!("{path}description"), &description)?;
    let queue = QueueId::new(str_field(obj, &path, "queue")?);
    if app.store.get_queue(&queue).await?.is_none() {
        return Err(ApiError::field(format!("{path}queue"), format!("no queue '{queue}'")));
    }
    let menu = match opt_str(obj, &path, "menu")? {
        None => None,
        Some(m) => {
            let menu = MenuId::new(m);
            if app.store.get_menu(&menu).await?.is_none() {
                return Err(ApiError::field(format!("{path}menu"), format!("no menu '{menu}'")));
            }
            Some(menu)
        }
    };
    let send_rate = parse_send_rate(obj.get("send_rate"), &path)?;
    Ok(ChannelNumber { number, number_type, description, queue, menu, send_rate })
}

/// A number's `send_rate`: absent or null for its type's default, else a number of messages per second
/// within [`pacing::MIN_SEND_RATE`] and [`pacing::MAX_SEND_RATE`] ([`pacing::check_rate`]).
fn parse_send_rate(value: Option<&Value>, path: &str) -> ApiResult<Option<f64>> {
    let field = || format!("{path}send_rate");
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_f64()
            .ok_or(pacing::SendRateOutOfRange)
            .and_then(pacing::check_rate)
            .map(Some)
            .map_err(|e| ApiError::field(field(), e)),
        Some(_) => Err(ApiError::field(field(), pacing::SendRateOutOfRange)),
    }
}

/// The numbers of a request body (`numbers`: an array, each checked, none listed twice). It may be empty: a
/// channel whose only number moved to another provider keeps its settings and takes no text until it gets
/// one again.
async fn parse_numbers(app: &App, obj: &Map<String, Value>) -> ApiResult<Vec<ChannelNumber>> {
    let numbers_raw = match obj.get("numbers") {
        Some(Value::Array(a)) => a,
        Some(_) => return Err(ApiError::field("numbers", "must be an array")),
        None => return Err(ApiError::field("numbers", "is required")),
    };
    // Before any is read: each number costs a lookup of its queue.
    if numbers_raw.len() > MAX_CHANNEL_NUMBERS {
        return Err(ApiError::field(
            "numbers",
            format!("at most {MAX_CHANNEL_NUMBERS} numbers on one channel"),
        ));
    }
    let mut numbers: Vec<ChannelNumber> = Vec::with_capacity(numbers_raw.len());
    let mut listed = std::collections::HashSet::new();
    for (i, n) in numbers_raw.iter().enumerate() {
        let parsed = parse_number(app, i, n).await?;
        if !listed.insert(parsed.number.clone()) {
            return Err(ApiError::field(format!("numbers[{i}].number"), "is listed twice"));
        }
        numbers.push(parsed);
    }
    Ok(numbers)
}

/// The most numbers one channel lists.
const MAX_CHANNEL_NUMBERS: usize = 1000;

/// A number belongs to one provider account: inbound texts and sends must not depend on which of two
/// channels claims it. 409 naming the channel that has one of `numbers` (other than `except`).
async fn refuse_numbers_in_use(
    app: &App,
    numbers: &[ChannelNumber],
    except: Option<&ChannelId>,
) -> ApiResult<()> {
    for existing in app.store.list_channels().await? {
        if Some(&existing.id) == except {
            continue;
        }
        if let Some((i, n)) = numbers.iter().enumerate().find(|(_, n)| existing.number(&n.number).is_some()) {
            return Err(ApiError::conflict(
                "number_in_use",
                format!("numbers[{i}].number: {} is already on channel '{}'", n.number, existing.id),
            ));
        }
    }
    Ok(())
}

/// At most [`MAX_NUMBER_CHANGES`] numbers taken and given up by one write of `channel` over `stored`.
fn refuse_too_many_changes(channel: &Channel, stored: Option<&Channel>) -> ApiResult<()> {
    let changes = channel.number_changes(stored).len();
    if changes > MAX_NUMBER_CHANGES {
        return Err(ApiError::field(
            "numbers",
            format!(
                "{changes} numbers are added or removed; at most {MAX_NUMBER_CHANGES} may be in one request \
                 (set more in several requests)"
            ),
        ));
    }
    Ok(())
}

/// Stores `channel`, its numbers claimed for it in the same write: 409 `number_in_use` when another channel
/// took one of them since [`refuse_numbers_in_use`] looked (concurrent requests: exactly one gets it).
async fn store_channel(app: &App, channel: &Channel) -> ApiResult<()> {
    match app.store.put_channel(channel).await? {
        smsdesk_ports::ChannelWrite::Stored => Ok(()),
        smsdesk_ports::ChannelWrite::NumberTaken { number, channel: other } => {
            let i = channel.numbers.iter().position(|n| n.number == number).unwrap_or_default();
            Err(ApiError::conflict(
                "number_in_use",
                format!("numbers[{i}].number: {number} is already on channel '{other}'"),
            ))
        }
    }
}

/// An admin-set `public_url`: the exact URL the provider calls for this channel's webhooks (behind a proxy,
/// a custom domain or an API Gateway stage). `https://` (plain `http://` only to a loopback host where
/// [`crate::Config::allow_loopback_http`] says so), a host and a path; no user info, query or fragment (a
/// webhook's query string is the request's own: Twilio adds `bodySHA256`, status callbacks our message id).
/// Returned as given (trimmed): the provider signs the URL exactly as it is configured.
pub fn parse_public_url(value: Option<&str>, allow_loopback_http: bool) -> ApiResult<Option<String>> {
    let Some(raw) = value.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
    let rule = |why: &str| ApiError::field("public_url", why.to_string());
    let url = reqwest::Url::parse(raw).map_err(|e| rule(&format!("is not a URL ({e})")))?;
    if !raw.to_ascii_lowercase().starts_with(&format!("{}://", url.scheme())) {
        return Err(rule("must start with https://"));
    }
    let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| rule("must name a host"))?;
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if allow_loopback_http && loopback => {}
        "http" if allow_loopback_http => {
            return Err(rule("must start with https:// (http:// only to a loopback host, for local tests)"));
        }
        _ => return Err(rule("must start with https://")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(rule("must not carry user info (user:password@)"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(rule("must not carry a query or fragment (the request's own query is added)"));
    }
    if raw.len() > 2048 {
        return Err(rule("must be at most 2048 characters"));
    }
    Ok(Some(raw.to_string()))
}

/// An admin-set `base_url` (the provider's API host): `https://` and a host (and port), nothing else: no
/// path, query, fragment or user info, so a channel cannot point credentials at an odd place. Plain `http://`
/// only to a loopback host, and only where [`crate::Config::allow_loopback_http`] says so (`smsdesk dev` and
/// tests, for fake providers); never in the Lambda functions. Returns it normalized (`https://host[:port]`).
pub fn parse_base_url(value: Option<&str>, allow_loopback_http: bool) -> ApiResult<Option<String>> {
    let Some(raw) = value.map(str::trim).filter(|s| !s.is_empty()) else { return Ok(None) };
    let rule = |why: &str| ApiError::field("base_url", why.to_string());
    let url = reqwest::Url::parse(raw).map_err(|e| rule(&format!("is not a URL ({e})")))?;
    if !raw.to_ascii_lowercase().starts_with(&format!("{}://", url.scheme())) {
        return Err(rule("must start with https://"));
    }
    let host = url.host_str().filter(|h| !h.is_empty()).ok_or_else(|| rule("must name a host"))?;
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match url.scheme() {
        "https" => {}
        "http" if allow_loopback_http && loopback => {}
        "http" if allow_loopback_http => {
            return Err(rule("must start with https:// (http:// only to a loopback host, for local tests)"));
        }
        _ => return Err(rule("must start with https://")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(rule("must not carry user info (user:password@)"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(rule("must be a host only, with no path, query or fragment"));
    }
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    Ok(Some(format!("{}://{host}{port}", url.scheme())))
}

/// Creates a channel from the admin API's JSON body.
pub async fn create(app: &App, body: &Value) -> ApiResult<ChannelView> {
    let obj = body.as_object().ok_or_else(|| ApiError::field("body", "must be a JSON object"))?;
    let name = str_field(obj, "", "name")?.trim().to_string();
    smsdesk_domain::validation::check_display_name("name", &name)?;
    let provider_raw = str_field(obj, "", "provider")?;
    let provider = ProviderKind::parse(provider_raw).ok_or_else(|| {
        ApiError::field(
            "provider",
            format!("'{provider_raw}' is not one of {}", app.providers.names().join(", ")),
        )
    })?;
    let credentials =
        provider_for(app, provider)?.parse_credentials(obj.get("credentials")).map_err(credentials_error)?;
    let base_url = parse_base_url(opt_str(obj, "", "base_url")?, app.config.allow_loopback_http)?;
    let public_url = parse_public_url(opt_str(obj, "", "public_url")?, app.config.allow_loopback_http)?;
    let numbers = parse_numbers(app, obj).await?;
    refuse_numbers_in_use(app, &numbers, None).await?;
    let language = opt_str(obj, "", "language")?.map(str::to_string);
    let inactivity_secs = match obj.get("inactivity_secs") {
        None | Some(Value::Null) => None,
        Some(v) => {
            let secs = v
                .as_u64()
                .ok_or_else(|| ApiError::field("inactivity_secs", "must be a whole number of seconds"))?;
            lifecycle::validate_inactivity(secs).map_err(|e| ApiError::field(e.field, e.rule))?;
            Some(secs)
        }
    };
    let attachments = match obj.get("attachments") {
        None | Some(Value::Null) => AttachmentPolicy::default(),
        Some(v) => serde_json::from_value(v.clone()).map_err(|e| {
            ApiError::field("attachments", format!("must be {{\"customer\": bool, \"agent\": bool}} ({e})"))
        })?,
    };
    check_attachments(&attachments, provider)?;
    let channel = Channel {
        id: ChannelId::new(app.ids.new_id(ChannelId::PREFIX)),
        name,
        provider,
        base_url,
        public_url,
        numbers,
        language,
        attachments,
        created_at: app.clock.now(),
        messaging: Default::default(),
        inactivity_secs,
        former_numbers: Vec::new(),
    };
    // The messaging settings may be given at creation too, by the same rules as a PATCH.
    let settings: Map<String, Value> = obj
        .iter()
        .filter(|(k, _)| SETTINGS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let channel = apply_patch(app, &channel, &Value::Object(settings))?;
    refuse_too_many_changes(&channel, None)?;
    app.secrets.put_credentials(&channel.id, &credentials).await?;
    store_channel(app, &channel).await?;
    tracing::info!(channel = %channel.id, provider = %provider, "channel created");
    // A number taken off another channel to come here brings its open conversations (as with PUT numbers).
    take_open_conversations(app, &channel).await?;
    Ok(view(app, &channel, &credentials))
}

/// A channel's attachment settings, within its provider's media limits (400 naming the field and rule).
fn check_attachments(attachments: &AttachmentPolicy, provider: ProviderKind) -> ApiResult<()> {
    let limits = smsdesk_domain::media::MediaLimits::for_provider(provider);
    smsdesk_domain::media::validate_policy(attachments, &limits).map_err(|e| ApiError::field(e.field, e.rule))
}

/// The messaging settings of a channel (see [`MessagingSettings`]), set at creation or by `PATCH`.
const SETTINGS: &[&str] = &[
    "automated_messages_enabled",
    "automated_messages",
    "consent_keywords",
    "smart_encoding",
    "language_keywords",
];

/// Channel fields that are left out of the stored JSON while unset, and that a `PATCH` may set.
const OPTIONAL: &[&str] = &["base_url", "public_url", "inactivity_secs", "language"];

/// Fields a `PATCH` may not change: identity, provider, and what has its own route.
const IMMUTABLE: &[(&str, &str)] = &[
    ("id", "is the channel's identity"),
    ("created_at", "is set when the channel is created"),
    ("provider", "cannot change: create a channel for another provider"),
    ("credentials", "are changed with PUT /v1/channels/{id}/credentials"),
    ("numbers", "are changed with PUT /v1/channels/{id}/numbers"),
    ("callback_url", "is derived from the channel's id and provider"),
];

/// Consent keywords as the API shows them: the built-in lists, and per language the admin's and built-in.
fn keywords_view(channel: &Channel) -> Value {
    use smsdesk_domain::consent::{HELP, OPT_IN, OPT_OUT};
    let mut per_language = serde_json::Map::new();
    for lang in ["es"] {
        if let Some(lists) = smsdesk_domain::automated::default_keywords(lang) {
            per_language.insert(lang.into(), json!(lists));
        }
    }
    for (lang, lists) in &channel.messaging.consent_keywords {
        let mut merged = smsdesk_domain::automated::default_keywords(lang).unwrap_or_default();
        merged.opt_out.extend(lists.opt_out.iter().cloned());
        merged.opt_in.extend(lists.opt_in.iter().cloned());
        merged.help.extend(lists.help.iter().cloned());
        per_language.insert(lang.clone(), json!(merged));
    }
    json!({"built_in": {"opt_out": OPT_OUT, "opt_in": OPT_IN, "help": HELP}, "languages": per_language})
}

/// RFC 7386 JSON merge patch: objects merge key by key, `null` removes, anything else replaces.
fn merge_patch(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(k);
                } else {
                    merge_patch(t.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (target, Value::Object(p)) => {
            *target = Value::Object(Map::new());
            merge_patch(target, &Value::Object(p.clone()));
        }
        (target, patch) => *target = patch.clone(),
    }
}

/// The defaults of a channel's settings, as JSON: what `null` in a `PATCH` resets each one to (the
/// attachment policy, and the messaging settings: automated messages on with the built-in texts, no keywords
/// of the admin's, smart encoding off).
fn settings_defaults() -> Value {
    let mut defaults = serde_json::to_value(MessagingSettings::default()).unwrap_or_default();
    if let Value::Object(fields) = &mut defaults {
        fields.insert(
            "attachments".into(),
            serde_json::to_value(AttachmentPolicy::default()).unwrap_or_default(),
        );
        // Left out of the stored JSON while empty; its default is still an empty map.
        fields.entry("language_keywords").or_insert_with(|| json!({}));
    }
    defaults
}

/// `channel` with `patch` merged in (JSON merge patch), checked field by field. `null` resets a setting to
/// its default ([`settings_defaults`]) and unsets an optional one; `name` has no default and refuses it.
fn apply_patch(app: &App, channel: &Channel, patch: &Value) -> ApiResult<Channel> {
    let obj =
        patch.as_object().ok_or_else(|| ApiError::field("body", "must be a JSON object (a merge patch)"))?;
    let mut merged = serde_json::to_value(channel).map_err(|e| ApiError::field("body", e))?;
    let known: Vec<String> = merged.as_object().map(|m| m.keys().cloned().collect()).unwrap_or_default();
    for key in obj.keys() {
        if let Some((_, rule)) = IMMUTABLE.iter().find(|(k, _)| k == key) {
            return Err(ApiError::field(key, rule));
        }
        if !known.contains(key) && !SETTINGS.contains(&key.as_str()) && !OPTIONAL.contains(&key.as_str()) {
            return Err(ApiError::field(key, "is not a channel setting"));
        }
    }
    if obj.get("name").is_some_and(Value::is_null) {
        return Err(ApiError::field("name", crate::http::queues::NO_DEFAULT));
    }
    merge_patch(&mut merged, patch);
    crate::http::queues::reset_to_defaults(&mut merged, patch, &settings_defaults());
    // Each patched field is read on its own first, so a wrong type names its field.
    let fields = merged.as_object().cloned().unwrap_or_default();
    for key in obj.keys() {
        let value = fields.get(key).cloned().unwrap_or(Value::Null);
        let checked = match key.as_str() {
            "name" => serde_json::from_value::<String>(value).map(|_| ()),
            "language" | "base_url" | "public_url" => {
                serde_json::from_value::<Option<String>>(value).map(|_| ())
            }
            "inactivity_secs" => serde_json::from_value::<Option<u64>>(value).map(|_| ()),
            "attachments" => serde_json::from_value::<AttachmentPolicy>(value).map(|_| ()),
            "automated_messages_enabled" | "smart_encoding" => {
                serde_json::from_value::<bool>(value).map(|_| ())
            }
            "automated_messages" => {
                serde_json::from_value::<smsdesk_domain::automated::Templates>(value).map(|_| ())
            }
            "language_keywords" => {
                serde_json::from_value::<std::collections::BTreeMap<String, Vec<String>>>(value).map(|_| ())
            }
            "consent_keywords" => serde_json::from_value::<
                std::collections::BTreeMap<String, smsdesk_domain::consent::KeywordLists>,
            >(value)
            .map(|_| ()),
            _ => Ok(()),
        };
        checked.map_err(|e| ApiError::field(key, e))?;
    }
    let mut updated: Channel = serde_json::from_value(merged).map_err(|e| ApiError::field("body", e))?;
    if obj.contains_key("name") {
        updated.name = updated.name.trim().to_string();
        if updated.name.is_empty() {
            return Err(ApiError::field("name", "must not be empty"));
        }
        smsdesk_domain::validation::check_display_name("name", &updated.name)?;
    }
    if obj.contains_key("base_url") {
        updated.base_url = parse_base_url(updated.base_url.as_deref(), app.config.allow_loopback_http)?;
    }
    if obj.contains_key("public_url") {
        updated.public_url = parse_public_url(updated.public_url.as_deref(), app.config.allow_loopback_http)?;
    }
    if obj.contains_key("attachments") {
        check_attachments(&updated.attachments, updated.provider)?;
    }
    if let Some(secs) = updated.inactivity_secs.filter(|_| obj.contains_key("inactivity_secs")) {
        lifecycle::validate_inactivity(secs).map_err(|e| ApiError::field(e.field, e.rule))?;
    }
    validate_messaging(updated.language.as_deref(), &updated.messaging)
        .map_err(|e| ApiError::field(e.field, e.rule))?;
    Ok(updated)
}

/// `PATCH /v1/channels/{id}`: changes settings with JSON merge patch semantics; answers the channel as GET.
pub async fn patch(app: &App, id: &str, body: &Value) -> ApiResult<ChannelView> {
    let (channel, credentials) = get(app, id).await?;
    let updated = apply_patch(app, &channel, body)?;
    store_channel(app, &updated).await?;
    tracing::info!(channel = %updated.id, "channel settings changed");
    Ok(view(app, &updated, &credentials))
}

/// The URL the provider calls for this channel's webhooks: the channel's `public_url` when the admin set
/// one, else `<webhook base URL>/webhooks/<provider>/<channel id>` (the API's, or the function URL's).
pub fn callback_url(app: &App, channel: &Channel) -> String {
    match &channel.public_url {
        Some(url) => url.clone(),
        None => format!("{}/webhooks/{}/{}", app.config.webhook_base_url(), channel.provider, channel.id),
    }
}

/// A channel as the API shows it: numbers in E.164, credentials redacted, the callback URL to paste into the
/// provider's portal.
pub fn view(app: &App, channel: &Channel, credentials: &Credentials) -> ChannelView {
    ChannelView {
        id: channel.id.clone(),
        name: channel.name.clone(),
        provider: channel.provider,
        base_url: channel.base_url.clone(),
        public_url: channel.public_url.clone(),
        callback_url: callback_url(app, channel),
        numbers: channel
            .numbers
            .iter()
            .map(|n| NumberView {
                number: n.number.clone(),
                number_type: n.number_type,
                description: n.description.clone(),
                queue: n.queue.clone(),
                menu: n.menu.clone(),
                send_rate: n.send_rate(),
            })
            .collect(),
        former_numbers: channel
            .former_numbers
            .iter()
            .filter(|f| app.clock.now() - f.left_at < smsdesk_domain::model::FORMER_NUMBER_GRACE)
            .map(|f| crate::http::views::FormerNumberView {
                number: f.number.clone(),
                left_at: crate::http::views::ts(f.left_at),
                late_webhooks_until: crate::http::views::ts(
                    f.left_at + smsdesk_domain::model::FORMER_NUMBER_GRACE,
                ),
            })
            .collect(),
        language: Some(channel.language.clone().unwrap_or_else(|| DEFAULT_LANGUAGE.to_string())),
        inactivity_secs: channel.inactivity_secs,
        attachments: AttachmentsView::from(&channel.attachments),
        media: media_view(app, channel),
        automated_messages_enabled: channel.messaging.automated_messages_enabled,
        automated_messages: serde_json::to_value(effective_templates(&channel.messaging.automated_messages))
            .unwrap_or_default(),
        consent_keywords: keywords_view(channel),
        language_keywords: smsdesk_domain::language::language_names(&channel.messaging),
        smart_encoding: channel.messaging.smart_encoding,
        credentials: redacted(app, credentials),
        created_at: crate::http::views::ts(channel.created_at),
        moved_conversations: None,
    }
}

/// What media the channel carries (issue 14): its provider's support each way (with the reason where a
/// direction is missing) and the limits an item must keep (the channel's, within its provider's).
fn media_view(app: &App, channel: &Channel) -> MediaCapability {
    let support = app.providers.get(channel.provider.as_str()).map(|p| p.media_support());
    let limits = channel.media_limits();
    MediaCapability {
        inbound: support.is_some_and(|s| s.inbound),
        outbound: support.is_some_and(|s| s.outbound),
        note: support.and_then(|s| s.note).map(str::to_string),
        max_bytes: limits.max_bytes,
        max_items: limits.max_items,
        max_message_bytes: crate::services::media::bytes_per_message(app, channel.provider),
        types: smsdesk_domain::media_send::types(channel.provider).iter().map(|t| t.to_string()).collect(),
    }
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
pub async fn rotate(app: &App, id: &str, body: &Value) -> ApiResult<ChannelView> {
    let (channel, old) = get(app, id).await?;
    let provider = provider_for(app, channel.provider)?;
    let fresh = provider.parse_credentials(Some(body)).map_err(credentials_error)?;
    let fresh = provider.rotate(&old, fresh, app.clock.now());
    app.secrets.put_credentials(&channel.id, &fresh).await?;
    app.webhook_keys.forget(&channel.id);
    tracing::info!(channel = %channel.id, "channel credentials rotated");
    Ok(view(app, &channel, &fresh))
}

/// `PUT /v1/channels/{id}/numbers`: sets the channel's numbers. A number on another channel is refused
/// (409 naming it): to move a number to another provider, take it off its channel, then put it here. The
/// open conversations of this channel's numbers that another channel started then go on here (issue 9.9):
/// the customer's next text through this channel lands in them, and replies go out through this
/// channel's provider. Repeating the request finishes a move that was cut short.
pub async fn set_numbers(app: &App, id: &str, body: &Value) -> ApiResult<ChannelView> {
    let (mut channel, credentials) = get(app, id).await?;
    let obj = body.as_object().ok_or_else(|| ApiError::field("body", "must be a JSON object"))?;
    if let Some(key) = obj.keys().find(|k| k.as_str() != "numbers") {
        return Err(ApiError::field(key, "is not a field of this request (only numbers)"));
    }
    let numbers = parse_numbers(app, obj).await?;
    refuse_numbers_in_use(app, &numbers, Some(&channel.id)).await?;
    let stored = channel.clone();
    channel.set_numbers(numbers, app.clock.now());
    refuse_too_many_changes(&channel, Some(&stored))?;
    store_channel(app, &channel).await?;
    tracing::info!(channel = %channel.id, numbers = channel.numbers.len(), "channel numbers set");
    let moved = take_open_conversations(app, &channel).await?;
    Ok(ChannelView { moved_conversations: Some(moved as u64), ..view(app, &channel, &credentials) })
}

/// Moves to `channel` every open conversation on one of its numbers that another channel holds; returns
/// how many moved. Consent is kept per (number, customer), so a customer's opt-out on the number stays with
/// it: the new channel refuses what the old one would have refused.
async fn take_open_conversations(app: &App, channel: &Channel) -> ApiResult<usize> {
    let mut moved = 0;
    for c in app.store.open_conversations().await? {
        if c.channel_id == channel.id || channel.number(&c.channel_number).is_none() {
            continue;
        }
        match app.store.move_conversation(&c.id, &channel.id).await? {
            Some(_) => {
                moved += 1;
                tracing::info!(conversation = %c.id, from = %c.channel_id, to = %channel.id, "conversation moved with its number");
            }
            None => {
                tracing::warn!(conversation = %c.id, from = %c.channel_id, to = %channel.id, "conversation not moved: closed, or the customer has another open one here");
            }
        }
    }
    Ok(moved)
}

/// Proves the channel's credentials with the provider's cheapest read-only call.
pub async fn validate(app: &App, id: &str) -> ApiResult<ValidationView> {
    let (channel, credentials) = get(app, id).await?;
    let provider = app
        .providers
        .for_channel(&channel, &credentials)
        .map_err(|e| ApiError::field("provider", e.to_string()))?;
    match provider.validate().await {
        Validation::Valid => Ok(ValidationView { valid: true, reason: None }),
        Validation::Invalid { reason } => Ok(ValidationView { valid: false, reason: Some(reason) }),
        Validation::Unreachable { reason } => Err(ApiError::new(
            axum::http::StatusCode::BAD_GATEWAY,
            "provider_unreachable",
            format!("{} could not be reached: {reason}", channel.provider),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_base_url;

    fn ok(url: &str, loopback: bool) -> String {
        match parse_base_url(Some(url), loopback) {
            Ok(Some(u)) => u,
            other => panic!("{url}: {other:?}"),
        }
    }

    fn refused(url: &str, loopback: bool) -> String {
        match parse_base_url(Some(url), loopback) {
            Err(e) => e.message,
            Ok(v) => panic!("{url} should be refused, got {v:?}"),
        }
    }

    #[test]
    fn https_hosts_are_accepted_and_normalized() {
        assert_eq!(ok("https://rest-ww.telesign.com", false), "https://rest-ww.telesign.com");
        assert_eq!(ok(" https://rest-api.telesign.com/ ", false), "https://rest-api.telesign.com");
        assert_eq!(ok("https://api.example.com:8443", false), "https://api.example.com:8443");
        assert_eq!(parse_base_url(None, false), Ok(None));
        assert_eq!(parse_base_url(Some("  "), false), Ok(None));
    }

    #[test]
    fn paths_queries_user_info_and_other_schemes_are_refused() {
        for url in [
            "https://rest-api.telesign.com/v1",
            "https://rest-api.telesign.com/?x=1",
            "https://rest-api.telesign.com#frag",
            "https://user:pw@rest-api.telesign.com",
            "https://evil@rest-api.telesign.com",
            "ftp://rest-api.telesign.com",
            "rest-api.telesign.com",
            "https:rest-api.telesign.com",
            "https://",
        ] {
            let message = refused(url, true);
            assert!(message.starts_with("base_url: "), "{url}: {message}");
        }
    }

    #[test]
    fn a_public_url_is_https_with_a_path_and_kept_as_given() {
        use super::parse_public_url;
        let ok = |url: &str, loopback: bool| parse_public_url(Some(url), loopback);
        assert_eq!(
            ok(" https://sms.example.com/in/twilio ", false).unwrap().as_deref(),
            Some("https://sms.example.com/in/twilio")
        );
        assert_eq!(
            ok("https://sms.example.com:8443/", false).unwrap().as_deref(),
            Some("https://sms.example.com:8443/")
        );
        assert_eq!(ok("http://127.0.0.1:9/edge", true).unwrap().as_deref(), Some("http://127.0.0.1:9/edge"));
        assert_eq!(parse_public_url(None, false), Ok(None));
        for (url, loopback) in [
            ("http://127.0.0.1:9/edge", false),
            ("http://sms.example.com/in", true),
            ("https://sms.example.com/in?x=1", false),
            ("https://sms.example.com/in#f", false),
            ("https://u:p@sms.example.com/in", false),
            ("sms.example.com/in", false),
        ] {
            let refused = ok(url, loopback).expect_err(url);
            assert!(refused.message.starts_with("public_url: "), "{url}: {}", refused.message);
        }
    }

    #[test]
    fn plain_http_only_to_loopback_and_only_when_allowed() {
        assert_eq!(ok("http://127.0.0.1:4010", true), "http://127.0.0.1:4010");
        assert_eq!(ok("http://localhost:4010/", true), "http://localhost:4010");
        assert_eq!(ok("http://[::1]:4010", true), "http://[::1]:4010");
        assert!(refused("http://127.0.0.1:4010", false).contains("https://"));
        assert!(refused("http://rest-api.telesign.com", true).contains("loopback"));
        assert!(refused("http://10.0.0.1", true).contains("loopback"));
    }
}
