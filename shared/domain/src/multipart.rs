//! Multipart inbound texts (issue 9.6): a provider that delivers a long text as separate parts (Vonage's
//! `concat-ref`/`-part`/`-total`, UDH where a provider passes it) has them kept until every part is there,
//! whatever order they came in, then filed as one text; parts still incomplete after the timeout are filed
//! as they are (in part order, the missing ones left out), so nothing acknowledged is lost.

use crate::events::{InboundMessage, MessagePart};

/// The parts of one text: same channel, same customer, same number of ours, same provider reference.
pub fn group_key(m: &InboundMessage, part: &MessagePart) -> String {
    format!("{}:{}:{}:{}", m.channel_id, m.from.digits(), m.to.digits(), part.reference)
}

/// The parts of one text received so far, as the store keeps them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartsSoFar {
    pub group: String,
    /// The provider id of the part that opened the group: the whole text's id derives from it, so the text
    /// is the same transcript entry whether it was completed or timed out, and however often it is filed.
    pub first_id: String,
    /// Each received part (with `part` set), in part order, one per part number.
    pub parts: Vec<InboundMessage>,
}

impl PartsSoFar {
    /// Every part from 1 to the total is there.
    pub fn is_complete(&self) -> bool {
        let Some(total) = self.parts.iter().filter_map(|p| p.part.as_ref()).map(|p| p.total).max() else {
            return false;
        };
        (1..=total).all(|n| self.parts.iter().any(|p| p.part.as_ref().is_some_and(|x| x.number == n)))
    }

    /// The one text the parts make: their texts in part order, from the earliest part's arrival, with an id
    /// of its own (`<first part's id>+parts`). None when there are no parts.
    pub fn assemble(&self) -> Option<InboundMessage> {
        let mut parts: Vec<&InboundMessage> = self.parts.iter().collect();
        parts.sort_by_key(|p| p.part.as_ref().map_or(0, |x| x.number));
        parts.dedup_by_key(|p| p.part.as_ref().map_or(0, |x| x.number));
        let first = parts.first()?;
        Some(InboundMessage {
            channel_id: first.channel_id.clone(),
            provider_message_id: format!("{}+parts", self.first_id),
            from: first.from.clone(),
            to: first.to.clone(),
            text: parts.iter().map(|p| p.text.as_str()).collect(),
            received_at: parts.iter().map(|p| p.received_at).min().unwrap_or(first.received_at),
            part: None,
            media: parts.iter().flat_map(|p| p.media.iter().cloned()).collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChannelId, Phone};
    use time::macros::datetime;

    fn part(id: &str, number: u32, total: u32, text: &str) -> InboundMessage {
        InboundMessage {
            channel_id: ChannelId::new("ch_1"),
            provider_message_id: id.into(),
            from: Phone::parse("+15555550123").unwrap(),
            to: Phone::parse("+15555550100").unwrap(),
            text: text.into(),
            received_at: datetime!(2026-11-23 10:00 UTC) + time::Duration::seconds(i64::from(number)),
            part: Some(MessagePart { reference: "A1".into(), number, total }),
            media: Vec::new(),
        }
    }

    fn so_far(parts: Vec<InboundMessage>) -> PartsSoFar {
        PartsSoFar { group: "g".into(), first_id: "p3".into(), parts }
    }

    #[test]
    fn parts_in_any_order_make_one_text_in_part_order() {
        let parts =
            so_far(vec![part("p3", 3, 3, "gamma"), part("p1", 1, 3, "alpha "), part("p2", 2, 3, "beta ")]);
        assert!(parts.is_complete());
        let text = parts.assemble().unwrap();
        assert_eq!(text.text, "alpha beta gamma");
        assert_eq!(text.provider_message_id, "p3+parts");
        assert_eq!(text.received_at, datetime!(2026-11-23 10:00:01 UTC));
        assert_eq!(text.part, None);
    }

    #[test]
    fn a_missing_part_keeps_it_incomplete_and_a_timeout_files_what_is_there() {
        let parts = so_far(vec![part("p3", 3, 3, "gamma"), part("p1", 1, 3, "alpha ")]);
        assert!(!parts.is_complete());
        assert_eq!(parts.assemble().unwrap().text, "alpha gamma");
        assert!(so_far(vec![]).assemble().is_none());
        assert!(!so_far(vec![]).is_complete());
    }

    #[test]
    fn the_group_is_the_customer_number_and_reference_on_the_channel() {
        let p = part("p1", 1, 2, "x");
        assert_eq!(group_key(&p, p.part.as_ref().unwrap()), "ch_1:15555550123:15555550100:A1");
    }
}
