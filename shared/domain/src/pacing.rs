//! Send pacing per number (issue 9.10): carriers cap how many messages a number sends per second (a 10DLC
//! long code about 1, a toll-free number about 3, a short code about 100) and providers answer 429 or queue
//! for minutes past it. Every sender shares one schedule per number, the time its next send may go
//! (`next_free`): a send takes the next free slot and moves `next_free` one interval later (a reservation,
//! so concurrent senders line up instead of racing for the same slot). A slot within `max_wait` is waited
//! for in place; one further out is not taken, and the send comes back later (the queue's delay).

use std::time::Duration;
use time::OffsetDateTime;

/// What the schedule answers a sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// The slot is the caller's: wait `wait`, then send. The schedule's next free slot is `next_free`.
    Granted { wait: Duration, next_free: OffsetDateTime },
    /// No slot within the wait allowed: nothing was reserved; come back after `retry_after`.
    Busy { retry_after: Duration },
}

/// The time between two sends at `rate` messages per second (a rate that is not a positive number counts
/// as one per second; at most one send per millisecond).
pub fn interval(rate: f64) -> Duration {
    let rate = if rate.is_finite() && rate > 0.0 { rate } else { 1.0 };
    Duration::from_secs_f64(1.0 / rate).max(Duration::from_millis(1))
}

/// The decision for a send at `now` on a number whose schedule says `next_free` (None: never used).
pub fn decide(
    next_free: Option<OffsetDateTime>,
    now: OffsetDateTime,
    interval: Duration,
    max_wait: Duration,
) -> Slot {
    let start = next_free.map_or(now, |t| t.max(now));
    let wait = Duration::try_from(start - now).unwrap_or_default();
    if wait <= max_wait {
        Slot::Granted { wait, next_free: start + interval }
    } else {
        // Never sooner than one interval: a number frees one slot per interval, so a send that came back
        // sooner would only spend a receive of its queue message (a backlog of many sends all coming back
        // every few milliseconds would use up their receive limit).
        Slot::Busy { retry_after: (wait - max_wait).max(interval) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-23 10:00 UTC);

    #[test]
    fn intervals_follow_the_rate() {
        assert_eq!(interval(2.0), Duration::from_millis(500));
        assert_eq!(interval(1.0), Duration::from_secs(1));
        assert_eq!(interval(0.25), Duration::from_secs(4));
        assert_eq!(interval(100_000.0), Duration::from_millis(1));
        assert_eq!(interval(0.0), Duration::from_secs(1));
        assert_eq!(interval(f64::NAN), Duration::from_secs(1));
    }

    #[test]
    fn a_free_number_sends_at_once_and_books_the_next_slot() {
        let i = Duration::from_millis(500);
        assert_eq!(
            decide(None, NOW, i, Duration::ZERO),
            Slot::Granted { wait: Duration::ZERO, next_free: NOW + i }
        );
        let past = NOW - time::Duration::seconds(10);
        assert_eq!(
            decide(Some(past), NOW, i, Duration::ZERO),
            Slot::Granted { wait: Duration::ZERO, next_free: NOW + i }
        );
    }

    #[test]
    fn a_burst_lines_up_one_interval_apart_then_is_told_to_come_back() {
        let (i, max) = (Duration::from_millis(500), Duration::from_secs(1));
        let mut next = None;
        let mut waits = Vec::new();
        loop {
            match decide(next, NOW, i, max) {
                Slot::Granted { wait, next_free } => {
                    waits.push(wait);
                    next = Some(next_free);
                }
                Slot::Busy { retry_after } => {
                    assert_eq!(retry_after, Duration::from_millis(500));
                    break;
                }
            }
        }
        let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [0, 500, 1000]);
    }

    #[test]
    fn a_send_told_to_come_back_waits_at_least_one_interval() {
        let (i, max) = (Duration::from_secs(1), Duration::from_secs(2));
        // The next free slot just past the wait allowed: coming back in 10 ms would find it no nearer.
        let next = NOW + time::Duration::milliseconds(2010);
        assert_eq!(decide(Some(next), NOW, i, max), Slot::Busy { retry_after: i });
        let far = NOW + time::Duration::seconds(10);
        assert_eq!(decide(Some(far), NOW, i, max), Slot::Busy { retry_after: Duration::from_secs(8) });
    }
}
