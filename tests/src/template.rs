//! What `infra/template.yaml` deploys, read from the template itself: which function serves each HTTP API
//! route (and whether the route has the JWT authorizer), which function consumes each SQS queue, which runs
//! on a schedule. The AWS-shape tests dispatch by this, so a route or a trigger moved in the template and
//! not in the code (or the other way round) fails them.
//!
//! The SAM template uses CloudFormation's short tags (`!Ref`, `!GetAtt`, `!Sub`); serde_norway keeps them
//! as tagged values. The long forms (`Ref:`, `Fn::GetAtt:`, `Fn::Sub:`) are read too.

use serde_norway::Value;
use smsdesk_ports::QueueKind;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One `AWS::ApiGatewayV2::Route`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route {
    /// `GET`, `POST`, ... or `ANY`.
    pub method: String,
    /// The route key's path, e.g. `/webhooks/{provider}/{channel_id}` or `/v1/{proxy+}`.
    pub path: String,
    /// The route key as API Gateway puts it in events (`POST /v1/{proxy+}`).
    pub route_key: String,
    /// `AuthorizationType: JWT`.
    pub jwt: bool,
    /// The binary (`functions/<name>`) of the function its integration invokes.
    pub function: String,
}

/// One `AWS::Lambda::EventSourceMapping` on an SQS queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trigger {
    pub queue: QueueKind,
    pub function: String,
    pub batch_size: i32,
}

#[derive(Clone, Debug)]
pub struct Template {
    /// Every `AWS::Serverless::Function`'s binary name.
    pub functions: Vec<String>,
    pub routes: Vec<Route>,
    pub triggers: Vec<Trigger>,
    /// Binaries of the functions with a `Schedule` event, or the target of a scheduled `AWS::Events::Rule`.
    pub scheduled: Vec<String>,
    /// The WebSocket API's routes (`$connect`, `$default`, `$disconnect`) and the function each goes to.
    pub websocket_routes: BTreeMap<String, String>,
    /// The table's stream feeding functions (the live updates).
    pub stream_triggers: Vec<StreamTrigger>,
    /// The webhook function's own URL, made under a condition (parameter `WebhookIngress=FunctionUrl`).
    pub function_url: Option<FunctionUrl>,
    /// The API function's own URL, made under a condition (parameter `ApiIngress=FunctionUrl`).
    pub api_url: Option<ApiFunctionUrl>,
    /// What each function's role may do on the table (binary -> its policy's DynamoDB statements).
    pub dynamodb: BTreeMap<String, Vec<DynamoGrant>>,
}

/// One `Allow` statement of a function's policy on the table: its DynamoDB actions, whether it names the
/// table and its indexes (`!GetAtt Table.Arn`, `!Sub "${Table.Arn}/index/*"`), and the
/// `dynamodb:LeadingKeys` patterns its condition allows (`None`: no condition, any key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DynamoGrant {
    pub actions: Vec<String>,
    pub table: bool,
    pub indexes: bool,
    pub leading_keys: Option<Vec<String>>,
}

impl DynamoGrant {
    /// Whether this statement lets `action` name an item whose partition key has the leading-key pattern
    /// `key` (`MSG#*`, `CHANNELS`: [`smsdesk_aws::usage::leading_key_pattern`]), on `index` or the table.
    /// A condition on leading keys is not relied on for an index (what IAM compares there is not the
    /// table's key): an index read needs a statement without one.
    pub fn allows(&self, action: &str, index: Option<&str>, key: &str) -> bool {
        if !self.actions.iter().any(|a| a == action || a == "dynamodb:*") {
            return false;
        }
        match (index, &self.leading_keys) {
            (Some(_), None) => self.indexes,
            (Some(_), Some(_)) => false,
            (None, None) => self.table,
            (None, Some(patterns)) => self.table && patterns.iter().any(|p| string_like(p, key)),
        }
    }
}

/// IAM's `StringLike`: `*` any run of characters, `?` any one; the rest literally.
pub fn string_like(pattern: &str, value: &str) -> bool {
    fn matches(p: &[char], v: &[char]) -> bool {
        match p.split_first() {
            None => v.is_empty(),
            Some(('*', rest)) => (0..=v.len()).any(|i| matches(rest, &v[i..])),
            Some(('?', rest)) => !v.is_empty() && matches(rest, &v[1..]),
            Some((c, rest)) => v.first() == Some(c) && matches(rest, &v[1..]),
        }
    }
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    matches(&p, &v)
}

