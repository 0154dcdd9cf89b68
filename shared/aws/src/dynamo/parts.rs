//! Parts of multipart inbound texts (issue 9.6). A group item `PARTS#<group>` / `GROUP` holds the group's
//! generation (`first_id`: the provider id of the part that opened it), when it opened, and when it was
//! claimed for filing with which parts (`filed_at_ns`, `claimed`); each part is `PARTS#<group>` /
//! `PART#<first_id>#<number>`; a group is listed under `PARTSOPEN` / `<opened at>#<group>` until its
//! filing is done (the timers' sweep of groups that timed out, and of filings a crash left half done).
//! Every item carries `expires_at`, so DynamoDB's TTL removes filed groups a week later.

use async_trait::async_trait;
use smsdesk_domain::events::InboundMessage;
use smsdesk_domain::multipart::{self, PartsSoFar};
use smsdesk_ports::{InboundPartStore, PartPut, PartsClaim, PortError, PortResult};
use std::time::Duration;
use time::OffsetDateTime;

use super::conversations::absent;
use super::{Cond, DynamoStore, Query, Tx, attempts, contention, keys};
use crate::attr::{Expr, Item, get_s, n, s, sortable};

/// How long DynamoDB keeps a group's items (TTL), counted from its last write.
const KEEP: time::Duration = time::Duration::days(7);

fn get_n(item: &Item, name: &str) -> Option<i128> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|v| v.parse().ok())
}

/// The part numbers a group was claimed with; None when it was not claimed, or was filed before claims
/// were kept.
fn claimed(group: &Item) -> Option<Vec<u32>> {
    get_s(group, "claimed").map(multipart::numbers_from_text)
}

fn expires(at: OffsetDateTime) -> aws_sdk_dynamodb::types::AttributeValue {
    n((at + KEEP).unix_timestamp())
}

fn part_sk(first_id: &str, number: u32) -> String {
    format!("PART#{first_id}#{number:05}")
}

fn ns(at: OffsetDateTime) -> i128 {
    at.unix_timestamp_nanos()
}

impl DynamoStore {
    /// The parts of generation `first_id` of `group`, in part order.
    async fn parts_of(&self, group: &str, first_id: &str) -> PortResult<Vec<InboundMessage>> {
        let pk = keys::parts_partition(group);
        let items = self.query(Query::prefix(&pk, &format!("PART#{first_id}#"))).await?;
        items
            .iter()
            .map(|i| {
                let body = get_s(i, "body").unwrap_or_default();
                serde_json::from_str(body)
                    .map_err(|e| PortError::Backend(format!("stored part is unreadable: {e}")))
            })
            .collect()
    }
}

#[async_trait]
impl InboundPartStore for DynamoStore {
    async fn put_part(
        &self,
        group: &str,
        part: &InboundMessage,
        at: OffsetDateTime,
        reuse_after: Duration,
    ) -> PortResult<PartPut> {
        let number = part.part.as_ref().map_or(0, |p| p.number);
        let body = serde_json::to_string(part)
            .map_err(|e| PortError::Backend(format!("part does not encode: {e}")))?;
        for _ in attempts() {
            let current = self.get(keys::part_group(group)).await?;
            let first_id = current.as_ref().and_then(|g| get_s(g, "first_id")).map(str::to_string);
            let filed_at = current.as_ref().and_then(|g| get_n(g, "filed_at_ns"));
            let reuse_before = ns(at) - crate::attr::duration_nanos(reuse_after);
            let generation = match (&first_id, filed_at) {
                (Some(id), Some(filed)) if filed > reuse_before => {
                    let included = match current.as_ref().and_then(claimed) {
                        Some(claimed) => claimed.contains(&number),
                        // Filed before claims were kept: every part it had was in the text.
                        None => {
                            let mut key = keys::part_group(group);
                            key.insert("sk".into(), s(part_sk(id, number)));
                            self.get(key).await?.is_some()
                        }
                    };
                    return Ok(PartPut::Filed { included });
                }
                (Some(id), None) => id.clone(),
                // New, or filed long ago (providers reuse small references): a fresh generation.
                (previous, _) => {
                    let mut expr = Expr::new();
                    let condition = match previous {
                        None => absent(),
                        Some(prev) => Cond {
                            expression: format!(
                                "{} AND attribute_exists({})",
                                expr.eq("first_id", s(prev.as_str())),
                                expr.name("filed_at_ns")
                            ),
                            expr,
                        },
                    };
                    let group_item = keys::item_with(
                        keys::part_group(group),
                        [
                            ("first_id", s(part.provider_message_id.as_str())),
                            ("first_at_ns", n(ns(at))),
                            ("entity", s("part_group")),
                            ("expires_at", expires(at)),
                        ],
                    );
                    let open = keys::item_with(
                        keys::open_parts(at, group),
                        [("target", s(group)), ("entity", s("open_parts")), ("expires_at", expires(at))],
                    );
                    let tx = vec![self.put_item(group_item, Some(condition))?, self.put_item(open, None)?];
                    match self.transact(tx).await? {
                        Tx::Committed => part.provider_message_id.clone(),
                        Tx::Cancelled(_) => continue,
                    }
                }
            };
            let mut item = keys::part_group(group);
            item.insert("sk".into(), s(part_sk(&generation, number)));
            let item = keys::item_with(
                item,
                [("body", s(body.as_str())), ("entity", s("part")), ("expires_at", expires(at))],
            );
            self.put(item, None).await?;
            // A filing may have claimed the group since it was read: the claim was made either before this
            // read, which sees it, or after the part was stored, and then its own read of the parts saw
            // the part and files it (both reads are consistent). A part the claim left out is filed on its own.
            let now = self.get(keys::part_group(group)).await?;
            if let Some(claimed) =
                now.as_ref().filter(|g| get_s(g, "first_id") == Some(&generation)).and_then(claimed)
            {
                return Ok(PartPut::Filed { included: claimed.contains(&number) });
            }
            let parts = self.parts_of(group, &generation).await?;
            return Ok(PartPut::Stored(PartsSoFar { group: group.to_string(), first_id: generation, parts }));
        }
        Err(contention("put_part"))
    }

