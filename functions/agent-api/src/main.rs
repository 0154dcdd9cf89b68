//! agent-api: the admin and agent HTTP API (`/v1/...`) behind API Gateway's JWT authorizer.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), smsdesk_lambda::Error> {
    smsdesk_lambda::init_tracing();
    let app = smsdesk_lambda::aws_app().await?;
    let router =
        smsdesk_lambda::with_principal(smsdesk_app::http::api_router(app), smsdesk_lambda::principal);
    smsdesk_lambda::run_http(router).await
}
