//! The yardstick every function's cold start is compared with: lambda_runtime and nothing else.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move {
        Ok::<_, Error>(serde_json::json!({"hello": event.context.request_id}))
    }))
    .await
}