    async fn claim_parts(
        &self,
        group: &str,
        first_id: &str,
        numbers: &[u32],
        at: OffsetDateTime,
    ) -> PortResult<Option<PartsClaim>> {
        let mut expr = Expr::new();
        let update = format!(
            "SET {}, {}, {}",
            expr.eq("filed_at_ns", n(ns(at))),
            expr.eq("claimed", s(multipart::numbers_text(numbers))),
            expr.eq("expires_at", expires(at))
        );
        let condition = format!(
            "{} AND attribute_not_exists({})",
            expr.eq("first_id", s(first_id)),
            expr.name("filed_at_ns")
        );
        // None: filed before claims were kept, when every part it had was in the text.
        let claimed = if self.update_if(keys::part_group(group), update, condition, expr).await? {
            Some(numbers.to_vec())
        } else {
            // Claimed already (a filing resumed, or one beside this one), or another generation.
            let Some(current) = self.get(keys::part_group(group)).await? else { return Ok(None) };
            if get_s(&current, "first_id") != Some(first_id) || get_n(&current, "filed_at_ns").is_none() {
                return Ok(None);
            }
            claimed(&current)
        };
        let parts = self.parts_of(group, first_id).await?;
        let so_far = PartsSoFar { group: group.to_string(), first_id: first_id.to_string(), parts };
        let claimed = claimed.unwrap_or_else(|| so_far.numbers());
        let (text, apart) = so_far.split(&claimed);
        Ok(Some(PartsClaim { text, apart }))
    }

    async fn parts_filed(&self, group: &str, first_id: &str) -> PortResult<()> {
        let Some(current) = self.get(keys::part_group(group)).await? else { return Ok(()) };
        if get_s(&current, "first_id") != Some(first_id) {
            return Ok(());
        }
        let Some(opened) =
            get_n(&current, "first_at_ns").and_then(|t| OffsetDateTime::from_unix_timestamp_nanos(t).ok())
        else {
            return Ok(());
        };
        self.delete(keys::open_parts(opened, group)).await
    }

    async fn stale_part_groups(&self, cutoff: OffsetDateTime, limit: usize) -> PortResult<Vec<PartsSoFar>> {
        let query = Query { max: Some(limit.max(1)), ..Query::below(keys::OPEN_PARTS, &sortable(cutoff)) };
        let entries = self.query(query).await?;
        let mut out = Vec::new();
        for entry in entries.iter().take(limit) {
            let Some(group) = get_s(entry, "target") else { continue };
            let Some(current) = self.get(keys::part_group(group)).await? else { continue };
            let Some(first_id) = get_s(&current, "first_id") else { continue };
            // A claimed group still listed is a filing that did not finish: its claim is filed again.
            let parts = self.parts_of(group, first_id).await?;
            out.push(PartsSoFar { group: group.to_string(), first_id: first_id.to_string(), parts });
        }
        Ok(out)
    }
}
