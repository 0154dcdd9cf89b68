//! Parts of multipart inbound texts (issue 9.6): a group row (its generation, when it opened, when it was
//! claimed for filing and with which parts, whether that filing is done) and one row per part, changed in
//! one transaction each.

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};
use smsdesk_domain::events::InboundMessage;
use smsdesk_domain::multipart::{self, PartsSoFar};
use smsdesk_ports::{InboundPartStore, PartPut, PartsClaim, PortError, PortResult};
use std::time::Duration;
use time::OffsetDateTime;

use super::EmbeddedStore;
use crate::db::{Cached, nanos, sql, to_json, ts};

fn parts_of(tx: &rusqlite::Transaction<'_>, group: &str) -> PortResult<Vec<InboundMessage>> {
    let mut stmt =
        tx.prepare_cached("SELECT body FROM inbound_parts WHERE grp = ?1 ORDER BY number").map_err(sql)?;
    let rows = stmt.query_map([group], |r| r.get::<_, String>(0)).map_err(sql)?;
    let mut parts = Vec::new();
    for row in rows {
        let body = row.map_err(sql)?;
        parts.push(
            serde_json::from_str(&body)
                .map_err(|e| PortError::Backend(format!("stored part is unreadable: {e}")))?,
        );
    }
    Ok(parts)
}

fn part_number(part: &InboundMessage) -> i64 {
    part.part.as_ref().map_or(0, |p| i64::from(p.number))
}

/// The claimed part numbers, as `part_number` gives them.
fn claimed_numbers(claimed: &str) -> Vec<i64> {
    multipart::numbers_from_text(claimed).into_iter().map(i64::from).collect()
}

#[async_trait]
impl InboundPartStore for EmbeddedStore {
    async fn put_part(
        &self,
        group: &str,
        part: &InboundMessage,
        at: OffsetDateTime,
        reuse_after: Duration,
    ) -> PortResult<PartPut> {
        let (group, part, body) = (group.to_string(), part.clone(), to_json(part)?);
        self.db
            .tx(move |tx| {
                let row: Option<(String, Option<i64>, Option<String>)> = tx
                    .query_row_cached(
                        "SELECT first_id, filed_at, claimed FROM part_groups WHERE grp = ?1",
                        [&group],
                        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                    )
                    .optional()
                    .map_err(sql)?;
                let number = part_number(&part);
                let first_id = match row {
                    Some((_, Some(filed_at), claimed)) if filed_at > ts(at) - nanos(reuse_after) => {
                        let included = match claimed {
                            Some(claimed) => claimed_numbers(&claimed).contains(&number),
                            // Filed before claims were kept: every part it had was in the text.
                            None => tx
                                .query_row_cached(
                                    "SELECT number FROM inbound_parts WHERE grp = ?1 AND number = ?2",
                                    params![group, number],
                                    |r| r.get::<_, i64>(0),
                                )
                                .optional()
                                .map_err(sql)?
                                .is_some(),
                        };
                        return Ok(PartPut::Filed { included });
                    }
                    Some((first_id, None, _)) => first_id,
                    // New, or filed long ago (providers reuse small references): a fresh generation.
                    _ => {
                        tx.execute_cached("DELETE FROM inbound_parts WHERE grp = ?1", [&group])
                            .map_err(sql)?;
                        tx.execute_cached(
                            "INSERT INTO part_groups (grp, first_id, first_at, filed_at, claimed, done) \
                             VALUES (?1, ?2, ?3, NULL, NULL, 0) \
                             ON CONFLICT (grp) DO UPDATE SET first_id = excluded.first_id, \
                             first_at = excluded.first_at, filed_at = NULL, claimed = NULL, done = 0",
                            params![group, part.provider_message_id, ts(at)],
                        )
                        .map_err(sql)?;
                        part.provider_message_id.clone()
                    }
                };
                tx.execute_cached(
                    "INSERT OR IGNORE INTO inbound_parts (grp, number, body) VALUES (?1, ?2, ?3)",
                    params![group, number, body],
                )
                .map_err(sql)?;
                let parts = parts_of(tx, &group)?;
                Ok(PartPut::Stored(PartsSoFar { group, first_id, parts }))
            })
            .await
    }

    async fn claim_parts(
        &self,
        group: &str,
        first_id: &str,
        numbers: &[u32],
        at: OffsetDateTime,
    ) -> PortResult<Option<PartsClaim>> {
        let (group, first_id, numbers) = (group.to_string(), first_id.to_string(), numbers.to_vec());
        self.db
            .tx(move |tx| {
                let row: Option<(Option<i64>, Option<String>)> = tx
                    .query_row_cached(
                        "SELECT filed_at, claimed FROM part_groups WHERE grp = ?1 AND first_id = ?2",
                        params![group, first_id],
                        |r| Ok((r.get(0)?, r.get(1)?)),
                    )
                    .optional()
                    .map_err(sql)?;
                let Some((filed_at, claimed)) = row else { return Ok(None) };
                let parts = PartsSoFar { group: group.clone(), first_id, parts: parts_of(tx, &group)? };
                let claimed = match (filed_at, claimed) {
                    (None, _) => {
                        tx.execute_cached(
                            "UPDATE part_groups SET filed_at = ?2, claimed = ?3 WHERE grp = ?1",
                            params![group, ts(at), multipart::numbers_text(&numbers)],
                        )
                        .map_err(sql)?;
                        numbers
                    }
                    (Some(_), Some(claimed)) => multipart::numbers_from_text(&claimed),
                    // Filed before claims were kept: every part it had was in the text.
                    (Some(_), None) => parts.numbers(),
                };
                let (text, apart) = parts.split(&claimed);
                Ok(Some(PartsClaim { text, apart }))
            })
            .await
    }

    async fn parts_filed(&self, group: &str, first_id: &str) -> PortResult<()> {
        let (group, first_id) = (group.to_string(), first_id.to_string());
        self.db
            .tx(move |tx| {
                tx.execute_cached(
                    "UPDATE part_groups SET done = 1 WHERE grp = ?1 AND first_id = ?2",
                    params![group, first_id],
                )
                .map_err(sql)?;
                Ok(())
            })
            .await
    }

    async fn stale_part_groups(&self, cutoff: OffsetDateTime, limit: usize) -> PortResult<Vec<PartsSoFar>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.db
            .read(move |tx| {
                let groups: Vec<(String, String)> = {
                    let mut stmt = tx
                        .prepare_cached(
                            "SELECT grp, first_id FROM part_groups WHERE done = 0 AND first_at < ?1 \
                             ORDER BY first_at LIMIT ?2",
                        )
                        .map_err(sql)?;
                    let rows = stmt
                        .query_map(params![ts(cutoff), limit], |r| Ok((r.get(0)?, r.get(1)?)))
                        .map_err(sql)?;
                    rows.collect::<Result<_, _>>().map_err(sql)?
                };
                groups
                    .into_iter()
                    .map(|(group, first_id)| {
                        let parts = parts_of(tx, &group)?;
                        Ok(PartsSoFar { group, first_id, parts })
                    })
                    .collect()
            })
            .await
    }
}
