//! inbound-webhook: `POST /webhooks/{provider}/{channel_id}`. Verifies the provider's signature, parses,
//! dedupes, and answers 2xx once the events are on the inbound queue.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), smsdesk_lambda::Error> {
    smsdesk_lambda::init_tracing();
    let app = smsdesk_lambda::aws_app().await?;
    smsdesk_lambda::run_http(smsdesk_app::http::webhook_router(app)).await
}
