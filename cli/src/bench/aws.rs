//! `smsdesk bench --aws`: the same load against the AWS shape (`smsdesk-aws-shape`, from the tests crate:
//! every function of `infra/template.yaml` behind a loopback API Gateway, fed by its SQS triggers, on
//! DynamoDB Local and moto). Beside the embedded run's figures it counts every AWS request the functions
//! make (`smsdesk_aws::usage`, read from the shape's `GET /_shape/usage`): per phase of the run, divided by
//! the phase's messages, so that BENCHMARKS.md can work out the cost per message from them.
//!
//! The store is checked by scanning the table from this process (its requests are not the shape's, so
//! they are not counted).

use super::BenchError;
use super::server::Client;
use serde_json::{Map, Value, json};
use smsdesk_aws::aws_sdk_dynamodb::config::{Credentials, Region};
use smsdesk_aws::aws_sdk_dynamodb::types::AttributeValue;
use smsdesk_aws::usage::{OUTSIDE, Usage};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The shape's usage route (tests/src/aws_shape.rs, `USAGE_PATH`).
pub const USAGE_PATH: &str = "/_shape/usage";
/// The scheduled function: its invocations follow the clock, not the messages.
pub const TIMERS: &str = "timers";
/// The default server binary's name, looked for beside this one.
pub const SHAPE_BINARY: &str = "smsdesk-aws-shape";

/// The AWS requests counted so far, and the table's name.
pub async fn usage(api: &Client) -> Result<(String, Usage), BenchError> {
    let answer = api
        .get_json(USAGE_PATH)
        .await
        .ok_or_else(|| BenchError::Setup(format!("GET {USAGE_PATH} of the AWS shape failed")))?;
    let table = answer["table"].as_str().unwrap_or_default().to_string();
    let usage = serde_json::from_value(answer["usage"].clone())
        .map_err(|e| BenchError::Setup(format!("usage of the AWS shape: {e}")))?;
    Ok((table, usage))
}

/// The usage of the functions that act on messages (not the schedule, not the harness itself).
fn message_work(usage: &Usage) -> Usage {
    let mut out = usage.clone();
    out.functions.retain(|f, _| f != TIMERS && f != OUTSIDE);
    out
}

/// Waits until the functions stop making requests (every queue drained: 2 s without a new one), so that
/// a phase's count holds all the work it caused; the usage then.
pub async fn settled_usage(api: &Client, timeout: Duration) -> Result<Usage, BenchError> {
    let deadline = Instant::now() + timeout;
    let (_, mut last) = usage(api).await?;
    let mut quiet_since = Instant::now();
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let (_, now) = usage(api).await?;
        if message_work(&now) != message_work(&last) {
            quiet_since = Instant::now();
        }
        last = now;
        if quiet_since.elapsed() >= Duration::from_secs(2) || Instant::now() > deadline {
            return Ok(last);
        }
    }
}

/// A phase's requests per message: totals by service, and each function's operations.
pub fn per_message(delta: &Usage, messages: usize) -> Value {
    let per = messages.max(1) as f64;
    let r3 = |x: f64| (x / per * 1000.0).round() / 1000.0;
    let mut totals: HashMap<&str, f64> = HashMap::new();
    let mut functions = Map::new();
    let work = message_work(delta);
    for (function, ops) in &work.functions {
        let mut by_op = Map::new();
        for (op, u) in ops {
            let service = op.split(':').next().unwrap_or(op);
            *totals.entry(service).or_default() += u.calls as f64;
            if service == "dynamodb" {
                *totals.entry("rru").or_default() += u.read_units;
                *totals.entry("wru").or_default() += u.write_units;
            }
            if op == "lambda:Invoke" {
                *totals.entry("lambda_seconds").or_default() += u.seconds;
            }
            let mut entry = json!({"calls": r3(u.calls as f64)});
            if service == "dynamodb" {
                entry["rru"] = json!(r3(u.read_units));
                entry["wru"] = json!(r3(u.write_units));
            }
            by_op.insert(op.clone(), entry);
        }
        functions.insert(function.clone(), Value::Object(by_op));
    }
    let t = |k: &str| r3(totals.get(k).copied().unwrap_or(0.0));
    json!({
        "messages": messages,
        "lambda_invocations": t("lambda"),
        "lambda_ms": t("lambda_seconds") * 1000.0,
        "dynamodb_requests": t("dynamodb"),
        "dynamodb_rru": t("rru"),
        "dynamodb_wru": t("wru"),
        "sqs_requests": t("sqs"),
        "secretsmanager_requests": t("secretsmanager"),
        // Bytes the functions wrote to their logs (CloudWatch Logs): their info lines and EMF metric lines.
        "log_bytes": t("logs"),
        "by_function": functions,
    })
}

