//! The `smsdesk` command. `smsdesk dev` runs the whole product in one process: the same handlers as the
//! Lambda functions (HTTP API and webhooks, router, outbound-send, crm-upsert, timers) on the embedded
//! store and its durable queues, with the sandbox provider.

pub mod aws_local;
pub mod bench;
pub mod cli;
pub mod dev;
pub mod dlq;
pub mod events;
pub mod http_server;
pub mod webhook;
