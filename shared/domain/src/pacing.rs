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

/// The lowest send rate a number may have, in messages per second (one send every 100 seconds): below it
/// the schedule's interval would stand for no carrier's limit, and would grow past what a date can hold.
pub const MIN_SEND_RATE: f64 = 0.01;
/// The highest send rate a number may have, in messages per second: above what carriers grant any number
/// (a short code reaches a few hundred).
pub const MAX_SEND_RATE: f64 = 1000.0;

/// Why a send rate is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("must be a number from {MIN_SEND_RATE} to {MAX_SEND_RATE} (messages per second)")]
pub struct SendRateOutOfRange;

/// A send rate an admin sets: a finite number from [`MIN_SEND_RATE`] to [`MAX_SEND_RATE`].
pub fn check_rate(rate: f64) -> Result<f64, SendRateOutOfRange> {
    if rate.is_finite() && (MIN_SEND_RATE..=MAX_SEND_RATE).contains(&rate) {
        Ok(rate)
    } else {
        Err(SendRateOutOfRange)
    }
}

/// The time between two sends at `rate` messages per second. Any stored value gives one (a rate kept from
/// before [`check_rate`] existed, or written by hand): a rate that is not a positive number counts as one
/// per second, and the rest is held within [`MIN_SEND_RATE`] and [`MAX_SEND_RATE`] (100 s to 1 ms).
pub fn interval(rate: f64) -> Duration {
    let rate = if rate.is_finite() && rate > 0.0 { rate } else { 1.0 };
    let rate = rate.clamp(MIN_SEND_RATE, MAX_SEND_RATE);
    // Within the clamp, 1/rate is 0.001..=100 seconds: always a valid Duration.
    Duration::try_from_secs_f64(1.0 / rate).unwrap_or(Duration::from_secs(1)).max(Duration::from_millis(1))
}

/// `at + by`, or the last instant `time` can hold when that is past it: never a panic, whatever a stored
/// schedule or a caller's interval says.
pub fn saturating_add(at: OffsetDateTime, by: Duration) -> OffsetDateTime {
    time::Duration::try_from(by)
        .ok()
        .and_then(|by| at.checked_add(by))
        .unwrap_or_else(|| time::PrimitiveDateTime::MAX.assume_utc())
}

/// `at - by`, or the first instant `time` can hold when that is before it.
pub fn saturating_sub(at: OffsetDateTime, by: Duration) -> OffsetDateTime {
    time::Duration::try_from(by)
        .ok()
        .and_then(|by| at.checked_sub(by))
        .unwrap_or_else(|| time::PrimitiveDateTime::MIN.assume_utc())
}

/// The decision for a send at `now` on a number whose schedule says `next_free` (None: never used). Total:
/// any `next_free`, `interval` and `max_wait` give an answer (far-off dates saturate, never overflow).
pub fn decide(
    next_free: Option<OffsetDateTime>,
    now: OffsetDateTime,
    interval: Duration,
    max_wait: Duration,
) -> Slot {
    let start = next_free.map_or(now, |t| t.max(now));
    // `start >= now`; a difference too large for `time::Duration` (dates far apart) saturates.
    let wait = Duration::try_from(start - now).unwrap_or(Duration::MAX);
    if wait <= max_wait {
        Slot::Granted { wait, next_free: saturating_add(start, interval) }
    } else {
        // Never sooner than one interval: a number frees one slot per interval, so a send that came back
        // sooner would only spend a receive of its queue message (a backlog of many sends all coming back
        // every few milliseconds would use up their receive limit).
        Slot::Busy { retry_after: wait.saturating_sub(max_wait).max(interval) }
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
    fn any_stored_rate_gives_an_interval_between_a_millisecond_and_100_seconds() {
        // Rates an older version accepted (more than 0), or a hand-edited store: never a panic.
        assert_eq!(interval(1e-300), Duration::from_secs(100));
        assert_eq!(interval(1e-12), Duration::from_secs(100));
        assert_eq!(interval(f64::MIN_POSITIVE), Duration::from_secs(100));
        assert_eq!(interval(5e-324), Duration::from_secs(100));
        assert_eq!(interval(0.01), Duration::from_secs(100));
        assert_eq!(interval(1e300), Duration::from_millis(1));
        assert_eq!(interval(f64::MAX), Duration::from_millis(1));
        assert_eq!(interval(f64::INFINITY), Duration::from_secs(1));
        assert_eq!(interval(f64::NEG_INFINITY), Duration::from_secs(1));
        assert_eq!(interval(-5.0), Duration::from_secs(1));
        assert_eq!(interval(-0.0), Duration::from_secs(1));
    }

    #[test]
    fn an_admin_sets_a_rate_from_a_hundredth_to_a_thousand_per_second() {
        for ok in [0.01, 0.5, 1.0, 100.0, 1000.0] {
            assert_eq!(check_rate(ok), Ok(ok));
        }
        for refused in [0.0, -1.0, 0.0099, 1e-300, 1e-12, 1000.5, 1e300, f64::NAN, f64::INFINITY] {
            assert_eq!(check_rate(refused), Err(SendRateOutOfRange), "{refused}");
        }
        assert_eq!(
            SendRateOutOfRange.to_string(),
            "must be a number from 0.01 to 1000 (messages per second)"
        );
    }

    #[test]
    fn extreme_schedules_and_intervals_saturate_instead_of_overflowing() {
        let max = time::PrimitiveDateTime::MAX.assume_utc();
        let min = time::PrimitiveDateTime::MIN.assume_utc();
        // A schedule at the end of time: a wait, never an overflow.
        assert_eq!(
            decide(Some(max), NOW, Duration::from_secs(1), Duration::from_secs(2)),
            Slot::Busy { retry_after: Duration::try_from(max - NOW).unwrap() - Duration::from_secs(2) }
        );
        // With every wait allowed, the slot is granted and the next one saturates at the end of time.
        assert_eq!(
            decide(Some(max), NOW, Duration::MAX, Duration::MAX),
            Slot::Granted { wait: Duration::try_from(max - NOW).unwrap(), next_free: max }
        );
        // The largest interval from now.
        assert_eq!(
            decide(None, NOW, Duration::MAX, Duration::ZERO),
            Slot::Granted { wait: Duration::ZERO, next_free: max }
        );
        assert_eq!(
            decide(Some(min), NOW, Duration::MAX, Duration::ZERO),
            Slot::Granted { wait: Duration::ZERO, next_free: max }
        );
        // Told to come back: the interval when it is the larger.
        assert_eq!(
            decide(Some(NOW + time::Duration::seconds(10)), NOW, Duration::MAX, Duration::ZERO),
            Slot::Busy { retry_after: Duration::MAX }
        );
        assert_eq!(saturating_add(max, Duration::from_secs(1)), max);
        assert_eq!(saturating_add(NOW, Duration::MAX), max);
        assert_eq!(saturating_sub(min, Duration::from_secs(1)), min);
        assert_eq!(saturating_sub(NOW, Duration::from_secs(1)), NOW - time::Duration::seconds(1));
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
