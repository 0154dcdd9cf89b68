//! DynamoDB items from and to the domain's records.
//!
//! A record is stored as native DynamoDB attributes (its serde field names, strings as S, numbers as N,
//! nested objects as M, lists as L, `None` as NULL) so that conditional updates can read and change single
//! fields (`state`, `active`, `status`). Key and index attributes ([`META_ATTRIBUTES`]) are added beside
//! them and removed again before a record is deserialized.

use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Map, Number, Value};
use smsdesk_ports::PortError;
use std::collections::HashMap;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::corrupt;

pub(crate) type Item = HashMap<String, AttributeValue>;

/// Attribute names this crate adds to items; never part of a record. Documented in `infra/TABLES.md`.
pub(crate) const META_ATTRIBUTES: &[&str] = &[
    "pk",
    "sk",
    "entity",
    "wait_queue",
    "wait_order",
    "open_flag",
    "activity",
    "status_rank",
    "claim_until",
    "claim_token",
    "expires_at",
    "expires_ns",
    "target",
    "token_sha256",
    "channel_rev",
];

/// Converts a JSON value into an attribute value.
pub(crate) fn to_attr(value: &Value) -> AttributeValue {
    match value {
        Value::Null => AttributeValue::Null(true),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Array(items) => AttributeValue::L(items.iter().map(to_attr).collect()),
        Value::Object(map) => AttributeValue::M(map.iter().map(|(k, v)| (k.clone(), to_attr(v))).collect()),
    }
}

/// Converts an attribute value back into JSON; binary and set types never come from this crate.
pub(crate) fn from_attr(attr: &AttributeValue) -> Result<Value, PortError> {
    Ok(match attr {
        AttributeValue::Null(_) => Value::Null,
        AttributeValue::Bool(b) => Value::Bool(*b),
        AttributeValue::N(n) => Value::Number(parse_number(n)?),
        AttributeValue::S(s) => Value::String(s.clone()),
        AttributeValue::L(items) => Value::Array(items.iter().map(from_attr).collect::<Result<_, _>>()?),
        AttributeValue::M(map) => Value::Object(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), from_attr(v)?)))
                .collect::<Result<Map<_, _>, PortError>>()?,
        ),
        other => return Err(corrupt(format!("unexpected attribute type {other:?}"))),
    })
}

fn parse_number(n: &str) -> Result<Number, PortError> {
    if let Ok(i) = n.parse::<i64>() {
        return Ok(Number::from(i));
    }
    if let Ok(u) = n.parse::<u64>() {
        return Ok(Number::from(u));
    }
    n.parse::<f64>().ok().and_then(Number::from_f64).ok_or_else(|| corrupt(format!("bad number {n:?}")))
}

/// The record's fields as attributes (without keys).
pub(crate) fn record_item<T: Serialize>(record: &T) -> Result<Item, PortError> {
    match serde_json::to_value(record) {
        Ok(Value::Object(map)) => Ok(map.iter().map(|(k, v)| (k.clone(), to_attr(v))).collect()),
        Ok(other) => Err(PortError::Backend(format!("record is not an object: {other}"))),
        Err(e) => Err(PortError::Backend(format!("record does not serialize: {e}"))),
    }
}

/// Reads a record back from an item, ignoring the key and index attributes.
pub(crate) fn from_item<T: DeserializeOwned>(item: &Item) -> Result<T, PortError> {
    let mut map = Map::new();
    for (k, v) in item {
        if !META_ATTRIBUTES.contains(&k.as_str()) {
            map.insert(k.clone(), from_attr(v)?);
        }
    }
    let pk = item.get("pk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    // Keys and values may hold a customer's number (PHONE#..., OPEN#...): the error names it masked.
    serde_json::from_value(Value::Object(map))
        .map_err(|e| corrupt(smsdesk_domain::redact::scrub(&format!("item {pk}: {e}"))))
}

/// A string attribute of an item.
pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl std::fmt::Display) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// RFC 3339, the form serde gives every record timestamp (so updates write what `put` would).
pub(crate) fn rfc3339(at: OffsetDateTime) -> Result<String, PortError> {
    at.format(&Rfc3339).map_err(|e| PortError::Backend(format!("timestamp {at} does not format: {e}")))
}

