//! Whether rotations keep who is on call: the product's own answers (from its "who is on
//! call" endpoint) against onduty's final schedule computed from the document, at each
//! hour of the period and just after each handoff, the product's and onduty's.

use std::collections::HashMap;

use onduty_core::account::TimeZoneName;
use onduty_core::config_doc::{self, ScheduleDoc};
use onduty_core::schedule::{Override, Rota, Window, final_schedule, on_call_at};
use onduty_core::{OverrideId, Timestamp, UserId};

use crate::report::{Comparison, Difference};

/// Someone on call in the product, from `start` to `end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceShift {
    pub email: String,
    pub start: Timestamp,
    pub end: Timestamp,
}

const HOUR_MS: i64 = 3_600_000;

/// Compares `schedule` (as the document has it) with the product's `shifts` over
/// `days` from `from`.
pub fn compare(
    schedule: &ScheduleDoc,
    shifts: &[SourceShift],
    from: Timestamp,
    days: u32,
) -> Comparison {
    let until = from.as_millis() + i64::from(days) * 24 * HOUR_MS;
    let mut instants: Vec<i64> = (0..i64::from(days) * 24)
        .map(|h| from.as_millis() + h * HOUR_MS + 1_000)
        .collect();
    instants.extend(
        shifts
            .iter()
            .flat_map(|s| [s.start.as_millis(), s.end.as_millis()])
            .map(|t| t + 1_000)
            .filter(|t| (from.as_millis()..until).contains(t)),
    );
    let (rota, people) = rota_of(schedule);
    // And just after each of onduty's own handoffs and gaps.
    if let Some(rota) = &rota {
        let window = Window {
            start: from,
            end: Timestamp::from_millis(until),
        };
        let fin = final_schedule(rota, window);
        instants.extend(
            fin.shifts
                .iter()
                .flat_map(|s| [s.start, s.end])
                .chain(fin.gaps.iter().flat_map(|g| [g.start, g.end]))
                .map(|t| t.as_millis() + 1_000)
                .filter(|t| (from.as_millis()..until).contains(t)),
        );
    }
    instants.sort_unstable();
    instants.dedup();
    let mut differences: Vec<Difference> = Vec::new();
    for (n, at) in instants.iter().enumerate() {
        let at = Timestamp::from_millis(*at);
        let mut source: Vec<String> = shifts
            .iter()
            .filter(|s| s.start <= at && at < s.end)
            .map(|s| s.email.clone())
            .collect();
        source.sort();
        source.dedup();
        let onduty: Vec<String> = match &rota {
            Some(rota) => on_call_at(rota, at)
                .iter()
                .filter_map(|u| people.get(u).cloned())
                .collect(),
            None => Vec::new(),
        };
        let next = instants
            .get(n + 1)
            .map_or(Timestamp::from_millis(until), |t| {
                Timestamp::from_millis(*t)
            });
        if source == onduty {
            continue;
        }
        match differences.last_mut() {
            Some(last) if last.until == at && last.source == source && last.onduty == onduty => {
                last.until = next;
            }
            _ => differences.push(Difference {
                from: at,
                until: next,
                source,
                onduty,
            }),
        }
    }
    Comparison {
        schedule: schedule.name.clone(),
        instants: instants.len(),
        differences,
    }
}

