//! The table's schema, for tests and development (SAM declares the same table in AWS; `infra/TABLES.md`
//! is the shared description).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType, TableStatus,
    TimeToLiveSpecification, TimeToLiveStatus,
};
use smsdesk_ports::{PortError, PortResult};
use std::time::Duration;

use super::keys::{OPEN_INDEX, WAITING_INDEX};
use crate::error::{build_error, port_error};

/// The attribute DynamoDB's TTL deletes dedupe items by (epoch seconds).
pub const TTL_ATTRIBUTE: &str = "expires_at";
/// How long [`create_table`] waits for the table to become active.
const ACTIVE_WAIT: Duration = Duration::from_secs(60);

/// Creates the table (on demand, `pk`/`sk`, the `waiting` and `open_by_id` indexes, TTL on `expires_at`, a stream
/// of new and old images) and
/// waits until it is active. A table that already exists is left as it is.
pub async fn create_table(client: &Client, table: &str) -> PortResult<()> {
    let created = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .set_attribute_definitions(Some(
            ["pk", "sk", "wait_queue", "wait_order", "open_flag"]
                .into_iter()
                .map(string_attribute)
                .collect::<PortResult<_>>()?,
        ))
        .set_key_schema(Some(vec![key_element("pk", KeyType::Hash)?, key_element("sk", KeyType::Range)?]))
        .global_secondary_indexes(index(WAITING_INDEX, "wait_queue", "wait_order")?)
        .global_secondary_indexes(index(OPEN_INDEX, "open_flag", "pk")?)
        // The stream the `live` function reads (the change feed of the console's live updates).
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .map_err(|e| build_error("StreamSpecification", e))?,
        )
        .send()
        .await;
    match created {
        Ok(_) => {}
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => {}
        Err(e) => return Err(port_error("CreateTable", e)),
    }
    wait_active(client, table).await?;
    enable_ttl(client, table).await
}

/// Turns TTL on for [`TTL_ATTRIBUTE`] unless it is on already (UpdateTimeToLive refuses a repeat).
async fn enable_ttl(client: &Client, table: &str) -> PortResult<()> {
    let current = client
        .describe_time_to_live()
        .table_name(table)
        .send()
        .await
        .map_err(|e| port_error("DescribeTimeToLive", e))?;
    let description = current.time_to_live_description();
    let on = matches!(
        description.and_then(|d| d.time_to_live_status()),
        Some(TimeToLiveStatus::Enabled | TimeToLiveStatus::Enabling)
    );
    if on && description.and_then(|d| d.attribute_name()) == Some(TTL_ATTRIBUTE) {
        return Ok(());
    }
    let ttl = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(TTL_ATTRIBUTE)
        .build()
        .map_err(|e| build_error("TimeToLiveSpecification", e))?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(ttl)
        .send()
        .await
        .map_err(|e| port_error("UpdateTimeToLive", e))?;
    Ok(())
}

fn string_attribute(name: &str) -> PortResult<AttributeDefinition> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| build_error("AttributeDefinition", e))
}

fn key_element(name: &str, key_type: KeyType) -> PortResult<KeySchemaElement> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(|e| build_error("KeySchemaElement", e))
}

fn index(name: &str, hash: &str, range: &str) -> PortResult<GlobalSecondaryIndex> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key_element(hash, KeyType::Hash)?)
        .key_schema(key_element(range, KeyType::Range)?)
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .map_err(|e| build_error("GlobalSecondaryIndex", e))
}

async fn wait_active(client: &Client, table: &str) -> PortResult<()> {
    let started = std::time::Instant::now();
    loop {
        let out = client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| port_error("DescribeTable", e))?;
        let t = out.table();
        let table_active = t.and_then(|t| t.table_status()) == Some(&TableStatus::Active);
        let indexes_active = t
            .map(|t| t.global_secondary_indexes())
            .unwrap_or_default()
            .iter()
            .all(|i| i.index_status().is_none_or(|s| *s == aws_sdk_dynamodb::types::IndexStatus::Active));
        if table_active && indexes_active {
            return Ok(());
        }
        if started.elapsed() > ACTIVE_WAIT {
            return Err(PortError::Unavailable(format!("table {table} is not active after {ACTIVE_WAIT:?}")));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
