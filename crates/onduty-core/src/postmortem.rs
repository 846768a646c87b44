//! Postmortems, purely: their states (draft → in review → published), their due dates
//! (provisional within 24 hours, final within 5 business days, both settings), the
//! timeline drafted from the incidents' own, their impact, and their Markdown.

use jiff::tz::TimeZone;
use jiff::{Span, civil::Weekday};
use serde::{Deserialize, Serialize};

use crate::incident::{TimelineEntry, TimelineKind};
use crate::time::Timestamp;

pub mod components;
mod markdown;
pub mod reminders;
pub use markdown::{ActionLine, ComponentLine, Document, public_markdown, to_markdown};

/// Longest text field (summary, contributing factors, what went well or badly).
pub const TEXT_MAX_CHARS: usize = 50_000;
/// Longest title, timeline line or action item.
pub const LINE_MAX_CHARS: usize = 500;
/// Most incidents one postmortem covers.
pub const MOST_INCIDENTS: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostmortemError {
    #[error("a postmortem that is {from} cannot be {to}")]
    Move {
        from: &'static str,
        to: &'static str,
    },
    #[error("a published postmortem is read-only, except for its action items")]
    Published,
    #[error("'{0}' is not a postmortem status (draft, in_review or published)")]
    UnknownStatus(String),
    #[error("'{field}' is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("'{0}' must not be empty")]
    Empty(&'static str),
}

/// Where a postmortem stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostmortemStatus {
    Draft,
    InReview,
    Published,
}

impl PostmortemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PostmortemStatus::Draft => "draft",
            PostmortemStatus::InReview => "in_review",
            PostmortemStatus::Published => "published",
        }
    }

    pub fn parse(text: &str) -> Result<PostmortemStatus, PostmortemError> {
        match text.trim() {
            "draft" => Ok(PostmortemStatus::Draft),
            "in_review" => Ok(PostmortemStatus::InReview),
            "published" => Ok(PostmortemStatus::Published),
            other => Err(PostmortemError::UnknownStatus(
                other.chars().take(40).collect(),
            )),
        }
    }

    /// Whether its words may change (action items always may).
    pub fn editable(self) -> bool {
        self != PostmortemStatus::Published
    }

    /// The status asked for, from this one: a draft goes to review, a review back to
    /// draft or on to published; published is final. Asking for the status it has is
    /// a no-op.
    pub fn move_to(self, to: PostmortemStatus) -> Result<PostmortemStatus, PostmortemError> {
        use PostmortemStatus::*;
        match (self, to) {
            (from, to) if from == to => Ok(to),
            (Draft, InReview) | (InReview, Draft) | (InReview, Published) => Ok(to),
            (from, to) => Err(PostmortemError::Move {
                from: from.as_str(),
                to: to.as_str(),
            }),
        }
    }
}

/// When a postmortem is due: settings, with onduty's defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DueSettings {
    /// The provisional version, this many hours after the incident resolved.
    pub provisional_hours: u32,
    /// The final version, this many business days (Monday to Friday) after.
    pub final_business_days: u32,
}

impl Default for DueSettings {
    fn default() -> Self {
        DueSettings {
            provisional_hours: 24,
            final_business_days: 5,
        }
    }
}

/// A postmortem's due dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadlines {
    pub provisional: Timestamp,
    pub final_due: Timestamp,
}

/// Due dates for incidents resolved at `resolved`: business days are counted in `zone`
/// (the owner's), so a Friday-evening outage is due the Friday after, at the same time
/// of day, whatever daylight saving did meanwhile.
pub fn deadlines(resolved: Timestamp, settings: DueSettings, zone: &TimeZone) -> Deadlines {
    let provisional = resolved.saturating_add(std::time::Duration::from_secs(
        u64::from(settings.provisional_hours) * 3600,
    ));
    let Ok(instant) = jiff::Timestamp::from_millisecond(resolved.as_millis()) else {
        return Deadlines {
            provisional,
            final_due: provisional,
        };
    };
    let mut day = instant.to_zoned(zone.clone());
    let mut left = settings.final_business_days;
    while left > 0 {
        day = day.checked_add(Span::new().days(1)).unwrap_or(day);
        if !matches!(day.weekday(), Weekday::Saturday | Weekday::Sunday) {
            left -= 1;
        }
    }
    Deadlines {
        provisional,
        final_due: Timestamp::from_millis(day.timestamp().as_millisecond()),
    }
}

