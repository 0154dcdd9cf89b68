//! live: the console's live updates in AWS. API Gateway's WebSocket API calls it for `$connect`,
//! `$default` (the auth message: hello, catch-up, caught_up) and `$disconnect`; the table's DynamoDB stream
//! feeds it the writes it turns into numbered changes and posts to the connections that may see them
//! (shared/lambda/src/live.rs).

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), smsdesk_lambda::Error> {
    // What this function serves and on which adapters: smsdesk_lambda::Function (shared/lambda/src/
    // functions.rs), by package name; the adapters are the smsdesk-lambda features of Cargo.toml.
    smsdesk_lambda::run_function(env!("CARGO_PKG_NAME")).await
}
