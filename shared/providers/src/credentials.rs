//! What every provider module uses to read and write its credentials: the admin API's JSON in (errors name
//! the field and the rule), the stored fields out and back, secrets kept in `secrecy` types, and a key that
//! was rotated out and still verifies webhooks for a grace period.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};
use smsdesk_domain::ProviderKind;
use smsdesk_ports::Credentials;
use std::time::Duration;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// What reads show in place of a secret.
pub const REDACTED: &str = "********";

/// How long a rotated-out key still verifies webhooks, for providers that sign webhooks with it.
pub const ROTATION_GRACE: Duration = Duration::from_secs(24 * 3600);

/// A field of the credentials broke a rule. `field` is the full path (`credentials.api_key`).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {rule}")]
pub struct CredentialsError {
    pub field: String,
    pub rule: String,
}

impl CredentialsError {
    pub fn new(field: impl Into<String>, rule: impl Into<String>) -> Self {
        Self { field: field.into(), rule: rule.into() }
    }
}

/// The admin API's `credentials` object; required unless the provider needs none. `null` is refused, for
/// the object (a `PUT /v1/channels/{id}/credentials` of `null` would otherwise store no key) and for each of
/// its fields ([`no_null_fields`]).
pub fn input_object(value: Option<&Value>) -> Result<&Map<String, Value>, CredentialsError> {
    match value {
        Some(Value::Object(o)) => no_null_fields(o).map(|()| o),
        None => Err(CredentialsError::new("credentials", "is required")),
        Some(Value::Null) => Err(CredentialsError::new(
            "credentials",
            "must be an object of the provider's credential fields, not null",
        )),
        Some(_) => Err(CredentialsError::new("credentials", "must be an object")),
    }
}

/// Credentials are replaced whole, never merged: a field is given a value or left out, and `null` is no
/// value (it would read as "remove" in a patch, as "absent" here: ambiguous, so refused, naming the field).
pub fn no_null_fields(obj: &Map<String, Value>) -> Result<(), CredentialsError> {
    match obj.iter().find(|(_, v)| v.is_null()) {
        Some((key, _)) => Err(CredentialsError::new(
            format!("credentials.{key}"),
            "must not be null (give a value, or leave an optional field out)",
        )),
        None => Ok(()),
    }
}

/// A required, non-empty string field of the admin API's input, trimmed.
pub fn required(obj: &Map<String, Value>, key: &str) -> Result<String, CredentialsError> {
    let field = || format!("credentials.{key}");
    match obj.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.trim().to_string()),
        Some(Value::String(_)) => Err(CredentialsError::new(field(), "must not be empty")),
        None | Some(Value::Null) => Err(CredentialsError::new(field(), "is required")),
        Some(_) => Err(CredentialsError::new(field(), "must be a string")),
    }
}

/// An optional string field of the admin API's input, trimmed; empty counts as absent.
pub fn optional(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, CredentialsError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.trim().to_string())),
        Some(_) => Err(CredentialsError::new(format!("credentials.{key}"), "must be a string")),
    }
}

/// The stored fields of `provider`'s credentials; refuses another provider's.
pub fn stored(
    credentials: &Credentials,
    provider: ProviderKind,
) -> Result<Map<String, Value>, CredentialsError> {
    if credentials.provider() != provider {
        return Err(CredentialsError::new(
            "credentials",
            format!("are for {}, not {provider}", credentials.provider()),
        ));
    }
    Ok(credentials.fields())
}

/// A required string of the stored form (a missing one means the stored credentials are damaged).
pub fn stored_str(fields: &Map<String, Value>, key: &str) -> Result<String, CredentialsError> {
    fields.get(key).and_then(Value::as_str).map(str::to_string).ok_or_else(|| {
        CredentialsError::new(format!("credentials.{key}"), "is missing from the stored credentials")
    })
}

/// An optional string of the stored form.
pub fn stored_opt(fields: &Map<String, Value>, key: &str) -> Option<String> {
    fields.get(key).and_then(Value::as_str).map(str::to_string)
}

