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

    /// The numbers of the parts there, in part order.
    pub fn numbers(&self) -> Vec<u32> {
        let mut numbers: Vec<u32> =
            self.parts.iter().filter_map(|p| p.part.as_ref()).map(|p| p.number).collect();
        numbers.sort_unstable();
        numbers.dedup();
        numbers
    }

    /// Splits the parts into those numbered in `claimed` (the text a filing files) and the others (parts
    /// that came while the filing was claimed, each filed on its own), both in part order.
    pub fn split(self, claimed: &[u32]) -> (PartsSoFar, Vec<InboundMessage>) {
        let (text, apart) = self
            .parts
            .into_iter()
            .partition(|p| p.part.as_ref().is_some_and(|x| claimed.contains(&x.number)));
        (PartsSoFar { group: self.group, first_id: self.first_id, parts: text }, apart)
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

/// Part numbers as a store keeps them: `1,2,3`.
pub fn numbers_text(numbers: &[u32]) -> String {
    numbers.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

/// Part numbers read back from [`numbers_text`]; anything unreadable is left out.
pub fn numbers_from_text(text: &str) -> Vec<u32> {
    text.split(',').filter_map(|n| n.trim().parse().ok()).collect()
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
    fn a_claim_splits_the_parts_into_the_text_and_the_ones_that_came_after() {
        let parts =
            so_far(vec![part("p1", 1, 3, "alpha "), part("p2", 2, 3, "beta "), part("p3", 3, 3, "gamma")]);
        assert_eq!(parts.numbers(), vec![1, 2, 3]);
        let (text, apart) = parts.split(&[1, 3]);
        assert_eq!(text.assemble().unwrap().text, "alpha gamma");
        assert_eq!(text.first_id, "p3");
        assert_eq!(apart.iter().map(|p| p.provider_message_id.as_str()).collect::<Vec<_>>(), vec!["p2"]);
        assert_eq!(numbers_text(&[1, 3, 12]), "1,3,12");
        assert_eq!(numbers_from_text("1,3,12"), vec![1, 3, 12]);
        assert_eq!(numbers_from_text(""), Vec::<u32>::new());
        assert_eq!(numbers_from_text("1,x,2"), vec![1, 2]);
    }

    #[test]
    fn the_group_is_the_customer_number_and_reference_on_the_channel() {
        let p = part("p1", 1, 2, "x");
        assert_eq!(group_key(&p, p.part.as_ref().unwrap()), "ch_1:15555550123:15555550100:A1");
    }
}
