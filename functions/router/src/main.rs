//! router: files inbound texts into conversations, assigns them, applies delivery reports (inbound FIFO queue).

use smsdesk_app::services::routing::RouterConsumer;
use smsdesk_ports::QueueKind;
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), smsdesk_lambda::Error> {
    smsdesk_lambda::init_tracing();
    let app = smsdesk_lambda::aws_app().await?;
    let consumer = Arc::new(RouterConsumer::new(app.clone()));
    smsdesk_lambda::run_sqs(consumer, app.queue.clone(), QueueKind::Inbound).await
}