/// A function's DynamoDB statements: those of its `Policies` whose resources name the table.
fn dynamo_grants(id: &str, policies: Option<&Value>) -> Result<Vec<DynamoGrant>, String> {
    let mut grants = Vec::new();
    for policy in policies.and_then(Value::as_sequence).into_iter().flatten() {
        for statement in policy.get("Statement").and_then(Value::as_sequence).into_iter().flatten() {
            if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
                continue;
            }
            let listed = |v: Option<&Value>| -> Vec<Value> {
                match v {
                    Some(Value::Sequence(items)) => items.clone(),
                    Some(other) => vec![other.clone()],
                    None => Vec::new(),
                }
            };
            let resources = listed(statement.get("Resource"));
            let table = resources.iter().any(|r| reference(r, "GetAtt").as_deref() == Some("Table.Arn"));
            let indexes = resources
                .iter()
                .any(|r| reference(r, "Sub").is_some_and(|s| s.starts_with("${Table.Arn}/index/")));
            if !table && !indexes {
                continue;
            }
            let actions: Vec<String> = listed(statement.get("Action"))
                .iter()
                .map(|a| {
                    a.as_str().map(str::to_string).ok_or_else(|| format!("{id}: an action is not a string"))
                })
                .collect::<Result<_, _>>()?;
            let leading_keys = match statement.get("Condition") {
                None => None,
                Some(condition) => {
                    let keys = condition
                        .get("ForAllValues:StringLike")
                        .and_then(|c| c.get("dynamodb:LeadingKeys"))
                        .and_then(Value::as_sequence)
                        .ok_or_else(|| {
                            format!("{id}: a condition on the table other than ForAllValues:StringLike LeadingKeys")
                        })?;
                    Some(
                        keys.iter()
                            .map(|k| k.as_str().map(str::to_string).ok_or_else(|| format!("{id}: {k:?}")))
                            .collect::<Result<Vec<_>, _>>()?,
                    )
                }
            };
            grants.push(DynamoGrant { actions, table, indexes, leading_keys });
        }
    }
    Ok(grants)
}

/// An `AWS::Lambda::Url` for the API: its function checks bearer JWTs itself there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiFunctionUrl {
    /// The binary its URL invokes.
    pub function: String,
    /// Whether, under the URL's condition, that function is told the stack's audiences
    /// (`SMSDESK_JWT_AUDIENCE` = `!Join [",", !Ref JwtAudience]`) and so checks the issuer's JWTs itself.
    pub checks_stack_jwts: bool,
}

/// An `AWS::Lambda::Url` and what every function is told under its condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionUrl {
    /// The binary its URL invokes.
    pub function: String,
    /// Each function's `SMSDESK_WEBHOOK_URL` when the condition holds (its own `Environment` over
    /// `Globals`).
    pub webhook_url: BTreeMap<String, WebhookUrl>,
}

/// A function's `SMSDESK_WEBHOOK_URL` under the function URL's condition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookUrl {
    /// A string, as written (`request-host`, or empty).
    Literal(String),
    /// `!GetAtt <the URL>.FunctionUrl`: the function URL itself.
    TheUrl,
}

/// The table's stream feeding a function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamTrigger {
    pub function: String,
    pub batch_size: i32,
    /// The sort keys its filter lets through (`FilterCriteria`: `{"dynamodb": {"Keys": {"sk": {"S": [..]}}}}`),
    /// a `{"prefix": "X"}` entry as `X*` ([`sort_key_passes`]); empty when it has no filter (every record is
    /// delivered).
    pub sort_keys: Vec<String>,
    /// How many times a failed batch is tried again (`MaximumRetryAttempts`; Lambda's default, -1, is
    /// for ever: taken as 10,000 here).
    pub max_retries: u32,
}

/// The repository's `infra/template.yaml`.
pub fn template_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/template.yaml")
}

