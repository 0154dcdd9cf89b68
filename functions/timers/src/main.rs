//! timers: every minute, assigns what waits for a free agent and closes conversations idle too long.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), smsdesk_lambda::Error> {
    smsdesk_lambda::init_tracing();
    let app = smsdesk_lambda::aws_app().await?;
    smsdesk_lambda::run_timers(app).await
}
