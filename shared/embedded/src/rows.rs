//! Small helpers to read JSON-bodied rows.

use rusqlite::{OptionalExtension, Params, Transaction};
use smsdesk_ports::PortResult;

use crate::db::{from_json, sql};

/// The record in the `body` column of the one row `query` selects, if any.
pub(crate) fn one<T: serde::de::DeserializeOwned>(
    tx: &Transaction<'_>,
    query: &str,
    params: impl Params,
) -> PortResult<Option<T>> {
    let mut stmt = tx.prepare_cached(query).map_err(sql)?;
    let body: Option<String> = stmt.query_row(params, |r| r.get(0)).optional().map_err(sql)?;
    body.as_deref().map(from_json).transpose()
}

/// The records in the `body` column of every row `query` selects, in its order.
pub(crate) fn all<T: serde::de::DeserializeOwned>(
    tx: &Transaction<'_>,
    query: &str,
    params: impl Params,
) -> PortResult<Vec<T>> {
    let mut stmt = tx.prepare_cached(query).map_err(sql)?;
    let bodies = stmt.query_map(params, |r| r.get::<_, String>(0)).map_err(sql)?;
    let mut out = Vec::new();
    for body in bodies {
        out.push(from_json(&body.map_err(sql)?)?);
    }
    Ok(out)
}