impl Template {
    /// Reads and interprets the template; any shape it does not understand is an error.
    pub fn load(path: &Path) -> Result<Template, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Template::parse(&text)
    }

    pub fn parse(text: &str) -> Result<Template, String> {
        let doc: Value = serde_norway::from_str(text).map_err(|e| format!("template.yaml: {e}"))?;
        let resources = doc.get("Resources").and_then(Value::as_mapping).ok_or("no Resources")?;
        let mut by_id: BTreeMap<String, &Value> = BTreeMap::new();
        for (id, resource) in resources {
            by_id.insert(id.as_str().ok_or("a resource id is not a string")?.to_string(), resource);
        }
        let kind = |id: &str| by_id.get(id).and_then(|r| r.get("Type")).and_then(Value::as_str);

        let mut functions = Vec::new();
        let mut own_webhook_url = BTreeMap::new();
        let mut own_jwt_audience = BTreeMap::new();
        let mut binaries = BTreeMap::new();
        let mut scheduled = Vec::new();
        let mut dynamodb = BTreeMap::new();
        for (id, resource) in &by_id {
            if kind(id) != Some("AWS::Serverless::Function") {
                continue;
            }
            let binary = resource
                .get("Metadata")
                .and_then(|m| m.get("BuildProperties"))
                .and_then(|b| b.get("Binary"))
                .and_then(Value::as_str)
                .ok_or_else(|| format!("function {id} has no Metadata.BuildProperties.Binary"))?;
            functions.push(binary.to_string());
            binaries.insert(id.clone(), binary.to_string());
            dynamodb.insert(
                binary.to_string(),
                dynamo_grants(id, resource.get("Properties").and_then(|p| p.get("Policies")))?,
            );
            let own = resource
                .get("Properties")
                .and_then(|p| p.get("Environment"))
                .and_then(|e| e.get("Variables"));
            if let Some(own) = own.and_then(|v| v.get(WEBHOOK_URL_VAR)) {
                own_webhook_url.insert(binary.to_string(), own.clone());
            }
            if let Some(own) = own.and_then(|v| v.get(JWT_AUDIENCE_VAR)) {
                own_jwt_audience.insert(binary.to_string(), own.clone());
            }
            let events = resource.get("Properties").and_then(|p| p.get("Events")).and_then(Value::as_mapping);
            for (_, event) in events.into_iter().flatten() {
                match event.get("Type").and_then(Value::as_str) {
                    Some("Schedule") | Some("ScheduleV2") => scheduled.push(binary.to_string()),
                    other => {
                        return Err(format!("function {id}: event type {other:?} is not understood here"));
                    }
                }
            }
        }
        let function_of = |reference: &str| -> Result<String, String> {
            binaries
                .get(reference)
                .cloned()
                .ok_or_else(|| format!("{reference} is not a function of the template"))
        };

        // Which queue resource each SMSDESK_*_QUEUE_URL variable names: QueueKind from the variable.
        let variables = doc
            .get("Globals")
            .and_then(|g| g.get("Function"))
            .and_then(|f| f.get("Environment"))
            .and_then(|e| e.get("Variables"))
            .ok_or("no Globals.Function.Environment.Variables")?;
        let mut queue_kinds = BTreeMap::new();
        for kind in QueueKind::ALL {
            let var = smsdesk_aws::queue_env_var(kind, false);
            let value = variables.get(var).ok_or_else(|| format!("Globals set no {var}"))?;
            let queue = reference(value, "Ref").ok_or_else(|| format!("{var} is not a !Ref to a queue"))?;
            queue_kinds.insert(queue, kind);
        }

        let mut routes = Vec::new();
        let mut triggers = Vec::new();
        let mut websocket_routes = BTreeMap::new();
        let mut stream_triggers = Vec::new();
        for (id, resource) in &by_id {
            let props = resource.get("Properties");
            let prop = |name: &str| props.and_then(|p| p.get(name));
            match kind(id) {
                Some("AWS::ApiGatewayV2::Route") => {
                    let route_key = prop("RouteKey")
                        .and_then(Value::as_str)
                        .ok_or_else(|| format!("{id}: no RouteKey"))?;
                    if route_key.starts_with('$') {
                        let function = websocket_function(&by_id, prop("Target")).ok_or_else(|| {
                            format!("{id}: Target is not an integration invoking a function's alias")
                        })?;
                        websocket_routes.insert(route_key.to_string(), function_of(&function)?);
                        continue;
                    }
                    let (method, path) =
                        route_key.split_once(' ').ok_or_else(|| format!("{id}: route key {route_key:?}"))?;
                    let target = prop("Target")
                        .and_then(|t| reference(t, "Sub"))
                        .ok_or_else(|| format!("{id}: Target is not a !Sub"))?;
                    let integration = target
                        .strip_prefix("integrations/${")
                        .and_then(|t| t.strip_suffix('}'))
                        .ok_or_else(|| format!("{id}: Target {target:?} is not integrations/${{...}}"))?;
                    if kind(integration) != Some("AWS::ApiGatewayV2::Integration") {
                        return Err(format!("{id}: {integration} is not an integration"));
                    }
                    // A function's ARN (`!GetAtt F.Arn`) or its alias (`!Ref F.Alias`, SAM's AutoPublishAlias).
                    let uri = by_id[integration].get("Properties").and_then(|p| p.get("IntegrationUri"));
                    let function = uri
                        .and_then(|u| reference(u, "GetAtt"))
                        .and_then(|u| u.strip_suffix(".Arn").map(str::to_string))
                        .or_else(|| {
                            uri.and_then(|u| reference(u, "Ref"))
                                .and_then(|u| u.strip_suffix(".Alias").map(str::to_string))
                        })
                        .ok_or_else(|| {
                            format!("{integration}: IntegrationUri is neither a function's Arn nor its alias")
                        })?;
                    let function = function.as_str();
                    let jwt = match prop("AuthorizationType").and_then(Value::as_str) {
                        Some("JWT") => true,
                        Some("NONE") | None => false,
                        Some(other) => {
                            return Err(format!("{id}: AuthorizationType {other} is not understood"));
                        }
                    };
                    routes.push(Route {
                        method: method.to_string(),
                        path: path.to_string(),
                        route_key: route_key.to_string(),
                        jwt,
                        function: function_of(function)?,
                    });
                }
                Some("AWS::Lambda::EventSourceMapping")
                    if prop("EventSourceArn").and_then(|s| reference(s, "GetAtt")).as_deref()
                        == Some("Table.StreamArn") =>
                {
                    let function = prop("FunctionName")
                        .and_then(|f| reference(f, "Ref"))
                        .map(|f| f.strip_suffix(".Alias").map(str::to_string).unwrap_or(f))
                        .ok_or_else(|| format!("{id}: FunctionName is not a !Ref"))?;
                    let batch_size = prop("BatchSize").and_then(Value::as_i64).unwrap_or(100) as i32;
                    let sort_keys = stream_filter(id, prop("FilterCriteria"))?;
                    let retries = prop("MaximumRetryAttempts").and_then(Value::as_i64).unwrap_or(-1);
                    let max_retries = u32::try_from(retries).unwrap_or(10_000);
                    let function = function_of(&function)?;
                    stream_triggers.push(StreamTrigger { function, batch_size, sort_keys, max_retries });
                }
                // A schedule declared as its own rule (it carries tags, which SAM's `Schedule` event does not
                // give the rule it makes): each target that is a function's alias runs on the schedule.
                Some("AWS::Events::Rule") if prop("ScheduleExpression").is_some() => {
                    let targets = prop("Targets")
                        .and_then(Value::as_sequence)
                        .ok_or_else(|| format!("{id}: no Targets"))?;
                    for target in targets {
                        let function = target
                            .get("Arn")
                            .and_then(|a| reference(a, "Ref"))
                            .and_then(|a| a.strip_suffix(".Alias").map(str::to_string))
                            .ok_or_else(|| {
                                format!("{id}: a target's Arn is not a function's !Ref <F>.Alias")
                            })?;
                        scheduled.push(function_of(&function)?);
                    }
                }
                Some("AWS::Lambda::EventSourceMapping") => {
                    let source = prop("EventSourceArn")
                        .and_then(|s| reference(s, "GetAtt"))
                        .and_then(|s| s.strip_suffix(".Arn").map(str::to_string))
                        .ok_or_else(|| format!("{id}: EventSourceArn is not a queue's !GetAtt Arn"))?;
                    let queue =
                        *queue_kinds.get(&source).ok_or_else(|| format!("{id}: {source} is no queue"))?;
                    let function = prop("FunctionName")
                        .and_then(|f| reference(f, "Ref"))
                        .map(|f| f.strip_suffix(".Alias").map(str::to_string).unwrap_or(f))
                        .ok_or_else(|| format!("{id}: FunctionName is not a !Ref"))?;
                    let batch_size = prop("BatchSize").and_then(Value::as_i64).unwrap_or(10) as i32;
                    triggers.push(Trigger { queue, function: function_of(&function)?, batch_size });
                }
                _ => {}
            }
        }
        let mut function_url = None;
        let mut api_url = None;
        for (id, resource) in &by_id {
            if kind(id) != Some("AWS::Lambda::Url") {
                continue;
            }
            let condition = resource.get("Condition").and_then(Value::as_str);
            let target = resource
                .get("Properties")
                .and_then(|p| p.get("TargetFunctionArn"))
                .and_then(|t| reference(t, "GetAtt"))
                .and_then(|t| t.strip_suffix(".Arn").map(str::to_string))
                .ok_or_else(|| format!("{id}: TargetFunctionArn is not a function's !GetAtt Arn"))?;
            // The webhooks' URL is the one every function is told under its condition (Globals).
            let told_everyone = variables
                .get(WEBHOOK_URL_VAR)
                .and_then(|v| under_condition(v, condition))
                .and_then(|v| reference(v, "GetAtt"))
                == Some(format!("{id}.FunctionUrl"));
            if !told_everyone {
                if api_url.is_some() {
                    return Err(format!("{id}: a second API function URL is not understood here"));
                }
                let function = function_of(&target)?;
                let checks_stack_jwts = own_jwt_audience
                    .get(&function)
                    .and_then(|v| under_condition(v, condition))
                    .is_some_and(|v| is_join_of(v, "JwtAudience"));
                api_url = Some(ApiFunctionUrl { function, checks_stack_jwts });
                continue;
            }
            if function_url.is_some() {
                return Err(format!("{id}: a second webhook function URL is not understood here"));
            }
            let mut webhook_url = BTreeMap::new();
            for binary in &functions {
                let value = own_webhook_url.get(binary).or_else(|| variables.get(WEBHOOK_URL_VAR));
                let Some(value) = value else { continue };
                let value = under_condition(value, condition)
                    .ok_or_else(|| format!("{binary}: {WEBHOOK_URL_VAR} is not an !If on {condition:?}"))?;
                // (A tagged value reads as its inside with `as_str`: the `!GetAtt` is looked for first.)
                let told = if reference(value, "GetAtt").as_deref() == Some(&format!("{id}.FunctionUrl")) {
                    WebhookUrl::TheUrl
                } else if let (Some(text), Value::String(_)) = (value.as_str(), value) {
                    WebhookUrl::Literal(text.to_string())
                } else {
                    return Err(format!(
                        "{binary}: {WEBHOOK_URL_VAR} is neither a string nor {id}'s FunctionUrl"
                    ));
                };
                webhook_url.insert(binary.clone(), told);
            }
            function_url = Some(FunctionUrl { function: function_of(&target)?, webhook_url });
        }
        Ok(Template {
            functions,
            routes,
            triggers,
            scheduled,
            websocket_routes,
            stream_triggers,
            function_url,
            api_url,
            dynamodb,
        })
    }

    /// What `function`'s DynamoDB calls (as the AWS-shape tests saw them: [`smsdesk_aws::usage::key_uses`])
    /// named that its role does not allow: each as `action on <index or table> key`. In AWS each would be
    /// an AccessDeniedException.
    pub fn denied(&self, function: &str, uses: &BTreeSet<smsdesk_aws::usage::KeyUse>) -> Vec<String> {
        let grants = self.dynamodb.get(function).map(Vec::as_slice).unwrap_or_default();
        uses.iter()
            .filter(|u| !grants.iter().any(|g| g.allows(&u.action, u.index.as_deref(), &u.leading_key)))
            .map(|u| match &u.index {
                Some(index) => format!("{} on index {index} (partition {})", u.action, u.leading_key),
                None => format!("{} on {}", u.action, u.leading_key),
            })
            .collect()
    }

    /// The route API Gateway picks for `method` and `path`: exact paths before path variables before the
    /// greedy `{proxy+}`, and a route of the method before `ANY`. Returns it and the path parameters.
    pub fn route(&self, method: &str, path: &str) -> Option<(&Route, BTreeMap<String, String>)> {
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        self.routes
            .iter()
            .filter(|r| r.method == "ANY" || r.method.eq_ignore_ascii_case(method))
            .filter_map(|r| matches(&r.path, &segments).map(|(params, score)| (r, params, score)))
            .max_by_key(|(r, _, score)| (*score, r.method != "ANY"))
            .map(|(r, params, _)| (r, params))
    }
}

