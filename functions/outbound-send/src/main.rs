//! outbound-send: sends queued replies through the provider, once, with retries (outbound FIFO queue).

use smsdesk_app::services::outbound::OutboundConsumer;
use smsdesk_ports::QueueKind;
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), smsdesk_lambda::Error> {
    smsdesk_lambda::init_tracing();
    let app = smsdesk_lambda::aws_app().await?;
    let consumer = Arc::new(OutboundConsumer::new(app.clone()));
    smsdesk_lambda::run_sqs(consumer, app.queue.clone(), QueueKind::Outbound).await
}