/// The sum of several phases' usage (the same phase of every round).
pub fn sum(usages: &[&Usage]) -> Usage {
    let mut out = Usage::default();
    for usage in usages {
        for (function, ops) in &usage.functions {
            for (op, u) in ops {
                let entry = out.functions.entry(function.clone()).or_default().entry(op.clone()).or_default();
                entry.calls += u.calls;
                entry.read_units += u.read_units;
                entry.write_units += u.write_units;
                entry.seconds += u.seconds;
            }
        }
    }
    out
}

/// Requests and dollars per message of a run's rounds, each round's (inbound, reply, receipt) phases
/// summed: per inbound text, per reply, per delivery receipt, and per 1M inbound texts + 1M replies + 2M
/// receipts. `posts` counts the inbound webhooks (replays too: API Gateway bills every request).
pub fn costs_of_rounds(
    phases: &[(Usage, Usage, Usage)],
    texts: usize,
    posts: usize,
    replies: usize,
    receipts: usize,
) -> Value {
    let inbound = per_message(&sum(&phases.iter().map(|p| &p.0).collect::<Vec<_>>()), texts);
    let reply = per_message(&sum(&phases.iter().map(|p| &p.1).collect::<Vec<_>>()), replies);
    let receipt = per_message(&sum(&phases.iter().map(|p| &p.2).collect::<Vec<_>>()), receipts);
    // API Gateway requests per message: every webhook post (replays too), every reply's POST.
    let inbound_cost = cost_per_message(&inbound, posts as f64 / texts.max(1) as f64, None);
    let reply_cost = cost_per_message(&reply, 1.0, None);
    let receipt_cost = cost_per_message(&receipt, 1.0, None);
    // 1M inbound texts + 1M replies, each reply with two delivery receipts (as the run posts them).
    let million_each = |inbound: &Value, reply: &Value, receipt: &Value| -> Map<String, Value> {
        let total = |k: &str| {
            let v = |c: &Value| c[k].as_f64().unwrap_or(0.0);
            ((v(inbound) + v(reply) + 2.0 * v(receipt)) * 100.0).round() / 100.0
        };
        COST_KEYS.iter().map(|k| (k.to_string(), json!(total(k)))).collect()
    };
    let one_million_each = million_each(&inbound_cost, &reply_cost, &receipt_cost);
    // The same with the template's `WebhookIngress=FunctionUrl`: the webhooks (texts, replays, receipts)
    // reach their function through its function URL, which bills nothing per request; the replies' POSTs
    // still go through API Gateway (its JWT authorizer).
    let (inbound_at_url, receipt_at_url) =
        (cost_per_message(&inbound, 0.0, None), cost_per_message(&receipt, 0.0, None));
    let webhooks_on_function_url = million_each(&inbound_at_url, &reply_cost, &receipt_at_url);
    // And with `ApiIngress=FunctionUrl` too: the replies' POSTs reach agent-api through its own function
    // URL (agent-api checks the JWT itself), so no request of the exchange goes through API Gateway.
    let on_function_urls =
        million_each(&inbound_at_url, &cost_per_message(&reply, 0.0, None), &receipt_at_url);
    json!({
        "per_inbound_text": inbound,
        "per_reply": reply,
        "per_delivery_receipt": receipt,
        "dollars_per_million": {
            "inbound_text": inbound_cost,
            "reply": reply_cost,
            "delivery_receipt": receipt_cost,
            "1M_in_1M_out_2M_receipts": one_million_each,
            "1M_in_1M_out_2M_receipts_webhooks_on_function_url": webhooks_on_function_url,
            "1M_in_1M_out_2M_receipts_on_function_urls": on_function_urls,
        },
    })
}

/// The parts of [`cost_per_message`], and its total.
pub const COST_KEYS: [&str; 9] = [
    "api_gateway_http",
    "lambda_requests",
    "lambda_gb_seconds",
    "sqs",
    "dynamodb_reads",
    "dynamodb_writes",
    "secrets_manager",
    "cloudwatch_logs",
    "total",
];

/// The scheduled function's requests per invocation (in AWS it runs once a minute whatever the traffic).
pub fn per_timers_invocation(delta: &Usage) -> Value {
    let Some(ops) = delta.functions.get(TIMERS) else { return Value::Null };
    let invocations = ops.get("lambda:Invoke").map_or(0, |u| u.calls);
    let only = Usage { functions: [(TIMERS.to_string(), ops.clone())].into_iter().collect() };
    // `per_message` leaves the timers out; count them under another name.
    let renamed = Usage {
        functions: only.functions.into_values().map(|ops| ("timers (per run)".into(), ops)).collect(),
    };
    per_message(&renamed, invocations as usize)
}

