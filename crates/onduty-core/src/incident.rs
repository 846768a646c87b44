//! Incidents: their statuses, timelines and who acts on them, and the dedup rule that
//! decides whether an event opens, joins or changes an incident.
//!
//! Everything here is a pure function of its arguments. The ingest batch
//! ([`crate::batch`]) asks [`decide`] which of the open incidents carrying an event's
//! dedup key it reaches; the lifecycle ([`crate::lifecycle`]) changes that incident.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::contact::Urgency;
use crate::event::{AlertEvent, EventAction, Severity};
use crate::ids::{
    DedupKey, EventId, IncidentId, IncidentNumber, IntegrationId, ServiceId, TimelineId, UserId,
};
use crate::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IncidentStatus {
    Triggered,
    Acknowledged,
    Resolved,
}

impl IncidentStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentStatus::Triggered => "triggered",
            IncidentStatus::Acknowledged => "acknowledged",
            IncidentStatus::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "triggered" => Some(IncidentStatus::Triggered),
            "acknowledged" => Some(IncidentStatus::Acknowledged),
            "resolved" => Some(IncidentStatus::Resolved),
            _ => None,
        }
    }

    pub fn is_open(self) -> bool {
        self != IncidentStatus::Resolved
    }
}

/// Whether an acknowledged incident still absorbs new triggers with its dedup key.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum DedupMode {
    /// PagerDuty's behaviour: any open incident absorbs triggers with its key.
    #[default]
    Open,
    /// Only a triggered incident absorbs them: a trigger arriving while the incident is
    /// acknowledged opens a new incident (which pages again). The acknowledged one stays
    /// open but no longer absorbs triggers.
    Triggered,
}

impl DedupMode {
    pub fn as_str(self) -> &'static str {
        match self {
            DedupMode::Open => "open",
            DedupMode::Triggered => "triggered",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "open" => Some(DedupMode::Open),
            "triggered" => Some(DedupMode::Triggered),
            _ => None,
        }
    }
}

/// Who did something: shown on the timeline as "Alice acknowledged", "Prometheus resolved".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum Actor {
    User { id: UserId, name: String },
    Integration { id: IntegrationId, name: String },
    System,
}

impl Actor {
    pub fn name(&self) -> &str {
        match self {
            Actor::User { name, .. } | Actor::Integration { name, .. } => name,
            Actor::System => "onduty",
        }
    }
}

/// An incident as people see it: what happened, where it stands, who acted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub id: IncidentId,
    pub number: IncidentNumber,
    pub service_id: ServiceId,
    pub dedup_key: DedupKey,
    pub status: IncidentStatus,
    pub summary: String,
    pub severity: Severity,
    /// Decided when the incident opened, from the service's setting and the severity.
    pub urgency: Urgency,
    /// The trigger that opened the incident: source, component, custom details, links, images.
    pub details: AlertEvent,
    /// How many trigger events this incident absorbed (the first one included).
    pub alert_count: i64,
    pub last_event_at: Timestamp,
    pub last_event_summary: String,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub acknowledged_by: Option<Actor>,
    pub resolved_at: Option<Timestamp>,
    pub resolved_by: Option<Actor>,
    /// The alerts grouped into it (its own key first), when other keys joined it within
    /// the service's grouping window; empty otherwise.
    pub grouped_alerts: crate::noise::GroupedAlerts,
    pub assignees: Vec<UserId>,
}

/// The kinds of timeline entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimelineKind {
    /// The incident was opened by a trigger event.
    Triggered,
    /// Another trigger with the same dedup key was folded in.
    Alert,
    /// An event that changed nothing (an acknowledge for an acknowledged incident).
    Event,
    Acknowledged,
    Resolved,
    Note,
    /// `triggered` dedup mode: a new trigger opened a new incident, this one gave up the key.
    Superseded,
    Assigned,
    /// The escalation policy reached a level (people paged), or ran out of levels.
    Escalated,
    /// A message to a person was sent, or could not be.
    Notified,
    /// Triggered again: by hand, or because an acknowledgement timed out or a snooze ended.
    Unacknowledged,
    /// Quiet until a given time, then triggered again.
    Snoozed,
    /// Resolved, then triggered again within the service's flap window: open again.
    Reopened,
    /// Told the public: a public incident about it was published on a status page.
    Published,
}

impl TimelineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TimelineKind::Triggered => "triggered",
            TimelineKind::Alert => "alert",
            TimelineKind::Event => "event",
            TimelineKind::Acknowledged => "acknowledged",
            TimelineKind::Resolved => "resolved",
            TimelineKind::Note => "note",
            TimelineKind::Superseded => "superseded",
            TimelineKind::Assigned => "assigned",
            TimelineKind::Escalated => "escalated",
            TimelineKind::Notified => "notified",
            TimelineKind::Unacknowledged => "unacknowledged",
            TimelineKind::Snoozed => "snoozed",
            TimelineKind::Reopened => "reopened",
            TimelineKind::Published => "published",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "triggered" => TimelineKind::Triggered,
            "alert" => TimelineKind::Alert,
            "event" => TimelineKind::Event,
            "acknowledged" => TimelineKind::Acknowledged,
            "resolved" => TimelineKind::Resolved,
            "note" => TimelineKind::Note,
            "superseded" => TimelineKind::Superseded,
            "assigned" => TimelineKind::Assigned,
            "escalated" => TimelineKind::Escalated,
            "notified" => TimelineKind::Notified,
            "unacknowledged" => TimelineKind::Unacknowledged,
            "snoozed" => TimelineKind::Snoozed,
            "reopened" => TimelineKind::Reopened,
            "published" => TimelineKind::Published,
            _ => return None,
        })
    }
}

