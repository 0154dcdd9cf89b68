//! The caller a verified JWT names, and the one rule that reads it: API Gateway's JWT authorizer in AWS
//! (shared/lambda/src/http.rs hands its claims here) and `smsdesk dev --oidc-issuer` (crate::oidc, which
//! verifies the token itself) both turn claims into a [`Claims`] and a [`GatewayIdentity`] through this
//! module, so the two shapes cannot read a token differently.
//!
//! Claim names read (API Gateway passes every claim as a string; arrays arrive as `[a b c]`):
//! - `sub`: the subject (required; without it there are no claims). An agent is the one whose `subject` an
//!   admin set to this value (`POST /v1/agents`); users cannot change their own `sub`.
//! - scopes: the authorizer's `scopes` list, plus the `scope` / `scp` claims (space-separated).
//! - groups: `cognito:groups`, then `groups`.
//! - admin: a group named `smsdesk-admin`, or a scope `smsdesk-admin` (also as `<resource-server>/smsdesk-admin`).
//!
//! No other claim names an agent: attributes such as `custom:agent_id` may be writable by the user
//! themselves, so they are not read.

use crate::GatewayIdentity;
use std::collections::HashMap;

/// Group or scope that makes the caller an administrator.
pub const ADMIN_ROLE: &str = "smsdesk-admin";
/// Claims that carry group names, in the order they are tried.
pub const GROUP_CLAIMS: [&str; 2] = ["cognito:groups", "groups"];

/// The verified caller, as the JWT said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    pub scopes: Vec<String>,
    pub groups: Vec<String>,
    pub admin: bool,
}

/// The claims of a verified token, each as a string (API Gateway's shape), with the scopes the authorizer
/// matched; `None` without a subject.
pub fn claims_from_jwt(claims: &HashMap<String, String>, authorizer_scopes: &[String]) -> Option<Claims> {
    let sub = claims.get("sub").filter(|s| !s.is_empty())?.clone();
    let mut scopes: Vec<String> = authorizer_scopes.to_vec();
    for name in ["scope", "scp"] {
        for scope in claims.get(name).map(|v| string_list(v)).unwrap_or_default() {
            if !scopes.contains(&scope) {
                scopes.push(scope);
            }
        }
    }
    let groups =
        GROUP_CLAIMS.iter().find_map(|name| claims.get(*name)).map(|v| string_list(v)).unwrap_or_default();
    let admin = groups.iter().any(|g| g == ADMIN_ROLE) || scopes.iter().any(|s| is_admin_scope(s));
    Some(Claims { sub, scopes, groups, admin })
}

/// The claims of a decoded JWT payload (JSON values), stringified as API Gateway does before
/// [`claims_from_jwt`] reads them: strings as they are, everything else as JSON.
pub fn claims_from_json(payload: &serde_json::Map<String, serde_json::Value>) -> Option<Claims> {
    let strings: HashMap<String, String> = payload
        .iter()
        .map(|(name, value)| {
            let text = match value {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (name.clone(), text)
        })
        .collect();
    claims_from_jwt(&strings, &[])
}

/// The application's identity of verified claims: the subject and whether it is an admin.
pub fn identity(claims: &Claims) -> Option<GatewayIdentity> {
    Some(GatewayIdentity { subject: claims.sub.clone(), admin: claims.admin })
}

fn is_admin_scope(scope: &str) -> bool {
    scope == ADMIN_ROLE || scope.rsplit_once('/').is_some_and(|(_, name)| name == ADMIN_ROLE)
}

/// A list claim as API Gateway stringifies it: `[a b]`, `a b`, `a,b` or a JSON array.
pub fn string_list(value: &str) -> Vec<String> {
    if let Ok(list) = serde_json::from_str::<Vec<String>>(value) {
        return list;
    }
    let inner = value.trim().trim_start_matches('[').trim_end_matches(']');
    inner
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(|item| item.trim_matches('"'))
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_json_payload_reads_as_the_gateway_strings_do() {
        let payload = serde_json::json!({"sub": "u-1", "cognito:groups": ["agents", "smsdesk-admin"],
                                         "scope": "openid email", "custom:agent_id": "ag_2"});
        let claims = claims_from_json(payload.as_object().unwrap()).unwrap();
        assert_eq!(claims.groups, ["agents", "smsdesk-admin"]);
        assert_eq!(claims.scopes, ["openid", "email"]);
        assert!(claims.admin);
        let agent = serde_json::json!({"sub": "u-2", "groups": ["support"]});
        let claims = claims_from_json(agent.as_object().unwrap()).unwrap();
        assert_eq!(identity(&claims), Some(GatewayIdentity { subject: "u-2".into(), admin: false }));
        assert_eq!(claims_from_json(serde_json::json!({"sub": ""}).as_object().unwrap()), None);
    }
}
