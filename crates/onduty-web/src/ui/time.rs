//! Times as people read them: on a wall clock (the viewer's, or a schedule's), and the
//! `datetime-local` form fields that are read back on one.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use onduty_core::Timestamp;
use onduty_core::schedule::instant;

use crate::error::ApiError;

/// A time zone by its IANA name, from the database built into onduty; UTC if the name
/// is unknown to this build.
pub(crate) fn zone(name: &str) -> TimeZone {
    onduty_core::account::time_zone(name).unwrap_or(TimeZone::UTC)
}

/// Every time zone's name onduty takes, sorted: the suggestions of a time zone field.
pub(crate) fn zone_options() -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(onduty_core::account::time_zone_names)
}

pub(crate) fn to_jiff(at: Timestamp) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(at.as_millis()).unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

pub(crate) fn from_jiff(at: jiff::Timestamp) -> Timestamp {
    Timestamp::from_millis(at.as_millisecond())
}

/// "Mon 23 Nov 09:00" on `tz`'s wall clock.
pub(crate) fn when(at: Timestamp, tz: &TimeZone) -> String {
    to_jiff(at)
        .to_zoned(tz.clone())
        .strftime("%a %d %b %H:%M")
        .to_string()
}

/// "Mon 23 Nov 2026 09:00 EST": the whole time, with its zone, for a tooltip.
pub(crate) fn exact(at: Timestamp, tz: &TimeZone) -> String {
    to_jiff(at)
        .to_zoned(tz.clone())
        .strftime("%a %d %b %Y %H:%M %Z")
        .to_string()
}

/// How long before `now` (or after) `at` is, as people say it: "just now",
/// "5 min ago", "3 h ago", "2 days ago", "in 10 min".
pub(crate) fn ago(at: Timestamp, now: Timestamp) -> String {
    let seconds = (now.as_millis() - at.as_millis()) / 1000;
    let span = seconds.abs();
    if span < 60 {
        return "just now".to_owned();
    }
    let amount = if span < 3_600 {
        format!("{} min", span / 60)
    } else if span < 86_400 {
        format!("{} h", span / 3_600)
    } else if span < 172_800 {
        "1 day".to_owned()
    } else {
        format!("{} days", span / 86_400)
    };
    if seconds > 0 {
        format!("{amount} ago")
    } else {
        format!("in {amount}")
    }
}

/// How long from `from` to `to`, to the minute: "42 min", "3 h 5 min", "2 days 4 h".
pub(crate) fn span(from: Timestamp, to: Timestamp) -> String {
    let minutes = (to.as_millis() - from.as_millis()).max(0) / 60_000;
    match minutes {
        0 => "under a minute".to_owned(),
        m if m < 60 => format!("{m} min"),
        m if m < 24 * 60 => match m % 60 {
            0 => format!("{} h", m / 60),
            rest => format!("{} h {rest} min", m / 60),
        },
        m => {
            let days = m / (24 * 60);
            let unit = if days == 1 { "day" } else { "days" };
            match (m % (24 * 60)) / 60 {
                0 => format!("{days} {unit}"),
                hours => format!("{days} {unit} {hours} h"),
            }
        }
    }
}

/// The value of a `datetime-local` field: "2026-11-23T09:00".
pub(crate) fn local_field(at: Timestamp, tz: &TimeZone) -> String {
    to_jiff(at)
        .to_zoned(tz.clone())
        .strftime("%Y-%m-%dT%H:%M")
        .to_string()
}

/// A `datetime-local` field read on `tz`'s wall clock, by the schedules' rule for times
/// that do not exist or exist twice ([`onduty_core::schedule::instant`]).
pub(crate) fn from_local_field(
    label: &str,
    text: &str,
    tz: &TimeZone,
) -> Result<Timestamp, ApiError> {
    let civil: DateTime = text.trim().parse().map_err(|_| {
        ApiError::BadRequest(format!("{label} is a date and time like 2026-11-27T18:00"))
    })?;
    instant(tz, civil).ok_or_else(|| ApiError::BadRequest(format!("{label} is out of range")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_fields_read_on_the_schedules_clock() {
        let tz = TimeZone::get("America/New_York").unwrap();
        let at = from_local_field("The start", "2026-11-27T18:00", &tz).unwrap();
        assert_eq!(at.to_rfc3339(), "2026-11-27T23:00:00.000Z");
        assert_eq!(local_field(at, &tz), "2026-11-27T18:00");
        assert_eq!(when(at, &TimeZone::UTC), "Fri 27 Nov 23:00");
        assert!(from_local_field("The start", "tomorrow", &tz).is_err());
    }

    #[test]
    fn relative_times_read_as_people_say_them() {
        let now = Timestamp::from_millis(1_800_000_000_000);
        let before = |seconds: i64| Timestamp::from_millis(now.as_millis() - seconds * 1000);
        assert_eq!(ago(before(59), now), "just now");
        assert_eq!(ago(before(5 * 60 + 59), now), "5 min ago");
        assert_eq!(ago(before(3 * 3600), now), "3 h ago");
        assert_eq!(ago(before(30 * 3600), now), "1 day ago");
        assert_eq!(ago(before(3 * 86_400), now), "3 days ago");
        assert_eq!(ago(before(-600), now), "in 10 min");
        let tz = TimeZone::get("America/New_York").unwrap();
        assert_eq!(exact(now, &tz), "Fri 15 Jan 2027 03:00 EST");
    }

    #[test]
    fn spans_read_as_people_say_them() {
        let at = |minutes: i64| Timestamp::from_millis(minutes * 60_000);
        assert_eq!(span(at(0), at(0)), "under a minute");
        assert_eq!(span(at(0), at(42)), "42 min");
        assert_eq!(span(at(0), at(120)), "2 h");
        assert_eq!(span(at(0), at(185)), "3 h 5 min");
        assert_eq!(span(at(0), at(24 * 60 + 59)), "1 day");
        assert_eq!(span(at(0), at(50 * 60)), "2 days 2 h");
    }

    #[test]
    fn local_fields_follow_the_schedules_rule_across_daylight_saving() {
        let tz = TimeZone::get("America/New_York").unwrap();
        // 02:30 does not exist on 8 March 2026: it moves forward by the hour-long gap.
        let gap = from_local_field("The start", "2026-03-08T02:30", &tz).unwrap();
        assert_eq!(gap.to_rfc3339(), "2026-03-08T07:30:00.000Z");
        // 01:30 happens twice on 1 November 2026: the first one (still daylight time).
        let twice = from_local_field("The start", "2026-11-01T01:30", &tz).unwrap();
        assert_eq!(twice.to_rfc3339(), "2026-11-01T05:30:00.000Z");
    }
}