/// Literal segments, variable segments, and whether the route has no greedy variable: larger is more
/// specific.
type Specificity = (usize, usize, bool);

/// Path parameters and a specificity score (literal segments count most, then variables; greedy least).
fn matches(pattern: &str, segments: &[&str]) -> Option<(BTreeMap<String, String>, Specificity)> {
    let parts: Vec<&str> = pattern.trim_start_matches('/').split('/').collect();
    let mut params = BTreeMap::new();
    let (mut literal, mut variable) = (0, 0);
    for (i, part) in parts.iter().enumerate() {
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix("+}")) {
            let rest = segments.get(i..).filter(|r| !r.is_empty() && !r[0].is_empty())?;
            params.insert(name.to_string(), rest.join("/"));
            return Some((params, (literal, variable, false)));
        }
        let segment = *segments.get(i)?;
        if let Some(name) = part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            if segment.is_empty() {
                return None;
            }
            params.insert(name.to_string(), segment.to_string());
            variable += 1;
        } else if *part == segment {
            literal += 1;
        } else {
            return None;
        }
    }
    (parts.len() == segments.len()).then_some((params, (literal, variable, true)))
}

/// The variable that tells a function where the webhooks are (smsdesk_lambda::webhook_base).
const WEBHOOK_URL_VAR: &str = "SMSDESK_WEBHOOK_URL";
/// The variable that has agent-api check the issuer's JWTs itself (its function URL has no authorizer).
const JWT_AUDIENCE_VAR: &str = "SMSDESK_JWT_AUDIENCE";

