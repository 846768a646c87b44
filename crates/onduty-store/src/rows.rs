//! Incident rows as the core's [`IncidentState`]: what every decision about an incident
//! loads (the ingest batch, people's actions, timers).

use onduty_core::contact::Urgency;
use onduty_core::incident::{Actor, DedupMode, IncidentStatus};
use onduty_core::lifecycle::{IncidentState, Settings, Stamp};
use onduty_core::service::ServiceUrgency;
use onduty_core::{DedupKey, IncidentNumber, IncidentRef, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};

use crate::StoreError;
use crate::sql::{Val, bind, col, opt_id, parse_col};

/// The columns [`state_from_row`] reads (with `version`).
pub(crate) const STATE_COLUMNS: &str = "id, number, service_id, dedup_key, open_key, status, urgency, \
     alert_count, last_event_at, last_event_summary, created_at, updated_at, acknowledged_at, \
     acknowledged_by, resolved_at, resolved_by, alerts, version";

pub(crate) fn state_from_row(row: &AnyRow) -> Result<IncidentState, StoreError> {
    let open_key: Option<String> = col(row, "open_key")?;
    let stamp = |at: &str, by: &str| -> Result<Option<Stamp>, StoreError> {
        let at: Option<i64> = col(row, at)?;
        let by: Option<String> = col(row, by)?;
        Ok(match (at, by) {
            (Some(at), Some(by)) => Some(Stamp {
                at: Timestamp::from_millis(at),
                by: serde_json::from_str::<Actor>(&by).map_err(StoreError::corrupt)?,
            }),
            (Some(at), None) => Some(Stamp {
                at: Timestamp::from_millis(at),
                by: Actor::System,
            }),
            _ => None,
        })
    };
    Ok(IncidentState {
        id: parse_col(row, "id", str::parse)?,
        number: Some(IncidentNumber(col(row, "number")?)),
        service_id: parse_col(row, "service_id", str::parse)?,
        dedup_key: parse_col(row, "dedup_key", DedupKey::parse)?,
        holds_key: open_key.is_some(),
        status: parse_col(row, "status", |t| {
            IncidentStatus::parse(t).ok_or("unknown status")
        })?,
        urgency: parse_col(row, "urgency", |t| {
            Urgency::parse(t).ok_or("unknown urgency")
        })?,
        alert_count: col(row, "alert_count")?,
        last_event_at: Timestamp::from_millis(col(row, "last_event_at")?),
        last_event_summary: col(row, "last_event_summary")?,
        created_at: Timestamp::from_millis(col(row, "created_at")?),
        updated_at: Timestamp::from_millis(col(row, "updated_at")?),
        acknowledged: stamp("acknowledged_at", "acknowledged_by")?,
        resolved: stamp("resolved_at", "resolved_by")?,
        alerts: col::<Option<String>>(row, "alerts")?
            .map(|t| serde_json::from_str(&t).map_err(StoreError::corrupt))
            .transpose()?
            .unwrap_or_default(),
    })
}

/// A service's settings as the lifecycle reads them, from its `services` columns
/// (`dedup_mode`, `urgency`, `policy_id` and the minutes of its timeouts and windows).
pub(crate) fn settings_from_row(row: &AnyRow) -> Result<Settings, StoreError> {
    Ok(Settings {
        dedup_mode: parse_col(row, "dedup_mode", |t| {
            DedupMode::parse(t).ok_or("unknown dedup mode")
        })?,
        urgency: parse_col(row, "urgency", |t| {
            ServiceUrgency::parse(t).ok_or("unknown urgency")
        })?,
        policy: opt_id(row, "policy_id")?,
        ack_timeout_minutes: minutes(row, "ack_timeout_minutes")?,
        auto_resolve_minutes: minutes(row, "auto_resolve_minutes")?,
        group_window_minutes: minutes(row, "group_window_minutes")?,
        flap_window_minutes: minutes(row, "flap_window_minutes")?,
    })
}

fn minutes(row: &AnyRow, name: &str) -> Result<Option<u32>, StoreError> {
    col::<Option<i64>>(row, name)?
        .map(|m| u32::try_from(m).map_err(StoreError::corrupt))
        .transpose()
}

/// The row of the incident `r` names, with `columns`; "incident #42 not found" if none.
pub(crate) async fn incident_row(
    conn: &mut AnyConnection,
    columns: &str,
    r: IncidentRef,
) -> Result<AnyRow, StoreError> {
    let (filter, value) = match r {
        IncidentRef::Number(n) => ("number = $1", Val::Int(n.0)),
        IncidentRef::Id(id) => ("id = $1", Val::Text(id.to_string())),
    };
    let sql = format!("SELECT {columns} FROM incidents WHERE {filter}");
    bind(sqlx::query(AssertSqlSafe(sql)), value)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| {
            StoreError::NotFound(match r {
                IncidentRef::Number(n) => format!("incident #{n}"),
                IncidentRef::Id(id) => format!("incident {id}"),
            })
        })
}