/// The table, scanned from this process.
pub struct DynamoView {
    client: smsdesk_aws::aws_sdk_dynamodb::Client,
    table: String,
}

/// What the checks need from one scan.
#[derive(Default)]
pub struct Scanned {
    /// (conversation id, agent id) of every conversation.
    pub conversations: Vec<(String, Option<String>)>,
    /// (direction, status, provider message id) of every message.
    pub messages: Vec<(String, String, Option<String>)>,
}

impl DynamoView {
    /// The table on DynamoDB Local at `SMSDESK_DYNAMODB_ENDPOINT`.
    pub fn connect(table: &str) -> Result<Self, BenchError> {
        let endpoint =
            std::env::var("SMSDESK_DYNAMODB_ENDPOINT").ok().filter(|v| !v.trim().is_empty()).ok_or_else(
                || BenchError::Setup("--aws needs SMSDESK_DYNAMODB_ENDPOINT (the emulators)".into()),
            )?;
        let sdk = smsdesk_aws::sdk_config(
            Region::new("us-east-1"),
            Credentials::new("test", "test", None, None, "smsdesk-bench"),
        );
        let cfg = smsdesk_aws::AwsConfig::from_lookup(|name| match name {
            "SMSDESK_TABLE" => Some(table.to_string()),
            "SMSDESK_DYNAMODB_ENDPOINT" => Some(endpoint.clone()),
            _ => None,
        })
        .map_err(|e| BenchError::Setup(format!("DynamoDB config: {e}")))?;
        Ok(Self { client: smsdesk_aws::dynamodb_client(&sdk, &cfg), table: table.to_string() })
    }

    pub async fn scan(&self) -> Result<Scanned, BenchError> {
        let text = |item: &HashMap<String, AttributeValue>, name: &str| {
            item.get(name).and_then(|v| v.as_s().ok()).cloned()
        };
        let mut out = Scanned::default();
        let mut start = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("entity IN (:c, :m)")
                .expression_attribute_values(":c", AttributeValue::S("conversation".into()))
                .expression_attribute_values(":m", AttributeValue::S("message".into()))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| {
                    BenchError::Aws(format!(
                        "Scan: {}",
                        smsdesk_aws::aws_sdk_dynamodb::error::DisplayErrorContext(e)
                    ))
                })?;
            for item in page.items() {
                match text(item, "entity").as_deref() {
                    Some("conversation") => {
                        out.conversations.push((text(item, "id").unwrap_or_default(), text(item, "agent_id")))
                    }
                    Some("message") => out.messages.push((
                        text(item, "direction").unwrap_or_default(),
                        text(item, "status").unwrap_or_default(),
                        text(item, "provider_message_id"),
                    )),
                    _ => {}
                }
            }
            match page.last_evaluated_key {
                Some(next) if !next.is_empty() => start = Some(next),
                _ => return Ok(out),
            }
        }
    }
}

/// AWS list prices, us-east-1, in dollars, as published on the services' pricing pages (DynamoDB's
/// on-demand prices after the 2024-11-01 reduction); read 2026-11-29. BENCHMARKS.md writes the formula out.
pub mod prices {
    /// API Gateway HTTP API, per request (first 300 million a month).
    pub const HTTP_API_REQUEST: f64 = 1.00 / 1e6;
    /// Lambda, per invocation.
    pub const LAMBDA_REQUEST: f64 = 0.20 / 1e6;
    /// Lambda on arm64, per GB-second.
    pub const LAMBDA_GB_SECOND_ARM: f64 = 0.000_013_333_4;
    /// The functions' memory (infra/template.yaml, Globals `MemorySize`), in GB.
    pub const LAMBDA_MEMORY_GB: f64 = 0.25;
    /// SQS FIFO, per request (64 KB chunk); standard queues cost $0.40 per million, so pricing every SQS call
    /// at the FIFO price errs high by at most $0.10 per million CRM-queue calls.
    pub const SQS_FIFO_REQUEST: f64 = 0.50 / 1e6;
    /// DynamoDB on demand, per read request unit and per write request unit.
    pub const DYNAMODB_RRU: f64 = 0.125 / 1e6;
    pub const DYNAMODB_WRU: f64 = 0.625 / 1e6;
    /// Secrets Manager, per API call.
    pub const SECRETS_MANAGER_CALL: f64 = 0.05 / 10_000.0;
    /// CloudWatch Logs ingestion, per GB. What the functions write is measured (`log_bytes`). Lambda's own
    /// lines per invocation (`START`, `END`, `REPORT`: about 300 bytes in the text log format) are not
    /// written: every function of infra/template.yaml sets `LogFormat: JSON` and `SystemLogLevel: WARN`
    /// (infra/check_template.py fails otherwise), and those lines are INFO-level platform events.
    pub const LOGS_PER_GB: f64 = 0.50;
    pub const PLATFORM_LOG_BYTES_PER_INVOCATION: f64 = 0.0;
}

