//! Scheduled maintenance the clock moves on: due to start (`scheduled` past its start) or
//! to complete (past its end), each told as an update by the engine.

use onduty_core::Timestamp;

use crate::status_pages::{INCIDENT_COLUMNS, StatusIncident, incident_from_row};
use crate::{Store, StoreError};

/// Published maintenance not completed yet.
const OPEN_MAINTENANCE: &str =
    "draft = 0 AND resolved_at IS NULL AND scheduled_for IS NOT NULL AND status <> 'completed'";

impl Store {
    /// Published maintenance whose start or end has come and whose status does not say so
    /// yet, oldest first (at most 100).
    pub async fn due_maintenance_moves(
        &self,
        now: Timestamp,
    ) -> Result<Vec<StatusIncident>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{INCIDENT_COLUMNS} WHERE {OPEN_MAINTENANCE} \
             AND ((status = 'scheduled' AND scheduled_for <= $1) OR scheduled_until <= $1) \
             ORDER BY scheduled_for, id LIMIT 100"
        )))
        .bind(now.as_millis())
        .fetch_all(&self.read)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut m = incident_from_row(row)?;
            self.fill_incident(&mut m).await?;
            out.push(m);
        }
        Ok(out)
    }

    /// When the next maintenance starts or ends.
    pub async fn next_maintenance_move(&self) -> Result<Option<Timestamp>, StoreError> {
        let next: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT MIN(CASE WHEN status = 'scheduled' THEN scheduled_for ELSE scheduled_until END) \
             FROM status_incidents WHERE {OPEN_MAINTENANCE}"
        )))
        .fetch_one(&self.read)
        .await?;
        Ok(next.map(Timestamp::from_millis))
    }
}
