//! Posting to the connections of API Gateway's WebSocket API (the console's live updates in AWS) through
//! its management API (`POST /@connections/{id}`, `DELETE /@connections/{id}`), signed as `execute-api`.
//! The endpoint is the stage's `https://{api id}.execute-api.{region}.amazonaws.com/{stage}`
//! ([`WEBSOCKET_ENDPOINT_VAR`], set by the template); a connection that is gone answers 410
//! ([`Posted::Gone`]).

use aws_sdk_apigatewaymanagement::Client;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use smsdesk_ports::{PortError, PortResult};

use crate::error::port_error;
use crate::lazy::LazyClient;

/// The management endpoint of the WebSocket API's stage.
pub const WEBSOCKET_ENDPOINT_VAR: &str = "SMSDESK_WEBSOCKET_ENDPOINT";

/// What a post came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Posted {
    Sent,
    /// The connection is closed (410 GoneException): forget it.
    Gone,
}

#[derive(Clone, Debug)]
pub struct WebSocketPoster {
    client: LazyClient<Client>,
}

/// A management API client for the stage at `endpoint`.
pub fn websocket_client(sdk: &aws_types::SdkConfig, endpoint: &str) -> Client {
    let builder = aws_sdk_apigatewaymanagement::config::Builder::from(sdk).endpoint_url(endpoint);
    Client::from_conf(builder.build())
}

impl WebSocketPoster {
    /// A poster to the stage at `endpoint`; the client is built on first use.
    pub fn new(sdk: &aws_types::SdkConfig, endpoint: &str) -> Self {
        let (sdk, endpoint) = (sdk.clone(), endpoint.to_string());
        Self { client: LazyClient::new(move || websocket_client(&sdk, &endpoint)) }
    }

    /// Sends one text frame to a connection.
    pub async fn post(&self, connection: &str, text: &str) -> PortResult<Posted> {
        let result = self
            .client
            .post_to_connection()
            .connection_id(connection)
            .data(Blob::new(text.as_bytes()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Posted::Sent),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_gone_exception()) => Ok(Posted::Gone),
            Err(e) => Err(port_error("PostToConnection", e)),
        }
    }

    /// Closes a connection (a refused token); one already gone is fine.
    pub async fn close(&self, connection: &str) -> PortResult<()> {
        match self.client.delete_connection().connection_id(connection).send().await {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_gone_exception()) => Ok(()),
            Err(e) => Err(PortError::Unavailable(format!("DeleteConnection: {e}"))),
        }
    }
}
