//! CRM contacts and their timeline. Contacts are listed under their phone (`PHONE#<e164>` /
//! `CONTACT#<id>`); a `PHONE#<e164>` / `CLAIM` item exists once any contact has the phone, and
//! `create_contact_if_none` writes it with `attribute_not_exists`, so racing creators make one contact.

use async_trait::async_trait;
use smsdesk_domain::*;
use smsdesk_ports::{ContactCreate, ContactStore, PortResult};

use super::conversations::absent;
use super::{Cond, DynamoStore, Query, Tx, attempts, contention, keys};
use crate::attr::{Expr, Item, from_item, get_s, record_item, s};

fn contact_item(c: &Contact) -> PortResult<Item> {
    let mut item = record_item(c)?;
    item.extend(keys::contact(&c.id));
    item.insert("entity".into(), s("contact"));
    Ok(item)
}

fn membership_item(c: &Contact) -> Item {
    keys::item_with(
        keys::phone_contact(&c.phone, &c.id),
        [("target", s(c.id.as_str())), ("entity", s("phone_contact"))],
    )
}

/// The claim names the contact that wrote it last, so that removing a stale claim can be conditional on
/// nobody having claimed the phone since.
fn claim_item(c: &Contact) -> Item {
    keys::item_with(keys::phone_claim(&c.phone), [("target", s(c.id.as_str())), ("entity", s("phone_claim"))])
}

impl DynamoStore {
    /// Removes a claim that no contact backs any more (every contact with the phone moved to another).
    async fn drop_stale_claim(&self, phone: &Phone, claimed_by: &str) -> PortResult<()> {
        let mut expr = Expr::new();
        let expression = expr.eq("target", s(claimed_by));
        let tx = vec![self.delete_item(keys::phone_claim(phone), Some(Cond { expression, expr }))?];
        self.transact(tx).await.map(|_| ())
    }
}

#[async_trait]
impl ContactStore for DynamoStore {
    async fn contacts_by_phone(&self, phone: &Phone) -> PortResult<Vec<Contact>> {
        let members = self.query(Query::prefix(&keys::phone_partition(phone), "CONTACT#")).await?;
        let wanted =
            members.iter().filter_map(|m| get_s(m, "target")).map(|id| keys::contact(&ContactId::new(id)));
        let items = self.batch_get(wanted.collect()).await?;
        let mut list: Vec<Contact> = items.iter().map(from_item).collect::<PortResult<_>>()?;
        list.retain(|c| &c.phone == phone);
        list.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(list)
    }

    async fn get_contact(&self, id: &ContactId) -> PortResult<Option<Contact>> {
        self.get(keys::contact(id)).await?.map(|i| from_item(&i)).transpose()
    }

    async fn put_contact(&self, contact: &Contact) -> PortResult<()> {
        let previous = self.get_contact(&contact.id).await?;
        let mut tx = vec![
            self.put_item(contact_item(contact)?, None)?,
            self.put_item(membership_item(contact), None)?,
            self.put_item(claim_item(contact), None)?,
        ];
        if let Some(old) = previous.filter(|old| old.phone != contact.phone) {
            tx.push(self.delete_item(keys::phone_contact(&old.phone, &old.id), None)?);
        }
        match self.transact(tx).await? {
            Tx::Committed => Ok(()),
            Tx::Cancelled(codes) => Err(smsdesk_ports::PortError::Backend(format!(
                "put_contact: unconditional write refused: {codes:?}"
            ))),
        }
    }

    /// Plain writes in an order that needs no transaction (issue 12.4: 3 WRU instead of 6): the contact
    /// first (found by no listing until its phone lists it), then the phone's claim with
    /// `attribute_not_exists` (the one decision: who creates the phone's contact), then the phone's
    /// listing of it. A claim whose contact is stored with the phone but not listed belongs to a creator
    /// between its last two writes, or one that stopped there: whoever meets it writes that listing (the
    /// same item its creator writes) and gets `Existing` with it. A claim whose contact is gone or has
    /// another phone is stale and dropped. A loser deletes the contact it wrote; one that stops before
    /// leaves a contact no listing names.
    async fn create_contact_if_none(&self, contact: &Contact) -> PortResult<ContactCreate> {
        let mut wrote = false;
        for _ in attempts() {
            wrote |= self.put(contact_item(contact)?, Some(absent())).await?;
            if self.put(claim_item(contact), Some(absent())).await? {
                self.put(membership_item(contact), None).await?;
                return Ok(ContactCreate::Created(contact.clone()));
            }
            let existing = self.contacts_by_phone(&contact.phone).await?;
            if !existing.is_empty() {
                if wrote && !existing.iter().any(|c| c.id == contact.id) {
                    self.delete(keys::contact(&contact.id)).await?;
                }
                return Ok(ContactCreate::Existing(existing));
            }
            let Some(claim) = self.get(keys::phone_claim(&contact.phone)).await? else { continue };
            let target = get_s(&claim, "target").unwrap_or_default().to_string();
            let owner = self.get_contact(&ContactId::new(target.as_str())).await?;
            match owner.filter(|o| o.phone == contact.phone) {
                Some(owner) => {
                    // Claimed and stored, not listed yet: list it, as its creator does.
                    self.put(membership_item(&owner), None).await?;
                    if wrote && owner.id != contact.id {
                        self.delete(keys::contact(&contact.id)).await?;
                    }
                    return Ok(ContactCreate::Existing(vec![owner]));
                }
                None => self.drop_stale_claim(&contact.phone, &target).await?,
            }
        }
        Err(contention("create_contact_if_none"))
    }

    async fn append_timeline(&self, event: &TimelineEvent) -> PortResult<()> {
        let mut item = record_item(event)?;
        item.extend(keys::timeline(&event.contact_id, &event.id));
        item.insert("entity".into(), s("timeline"));
        // A replayed event (same id) is one entry: the first write stays.
        self.put(item, Some(absent())).await.map(|_| ())
    }

    async fn timeline(&self, contact: &ContactId) -> PortResult<Vec<TimelineEvent>> {
        let items = self.query(Query::prefix(&format!("CONTACT#{contact}"), "TL#")).await?;
        let mut events: Vec<TimelineEvent> = items.iter().map(from_item).collect::<PortResult<_>>()?;
        events.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
        Ok(events)
    }
}
