//! Public incidents that tell of onduty incidents: what was published goes on the onduty
//! incident's timeline, and once the onduty incident is resolved while the public one is
//! not, reminders are due until it is resolved or kept open on purpose.

use onduty_core::{ContactMethodId, IncidentId, PostmortemId, StatusIncidentId, Timestamp, UserId};

use crate::sql::{Val, col};
use crate::status_components::touch_page;
use crate::status_pages::{INCIDENT_COLUMNS, StatusIncident, incident_from_row};
use crate::{Store, StoreError};

/// A reminder that a public incident is still open though its onduty incident is
/// resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusReminder {
    pub status_incident: StatusIncidentId,
    /// Who is reminded; `None`: nobody known (the time is noted all the same, so the
    /// reminder is not due again at once).
    pub user: Option<UserId>,
    /// The contact methods of their immediate rules; none: nobody to tell.
    pub methods: Vec<ContactMethodId>,
    pub text: String,
}

/// A public incident left open though its onduty incident is resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forgotten {
    /// The public incident's title.
    pub name: String,
    /// Its status page's name.
    pub page: String,
    pub number: onduty_core::IncidentNumber,
}

/// How long after its onduty incident is resolved a public incident still open is first
/// reminded of, and how often again.
pub const REMIND_AFTER_MS: i64 = 10 * 60_000;
/// Then again every page's `remind_every_minutes` (30 unless set).
const MINUTE_MS: i64 = 60_000;

impl Store {
    /// The public incidents that tell of an onduty incident, oldest first.
    pub async fn status_incidents_of(
        &self,
        incident: IncidentId,
    ) -> Result<Vec<StatusIncident>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{INCIDENT_COLUMNS} WHERE incident_id = $1 ORDER BY created_at, id"
        )))
        .bind(incident.to_string())
        .fetch_all(&self.read)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut i = incident_from_row(row)?;
            self.fill_incident(&mut i).await?;
            out.push(i);
        }
        Ok(out)
    }

    /// Someone chose to keep a public incident open though its onduty incident is
    /// resolved: no more reminders.
    pub async fn keep_status_incident_open(
        &self,
        id: StatusIncidentId,
    ) -> Result<StatusIncident, StoreError> {
        let mut conn = self.write_conn().await?;
        sqlx::query("UPDATE status_incidents SET keep_open = 1 WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *conn)
            .await?;
        drop(conn);
        self.status_incident(id).await
    }

    /// Shows a postmortem with a public incident, or none (`None`); the page changes.
    pub async fn set_status_postmortem(
        &self,
        id: StatusIncidentId,
        postmortem: Option<PostmortemId>,
        now: Timestamp,
    ) -> Result<StatusIncident, StoreError> {
        let found = self.status_incident(id).await?;
        let mut conn = self.write_conn().await?;
        let mut tx = crate::begin(&mut conn, self.backend).await?;
        sqlx::query(
            "UPDATE status_incidents SET postmortem_id = $2, updated_at = $3 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(postmortem.map(|p| p.to_string()))
        .bind(now.as_millis())
        .execute(&mut *tx)
        .await?;
        touch_page(&mut tx, found.page, now).await?;
        tx.commit().await?;
        drop(conn);
        self.status_incident(id).await
    }

    /// Public incidents still open whose onduty incident is resolved, due a reminder at
    /// `now`: the first [`REMIND_AFTER_MS`] after the resolution, then every
    /// page's `remind_every_minutes`; with the onduty incident's number.
    pub async fn due_status_reminders(
        &self,
        now: Timestamp,
    ) -> Result<Vec<(StatusIncident, onduty_core::IncidentNumber)>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.id, s.page_id, s.name, s.status, s.impact, s.created_at, s.updated_at, \
             s.started_at, s.monitoring_at, s.resolved_at, s.scheduled_for, s.scheduled_until, \
             s.window_id, s.incident_id, s.created_by, s.keep_open, s.draft, s.postmortem_id, i.number AS incident_number \
             FROM status_incidents s JOIN incidents i ON i.id = s.incident_id \
             JOIN status_pages p ON p.id = s.page_id \
             WHERE s.resolved_at IS NULL AND s.keep_open = 0 AND s.draft = 0 AND s.scheduled_for IS NULL \
             AND i.status = 'resolved' \
             AND COALESCE(s.reminded_at + p.remind_every_minutes * $2, i.resolved_at + $3) <= $1 \
             ORDER BY s.created_at LIMIT 100",
        )
        .bind(now.as_millis())
        .bind(MINUTE_MS)
        .bind(REMIND_AFTER_MS)
        .fetch_all(&self.read)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut i = incident_from_row(row)?;
            self.fill_incident(&mut i).await?;
            out.push((i, onduty_core::IncidentNumber(col(row, "incident_number")?)));
        }
        Ok(out)
    }

    /// Queues each reminder through its methods and notes when it went, in one
    /// transaction; one already sent for this moment (by another engine) is not sent again.
    pub async fn queue_status_reminders(
        &self,
        reminders: &[StatusReminder],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let notices = reminders
            .iter()
            .map(|r| crate::notices::OnceNotice {
                mark: "UPDATE status_incidents SET reminded_at = ? WHERE id = ? \
                       AND (reminded_at IS NULL OR reminded_at < ?)",
                mark_values: vec![
                    Val::Int(now.as_millis()),
                    Val::Text(r.status_incident.to_string()),
                    Val::Int(now.as_millis()),
                ],
                to: r
                    .user
                    .map(|u| (u, r.methods.as_slice()))
                    .into_iter()
                    .collect(),
                text: &r.text,
            })
            .collect();
        self.queue_notices_once(notices, now).await
    }

    /// Public incidents still open whose onduty incident is resolved (and that nobody
    /// chose to keep open), oldest first, at most `limit`: the UI's banner. With the
    /// onduty incident's number and the page's name.
    pub async fn forgotten_status_incidents(
        &self,
        limit: u32,
    ) -> Result<Vec<Forgotten>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.name, p.name AS page_name, i.number FROM status_incidents s \
             JOIN incidents i ON i.id = s.incident_id JOIN status_pages p ON p.id = s.page_id \
             WHERE s.resolved_at IS NULL AND s.keep_open = 0 AND s.draft = 0 \
             AND s.scheduled_for IS NULL AND i.status = 'resolved' \
             ORDER BY s.created_at, s.id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Forgotten {
                    name: col(r, "name")?,
                    page: col(r, "page_name")?,
                    number: onduty_core::IncidentNumber(col(r, "number")?),
                })
            })
            .collect()
    }

    /// When the next reminder of a forgotten public incident is due.
    pub async fn next_status_reminder(&self) -> Result<Option<Timestamp>, StoreError> {
        let row = sqlx::query(
            "SELECT MIN(COALESCE(s.reminded_at + p.remind_every_minutes * $1, i.resolved_at + $2)) AS next \
             FROM status_incidents s JOIN incidents i ON i.id = s.incident_id \
             JOIN status_pages p ON p.id = s.page_id \
             WHERE s.resolved_at IS NULL AND s.keep_open = 0 AND s.draft = 0 AND s.scheduled_for IS NULL \
             AND i.status = 'resolved'",
        )
        .bind(MINUTE_MS)
        .bind(REMIND_AFTER_MS)
        .fetch_one(&self.read)
        .await?;
        Ok(col::<Option<i64>>(&row, "next")?.map(Timestamp::from_millis))
    }
}
