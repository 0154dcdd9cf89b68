//! Operating hours of a queue: opening spans per weekday in the queue's time zone (IANA), and holidays
//! (local dates) when it is closed all day. No hours: always open.

use crate::automated::FieldError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// Weekdays as the settings name them.
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatingHours {
    /// IANA time zone, e.g. `America/New_York`, `Asia/Tokyo`.
    pub time_zone: String,
    /// Weekday (`mon` .. `sun`) -> opening spans `["09:00", "17:00"]` (local time; end `24:00` = midnight).
    /// A day not listed is closed.
    #[serde(default)]
    pub days: BTreeMap<String, Vec<[String; 2]>>,
    /// Local dates (`YYYY-MM-DD`) closed all day.
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// `HH:MM` as minutes since midnight (`24:00` allowed, as the end of a day).
fn minutes(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(1440),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// The rules of operating hours, naming the field (under `operating_hours`) that broke one.
pub fn validate(hours: &OperatingHours) -> Result<(), FieldError> {
    let err = |field: String, rule: &str| Err(FieldError { field, rule: rule.to_string() });
    if jiff::tz::TimeZone::get(&hours.time_zone).is_err() {
        return err("operating_hours.time_zone".into(), "must be an IANA time zone such as America/New_York");
    }
    for (day, spans) in &hours.days {
        if !DAYS.contains(&day.as_str()) {
            return err(
                format!("operating_hours.days.{day}"),
                "must be one of mon, tue, wed, thu, fri, sat, sun",
            );
        }
        for (i, [start, end]) in spans.iter().enumerate() {
            match (minutes(start), minutes(end)) {
                (Some(a), Some(b)) if a < b && a < 1440 => {}
                _ => {
                    return err(
                        format!("operating_hours.days.{day}[{i}]"),
                        "must be [\"HH:MM\", \"HH:MM\"] with the start before the end (end 24:00 at most)",
                    );
                }
            }
        }
    }
    for (i, date) in hours.holidays.iter().enumerate() {
        if date.parse::<jiff::civil::Date>().is_err() || date.len() != 10 {
            return err(format!("operating_hours.holidays[{i}]"), "must be a date YYYY-MM-DD");
        }
    }
    Ok(())
}

/// Whether a queue with `hours` is open at `at` (None: always open). Hours that do not validate (an unknown
/// time zone) count as open, so a mistake never silences a queue.
pub fn is_open(hours: Option<&OperatingHours>, at: OffsetDateTime) -> bool {
    let Some(hours) = hours else { return true };
    let Ok(tz) = jiff::tz::TimeZone::get(&hours.time_zone) else { return true };
    let Ok(ts) = jiff::Timestamp::from_nanosecond(at.unix_timestamp_nanos()) else { return true };
    let local = ts.to_zoned(tz);
    let date = local.date().to_string();
    if hours.holidays.iter().any(|h| h == &date) {
        return false;
    }
    let day = DAYS[local.weekday().to_monday_zero_offset() as usize];
    let now = u32::from(local.hour().unsigned_abs()) * 60 + u32::from(local.minute().unsigned_abs());
    hours.days.get(day).is_some_and(|spans| {
        spans.iter().any(|[start, end]| match (minutes(start), minutes(end)) {
            (Some(a), Some(b)) => a <= now && now < b,
            _ => false,
        })
    })
}

/// When a closed queue opens next: the start of an opening span, in the queue's time zone and as an instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opening {
    pub at: OffsetDateTime,
    /// Local date and time and the time zone: `2026-12-01 09:00 Asia/Tokyo`.
    pub local: String,
}

impl std::fmt::Display for Opening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let utc = self.at.to_offset(time::UtcOffset::UTC);
        write!(
            f,
            "{} ({:04}-{:02}-{:02}T{:02}:{:02}:00Z)",
            self.local,
            utc.year(),
            u8::from(utc.month()),
            utc.day(),
            utc.hour(),
            utc.minute()
        )
    }
}

/// How far ahead [`next_opening`] looks (a year and a little: holidays may close many days).
const LOOK_AHEAD_DAYS: i64 = 400;

