//! A queue's service level (issue 11.1): the share of its conversations answered (taken by an agent) within
//! the queue's target, `service_level_seconds`. Counted per queue and UTC day when each conversation is
//! answered, against the target the queue had then; reported over a span of days.

use crate::model::WorkQueue;
use serde::Serialize;
use time::{Date, Duration, OffsetDateTime};

/// One queue's answers on one UTC day.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DayCounts {
    /// Conversations taken by an agent out of the queue.
    pub answered: u64,
    /// Of those, how many waited no longer than the queue's target (0 while the queue has none).
    pub within_target: u64,
}

/// The longest span a report covers, in days.
pub const MAX_REPORT_DAYS: u32 = 90;

/// The UTC day an answer at `at` counts for.
pub fn day_of(at: OffsetDateTime) -> Date {
    at.to_offset(time::UtcOffset::UTC).date()
}

/// Whether a conversation that waited `waited` in `queue` was answered within its target (never, when the
/// queue has no target).
pub fn within_target(queue: &WorkQueue, waited: Duration) -> bool {
    queue.service_level_seconds.is_some_and(|target| waited <= Duration::seconds(i64::from(target)))
}

/// The `days` UTC days ending with the day of `now`, oldest first: (first, last), inclusive.
pub fn span(now: OffsetDateTime, days: u32) -> (Date, Date) {
    let last = day_of(now);
    let back = i64::from(days.clamp(1, MAX_REPORT_DAYS) - 1);
    (last.checked_sub(Duration::days(back)).unwrap_or(Date::MIN), last)
}

/// A queue's service level over a span of days.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    /// The queue's target now (the counts were made against the target of their time).
    pub service_level_seconds: Option<u32>,
    pub answered: u64,
    pub answered_within_target: u64,
    /// `answered_within_target / answered`, or None when nothing was answered or the queue has no target.
    pub service_level: Option<f64>,
}

/// Adds up the days' counts into a report.
pub fn report(queue: &WorkQueue, days: &[DayCounts]) -> Report {
    let answered: u64 = days.iter().map(|d| d.answered).sum();
    let within: u64 = days.iter().map(|d| d.within_target).sum();
    let share = match (queue.service_level_seconds, answered) {
        (Some(_), n) if n > 0 => Some(within as f64 / n as f64),
        _ => None,
    };
    Report {
        service_level_seconds: queue.service_level_seconds,
        answered,
        answered_within_target: within,
        service_level: share,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::QueueId;
    use time::macros::{date, datetime};

    fn queue(target: Option<u32>) -> WorkQueue {
        let mut q = WorkQueue::new(QueueId::new("q_1"), "Support", datetime!(2026-11-29 10:00 UTC));
        q.service_level_seconds = target;
        q
    }

    #[test]
    fn within_target_includes_the_target_itself_and_nothing_without_a_target() {
        let q = queue(Some(60));
        assert!(within_target(&q, Duration::seconds(0)));
        assert!(within_target(&q, Duration::seconds(60)));
        assert!(!within_target(&q, Duration::seconds(61)));
        assert!(!within_target(&queue(None), Duration::seconds(0)));
    }

    #[test]
    fn days_are_utc_days_and_a_span_ends_today() {
        assert_eq!(day_of(datetime!(2026-11-29 23:30 -02:00)), date!(2026 - 11 - 30));
        let now = datetime!(2026-11-29 12:00 UTC);
        assert_eq!(span(now, 1), (date!(2026 - 11 - 29), date!(2026 - 11 - 29)));
        assert_eq!(span(now, 7), (date!(2026 - 11 - 23), date!(2026 - 11 - 29)));
        assert_eq!(span(now, 0), span(now, 1), "at least today");
        assert_eq!(span(now, 10_000), span(now, MAX_REPORT_DAYS), "at most MAX_REPORT_DAYS");
    }

    #[test]
    fn the_report_adds_up_days_and_shares_only_with_a_target_and_answers() {
        let days = [DayCounts { answered: 3, within_target: 2 }, DayCounts { answered: 1, within_target: 1 }];
        let r = report(&queue(Some(60)), &days);
        assert_eq!((r.answered, r.answered_within_target, r.service_level), (4, 3, Some(0.75)));
        assert_eq!(report(&queue(Some(60)), &[]).service_level, None, "nothing answered: no share");
        assert_eq!(report(&queue(None), &days).service_level, None, "no target: no share");
    }
}