/// What `value` is when `condition` holds: `!If [condition, then, else]` gives `then`; a value without
/// `!If` is itself; an `!If` on another condition is not understood (None).
fn under_condition<'a>(value: &'a Value, condition: Option<&str>) -> Option<&'a Value> {
    let Some(branches) = intrinsic(value, "If") else { return Some(value) };
    let branches = branches.as_sequence().filter(|b| b.len() == 3)?;
    (branches[0].as_str() == condition).then(|| &branches[1])
}

/// Whether a record's sort key passes one of a filter's entries (`X*`: any key that starts with X).
pub fn sort_key_passes(keys: &[String], sk: &str) -> bool {
    keys.iter().any(|k| k.strip_suffix('*').map_or(k == sk, |prefix| sk.starts_with(prefix)))
}

/// The sort keys a stream mapping's `FilterCriteria` lets through: each filter's pattern must be
/// `{"dynamodb": {"Keys": {"sk": {"S": [..]}}}}` (the only kind the shape applies); none without a filter.
fn stream_filter(id: &str, criteria: Option<&Value>) -> Result<Vec<String>, String> {
    let Some(filters) = criteria.and_then(|c| c.get("Filters")).and_then(Value::as_sequence) else {
        return Ok(Vec::new());
    };
    let mut keys = Vec::new();
    for filter in filters {
        let pattern = filter.get("Pattern").and_then(Value::as_str).unwrap_or_default();
        let parsed: serde_json::Value =
            serde_json::from_str(pattern).map_err(|e| format!("{id}: filter pattern {pattern:?}: {e}"))?;
        let listed = parsed["dynamodb"]["Keys"]["sk"]["S"]
            .as_array()
            .filter(|_| parsed.as_object().is_some_and(|o| o.len() == 1))
            .ok_or_else(|| format!("{id}: filter pattern {pattern:?} is not a list of sort keys"))?;
        keys.extend(
            listed
                .iter()
                .map(|k| match (k.as_str(), k["prefix"].as_str()) {
                    (Some(key), _) => Ok(key.to_string()),
                    (None, Some(prefix)) => Ok(format!("{prefix}*")),
                    _ => Err(format!("{id}: {k}")),
                })
                .collect::<Result<Vec<_>, _>>()?,
        );
    }
    Ok(keys)
}

