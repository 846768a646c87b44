//! On-call reports: the arithmetic, apart from where the numbers come from.
//!
//! The store counts (`incident_facts`, `responder_facts`); this module turns counts into
//! what people read: a [`Period`] checked once, times to acknowledge and resolve as
//! [`Spread`]s (mean, median, 90th percentile) from a histogram in whole seconds, pages
//! sorted into [`HourClass`]es in each person's own time zone, and weeks.

use std::time::Duration;

use jiff::civil::Weekday;
use jiff::tz::TimeZone;
use serde::Serialize;

use crate::Timestamp;

/// The longest period a report covers.
pub const MAX_PERIOD_DAYS: i64 = 2 * 366;

/// A report's span `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Period {
    pub from: Timestamp,
    pub to: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("the period ends before it starts: `to` must be after `from`")]
    Inverted,
    #[error("a report covers at most 2 years; ask for a shorter period")]
    TooLong,
}

impl Period {
    pub fn parse(from: Timestamp, to: Timestamp) -> Result<Period, PeriodError> {
        if to <= from {
            return Err(PeriodError::Inverted);
        }
        if to.since(from) > Duration::from_secs(MAX_PERIOD_DAYS as u64 * 86_400) {
            return Err(PeriodError::TooLong);
        }
        Ok(Period { from, to })
    }

    /// The `days` before `now`.
    pub fn last_days(now: Timestamp, days: u32) -> Result<Period, PeriodError> {
        let from = Timestamp::from_millis(now.as_millis() - i64::from(days) * 86_400_000);
        Period::parse(from, now)
    }
}

/// How spread out some durations are, each counted in whole seconds (the mean from the
/// exact milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    pub count: u64,
    pub mean_seconds: f64,
    /// The middle value; for an even count, halfway between the two middle ones.
    pub median_seconds: f64,
    /// The nearest-rank 90th percentile: the smallest value at least 90% are at or under.
    pub p90_seconds: f64,
}

impl Spread {
    /// From a histogram of `(seconds, how many)` in any order, and the exact sum in
    /// milliseconds. `None` when there is nothing to measure.
    pub fn of(histogram: &[(i64, u64)], sum_millis: i64) -> Option<Spread> {
        let mut sorted: Vec<(i64, u64)> = histogram.iter().copied().filter(|h| h.1 > 0).collect();
        sorted.sort_unstable();
        let count: u64 = sorted.iter().map(|h| h.1).sum();
        if count == 0 {
            return None;
        }
        // The value at a 1-based rank.
        let at = |rank: u64| -> f64 {
            let mut seen = 0;
            for (value, n) in &sorted {
                seen += n;
                if seen >= rank {
                    return *value as f64;
                }
            }
            sorted.last().map_or(0.0, |h| h.0 as f64)
        };
        let median = if count % 2 == 1 {
            at(count.div_ceil(2))
        } else {
            (at(count / 2) + at(count / 2 + 1)) / 2.0
        };
        Some(Spread {
            count,
            mean_seconds: sum_millis as f64 / 1000.0 / count as f64,
            median_seconds: median,
            p90_seconds: at((count * 9).div_ceil(10)),
        })
    }
}

/// When a page came, in the paged person's own day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HourClass {
    /// 08:00–18:00, Monday to Friday.
    Business,
    /// The rest of the waking day: weekday evenings, weekend days.
    Off,
    /// 22:00–08:00, any day.
    Sleep,
}

impl HourClass {
    pub fn of(at: Timestamp, tz: &TimeZone) -> HourClass {
        let Ok(instant) = jiff::Timestamp::from_millisecond(at.as_millis()) else {
            return HourClass::Off;
        };
        let local = instant.to_zoned(tz.clone());
        let hour = local.hour();
        if !(8..22).contains(&hour) {
            return HourClass::Sleep;
        }
        let weekend = matches!(local.weekday(), Weekday::Saturday | Weekday::Sunday);
        if hour < 18 && !weekend {
            HourClass::Business
        } else {
            HourClass::Off
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            HourClass::Business => "business",
            HourClass::Off => "off",
            HourClass::Sleep => "sleep",
        }
    }

    pub fn parse(text: &str) -> Option<HourClass> {
        [HourClass::Business, HourClass::Off, HourClass::Sleep]
            .into_iter()
            .find(|c| c.as_str() == text)
    }
}

/// The Monday starting the week `at` falls in on `tz`'s clock, in days since 1970-01-01:
/// the week a person's sleep-hour pages count against.
pub fn local_week(at: Timestamp, tz: &TimeZone) -> Option<i64> {
    let date = jiff::Timestamp::from_millisecond(at.as_millis())
        .ok()?
        .to_zoned(tz.clone())
        .date();
    let monday = date
        .checked_sub(jiff::Span::new().days(i64::from(date.weekday().to_monday_zero_offset())))
        .ok()?;
    Some(i64::from(monday.since(EPOCH_DATE).ok()?.get_days()))
}

/// The date of a day counted from 1970-01-01 (as [`local_week`] gives it).
pub fn date_of_day(days: i64) -> Option<jiff::civil::Date> {
    EPOCH_DATE.checked_add(jiff::Span::new().days(days)).ok()
}

const EPOCH_DATE: jiff::civil::Date = jiff::civil::date(1970, 1, 1);

/// Pages are counted in slices this long: every time zone's offset is a multiple of it,
/// so a slice lies wholly in one [`HourClass`] of any zone.
pub const PAGE_SLICE_MILLIS: i64 = 15 * 60 * 1000;

const WEEK_MILLIS: i64 = 7 * 86_400_000;
/// 1970-01-01 was a Thursday: weeks start three days later in its count (Mondays).
const MONDAY_SHIFT_MILLIS: i64 = 3 * 86_400_000;

/// The number of the week (Monday 00:00 UTC to Monday) a time falls in; the store
/// computes the same in SQL (see [`week_sql`]).
pub fn week_of(at: Timestamp) -> i64 {
    (at.as_millis() + MONDAY_SHIFT_MILLIS).div_euclid(WEEK_MILLIS)
}

/// When week `n` starts.
pub fn week_start(n: i64) -> Timestamp {
    Timestamp::from_millis(n * WEEK_MILLIS - MONDAY_SHIFT_MILLIS)
}

/// [`week_of`] as SQL over a column of milliseconds (never negative here).
pub fn week_sql(column: &str) -> String {
    format!("(({column} + {MONDAY_SHIFT_MILLIS}) / {WEEK_MILLIS})")
}

/// The weeks a period touches, in order.
pub fn weeks(period: Period) -> Vec<i64> {
    let last = week_of(Timestamp::from_millis(period.to.as_millis() - 1));
    (week_of(period.from)..=last).collect()
}

/// The share `part / whole`, or 0 of nothing.
pub fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        part as f64 / whole as f64
    }
}

/// Seconds as people read a time to acknowledge: "45s", "4m 12s", "2h 5m", "3d 4h".
pub fn duration_words(seconds: f64) -> String {
    let s = seconds.round().max(0.0) as u64;
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests;