/// A key that was rotated out, still trusted to verify webhooks until `until`. Never used to send.
#[derive(Clone, Debug)]
pub struct RetiredKey {
    pub key: SecretString,
    pub until: OffsetDateTime,
}

/// Stored as `previous_<name>` and `previous_valid_until` (unix seconds) beside the current key.
const PREVIOUS_UNTIL: &str = "previous_valid_until";

impl RetiredKey {
    /// The retired key stored under `previous_<name>`, if any.
    pub fn read(fields: &Map<String, Value>, name: &str) -> Result<Option<Self>, CredentialsError> {
        let key = stored_opt(fields, &format!("previous_{name}"));
        let until = fields.get(PREVIOUS_UNTIL).and_then(Value::as_i64);
        match (key, until) {
            (Some(key), Some(until)) => Ok(Some(RetiredKey {
                key: SecretString::from(key),
                until: OffsetDateTime::from_unix_timestamp(until)
                    .map_err(|e| CredentialsError::new(PREVIOUS_UNTIL, e.to_string()))?,
            })),
            _ => Ok(None),
        }
    }

    /// Writes `previous` (or nulls) into the stored fields.
    pub fn write(fields: &mut Map<String, Value>, name: &str, previous: Option<&RetiredKey>) {
        fields.insert(
            format!("previous_{name}"),
            previous.map_or(Value::Null, |p| Value::String(p.key.expose_secret().to_string())),
        );
        fields
            .insert(PREVIOUS_UNTIL.into(), previous.map_or(Value::Null, |p| json!(p.until.unix_timestamp())));
    }

    /// Still trusted at `now`.
    pub fn active(&self, now: OffsetDateTime) -> bool {
        now < self.until
    }

    /// What reads show about it: only when it stops verifying.
    pub fn redacted_until(previous: Option<&RetiredKey>) -> Option<Value> {
        previous.map(|p| Value::String(p.until.format(&Rfc3339).unwrap_or_default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_errors_name_the_field_and_the_rule() {
        let obj = json!({"a": " ", "b": 3, "c": " x "});
        let obj = obj.as_object().unwrap();
        assert_eq!(required(obj, "a").unwrap_err().to_string(), "credentials.a: must not be empty");
        assert_eq!(required(obj, "b").unwrap_err().to_string(), "credentials.b: must be a string");
        assert_eq!(required(obj, "z").unwrap_err().to_string(), "credentials.z: is required");
        assert_eq!(required(obj, "c").unwrap(), "x");
        assert_eq!(optional(obj, "a").unwrap(), None);
        assert!(optional(obj, "b").is_err());
        assert_eq!(input_object(None).unwrap_err().to_string(), "credentials: is required");
        assert_eq!(
            input_object(Some(&Value::Null)).unwrap_err().to_string(),
            "credentials: must be an object of the provider's credential fields, not null"
        );
        let with_null = json!({"customer_id": "c", "api_key": null});
        assert_eq!(
            input_object(Some(&with_null)).unwrap_err().to_string(),
            "credentials.api_key: must not be null (give a value, or leave an optional field out)"
        );
        assert_eq!(input_object(Some(&json!([]))).unwrap_err().to_string(), "credentials: must be an object");
    }

    #[test]
    fn a_retired_key_round_trips_through_the_stored_fields() {
        let until = OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap();
        let mut fields = Map::new();
        RetiredKey::write(
            &mut fields,
            "api_key",
            Some(&RetiredKey { key: SecretString::from("old"), until }),
        );
        let back = RetiredKey::read(&fields, "api_key").unwrap().unwrap();
        assert_eq!((back.key.expose_secret(), back.until), ("old", until));
        assert!(back.active(until - time::Duration::SECOND) && !back.active(until));
        RetiredKey::write(&mut fields, "api_key", None);
        assert!(RetiredKey::read(&fields, "api_key").unwrap().is_none());
    }
}
