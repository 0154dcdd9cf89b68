//! The glue between AWS Lambda and smsdesk's portable handlers. A function's `main.rs` builds its
//! dependencies once per cold start and hands them to one of:
//! - [`run_sqs`]: a queue consumer (router, outbound-send, crm-upsert) fed SQS batches, answering with
//!   partial batch failures;
//! - [`run_http`]: an axum `Router` (agent-api, inbound-webhook, validate-credentials) behind an API Gateway
//!   HTTP API (payload v2), with the JWT authorizer's claims put into each request as [`Claims`];
//! - a schedule (timers);
//! - the live updates' WebSocket routes and table stream (live, feature `live`: [`live::LiveHandler`]).
//!
//! Which of them, on which adapters, is [`Function`]'s business: each `main.rs` is one call to
//! [`run_function`] with its package name.
//!
//! Every function counts what it failed at without Lambda seeing an error (5xx answers, messages given
//! up on) as the metric behind its rollback alarm: [`failures`].
//!
//! Everything that decides lives in the handlers; this crate only translates shapes, so `smsdesk dev` and
//! Lambda run the same code.
//!
//! Each function runs on Tokio's current-thread runtime (`#[tokio::main(flavor = "current_thread")]`):
//! Lambda hands an execution environment one invocation at a time, and the work inside one (an SQS batch's
//! FIFO groups, run concurrently as tasks) waits on the network, so worker threads would only add their
//! start-up to every cold start (agent-api init 1.30x -> 1.13x a hello world; bench/coldstart/README.md).

pub mod app;
pub mod clients;
pub mod failures;
pub mod functions;
pub mod http;
#[cfg(feature = "live")]
pub mod live;
pub mod logs;
pub mod sqs;
pub mod unwired;
pub mod xray;

pub use app::{
    PROVIDER_TIMEOUT, WireError, Wiring, assemble, assemble_with, aws_app, config_from_env, identity,
    jwt_verifier, provider_http, webhook_base,
};
pub use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
pub use clients::{http_client_builder, sdk_config};
pub use failures::{CountFailures, Failures, HttpService};
pub use functions::{Function, Handler, QueueHandler, ScheduleHandler, run_function};
pub use http::{
    Claims, claims_from_context, invoke_json, lambda_service, run_http, with_claims, with_principal,
};
pub use logs::init_tracing;
pub use sqs::{failed, last_start, process_batch, process_batch_until, received_from, run_sqs};
pub use unwired::Unwired;

/// The error type the Lambda runtime reports (re-exported so `main.rs` needs no direct dependency).
pub use lambda_runtime::Error;
