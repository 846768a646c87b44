//! The status-page components a postmortem's incidents affected, and for how long: from
//! the states each component took while a public incident told of it.

use crate::status_page::ComponentStatus;
use crate::time::Timestamp;

/// How one component fared over a public incident's span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outage {
    /// The worst state it was in.
    pub worst: ComponentStatus,
    /// Minutes it was not operational, rounded up (a 20-second blip is a minute).
    pub minutes: i64,
}

/// How bad a state is, for picking the worst: maintenance is planned, so it ranks
/// below any degradation.
fn rank(status: ComponentStatus) -> u8 {
    match status {
        ComponentStatus::Operational => 0,
        ComponentStatus::UnderMaintenance => 1,
        ComponentStatus::DegradedPerformance => 2,
        ComponentStatus::PartialOutage => 3,
        ComponentStatus::MajorOutage => 4,
    }
}

/// How a component fared from `from` to `until`: `changes` are the states it took,
/// oldest first, the first one in force at or before `from` (or when the component was
/// made). `None` when it stayed operational throughout.
pub fn outage(
    changes: &[(Timestamp, ComponentStatus)],
    from: Timestamp,
    until: Timestamp,
) -> Option<Outage> {
    let (mut worst, mut down_ms) = (None::<ComponentStatus>, 0i64);
    for (i, &(at, status)) in changes.iter().enumerate() {
        let start = at.max(from);
        let end = changes
            .get(i + 1)
            .map_or(until, |(next, _)| *next)
            .min(until);
        if end <= start || status == ComponentStatus::Operational {
            continue;
        }
        down_ms += end.as_millis() - start.as_millis();
        if worst.is_none_or(|w| rank(status) > rank(w)) {
            worst = Some(status);
        }
    }
    Some(Outage {
        worst: worst?,
        minutes: (down_ms + 59_999) / 60_000,
    })
}

/// How a component fared over several spans (one per public incident that told of it),
/// overlapping spans counted once: the minutes added up, the worst state of all.
pub fn outage_over(
    changes: &[(Timestamp, ComponentStatus)],
    spans: &[(Timestamp, Timestamp)],
) -> Option<Outage> {
    let mut sorted = spans.to_vec();
    sorted.sort();
    let mut merged: Vec<(Timestamp, Timestamp)> = Vec::new();
    for (from, until) in sorted {
        match merged.last_mut() {
            Some(last) if from <= last.1 => last.1 = last.1.max(until),
            _ => merged.push((from, until)),
        }
    }
    merged
        .iter()
        .filter_map(|&(from, until)| outage(changes, from, until))
        .reduce(|a, b| Outage {
            worst: if rank(b.worst) > rank(a.worst) {
                b.worst
            } else {
                a.worst
            },
            minutes: a.minutes + b.minutes,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentStatus::*;

    fn t(minute: i64) -> Timestamp {
        Timestamp::from_millis(minute * 60_000)
    }

    #[test]
    fn a_component_is_out_for_the_time_it_was_not_operational_within_the_span() {
        for (changes, (from, until), expected) in [
            // Operational throughout: not affected.
            (vec![(t(0), Operational)], (10, 60), None),
            // Degraded at 12, major at 20, back at 50: 38 minutes, major the worst.
            (
                vec![
                    (t(0), Operational),
                    (t(12), DegradedPerformance),
                    (t(20), MajorOutage),
                    (t(50), Operational),
                ],
                (10, 60),
                Some((MajorOutage, 38)),
            ),
            // Already degraded before the span: only the span counts.
            (
                vec![(t(0), PartialOutage), (t(30), Operational)],
                (10, 60),
                Some((PartialOutage, 20)),
            ),
            // Still out when the span ends (the public incident is still open now).
            (
                vec![(t(0), Operational), (t(55), MajorOutage)],
                (10, 60),
                Some((MajorOutage, 5)),
            ),
            // Changes after the span do not count.
            (
                vec![(t(0), Operational), (t(70), MajorOutage)],
                (10, 60),
                None,
            ),
            // A 20-second blip is a minute; maintenance ranks below degradation.
            (
                vec![
                    (t(0), UnderMaintenance),
                    (t(15), Operational),
                    (
                        Timestamp::from_millis(t(40).as_millis() + 10_000),
                        DegradedPerformance,
                    ),
                    (
                        Timestamp::from_millis(t(40).as_millis() + 30_000),
                        Operational,
                    ),
                ],
                (10, 60),
                Some((DegradedPerformance, 6)),
            ),
            // No states known: nothing to say.
            (vec![], (10, 60), None),
        ] {
            let found = outage(&changes, t(from), t(until)).map(|o| (o.worst, o.minutes));
            assert_eq!(found, expected, "{changes:?}");
        }
    }

    #[test]
    fn two_public_incidents_count_their_own_spans_and_overlaps_once() {
        // Out 10–30 and 100–130, planned maintenance between (not told of by either).
        let changes = [
            (t(0), Operational),
            (t(10), PartialOutage),
            (t(30), UnderMaintenance),
            (t(90), Operational),
            (t(100), MajorOutage),
            (t(130), Operational),
        ];
        let found = outage_over(&changes, &[(t(100), t(140)), (t(5), t(30)), (t(20), t(35))])
            .map(|o| (o.worst, o.minutes));
        // 10–35 (partial, then maintenance from 30) and 100–130.
        assert_eq!(found, Some((MajorOutage, 25 + 30)));
        assert_eq!(
            outage_over(&changes, &[(t(40), t(80))]).map(|o| o.minutes),
            Some(40)
        );
        assert_eq!(outage_over(&changes, &[]), None);
    }
}
