//! crm-upsert: finds or creates the customer's contact and writes the timeline (crm queue).

use smsdesk_app::services::crm::CrmConsumer;
use smsdesk_ports::QueueKind;
use std::sync::Arc;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), smsdesk_lambda::Error> {
    smsdesk_lambda::init_tracing();
    let app = smsdesk_lambda::aws_app().await?;
    let consumer = Arc::new(CrmConsumer::new(app.clone()));
    smsdesk_lambda::run_sqs(consumer, app.queue.clone(), QueueKind::Crm).await
}