/// One line of a postmortem's timeline: drafted from an incident's, or added by a person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineLine {
    pub at: Timestamp,
    pub text: String,
    /// Marked as mattering: the Markdown keeps only these.
    pub marked: bool,
    /// The incident it came from (its number), or none for a line a person added.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident: Option<i64>,
    /// The kind of incident entry it came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<TimelineKind>,
}

/// The timeline drafted from the incidents' entries (by incident number), oldest first:
/// events, pages, acknowledgements, escalations, notes and status-page updates. Repeated
/// alerts and events that changed nothing are left out; the turning points start marked.
pub fn draft_timeline(entries: &[(i64, TimelineEntry)]) -> Vec<TimelineLine> {
    let mut lines: Vec<TimelineLine> = entries
        .iter()
        .filter_map(|(number, e)| {
            let marked = match e.kind {
                TimelineKind::Alert | TimelineKind::Event | TimelineKind::Superseded => {
                    return None;
                }
                TimelineKind::Triggered
                | TimelineKind::Acknowledged
                | TimelineKind::Resolved
                | TimelineKind::Escalated
                | TimelineKind::Reopened
                | TimelineKind::Published
                | TimelineKind::Note => true,
                TimelineKind::Notified
                | TimelineKind::Assigned
                | TimelineKind::Unacknowledged
                | TimelineKind::Snoozed => false,
            };
            let note = e.data.as_ref().and_then(|d| d["text"].as_str());
            let text = match note {
                Some(words) => format!("{}: {words}", e.message),
                None => e.message.clone(),
            };
            Some(TimelineLine {
                at: e.at,
                text: clip(&format!("#{number} {text}"), LINE_MAX_CHARS),
                marked,
                incident: Some(*number),
                kind: Some(e.kind),
            })
        })
        .collect();
    lines.sort_by_key(|l| l.at);
    lines
}

/// What one incident tells of the impact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IncidentTimes {
    pub created_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
}

/// How bad it was, in time: from the first incident's start to the last one's end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Impact {
    /// When the first incident opened (onduty detected it then).
    pub started_at: Timestamp,
    /// The first acknowledgement.
    pub acknowledged_at: Option<Timestamp>,
    /// When the last incident resolved, once all have.
    pub resolved_at: Option<Timestamp>,
    pub minutes_to_acknowledge: Option<i64>,
    pub minutes_to_resolve: Option<i64>,
}

pub fn impact(incidents: &[IncidentTimes]) -> Option<Impact> {
    let started_at = incidents.iter().map(|i| i.created_at).min()?;
    let acknowledged_at = incidents.iter().filter_map(|i| i.acknowledged_at).min();
    let resolved_at = incidents
        .iter()
        .map(|i| i.resolved_at)
        .collect::<Option<Vec<_>>>()
        .and_then(|all| all.into_iter().max());
    let minutes = |to: Timestamp| (to.as_millis() - started_at.as_millis()) / 60_000;
    Some(Impact {
        started_at,
        acknowledged_at,
        resolved_at,
        minutes_to_acknowledge: acknowledged_at.map(minutes),
        minutes_to_resolve: resolved_at.map(minutes),
    })
}

/// A new postmortem's first words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drafted {
    pub title: String,
    pub timeline: Vec<TimelineLine>,
    pub deadlines: Deadlines,
    /// Who acknowledged first: the owner, unless someone else starts it.
    pub first_acknowledger: Option<crate::UserId>,
}

