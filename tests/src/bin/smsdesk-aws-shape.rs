//! `smsdesk-aws-shape`: the AWS shape of the black-box tests ([`smsdesk_tests::aws_shape`]: every function of
//! `infra/template.yaml` behind a loopback API Gateway, fed by its SQS triggers and schedule, on DynamoDB
//! Local and moto) as a server process, for `smsdesk bench --aws`. It needs the emulators' endpoints
//! (`eval "$(scripts/emulators.sh start)"`) and `SMSDESK_ADMIN_TOKEN`; its first line on standard output is
//! `smsdesk aws shape is serving on http://127.0.0.1:N`. `GET /_shape/usage` answers the AWS requests
//! counted so far. It runs until killed, or exits with status 1 at the first fault of the shape.

use smsdesk_tests::aws_shape::{AwsShape, endpoints};
use std::io::Write;
use std::time::Duration;

#[tokio::main]
async fn main() {
    let Some(admin_token) = std::env::var("SMSDESK_ADMIN_TOKEN").ok().filter(|t| !t.trim().is_empty()) else {
        eprintln!("smsdesk-aws-shape: set SMSDESK_ADMIN_TOKEN");
        std::process::exit(2);
    };
    let (dynamodb, sqs) = endpoints();
    let shape = AwsShape::start(&admin_token, dynamodb, sqs).await;
    println!("smsdesk aws shape is serving on http://{}", shape.addr);
    let _ = std::io::stdout().flush();
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Some(fault) = shape.faults.first() {
            eprintln!("smsdesk-aws-shape: {fault}");
            std::process::exit(1);
        }
    }
}
