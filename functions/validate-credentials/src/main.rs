//! validate-credentials: `POST /v1/channels/{id}/validate`, the cheapest read-only provider call that proves
//! a channel's credentials.

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), smsdesk_lambda::Error> {
    smsdesk_lambda::init_tracing();
    let app = smsdesk_lambda::aws_app().await?;
    let router =
        smsdesk_lambda::with_principal(smsdesk_app::http::validate_router(app), smsdesk_lambda::principal);
    smsdesk_lambda::run_http(router).await
}
