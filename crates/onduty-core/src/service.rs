//! Services (what breaks), their integrations (how events reach them) and the change
//! events recorded on their timeline.

use crate::alertmanager::GroupBy;
use serde::{Deserialize, Serialize};

use crate::account::Name;
use crate::contact::Urgency;
use crate::event::{ChangeEvent, Severity};
use crate::ids::{EventId, IntegrationId, PolicyId, RoutingKey, ServiceId, TeamId};
use crate::incident::DedupMode;
use crate::time::Timestamp;

pub const DESCRIPTION_MAX_CHARS: usize = 2000;

/// The longest maintenance window, in minutes (a month).
pub const MAX_MAINTENANCE_MINUTES: u32 = 31 * 24 * 60;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub id: ServiceId,
    pub name: Name,
    pub description: String,
    pub dedup_mode: DedupMode,
    pub settings: PagingSettings,
    /// Whether a high-urgency incident resolving drafts a postmortem (on by default).
    #[serde(default = "yes")]
    pub draft_postmortems: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

fn yes() -> bool {
    true
}

/// How a service's incidents page people.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PagingSettings {
    pub team_id: Option<TeamId>,
    /// Who is paged; no policy means incidents are recorded but page nobody.
    pub policy_id: Option<PolicyId>,
    pub urgency: ServiceUrgency,
    /// An acknowledged incident not resolved within this many minutes is triggered again
    /// (PagerDuty's default is 30); `None` never.
    pub ack_timeout_minutes: Option<u32>,
    /// An incident with no new event for this many minutes is resolved; `None` never.
    pub auto_resolve_minutes: Option<u32>,
    /// Triggers with other dedup keys arriving within this many minutes of an incident
    /// opening join it as alerts rather than opening incidents of their own; `None` off.
    #[serde(default)]
    pub group_window_minutes: Option<u32>,
    /// A trigger arriving within this many minutes of its key's incident resolving
    /// re-opens that incident rather than opening (and paging for) a new one; `None` off.
    #[serde(default)]
    pub flap_window_minutes: Option<u32>,
}

/// The longest acknowledgement or auto-resolve timeout, in minutes (a week).
pub const MAX_TIMEOUT_MINUTES: u32 = 7 * 24 * 60;

/// A service's incidents' urgency: fixed, or following the event's severity.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ServiceUrgency {
    #[default]
    High,
    Low,
    /// Critical and error events are high urgency, warning and info low.
    Severity,
}

impl ServiceUrgency {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceUrgency::High => "high",
            ServiceUrgency::Low => "low",
            ServiceUrgency::Severity => "severity",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "high" => ServiceUrgency::High,
            "low" => ServiceUrgency::Low,
            "severity" => ServiceUrgency::Severity,
            _ => return None,
        })
    }

    /// The urgency of an incident opened by an event of `severity`.
    pub fn of(self, severity: Severity) -> Urgency {
        match self {
            ServiceUrgency::High => Urgency::High,
            ServiceUrgency::Low => Urgency::Low,
            ServiceUrgency::Severity => Urgency::from_severity(severity),
        }
    }
}

/// A timeout in minutes: 1 to a week.
pub fn parse_timeout(name: &str, minutes: u32) -> Result<u32, String> {
    if (1..=MAX_TIMEOUT_MINUTES).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(format!(
            "'{name}' must be 1 to {MAX_TIMEOUT_MINUTES} minutes, not {minutes}"
        ))
    }
}