/// The first start of an opening span after `at`, holidays skipped (local dates, as [`is_open`] reads them).
/// None when the hours never open (no days listed) or cannot be read (an unknown time zone: [`is_open`]
/// counts those as open).
pub fn next_opening(hours: &OperatingHours, at: OffsetDateTime) -> Option<Opening> {
    let tz = jiff::tz::TimeZone::get(&hours.time_zone).ok()?;
    let now = jiff::Timestamp::from_nanosecond(at.unix_timestamp_nanos()).ok()?;
    let mut date = now.to_zoned(tz.clone()).date();
    for _ in 0..=LOOK_AHEAD_DAYS {
        let local_date = date.to_string();
        if !hours.holidays.contains(&local_date) {
            let day = DAYS[date.weekday().to_monday_zero_offset() as usize];
            let mut starts: Vec<u32> = hours
                .days
                .get(day)
                .into_iter()
                .flatten()
                .filter_map(|[start, end]| match (minutes(start), minutes(end)) {
                    (Some(a), Some(b)) if a < b && a < 1440 => Some(a),
                    _ => None,
                })
                .collect();
            starts.sort_unstable();
            for start in starts {
                let (hour, minute) = (i8::try_from(start / 60).ok()?, i8::try_from(start % 60).ok()?);
                // A start in a daylight-saving gap is the first instant after it.
                let opens = date.at(hour, minute, 0, 0).to_zoned(tz.clone()).ok()?;
                if opens.timestamp() > now {
                    let at = OffsetDateTime::from_unix_timestamp(opens.timestamp().as_second()).ok()?;
                    let local = format!("{} {}", opens.strftime("%Y-%m-%d %H:%M"), hours.time_zone);
                    return Some(Opening { at, local });
                }
            }
        }
        date = date.tomorrow().ok()?;
    }
    None
}

/// A queue closed now: why a text that would start contact (a proactive text) or a transfer into the queue
/// is refused at once (nobody works a closed queue), naming when it opens next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClosedNow {
    /// None when the hours never open (no days listed).
    pub next: Option<Opening>,
}

impl std::fmt::Display for ClosedNow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.next {
            Some(opening) => {
                write!(f, "closed now (outside its operating hours): it opens next at {opening}")
            }
            None => write!(f, "closed now (outside its operating hours): it has no opening hours set"),
        }
    }
}