/// One line of an incident's history: who did what, when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub id: TimelineId,
    pub incident_id: IncidentId,
    pub at: Timestamp,
    pub kind: TimelineKind,
    pub actor: Actor,
    /// A sentence for people: "Acknowledged by Alice", "Trigger event from Prometheus (alert 3)".
    pub message: String,
    /// The event behind this entry, when one is, as it was received (routing key removed).
    pub event_id: Option<EventId>,
    pub event: Option<Value>,
    /// Extra facts: warnings about the event, a note's text.
    pub data: Option<Value>,
}

pub const NOTE_MAX_CHARS: usize = 10_000;

/// A note's text: trimmed, 1 to 10,000 characters, NUL characters stored as U+FFFD.
pub fn parse_note(text: &str) -> Result<String, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("a note must not be empty".to_owned());
    }
    if t.chars().count() > NOTE_MAX_CHARS {
        return Err(format!(
            "a note must be at most {NOTE_MAX_CHARS} characters"
        ));
    }
    Ok(crate::text::without_nul(t).into_owned())
}

/// What the store knows about one open incident carrying an event's dedup key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenIncident {
    pub id: IncidentId,
    pub status: IncidentStatus,
    /// True for the one incident that absorbs triggers with this key. Always true in
    /// `open` mode; in `triggered` mode an acknowledged incident gives the key up when a
    /// new trigger opens a fresh incident.
    pub holds_key: bool,
}

/// What to do with one event, given the open incidents that carry its dedup key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Open a new incident. In `triggered` mode, `supersedes` is the acknowledged
    /// incident that gives the key up to the new one.
    Open { supersedes: Option<IncidentId> },
    /// Fold a trigger into this incident: one more alert, a timeline entry, no page.
    Append(IncidentId),
    /// Acknowledge this triggered incident.
    Acknowledge(IncidentId),
    /// An acknowledge for an incident that is already acknowledged: recorded, no change.
    AlreadyAcknowledged(IncidentId),
    /// Resolve these incidents: every open incident with the key.
    Resolve(Vec<IncidentId>),
    /// Acknowledge or resolve with no open incident for the key: accepted and dropped.
    Ignore,
}

/// The dedup rule. `open` lists the service's open incidents with the event's dedup key
/// (at most one of them holds it).
pub fn decide(mode: DedupMode, action: EventAction, open: &[OpenIncident]) -> Decision {
    let holder = open.iter().find(|i| i.holds_key && i.status.is_open());
    match action {
        EventAction::Trigger => match holder {
            None => Decision::Open { supersedes: None },
            Some(h) if mode == DedupMode::Triggered && h.status == IncidentStatus::Acknowledged => {
                Decision::Open {
                    supersedes: Some(h.id),
                }
            }
            Some(h) => Decision::Append(h.id),
        },
        EventAction::Acknowledge => match holder {
            None => Decision::Ignore,
            Some(h) if h.status == IncidentStatus::Triggered => Decision::Acknowledge(h.id),
            Some(h) => Decision::AlreadyAcknowledged(h.id),
        },
        EventAction::Resolve => {
            let ids: Vec<IncidentId> = open
                .iter()
                .filter(|i| i.status.is_open())
                .map(|i| i.id)
                .collect();
            if ids.is_empty() {
                Decision::Ignore
            } else {
                Decision::Resolve(ids)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;
    use IncidentStatus::*;

    fn id(n: i64) -> IncidentId {
        IncidentId::new(Timestamp::from_millis(n))
    }

    #[test]
    fn decision_table() {
        let a = id(1);
        let b = id(2);
        let trig = |id| OpenIncident {
            id,
            status: Triggered,
            holds_key: true,
        };
        let acked = |id| OpenIncident {
            id,
            status: Acknowledged,
            holds_key: true,
        };
        let superseded = |id| OpenIncident {
            id,
            status: Acknowledged,
            holds_key: false,
        };
        use DedupMode::Open as O;
        use DedupMode::Triggered as T;
        use EventAction::*;
        let table: Vec<(DedupMode, EventAction, Vec<OpenIncident>, Decision)> = vec![
            (O, Trigger, vec![], Decision::Open { supersedes: None }),
            (O, Trigger, vec![trig(a)], Decision::Append(a)),
            (O, Trigger, vec![acked(a)], Decision::Append(a)),
            (T, Trigger, vec![trig(a)], Decision::Append(a)),
            (
                T,
                Trigger,
                vec![acked(a)],
                Decision::Open {
                    supersedes: Some(a),
                },
            ),
            (
                T,
                Trigger,
                vec![superseded(a), trig(b)],
                Decision::Append(b),
            ),
            (
                T,
                Trigger,
                vec![superseded(a), acked(b)],
                Decision::Open {
                    supersedes: Some(b),
                },
            ),
            (O, Acknowledge, vec![], Decision::Ignore),
            (O, Acknowledge, vec![trig(a)], Decision::Acknowledge(a)),
            (
                O,
                Acknowledge,
                vec![acked(a)],
                Decision::AlreadyAcknowledged(a),
            ),
            (
                T,
                Acknowledge,
                vec![superseded(a), trig(b)],
                Decision::Acknowledge(b),
            ),
            (T, Acknowledge, vec![superseded(a)], Decision::Ignore),
            (O, Resolve, vec![], Decision::Ignore),
            (O, Resolve, vec![acked(a)], Decision::Resolve(vec![a])),
            (
                T,
                Resolve,
                vec![superseded(a), trig(b)],
                Decision::Resolve(vec![a, b]),
            ),
        ];
        for (mode, action, open, expected) in table {
            assert_eq!(
                decide(mode, action, &open),
                expected,
                "{mode:?} {action:?} {open:?}"
            );
        }
    }
}