/// The draft of a postmortem of `incidents` (with their timelines' entries, by incident
/// number): due from when the last resolved, or from `now` while one is still open.
pub fn draft(
    incidents: &[&crate::incident::Incident],
    entries: &[(i64, TimelineEntry)],
    settings: DueSettings,
    zone: &TimeZone,
    now: Timestamp,
) -> Option<Drafted> {
    let mut sorted: Vec<_> = incidents.to_vec();
    sorted.sort_by_key(|i| i.number.0);
    let first = sorted.first()?;
    let numbers: Vec<String> = sorted.iter().map(|i| format!("#{}", i.number.0)).collect();
    let title = parse_line(
        "title",
        &format!("{}: {}", numbers.join(", "), first.summary),
    )
    .unwrap_or_else(|_| numbers.join(", "));
    let title = clip(&title, LINE_MAX_CHARS);
    let times: Vec<IncidentTimes> = sorted
        .iter()
        .map(|i| IncidentTimes {
            created_at: i.created_at,
            acknowledged_at: i.acknowledged_at,
            resolved_at: i.resolved_at,
        })
        .collect();
    let ended = impact(&times).and_then(|i| i.resolved_at).unwrap_or(now);
    Some(Drafted {
        title,
        timeline: draft_timeline(entries),
        deadlines: deadlines(ended, settings, zone),
        first_acknowledger: first_acknowledger(incidents),
    })
}

/// The person who acknowledged first, of all the incidents: a postmortem's owner unless
/// someone else starts it.
pub fn first_acknowledger(incidents: &[&crate::incident::Incident]) -> Option<crate::UserId> {
    incidents
        .iter()
        .filter_map(|i| match (&i.acknowledged_by, i.acknowledged_at) {
            (Some(crate::incident::Actor::User { id, .. }), Some(at)) => Some((at, *id)),
            _ => None,
        })
        .min_by_key(|(at, _)| *at)
        .map(|(_, id)| id)
}

/// A title, timeline line or action item: trimmed, 1 to 500 characters.
pub fn parse_line(field: &'static str, text: &str) -> Result<String, PostmortemError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(PostmortemError::Empty(field));
    }
    if text.chars().count() > LINE_MAX_CHARS {
        return Err(PostmortemError::TooLong {
            field,
            max: LINE_MAX_CHARS,
        });
    }
    Ok(text.chars().filter(|c| !c.is_control()).collect())
}

/// A text section (Markdown): at most 50,000 characters, empty allowed.
pub fn parse_text(field: &'static str, text: &str) -> Result<String, PostmortemError> {
    if text.chars().count() > TEXT_MAX_CHARS {
        return Err(PostmortemError::TooLong {
            field,
            max: TEXT_MAX_CHARS,
        });
    }
    Ok(text
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .collect::<String>()
        .trim()
        .to_owned())
}

fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max.saturating_sub(1)) {
        Some((at, _)) if text.chars().count() > max => format!("{}…", &text[..at]),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::Actor;
    use crate::{IncidentId, TimelineId};
    use PostmortemStatus::*;

    #[test]
    fn a_postmortem_moves_from_draft_to_review_to_published_and_stays() {
        for (from, to, expected) in [
            (Draft, InReview, Ok(InReview)),
            (Draft, Published, Err(())),
            (Draft, Draft, Ok(Draft)),
            (InReview, Draft, Ok(Draft)),
            (InReview, Published, Ok(Published)),
            (Published, Draft, Err(())),
            (Published, InReview, Err(())),
            (Published, Published, Ok(Published)),
        ] {
            assert_eq!(
                from.move_to(to).map_err(|_| ()),
                expected,
                "{from:?} → {to:?}"
            );
        }
        assert!(Draft.editable() && InReview.editable() && !Published.editable());
        assert_eq!(PostmortemStatus::parse("in_review"), Ok(InReview));
        assert!(PostmortemStatus::parse("done").is_err());
    }

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    #[test]
    fn the_final_version_is_due_five_business_days_on_in_the_owners_zone() {
        let london = TimeZone::get("Europe/London").unwrap();
        for (resolved, provisional, final_due) in [
            // A Wednesday: the next Wednesday.
            (
                "2026-12-02T10:00:00Z",
                "2026-12-03T10:00:00Z",
                "2026-12-09T10:00:00Z",
            ),
            // A Friday evening: the next Friday; the weekend does not count.
            (
                "2026-12-04T21:00:00Z",
                "2026-12-05T21:00:00Z",
                "2026-12-11T21:00:00Z",
            ),
            // A Saturday: the next Friday.
            (
                "2026-12-05T03:00:00Z",
                "2026-12-06T03:00:00Z",
                "2026-12-11T03:00:00Z",
            ),
            // Across the end of summer time (25 October 2026): the same wall-clock time.
            (
                "2026-10-22T09:00:00Z",
                "2026-10-23T09:00:00Z",
                "2026-10-29T10:00:00Z",
            ),
        ] {
            let due = deadlines(at(resolved), DueSettings::default(), &london);
            assert_eq!(due.provisional, at(provisional), "{resolved}");
            assert_eq!(due.final_due, at(final_due), "{resolved}");
        }
        let quick = DueSettings {
            provisional_hours: 4,
            final_business_days: 1,
        };
        let due = deadlines(at("2026-12-04T21:00:00Z"), quick, &TimeZone::UTC);
        assert_eq!(due.provisional, at("2026-12-05T01:00:00Z"));
        assert_eq!(due.final_due, at("2026-12-07T21:00:00Z"));
    }

    fn entry(minute: i64, kind: TimelineKind, message: &str) -> TimelineEntry {
        TimelineEntry {
            id: TimelineId::new(Timestamp::from_millis(0)),
            incident_id: IncidentId::new(Timestamp::from_millis(0)),
            at: Timestamp::from_millis(minute * 60_000),
            kind,
            actor: Actor::System,
            message: message.to_owned(),
            event_id: None,
            event: None,
            data: None,
        }
    }

    #[test]
    fn the_timeline_is_drafted_from_both_incidents_in_order_without_repeats() {
        let mut note = entry(9, TimelineKind::Note, "Note by Alice");
        note.data = Some(serde_json::json!({"text": "Rolled back the deploy"}));
        let lines = draft_timeline(&[
            (
                1,
                entry(0, TimelineKind::Triggered, "Triggered by Prometheus"),
            ),
            (1, entry(1, TimelineKind::Alert, "Alert 2")),
            (1, entry(1, TimelineKind::Notified, "Paged Alice by SMS")),
            (
                2,
                entry(3, TimelineKind::Triggered, "Triggered by Prometheus"),
            ),
            (
                1,
                entry(5, TimelineKind::Acknowledged, "Acknowledged by Alice"),
            ),
            (1, note),
            (1, entry(12, TimelineKind::Resolved, "Resolved by Alice")),
        ]);
        let shown: Vec<(i64, &str, bool)> = lines
            .iter()
            .map(|l| (l.at.as_millis() / 60_000, l.text.as_str(), l.marked))
            .collect();
        assert_eq!(
            shown,
            [
                (0, "#1 Triggered by Prometheus", true),
                (1, "#1 Paged Alice by SMS", false),
                (3, "#2 Triggered by Prometheus", true),
                (5, "#1 Acknowledged by Alice", true),
                (9, "#1 Note by Alice: Rolled back the deploy", true),
                (12, "#1 Resolved by Alice", true),
            ]
        );
    }

    #[test]
    fn impact_runs_from_the_first_start_to_the_last_resolution() {
        let t = |m: i64| Timestamp::from_millis(m * 60_000);
        let both = [
            IncidentTimes {
                created_at: t(10),
                acknowledged_at: Some(t(14)),
                resolved_at: Some(t(40)),
            },
            IncidentTimes {
                created_at: t(12),
                acknowledged_at: Some(t(13)),
                resolved_at: Some(t(55)),
            },
        ];
        let found = impact(&both).unwrap();
        assert_eq!(found.started_at, t(10));
        assert_eq!(found.minutes_to_acknowledge, Some(3));
        assert_eq!(found.minutes_to_resolve, Some(45));
        let open = [IncidentTimes {
            resolved_at: None,
            ..both[0]
        }];
        assert_eq!(impact(&open).unwrap().resolved_at, None);
        assert!(impact(&[]).is_none());
    }
}
