//! Looking up what became of a request that was answered with its id (Opsgenie's request
//! status): the first timeline entry it made, or, for one that touched no incident, its
//! row in `events`.

use onduty_core::event::EventAction;
use onduty_core::incident::{Actor, TimelineKind};
use onduty_core::opsgenie::Handled;
use onduty_core::{EventId, IncidentId, IntegrationId, ServiceId, Timestamp};
use sqlx::any::AnyRow;

use crate::sql::{col, parse_col};
use crate::{Store, StoreError};

/// What became of one request.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestRecord {
    pub at: Timestamp,
    pub service_id: ServiceId,
    /// The integration it came through, when known.
    pub integration_id: Option<IntegrationId>,
    /// The incident it made or touched.
    pub incident: Option<IncidentId>,
    /// The alert's alias (its dedup key).
    pub alias: Option<String>,
    pub handled: Handled,
}

/// The `action` of a stored event body.
fn stored_action(body: &str) -> Option<EventAction> {
    let value: serde_json::Value = serde_json::from_str(body).ok()?;
    serde_json::from_value(value.get("action")?.clone()).ok()
}

fn on_incident(row: &AnyRow) -> Result<RequestRecord, StoreError> {
    let kind = parse_col(row, "kind", |k| {
        TimelineKind::parse(k).ok_or_else(|| format!("unknown timeline kind '{k}'"))
    })?;
    let action = match kind {
        TimelineKind::Note => None,
        _ => col::<Option<String>>(row, "event")?
            .as_deref()
            .and_then(stored_action),
    };
    let actor: Option<Actor> = serde_json::from_str(&col::<String>(row, "actor")?).ok();
    Ok(RequestRecord {
        at: Timestamp::from_millis(col(row, "at")?),
        service_id: parse_col(row, "service_id", str::parse)?,
        integration_id: match actor {
            Some(Actor::Integration { id, .. }) => Some(id),
            _ => None,
        },
        incident: Some(parse_col(row, "incident_id", str::parse)?),
        alias: Some(col(row, "dedup_key")?),
        handled: Handled::OnIncident { kind, action },
    })
}

fn dropped(row: &AnyRow) -> Result<Option<RequestRecord>, StoreError> {
    let Some(action) = stored_action(&col::<String>(row, "body")?) else {
        // A change event: not a request that has a status.
        return Ok(None);
    };
    Ok(Some(RequestRecord {
        at: Timestamp::from_millis(col(row, "received_at")?),
        service_id: parse_col(row, "service_id", str::parse)?,
        integration_id: Some(parse_col(row, "integration_id", str::parse)?),
        incident: None,
        alias: col(row, "dedup_key")?,
        handled: Handled::Dropped {
            action,
            in_maintenance: col::<String>(row, "outcome")? == "maintenance",
        },
    }))
}

impl Store {
    /// What became of the request with this id, if it was stored.
    pub async fn request(&self, id: EventId) -> Result<Option<RequestRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT t.kind, t.at, t.actor, t.event, t.incident_id, i.service_id, i.dedup_key \
             FROM timeline t JOIN incidents i ON i.id = t.incident_id \
             WHERE t.event_id = $1 ORDER BY t.seq LIMIT 1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?;
        if let Some(row) = row {
            return on_incident(&row).map(Some);
        }
        let row = sqlx::query(
            "SELECT integration_id, service_id, received_at, dedup_key, outcome, body \
             FROM events WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?;
        match row {
            Some(row) => dropped(&row),
            None => Ok(None),
        }
    }
}