/// The function a WebSocket route's integration invokes: `integrations/${X}` where X's `IntegrationUri`
/// has a `!Ref <Function>.Alias` in it (API Gateway's invocation URI of the alias).
fn websocket_function(by_id: &BTreeMap<String, &Value>, target: Option<&Value>) -> Option<String> {
    let target = reference(target?, "Sub")?;
    let integration = target.strip_prefix("integrations/${")?.strip_suffix('}')?;
    let uri = by_id.get(integration)?.get("Properties")?.get("IntegrationUri")?;
    alias_in(uri)
}

/// The function of the first `!Ref <Function>.Alias` anywhere in `value`.
fn alias_in(value: &Value) -> Option<String> {
    if let Some(name) = reference(value, "Ref").and_then(|r| r.strip_suffix(".Alias").map(str::to_string)) {
        return Some(name);
    }
    match value {
        Value::Tagged(tagged) => alias_in(&tagged.value),
        Value::Sequence(items) => items.iter().find_map(alias_in),
        Value::Mapping(map) => map.values().find_map(alias_in),
        _ => None,
    }
}

/// `!Join [",", !Ref <parameter>]` (or its long form).
fn is_join_of(value: &Value, parameter: &str) -> bool {
    let parts = intrinsic(value, "Join").and_then(Value::as_sequence).filter(|p| p.len() == 2);
    parts.is_some_and(|p| p[0].as_str() == Some(",") && reference(&p[1], "Ref").as_deref() == Some(parameter))
}