/// What one message of a phase costs in AWS, by service, from its per-message counts (`per_message`) and
/// `http_requests` API Gateway requests per message; Lambda's duration is `lambda_ms` as measured, or
/// `lambda_ms_override` when given (the emulators and a debug build make the measured one pessimistic).
pub fn cost_per_message(per: &Value, http_requests: f64, lambda_ms_override: Option<f64>) -> Value {
    use prices::*;
    let f = |k: &str| per[k].as_f64().unwrap_or(0.0);
    let invocations = f("lambda_invocations");
    let ms = lambda_ms_override.map_or(f("lambda_ms"), |ms| ms * invocations);
    let parts = [
        ("api_gateway_http", http_requests * HTTP_API_REQUEST),
        ("lambda_requests", invocations * LAMBDA_REQUEST),
        ("lambda_gb_seconds", ms / 1000.0 * LAMBDA_MEMORY_GB * LAMBDA_GB_SECOND_ARM),
        ("sqs", f("sqs_requests") * SQS_FIFO_REQUEST),
        ("dynamodb_reads", f("dynamodb_rru") * DYNAMODB_RRU),
        ("dynamodb_writes", f("dynamodb_wru") * DYNAMODB_WRU),
        ("secrets_manager", f("secretsmanager_requests") * SECRETS_MANAGER_CALL),
        (
            "cloudwatch_logs",
            (f("log_bytes") + invocations * PLATFORM_LOG_BYTES_PER_INVOCATION) / 1e9 * LOGS_PER_GB,
        ),
    ];
    let mut out = Map::new();
    let mut total = 0.0;
    for (k, dollars) in parts {
        // Dollars per million messages, to the cent.
        out.insert(k.into(), json!((dollars * 1e6 * 100.0).round() / 100.0));
        total += dollars;
    }
    out.insert("total".into(), json!((total * 1e6 * 100.0).round() / 100.0));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use smsdesk_aws::usage::OpUsage;

    fn usage(function: &str, ops: &[(&str, u64, f64)]) -> Usage {
        let ops = ops
            .iter()
            .map(|(op, calls, write_units)| {
                (op.to_string(), OpUsage { calls: *calls, write_units: *write_units, ..OpUsage::default() })
            })
            .collect();
        Usage { functions: [(function.to_string(), ops)].into_iter().collect() }
    }

    /// 1M texts (each posted 1.5 times: replays), 1M replies and 2M receipts: API Gateway bills every post
    /// ($1.5 + $1 + $2); on the function URL only the replies' POSTs ($1), and nothing else moves; with
    /// the API on its function URL too, none.
    #[test]
    fn webhooks_on_the_function_url_take_their_requests_off_api_gateway_and_nothing_else() {
        let text = usage("router", &[("dynamodb:PutItem", 10, 10.0), ("lambda:Invoke", 10, 0.0)]);
        let reply = usage("agent-api", &[("dynamodb:PutItem", 20, 20.0), ("lambda:Invoke", 10, 0.0)]);
        let receipt =
            usage("inbound-webhook", &[("dynamodb:UpdateItem", 10, 10.0), ("lambda:Invoke", 20, 0.0)]);
        let costs = costs_of_rounds(&[(text, reply, receipt)], 10, 15, 10, 20);
        let all = &costs["dollars_per_million"]["1M_in_1M_out_2M_receipts"];
        let at_url = &costs["dollars_per_million"]["1M_in_1M_out_2M_receipts_webhooks_on_function_url"];
        assert_eq!(all["api_gateway_http"], json!(4.5), "{costs}");
        assert_eq!(at_url["api_gateway_http"], json!(1.0), "{costs}");
        for key in COST_KEYS.iter().filter(|k| !matches!(**k, "api_gateway_http" | "total")) {
            assert_eq!(all[key], at_url[key], "{key}: {costs}");
        }
        let total = |c: &Value| c["total"].as_f64().unwrap_or_default();
        assert!((total(all) - total(at_url) - 3.5).abs() < 0.011, "{costs}");
        // With the API on agent-api's function URL too, no request goes through API Gateway.
        let urls = &costs["dollars_per_million"]["1M_in_1M_out_2M_receipts_on_function_urls"];
        assert_eq!(urls["api_gateway_http"], json!(0.0), "{costs}");
        assert!((total(at_url) - total(urls) - 1.0).abs() < 0.011, "{costs}");
        // 1 WRU per text, 2 per reply, 0.5 per receipt (two each): 4 WRU at $0.625.
        assert_eq!(all["dynamodb_writes"], json!(2.5), "{costs}");
    }
}
