//! What to do with the customer's CRM contact, given the contacts that share their phone number.

use crate::ids::ContactId;
use crate::model::{Contact, ContactLink};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContactDecision {
    /// Nobody has this number: create a contact.
    Create,
    /// Exactly one contact: link the conversation to it.
    Link(ContactId),
    /// Several contacts share it: link none, the agent picks.
    AgentPicks(Vec<ContactId>),
}

pub fn decide(contacts: &[Contact]) -> ContactDecision {
    match contacts {
        [] => ContactDecision::Create,
        [one] => ContactDecision::Link(one.id.clone()),
        many => ContactDecision::AgentPicks(many.iter().map(|c| c.id.clone()).collect()),
    }
}

impl ContactDecision {
    /// The link the conversation gets once the decision is carried out (`Create` links the new contact).
    pub fn link(&self, created: Option<&ContactId>) -> ContactLink {
        match (self, created) {
            (ContactDecision::Link(id), _) | (ContactDecision::Create, Some(id)) => {
                ContactLink::Linked { contact_id: id.clone() }
            }
            (ContactDecision::AgentPicks(ids), _) => ContactLink::NeedsPick { candidates: ids.clone() },
            (ContactDecision::Create, None) => ContactLink::Pending,
        }
    }
}

/// A contact's display name when smsdesk creates it from a first text.
pub fn default_contact_name(phone: &crate::phone::Phone) -> String {
    format!("SMS customer {}", phone.e164())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::Phone;
    use time::macros::datetime;

    fn contact(id: &str) -> Contact {
        Contact {
            id: ContactId::new(id),
            name: id.into(),
            phone: Phone::parse("+15555550100").unwrap(),
            created_at: datetime!(2026-01-01 0:00 UTC),
        }
    }

    #[test]
    fn none_one_many() {
        assert_eq!(decide(&[]), ContactDecision::Create);
        assert_eq!(decide(&[contact("ct_1")]), ContactDecision::Link(ContactId::new("ct_1")));
        assert_eq!(
            decide(&[contact("ct_1"), contact("ct_2")]),
            ContactDecision::AgentPicks(vec![ContactId::new("ct_1"), ContactId::new("ct_2")])
        );
    }
}
