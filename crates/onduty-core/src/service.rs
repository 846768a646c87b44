//! Services (what breaks), their integrations (how events reach them) and the change
//! events recorded on their timeline.

use serde::{Deserialize, Serialize};

use crate::account::Name;
use crate::event::ChangeEvent;
use crate::ids::{EventId, IntegrationId, RoutingKey, ServiceId};
use crate::incident::DedupMode;
use crate::time::Timestamp;

pub const DESCRIPTION_MAX_CHARS: usize = 2000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service {
    pub id: ServiceId,
    pub name: Name,
    pub description: String,
    pub dedup_mode: DedupMode,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// How events reach an integration. More kinds (Alertmanager, Opsgenie, e-mail) come later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum IntegrationKind {
    /// PagerDuty Events API v2: `POST /v2/enqueue` and `/v2/change/enqueue`.
    #[default]
    EventsV2,
}

impl IntegrationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationKind::EventsV2 => "events_v2",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "events_v2" => Some(IntegrationKind::EventsV2),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Integration {
    pub id: IntegrationId,
    pub service_id: ServiceId,
    pub name: Name,
    pub kind: IntegrationKind,
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
}
