//! The WebSocket connections of the console's live updates in AWS (API Gateway's WebSocket API): one
//! `CONNS`/`CONN#<connection id>` item per authenticated connection, with who it is (an agent's id, or none
//! for an admin) and a TTL of [`CONNECTION_TTL`] (API Gateway closes a connection after 2 hours anyway).
//! The `live` function puts it when the auth message is accepted, deletes it on `$disconnect` or when a post
//! answers 410 Gone, and lists the partition for each batch of changes (one consistent Query).

use smsdesk_domain::AgentId;
use smsdesk_ports::PortResult;

use super::keys::{item_with, key};
use super::{DynamoStore, Query};
use crate::attr::{Item, get_s, n, s};

const CONNECTIONS: &str = "CONNS";
/// How long a connection item lives.
pub const CONNECTION_TTL: std::time::Duration = std::time::Duration::from_secs(2 * 3600);

/// An authenticated connection: its API Gateway id, and the agent it is (None: an admin).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    pub id: String,
    pub agent: Option<AgentId>,
}

fn connection_key(id: &str) -> Item {
    key(CONNECTIONS, format!("CONN#{id}"))
}

impl DynamoStore {
    /// Records an authenticated connection (`now` in seconds since the epoch).
    pub async fn put_connection(&self, connection: &Connection, now: i64) -> PortResult<()> {
        let ttl = i64::try_from(CONNECTION_TTL.as_secs()).unwrap_or(i64::MAX);
        let mut attrs = vec![
            ("entity", s("connection")),
            ("connection_id", s(connection.id.clone())),
            (crate::TTL_ATTRIBUTE, n(now + ttl)),
        ];
        if let Some(agent) = &connection.agent {
            attrs.push(("agent_id", s(agent.to_string())));
        }
        self.put(item_with(connection_key(&connection.id), attrs), None).await?;
        Ok(())
    }

    pub async fn delete_connection(&self, id: &str) -> PortResult<()> {
        self.delete(connection_key(id)).await
    }

    /// The connections not expired at `now` (seconds since the epoch).
    pub async fn connections(&self, now: i64) -> PortResult<Vec<Connection>> {
        let items = self.query(Query::prefix(CONNECTIONS, "CONN#")).await?;
        Ok(items
            .iter()
            .filter(|item| {
                let expires = item.get(crate::TTL_ATTRIBUTE).and_then(|v| v.as_n().ok());
                expires.and_then(|e| e.parse::<i64>().ok()).is_none_or(|e| e > now)
            })
            .filter_map(|item| {
                Some(Connection {
                    id: get_s(item, "connection_id")?.to_string(),
                    agent: get_s(item, "agent_id").map(AgentId::new),
                })
            })
            .collect())
    }
}
