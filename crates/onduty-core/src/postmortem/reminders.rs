//! When a postmortem's owner is reminded: as a due date nears (2 hours before the
//! provisional version, a day before the final one) and once it has passed, while the
//! postmortem is not that far yet; and an action item's owner once it is overdue. Each
//! reminder goes once.

use std::time::Duration;

use super::PostmortemStatus;
use crate::Timestamp;

/// The provisional version is a draft no longer: reviewed or published.
const PROVISIONAL_SOON: Duration = Duration::from_secs(2 * 3600);
const FINAL_SOON: Duration = Duration::from_secs(24 * 3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReminderKind {
    ProvisionalSoon,
    ProvisionalLate,
    FinalSoon,
    FinalLate,
    /// An action item past its due date and not done.
    ItemLate,
}

impl ReminderKind {
    pub const ALL: [ReminderKind; 5] = [
        ReminderKind::ProvisionalSoon,
        ReminderKind::ProvisionalLate,
        ReminderKind::FinalSoon,
        ReminderKind::FinalLate,
        ReminderKind::ItemLate,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReminderKind::ProvisionalSoon => "provisional_soon",
            ReminderKind::ProvisionalLate => "provisional_late",
            ReminderKind::FinalSoon => "final_soon",
            ReminderKind::FinalLate => "final_late",
            ReminderKind::ItemLate => "item_late",
        }
    }

    pub fn parse(text: &str) -> Option<ReminderKind> {
        ReminderKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// What the reminders of a postmortem depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    pub status: PostmortemStatus,
    pub provisional: Timestamp,
    pub final_due: Timestamp,
}

/// The reminders of a postmortem due at `now` and not `sent` yet: at most one per due
/// date (once a date has passed, only the late one).
pub fn postmortem_reminders(due: Due, sent: &[ReminderKind], now: Timestamp) -> Vec<ReminderKind> {
    let mut out = Vec::new();
    let dates = [
        (
            due.status == PostmortemStatus::Draft,
            due.provisional,
            PROVISIONAL_SOON,
            ReminderKind::ProvisionalSoon,
            ReminderKind::ProvisionalLate,
        ),
        (
            due.status != PostmortemStatus::Published,
            due.final_due,
            FINAL_SOON,
            ReminderKind::FinalSoon,
            ReminderKind::FinalLate,
        ),
    ];
    for (open, date, ahead, soon, late) in dates {
        if !open {
            continue;
        }
        let kind = if now >= date {
            late
        } else if now >= date.saturating_sub(ahead) {
            soon
        } else {
            continue;
        };
        if !sent.contains(&kind) {
            out.push(kind);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn reminders_come_as_dates_near_and_pass_while_the_postmortem_is_not_that_far() {
        use PostmortemStatus::*;
        use ReminderKind::*;
        let due = |status| Due {
            status,
            provisional: at("2026-03-02T03:30:00Z"),
            final_due: at("2026-03-09T03:30:00Z"),
        };
        let table: [(PostmortemStatus, &str, &[ReminderKind], &[ReminderKind]); 9] = [
            // (status, now, sent) -> due
            (Draft, "2026-03-02T01:29:59Z", &[], &[]),
            (Draft, "2026-03-02T01:30:00Z", &[], &[ProvisionalSoon]),
            (Draft, "2026-03-02T02:00:00Z", &[ProvisionalSoon], &[]),
            (
                Draft,
                "2026-03-02T03:30:00Z",
                &[ProvisionalSoon],
                &[ProvisionalLate],
            ),
            // Passed before the early one went: only the late one.
            (Draft, "2026-03-05T00:00:00Z", &[], &[ProvisionalLate]),
            // In review: the provisional version is done; the final one is not.
            (InReview, "2026-03-02T05:00:00Z", &[], &[]),
            (InReview, "2026-03-08T04:00:00Z", &[], &[FinalSoon]),
            (
                Draft,
                "2026-03-09T04:00:00Z",
                &[ProvisionalLate, FinalSoon],
                &[FinalLate],
            ),
            (Published, "2026-03-20T00:00:00Z", &[], &[]),
        ];
        for (status, now, sent, expected) in table {
            assert_eq!(
                postmortem_reminders(due(status), sent, at(now)),
                expected,
                "{status:?} at {now} with {sent:?} sent"
            );
        }
        for kind in ReminderKind::ALL {
            assert_eq!(ReminderKind::parse(kind.as_str()), Some(kind));
        }
    }
}
