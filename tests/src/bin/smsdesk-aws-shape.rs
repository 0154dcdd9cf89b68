//! `smsdesk-aws-shape`: the AWS shape of the black-box tests ([`smsdesk_tests::aws_shape`]: every function of
//! `infra/template.yaml` behind a loopback API Gateway, fed by its SQS triggers and schedule, on DynamoDB
//! Local and moto) as a server process, for `smsdesk bench --aws`. It needs the emulators' endpoints
//! (`eval "$(scripts/emulators.sh start)"`) and `SMSDESK_ADMIN_TOKEN`; its first line on standard output is
//! `smsdesk aws shape is serving on http://127.0.0.1:N`. `GET /_shape/usage` answers the AWS requests
//! counted so far. It runs until killed, or exits with status 1 at the first fault of the shape.

use smsdesk_tests::aws_shape::{AwsShape, endpoints};
use std::io::Write;
use std::time::Duration;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

/// The functions' log lines as Lambda would ship them to CloudWatch Logs (the template's default `LogLevel`,
/// `info`, in the functions' JSON format: `smsdesk_lambda::logs::json_subscriber`), counted by bytes per
/// function (`usage::logged`, issue 12.4) and dropped; the server's own log (standard error) keeps
/// `RUST_LOG`'s level.
fn install_logs() {
    let counted = tracing_subscriber::fmt::layer()
        .json()
        .with_ansi(false)
        .with_target(true)
        .with_current_span(true)
        .with_span_list(false)
        .flatten_event(true)
        .with_writer(|| CountingSink)
        .with_filter(EnvFilter::new("info"));
    let echoed = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_writer(std::io::stderr)
        .with_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")));
    let _already = tracing_subscriber::registry().with(counted).with(echoed).try_init();
}

/// Counts what it is given under the function that logs it, and keeps nothing.
struct CountingSink;

impl std::io::Write for CountingSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        smsdesk_aws::usage::logged(buf.len());
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::main]
async fn main() {
    let Some(admin_token) = std::env::var("SMSDESK_ADMIN_TOKEN").ok().filter(|t| !t.trim().is_empty()) else {
        eprintln!("smsdesk-aws-shape: set SMSDESK_ADMIN_TOKEN");
        std::process::exit(2);
    };
    install_logs();
    let (dynamodb, sqs) = endpoints();
    let shape = AwsShape::start(&admin_token, dynamodb, sqs).await;
    // The table's stream feeds live from the start, as in AWS: its requests count as the messages' own.
    if let Some(live) = &shape.live {
        live.start_stream();
    }
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