/// Whether a queue with `hours` is closed at `at` ([`is_open`]), and when it opens next: the one decision
/// behind `409 outside_operating_hours`.
pub fn closed_now(hours: Option<&OperatingHours>, at: OffsetDateTime) -> Option<ClosedNow> {
    let hours = hours.filter(|h| !is_open(Some(h), at))?;
    Some(ClosedNow { next: next_opening(hours, at) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn office(tz: &str) -> OperatingHours {
        let weekday = vec![["09:00".to_string(), "17:00".to_string()]];
        OperatingHours {
            time_zone: tz.into(),
            days: ["mon", "tue", "wed", "thu", "fri"]
                .iter()
                .map(|d| (d.to_string(), weekday.clone()))
                .collect(),
            holidays: vec!["2026-12-25".into()],
        }
    }

    #[test]
    fn open_within_the_local_spans_closed_outside_and_on_holidays() {
        let tokyo = office("Asia/Tokyo");
        let ny = office("America/New_York");
        let table: &[(&OperatingHours, OffsetDateTime, bool)] = &[
            // Monday 2026-11-30 00:00 UTC is 09:00 in Tokyo (open) and Sunday 19:00 in New York (closed).
            (&tokyo, datetime!(2026-11-30 00:00 UTC), true),
            (&ny, datetime!(2026-11-30 00:00 UTC), false),
            (&tokyo, datetime!(2026-11-29 23:59 UTC), false),
            (&tokyo, datetime!(2026-11-30 07:59 UTC), true),
            (&tokyo, datetime!(2026-11-30 08:00 UTC), false),
            // New York in winter is UTC-5: 09:00 local is 14:00 UTC.
            (&ny, datetime!(2026-11-30 14:00 UTC), true),
            (&ny, datetime!(2026-11-30 13:59 UTC), false),
            // ... and UTC-4 in summer (DST): 09:00 local is 13:00 UTC.
            (&ny, datetime!(2026-07-06 13:00 UTC), true),
            // Christmas (a Friday) is a holiday, by the local date.
            (&ny, datetime!(2026-12-25 15:00 UTC), false),
            (&tokyo, datetime!(2026-12-24 23:00 UTC), false),
            (&tokyo, datetime!(2026-12-24 06:00 UTC), true),
        ];
        for (hours, at, open) in table {
            assert_eq!(is_open(Some(hours), *at), *open, "{} at {at}", hours.time_zone);
        }
        assert!(is_open(None, datetime!(2026-11-29 03:00 UTC)), "no hours: always open");
        let mut all_day = office("UTC");
        all_day.days.insert("sun".into(), vec![["00:00".into(), "24:00".into()]]);
        assert!(is_open(Some(&all_day), datetime!(2026-11-29 23:59 UTC)));
    }

    #[test]
    fn the_next_opening_is_the_next_spans_start_in_local_time_past_holidays() {
        let tokyo = office("Asia/Tokyo");
        let ny = office("America/New_York");
        let next = |hours: &OperatingHours, at| next_opening(hours, at).map(|o| (o.local, o.at));
        // Sunday 12:00 in Tokyo: Monday 09:00 there, Monday 00:00 UTC.
        assert_eq!(
            next(&tokyo, datetime!(2026-11-29 03:00 UTC)),
            Some(("2026-11-30 09:00 Asia/Tokyo".into(), datetime!(2026-11-30 00:00 UTC)))
        );
        // After closing on a Monday: Tuesday morning.
        assert_eq!(
            next(&tokyo, datetime!(2026-11-30 09:00 UTC)).map(|o| o.0),
            Some("2026-12-01 09:00 Asia/Tokyo".into())
        );
        // Early on a weekday, before opening: the same day.
        assert_eq!(
            next(&ny, datetime!(2026-11-30 12:00 UTC)),
            Some(("2026-11-30 09:00 America/New_York".into(), datetime!(2026-11-30 14:00 UTC)))
        );
        // Christmas (a Friday) is a holiday: the next Monday.
        assert_eq!(
            next(&ny, datetime!(2026-12-24 23:00 UTC)).map(|o| o.0),
            Some("2026-12-28 09:00 America/New_York".into())
        );
        // Summer time: 09:00 local is 13:00 UTC.
        assert_eq!(
            next(&ny, datetime!(2026-07-06 12:00 UTC)).map(|o| o.1),
            Some(datetime!(2026-07-06 13:00 UTC))
        );
        let shown = next_opening(&tokyo, datetime!(2026-11-29 03:00 UTC)).map(|o| o.to_string());
        assert_eq!(shown.as_deref(), Some("2026-11-30 09:00 Asia/Tokyo (2026-11-30T00:00:00Z)"));
        // Two spans a day: the afternoon's after the morning's ended.
        let mut split = office("UTC");
        split
            .days
            .insert("mon".into(), vec![["09:00".into(), "12:00".into()], ["13:00".into(), "17:00".into()]]);
        assert_eq!(
            next(&split, datetime!(2026-11-30 12:30 UTC)).map(|o| o.1),
            Some(datetime!(2026-11-30 13:00 UTC))
        );
        let never = OperatingHours { time_zone: "UTC".into(), days: BTreeMap::new(), holidays: vec![] };
        assert_eq!(next_opening(&never, datetime!(2026-11-30 12:30 UTC)), None);
    }

    #[test]
    fn rules_name_the_field() {
        assert_eq!(validate(&office("Europe/Madrid")), Ok(()));
        assert_eq!(validate(&office("Mars/Olympus")).unwrap_err().field, "operating_hours.time_zone");
        let mut bad = office("UTC");
        bad.days.insert("sunday".into(), vec![]);
        assert_eq!(validate(&bad).unwrap_err().field, "operating_hours.days.sunday");
        let mut bad = office("UTC");
        bad.days.insert("sat".into(), vec![["17:00".into(), "09:00".into()]]);
        assert_eq!(validate(&bad).unwrap_err().field, "operating_hours.days.sat[0]");
        let mut bad = office("UTC");
        bad.holidays.push("25/12/2026".into());
        assert_eq!(validate(&bad).unwrap_err().field, "operating_hours.holidays[1]");
    }

    #[test]
    fn closed_now_names_the_next_opening_and_is_none_while_open() {
        let tokyo = office("Asia/Tokyo");
        assert_eq!(closed_now(Some(&tokyo), datetime!(2026-11-30 00:00 UTC)), None, "open");
        assert_eq!(closed_now(None, datetime!(2026-11-29 03:00 UTC)), None, "no hours: always open");
        let closed = closed_now(Some(&tokyo), datetime!(2026-11-30 08:00 UTC)).expect("closed after 17:00");
        assert_eq!(closed.next.as_ref().map(|o| o.at), Some(datetime!(2026-12-01 00:00 UTC)));
        assert!(closed.to_string().contains("it opens next at 2026-12-01 09:00 Asia/Tokyo"), "{closed}");
        let never = OperatingHours { time_zone: "UTC".into(), days: BTreeMap::new(), holidays: vec![] };
        let closed = closed_now(Some(&never), datetime!(2026-11-30 08:00 UTC)).expect("never open");
        assert!(closed.to_string().contains("no opening hours"), "{closed}");
    }
}
