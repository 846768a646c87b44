//! Data retention: how long raw events, the timelines of resolved incidents and the
//! audit log are kept.
//! Incidents themselves, postmortems (which keep their own timeline) and the figures
//! reports are made from (kept as facts when the lines were written) are never pruned.

use std::time::Duration;

use crate::time::Timestamp;

/// How often the engine looks for what has come of age.
pub const EVERY: Duration = Duration::from_secs(60 * 60);

/// The shortest and longest retention taken, in days.
pub const DAYS: std::ops::RangeInclusive<u32> = 7..=3650;

/// How long events and resolved incidents' timelines are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    days: u32,
}

impl Retention {
    pub fn days(days: u32) -> Result<Retention, String> {
        Retention::named("retention.days", days)
    }

    /// The audit log's retention (`retention.audit_days`), in the same bounds.
    pub fn audit_days(days: u32) -> Result<Retention, String> {
        Retention::named("retention.audit_days", days)
    }

    fn named(setting: &str, days: u32) -> Result<Retention, String> {
        if DAYS.contains(&days) {
            Ok(Retention { days })
        } else {
            Err(format!(
                "{setting} must be between {} and {}, not {days}",
                DAYS.start(),
                DAYS.end()
            ))
        }
    }

    pub fn in_days(self) -> u32 {
        self.days
    }

    /// What was received or resolved before this is pruned at `now`.
    pub fn cutoff(self, now: Timestamp) -> Timestamp {
        Timestamp::from_millis(now.as_millis() - i64::from(self.days) * 86_400_000)
    }
}

/// When to look again: at once while a pass left some behind (it is done in batches, so
/// that no transaction is long), else after [`EVERY`].
pub fn next_look(now: Timestamp, more_left: bool) -> Timestamp {
    if more_left {
        now
    } else {
        now.saturating_add(EVERY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_is_a_whole_number_of_days_within_bounds() {
        for (days, ok) in [
            (0, false),
            (6, false),
            (7, true),
            (365, true),
            (3651, false),
        ] {
            assert_eq!(Retention::days(days).is_ok(), ok, "{days}");
            assert_eq!(Retention::audit_days(days).is_ok(), ok, "{days}");
        }
        let now = Timestamp::from_millis(1_800_000_000_000);
        assert_eq!(
            Retention::days(30).unwrap().cutoff(now),
            Timestamp::from_millis(1_800_000_000_000 - 30 * 86_400_000)
        );
        assert_eq!(next_look(now, true), now);
        assert_eq!(next_look(now, false), now.saturating_add(EVERY));
    }
}
