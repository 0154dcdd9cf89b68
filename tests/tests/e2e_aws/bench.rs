//! `smsdesk bench --aws` at a small size (issue 12.3): the load run against the AWS shape (the template's
//! functions as `smsdesk-aws-shape`, on DynamoDB Local and moto) loses, duplicates and downgrades nothing,
//! and its JSON line carries the AWS requests it counted per message: the DynamoDB capacity units that
//! DynamoDB reported (ReturnConsumedCapacity), the SQS calls and the Lambda invocations of each phase.

use smsdesk_tests::bench::run_command;

#[test]
fn bench_on_the_aws_shape_counts_aws_requests_per_message_and_loses_nothing() {
    let server = env!("CARGO_BIN_EXE_smsdesk-aws-shape");
    let figures = run_command(&[
        "--aws",
        "--texts",
        "20",
        "--connections",
        "4",
        "--agents",
        "2",
        "--numbers",
        "2",
        "--server",
        server,
    ]);
    let n = |k: &str| figures[k].as_u64().unwrap_or_else(|| panic!("{k} is not a count: {figures}"));
    assert_eq!(figures["shape"], "aws", "{figures}");
    assert_eq!((n("accepted"), n("routed"), n("sent"), n("delivered")), (20, 20, 20, 20), "{figures}");
    assert_eq!((n("lost"), n("duplicated"), n("downgraded"), n("refused")), (0, 0, 0, 0), "{figures}");
    assert_eq!(n("replies_refused"), 0, "{figures}");
    let requests = &figures["aws_requests"];
    let per = |phase: &str, what: &str| {
        requests[phase][what].as_f64().unwrap_or_else(|| panic!("{phase}.{what}: {requests}"))
    };
    // Every inbound text: the webhook's invocation and the router's, a dedupe write, the filing, queue calls.
    // (Consumers take batches: the router's and crm-upsert's invocations per text are fractions.)
    assert!(per("per_inbound_text", "lambda_invocations") >= 1.0, "{requests}");
    assert!(per("per_inbound_text", "dynamodb_wru") > 0.0, "DynamoDB reported write units: {requests}");
    assert!(per("per_inbound_text", "dynamodb_rru") > 0.0, "DynamoDB reported read units: {requests}");
    // Sends to the inbound and crm queues per text; a receive and a DeleteMessageBatch per batch.
    assert!(per("per_inbound_text", "sqs_requests") > 2.0, "send, receive, delete: {requests}");
    let webhook = &requests["per_inbound_text"]["by_function"]["inbound-webhook"];
    assert!(webhook["lambda:Invoke"]["calls"].as_f64().is_some_and(|c| c >= 1.0), "{requests}");
    // Every reply: agent-api's invocation, outbound-send's, and its queue calls.
    assert!(per("per_reply", "lambda_invocations") >= 1.0, "{requests}");
    let api = &requests["per_reply"]["by_function"]["agent-api"];
    assert!(api["lambda:Invoke"]["calls"].as_f64().is_some_and(|c| c >= 1.0), "{requests}");
    assert!(per("per_reply", "sqs_requests") > 1.0, "a send; a receive and a delete per batch: {requests}");
    // The sender keeps the channel's credentials in memory (issue 12.4): not one Secrets Manager read per
    // reply (it was 1.0).
    assert!(per("per_reply", "secretsmanager_requests") < 0.5, "{requests}");
    assert!(per("per_delivery_receipt", "lambda_invocations") >= 1.0, "{requests}");
}
