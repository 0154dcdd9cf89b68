//! What a function looks like when written the obvious way: `aws_config::load_defaults`, default crate
//! features, a default reqwest client. One invocation lists DynamoDB tables and reads the queue's depth, so
//! the first invocation can be measured against DynamoDB Local and the SQS emulator.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let config = aws_config::load_from_env().await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let http = reqwest::Client::builder().build()?;
    let (dynamodb, sqs, http) = (&dynamodb, &sqs, &http);
    lambda_runtime::run(service_fn(move |_: LambdaEvent<Value>| async move {
        let tables = dynamodb.list_tables().send().await?;
        let queues = sqs.list_queues().send().await?;
        drop(http.clone());
        Ok::<_, Error>(serde_json::json!({
            "tables": tables.table_names().len(),
            "queues": queues.queue_urls().len(),
        }))
    }))
    .await
}