/// A duration in nanoseconds as stored beside instants (`unix_timestamp_nanos`), capped at a quarter of
/// `i128::MAX` so that adding it to, or subtracting it from, any instant cannot overflow.
pub(crate) fn duration_nanos(d: std::time::Duration) -> i128 {
    i128::try_from(d.as_nanos()).unwrap_or(i128::MAX / 4).min(i128::MAX / 4)
}

/// Nanoseconds since the epoch, zero-padded to 20 digits so that string order is time order (RFC 3339 text
/// is not: `…00.5Z` sorts before `…00Z`). Instants before 1970 clamp to zero.
pub(crate) fn sortable(at: OffsetDateTime) -> String {
    format!("{:020}", at.unix_timestamp_nanos().max(0))
}

/// Builds the name and value maps of one DynamoDB expression, so that every attribute name goes through a
/// placeholder (many record fields, `state`, `status`, `name`, are reserved words).
#[derive(Default)]
pub(crate) struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The placeholder for an attribute name (`#state`).
    pub(crate) fn name(&mut self, attribute: &str) -> String {
        let placeholder = format!("#{attribute}");
        self.names.insert(placeholder.clone(), attribute.to_string());
        placeholder
    }

    /// A fresh placeholder for a value (`:v3`).
    pub(crate) fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    /// `#attr = :vN`, for SET clauses and equality conditions.
    pub(crate) fn eq(&mut self, attribute: &str, value: AttributeValue) -> String {
        format!("{} = {}", self.name(attribute), self.value(value))
    }

    pub(crate) fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    pub(crate) fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }

    /// The value behind a placeholder (`:v0`).
    pub(crate) fn value_of(&self, placeholder: &str) -> Option<&AttributeValue> {
        self.values.get(placeholder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trips_through_attributes() {
        let v = json!({"a": "x", "b": 3, "c": -4, "d": 1.5, "e": null, "f": [true, "y"], "g": {"h": 18446744073709551615u64}});
        assert_eq!(from_attr(&to_attr(&v)).unwrap(), v);
    }

    #[test]
    fn meta_attributes_are_dropped_on_read() {
        #[derive(serde::Deserialize, Serialize, PartialEq, Debug)]
        struct R {
            id: String,
            n: Option<u32>,
        }
        let r = R { id: "x".into(), n: None };
        let mut item = record_item(&r).unwrap();
        item.insert("pk".into(), s("R#x"));
        item.insert("status_rank".into(), n(3));
        assert_eq!(from_item::<R>(&item).unwrap(), r);
        assert_eq!(item.get("n"), Some(&AttributeValue::Null(true)), "None is stored as NULL");
    }

    #[test]
    fn sortable_times_sort_like_instants() {
        let a = time::macros::datetime!(2026-01-01 00:00:00 UTC);
        let b = time::macros::datetime!(2026-01-01 00:00:00.5 UTC);
        assert!(sortable(a) < sortable(b));
        assert!(rfc3339(b).unwrap() < rfc3339(a).unwrap(), "RFC 3339 text would sort them wrongly");
        assert_eq!(sortable(time::macros::datetime!(1960-01-01 00:00 UTC)), "0".repeat(20));
    }

    #[test]
    fn expressions_use_placeholders() {
        let mut e = Expr::new();
        let clause = e.eq("state", s("waiting"));
        assert_eq!(clause, "#state = :v0");
        assert_eq!(e.names().unwrap().get("#state").map(String::as_str), Some("state"));
        assert!(e.values().unwrap().contains_key(":v0"));
    }
}