/// How events reach an integration.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationKind {
    /// PagerDuty Events API v2: `POST /v2/enqueue` and `/v2/change/enqueue` (also what
    /// Alertmanager's `pagerduty_configs` and Grafana's PagerDuty contact point send).
    #[default]
    EventsV2,
    /// Prometheus Alertmanager's webhook: `POST /integrations/<key>/alertmanager`.
    Alertmanager,
    /// Grafana alerting's webhook contact point: `POST /integrations/<key>/grafana`.
    Grafana,
    /// A heartbeat's pings: `/ping/<key>`; made with the heartbeat.
    Heartbeat,
    /// Opsgenie's alert API: `POST /v2/alerts` with `Authorization: GenieKey <key>`.
    Opsgenie,
    /// Any JSON, read through the integration's mapping: `POST /integrations/<key>/webhook`.
    Webhook,
    /// Mail to `<key>@<mail domain>`, through onduty's SMTP listener.
    Email,
}

impl IntegrationKind {
    pub const ALL: [IntegrationKind; 7] = [
        IntegrationKind::EventsV2,
        IntegrationKind::Alertmanager,
        IntegrationKind::Grafana,
        IntegrationKind::Heartbeat,
        IntegrationKind::Opsgenie,
        IntegrationKind::Webhook,
        IntegrationKind::Email,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationKind::EventsV2 => "events_v2",
            IntegrationKind::Alertmanager => "alertmanager",
            IntegrationKind::Grafana => "grafana",
            IntegrationKind::Heartbeat => "heartbeat",
            IntegrationKind::Opsgenie => "opsgenie",
            IntegrationKind::Webhook => "webhook",
            IntegrationKind::Email => "email",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// What people call it.
    pub fn label(self) -> &'static str {
        match self {
            IntegrationKind::EventsV2 => "Events API v2",
            IntegrationKind::Alertmanager => "Prometheus Alertmanager",
            IntegrationKind::Grafana => "Grafana alerting",
            IntegrationKind::Heartbeat => "Heartbeat",
            IntegrationKind::Opsgenie => "Opsgenie API",
            IntegrationKind::Webhook => "JSON webhook",
            IntegrationKind::Email => "E-mail",
        }
    }
}

/// How an integration reads what it receives. Stored as JSON: a field added later has a
/// default, so older rows read as before.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IntegrationSettings {
    /// Alertmanager and Grafana: one incident per alert (default) or per group.
    #[serde(default)]
    pub group_by: GroupBy,
    /// JSON webhooks: where an event's parts are in a body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<crate::webhook::Mapping>,
    /// E-mail: how mails are read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<crate::mail::MailRules>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integration {
    pub id: IntegrationId,
    pub service_id: ServiceId,
    pub name: Name,
    pub kind: IntegrationKind,
    pub settings: IntegrationSettings,
    pub routing_key: RoutingKey,
    pub created_at: Timestamp,
}

/// A change event as recorded on a service's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeRecord {
    pub id: EventId,
    pub service_id: ServiceId,
    pub integration_id: IntegrationId,
    pub received_at: Timestamp,
    pub change: ChangeEvent,
}

/// A description: at most 2000 characters, trimmed.
pub fn parse_description(text: &str) -> Result<String, String> {
    let t = text.trim();
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        return Err("a description may not contain control characters".to_owned());
    }
    if t.chars().count() > DESCRIPTION_MAX_CHARS {
        return Err(format!(
            "a description must be at most {DESCRIPTION_MAX_CHARS} characters"
        ));
    }
    Ok(t.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_are_bounded_plain_text() {
        assert_eq!(
            parse_description("  two\nlines\t ok ").unwrap(),
            "two\nlines\t ok"
        );
        assert!(parse_description("nul\0").is_err());
        assert!(parse_description(&"d".repeat(2001)).is_err());
    }

    #[test]
    fn urgency_is_fixed_or_follows_severity() {
        assert_eq!(ServiceUrgency::Low.of(Severity::Critical), Urgency::Low);
        assert_eq!(
            ServiceUrgency::Severity.of(Severity::Critical),
            Urgency::High
        );
        assert_eq!(ServiceUrgency::Severity.of(Severity::Info), Urgency::Low);
        assert_eq!(parse_timeout("ack_timeout_minutes", 30), Ok(30));
        assert!(parse_timeout("ack_timeout_minutes", 0).is_err());
    }
}
