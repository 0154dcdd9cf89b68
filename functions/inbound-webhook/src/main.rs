//! inbound-webhook: `POST /webhooks/{provider}/{channel_id}`. Verifies the provider's signature, parses,
//! dedupes, and answers 2xx once the events are durable: texts on the inbound queue, delivery receipts
//! applied to their messages.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), smsdesk_lambda::Error> {
    // What this function serves and on which adapters: smsdesk_lambda::Function (shared/lambda/src/
    // functions.rs), by package name; the adapters are the smsdesk-lambda features of Cargo.toml.
    smsdesk_lambda::run_function(env!("CARGO_PKG_NAME")).await
}
