//! agent-api: the admin and agent HTTP API (`/v1/...`) behind API Gateway's JWT authorizer.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), smsdesk_lambda::Error> {
    // What this function serves and on which adapters: smsdesk_lambda::Function (shared/lambda/src/
    // functions.rs), by package name; the adapters are the smsdesk-lambda features of Cargo.toml.
    smsdesk_lambda::run_function(env!("CARGO_PKG_NAME")).await
}