/// The schedule as onduty computes it, people standing in for their e-mail addresses;
/// None if the document's schedule does not read (its check says why).
fn rota_of(s: &ScheduleDoc) -> (Option<Rota>, HashMap<UserId, String>) {
    let base = Timestamp::from_millis(0);
    let mut ids: HashMap<String, UserId> = HashMap::new();
    let mut people = HashMap::new();
    let mut id_of = |email: &str| {
        let next = u16::try_from(ids.len()).unwrap_or(u16::MAX);
        let id = *ids
            .entry(email.to_owned())
            .or_insert_with(|| UserId::nth(base, next));
        people.insert(id, email.to_owned());
        id
    };
    let mut layers = Vec::new();
    for l in &s.layers {
        let participants = l.participants.iter().map(|p| id_of(p)).collect();
        match config_doc::layer(l, participants) {
            Ok(layer) => layers.push(layer),
            Err(_) => return (None, people),
        }
    }
    let mut overrides = Vec::new();
    for (seq, o) in s.overrides.iter().enumerate() {
        let (Ok(start), Ok(end)) = (Timestamp::parse(&o.start), Timestamp::parse(&o.end)) else {
            return (None, people);
        };
        overrides.push(Override {
            id: OverrideId::nth(base, u16::try_from(seq).unwrap_or(u16::MAX)),
            user: id_of(&o.user),
            start,
            end,
            created_at: base,
            seq: i64::try_from(seq).unwrap_or(i64::MAX),
        });
    }
    let Ok(zone) = TimeZoneName::parse(&s.time_zone) else {
        return (None, people);
    };
    (
        Some(Rota {
            time_zone: zone.zone(),
            layers,
            overrides,
        }),
        people,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use onduty_core::config_doc::{LayerDoc, ShiftDoc, ShiftUnit};

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn a_difference_is_shown_as_one_span_with_both_answers() {
        let schedule = ScheduleDoc {
            name: "Primary".to_owned(),
            description: String::new(),
            time_zone: "UTC".to_owned(),
            team: None,
            layers: vec![LayerDoc {
                name: "Daily".to_owned(),
                participants: vec!["a@x.example".to_owned(), "b@x.example".to_owned()],
                start: "2026-01-01T00:00".to_owned(),
                shift: ShiftDoc {
                    unit: ShiftUnit::Days,
                    count: 1,
                },
                restrictions: Vec::new(),
            }],
            overrides: Vec::new(),
        };
        let shift = |email: &str, start: &str, end: &str| SourceShift {
            email: email.to_owned(),
            start: at(start),
            end: at(end),
        };
        // The source has b on the 2nd as onduty does, but a (not b) on the 3rd until noon.
        let source = [
            shift(
                "a@x.example",
                "2026-01-01T00:00:00Z",
                "2026-01-02T00:00:00Z",
            ),
            shift(
                "b@x.example",
                "2026-01-02T00:00:00Z",
                "2026-01-03T00:00:00Z",
            ),
            shift(
                "b@x.example",
                "2026-01-03T00:00:00Z",
                "2026-01-03T12:30:00Z",
            ),
            shift(
                "a@x.example",
                "2026-01-03T12:30:00Z",
                "2026-01-04T00:00:00Z",
            ),
        ];
        let c = compare(&schedule, &source, at("2026-01-01T00:00:00Z"), 3);
        // Every hour, and just after the handoff at 12:30 (onduty's are on the hour here).
        assert_eq!(c.instants, 73);
        assert_eq!(
            c.differences,
            [Difference {
                from: at("2026-01-03T00:00:01Z"),
                until: at("2026-01-03T12:30:01Z"),
                source: vec!["b@x.example".to_owned()],
                onduty: vec!["a@x.example".to_owned()],
            }]
        );
        let same = compare(&schedule, &source[..2], at("2026-01-01T00:00:00Z"), 2);
        assert!(same.differences.is_empty(), "{same:?}");
    }

    #[test]
    fn a_turn_only_onduty_has_between_two_hours_is_seen() {
        let mut schedule = ScheduleDoc {
            name: "Lunch".to_owned(),
            description: String::new(),
            time_zone: "UTC".to_owned(),
            team: None,
            layers: vec![LayerDoc {
                name: "Short".to_owned(),
                participants: vec!["a@x.example".to_owned()],
                start: "2026-01-01T00:00".to_owned(),
                shift: ShiftDoc {
                    unit: ShiftUnit::Days,
                    count: 1,
                },
                restrictions: vec![config_doc::RestrictionDoc::Daily {
                    start: "12:15".to_owned(),
                    end: "12:45".to_owned(),
                }],
            }],
            overrides: Vec::new(),
        };
        let c = compare(&schedule, &[], at("2026-01-01T00:00:00Z"), 1);
        assert_eq!(
            c.differences,
            [Difference {
                from: at("2026-01-01T12:15:01Z"),
                until: at("2026-01-01T12:45:01Z"),
                source: Vec::new(),
                onduty: vec!["a@x.example".to_owned()],
            }]
        );
        schedule.layers[0].restrictions.clear();
        assert_eq!(
            compare(&schedule, &[], at("2026-01-01T00:00:00Z"), 1)
                .differences
                .len(),
            1
        );
    }
}