/// The argument of the intrinsic function `tag` when `value` is a call of it: `!Tag x`, or its long form
/// `{Fn::Tag: x}` (`{Ref: x}` for `Ref`).
fn intrinsic<'a>(value: &'a Value, tag: &str) -> Option<&'a Value> {
    match value {
        Value::Tagged(tagged) if tagged.tag == tag => Some(&tagged.value),
        Value::Mapping(map) if map.len() == 1 => {
            let long = if tag == "Ref" { "Ref".to_string() } else { format!("Fn::{tag}") };
            map.get(long.as_str())
        }
        _ => None,
    }
}

/// The string inside `!Tag x` or `{Fn::Tag: x}` / `{Ref: x}`; `!GetAtt [A, Arn]` reads as `A.Arn`.
fn reference(value: &Value, tag: &str) -> Option<String> {
    match intrinsic(value, tag)? {
        Value::String(s) => Some(s.clone()),
        Value::Sequence(parts) if tag == "GetAtt" && parts.len() == 2 => {
            Some(format!("{}.{}", parts[0].as_str()?, parts[1].as_str()?))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repositorys_template_reads_as_the_functions_it_deploys() {
        let t = Template::load(&template_path()).expect("infra/template.yaml reads");
        let mut functions = t.functions.clone();
        functions.sort();
        let mut all: Vec<&str> = smsdesk_lambda::Function::ALL.iter().map(|f| f.name()).collect();
        all.sort();
        assert_eq!(functions, all, "the template deploys exactly the functions of functions/");
        let (webhook, params) = t.route("POST", "/webhooks/telesign/ch_1").expect("webhook route");
        assert_eq!((webhook.function.as_str(), webhook.jwt), ("inbound-webhook", false));
        assert_eq!(params["channel_id"], "ch_1");
        let (validate, _) = t.route("POST", "/v1/channels/ch_1/validate").expect("validate route");
        assert_eq!((validate.function.as_str(), validate.jwt), ("validate-credentials", true));
        let (api, _) = t.route("POST", "/v1/channels/ch_1").expect("api route");
        assert_eq!((api.function.as_str(), api.route_key.as_str()), ("agent-api", "ANY /v1/{proxy+}"));
        // Every method reaches the webhook function, which answers 405 to what its provider does not use.
        let (get, _) = t.route("GET", "/webhooks/vonage/ch_1").expect("a GET webhook (Vonage)");
        assert_eq!(get.function, "inbound-webhook");
        assert!(t.route("GET", "/nothing-here").is_none());
        // The console's static files: agent-api, no authorizer.
        let (console, _) = t.route("GET", "/").expect("the console's page");
        assert_eq!((console.function.as_str(), console.jwt), ("agent-api", false));
        let (files, params) = t.route("GET", "/console/app.js").expect("the console's files");
        assert_eq!(
            (files.function.as_str(), files.jwt, params["proxy"].as_str()),
            ("agent-api", false, "app.js")
        );
        let inbound = t.triggers.iter().find(|tr| tr.queue == QueueKind::Inbound).expect("inbound trigger");
        assert_eq!(inbound.function, "router");
        assert_eq!(t.scheduled, ["timers"]);
        // The live updates: the WebSocket API's routes and the table's stream go to live.
        let websocket: Vec<(&str, &str)> =
            t.websocket_routes.iter().map(|(k, f)| (k.as_str(), f.as_str())).collect();
        assert_eq!(websocket, [("$connect", "live"), ("$default", "live"), ("$disconnect", "live")]);
        assert_eq!(t.stream_triggers.iter().map(|s| s.function.as_str()).collect::<Vec<_>>(), ["live"]);
        assert_eq!(
            t.stream_triggers[0].sort_keys,
            ["CONV", "MSG", "NOTE#*"],
            "only conversations, messages and notes invoke live"
        );
        assert_eq!(t.stream_triggers[0].max_retries, 10);
        // WebhookIngress=FunctionUrl: the webhook function's own URL; it checks signatures at the host it
        // was called at, every other function is told the URL.
        // ApiIngress=FunctionUrl: agent-api's own URL, where it checks the stack's JWTs itself.
        let api = t.api_url.as_ref().expect("the API function URL");
        assert_eq!((api.function.as_str(), api.checks_stack_jwts), ("agent-api", true));
        let url = t.function_url.as_ref().expect("the webhook function URL");
        assert_eq!(url.function, "inbound-webhook");
        for function in &t.functions {
            let expected = match function.as_str() {
                "inbound-webhook" => WebhookUrl::Literal("request-host".into()),
                _ => WebhookUrl::TheUrl,
            };
            assert_eq!(url.webhook_url.get(function), Some(&expected), "{function}");
        }
    }

    #[test]
    fn string_like_is_iams() {
        assert!(string_like("MSG#*", "MSG#*"));
        assert!(string_like("MSG#*", "MSG#m_1"));
        assert!(string_like("CHANNELS", "CHANNELS"));
        assert!(!string_like("CHANNELS", "CHANNELS#*"));
        assert!(!string_like("CONV#*", "CONSENTLOG#*"));
        assert!(string_like("AGENTS#?", "AGENTS#3"));
        assert!(string_like("*", "anything"));
    }

    /// The template's grants, read back: the webhook's role reaches the items its receipt path touches
    /// (a Twilio 21610 opt-out: the conversation, the consent log; the `queued` entry a receipt ahead of
    /// `sent` tidies), and no more.
    #[test]
    fn the_webhooks_role_reaches_what_its_receipts_touch_and_nothing_else() {
        let t = Template::load(&template_path()).expect("infra/template.yaml reads");
        let used = |action: &str, key: &str| smsdesk_aws::usage::KeyUse {
            action: action.into(),
            index: None,
            leading_key: key.into(),
        };
        let receipts: BTreeSet<_> = [
            used("dynamodb:GetItem", "CHANNELS"),
            used("dynamodb:Query", "CHANNELS"),
            used("dynamodb:GetItem", "DEDUPE#*"),
            used("dynamodb:GetItem", "PROVREF#*"),
            used("dynamodb:GetItem", "MSG#*"),
            used("dynamodb:PutItem", "PROVREF#*"),
            used("dynamodb:UpdateItem", "MSG#*"),
            used("dynamodb:DeleteItem", "QUEUED#*"),
            used("dynamodb:GetItem", "CONV#*"),
            used("dynamodb:PutItem", "CONSENTLOG#*"),
        ]
        .into();
        assert_eq!(t.denied("inbound-webhook", &receipts), Vec::<String>::new());
        let beyond: BTreeSet<_> = [
            used("dynamodb:PutItem", "CONV#*"),
            used("dynamodb:UpdateItem", "CONV#*"),
            used("dynamodb:GetItem", "AGENTS#*"),
            used("dynamodb:DeleteItem", "MSG#*"),
            smsdesk_aws::usage::KeyUse {
                action: "dynamodb:Query".into(),
                index: Some("waiting".into()),
                leading_key: "q_1".into(),
            },
        ]
        .into();
        assert_eq!(
            t.denied("inbound-webhook", &beyond).len(),
            beyond.len(),
            "{:?}",
            t.dynamodb["inbound-webhook"]
        );
        // The router reads the open conversations' index and any item of the table.
        let router: BTreeSet<_> = [smsdesk_aws::usage::KeyUse {
            action: "dynamodb:Query".into(),
            index: Some("open_by_id".into()),
            leading_key: "OPEN#*".into(),
        }]
        .into();
        assert!(t.denied("router", &router).is_empty());
    }

    #[test]
    fn a_route_moved_to_another_integration_is_read_as_moved() {
        let text = std::fs::read_to_string(template_path()).expect("template");
        let moved = text.replacen(
            "RouteKey: POST /v1/channels/{id}/validate\n      AuthorizationType: JWT\n      AuthorizerId: !Ref JwtAuthorizer\n      Target: !Sub \"integrations/${ValidateIntegration}\"",
            "RouteKey: POST /v1/channels/{id}/validate\n      AuthorizationType: JWT\n      AuthorizerId: !Ref JwtAuthorizer\n      Target: !Sub \"integrations/${WebhookIntegration}\"",
            1,
        );
        assert_ne!(moved, text, "the test's edit applies to the template");
        let t = Template::parse(&moved).expect("parses");
        assert_eq!(t.route("POST", "/v1/channels/c/validate").expect("route").0.function, "inbound-webhook");
    }
}
