//! Drafts: an incident open on a service that stands behind components of a status page
//! gets a public incident drafted for that page, once, for a person to publish (or
//! published at once where the page says so). Publishing sets the states the draft
//! proposed.

use onduty_core::incident::Actor;
use onduty_core::status_page::ComponentStatus;
use onduty_core::{
    ComponentId, IncidentId, IncidentNumber, StatusIncidentId, StatusPageId, Timestamp,
};

use crate::sql::{col, parse_col};
use crate::status_components::{record_change, touch_page};
use crate::status_pages::{NewUpdate, StatusIncident, Told};
use crate::status_subscribers::{tell_component, tell_update};
use crate::{Store, StoreError, begin};

/// An open incident whose service stands behind components of a page that has no public
/// incident about it yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DraftDue {
    pub incident: IncidentId,
    pub number: IncidentNumber,
    /// `high` or `low`.
    pub urgency: String,
    pub page: StatusPageId,
    pub auto_publish: bool,
    /// The components (id, name) its service stands behind on that page.
    pub components: Vec<(ComponentId, String)>,
}

impl Store {
    /// Incidents due a draft: open, on a service behind a component made before the
    /// incident opened, with no public incident on that page yet. At most 100 pairs.
    pub async fn due_status_drafts(&self) -> Result<Vec<DraftDue>, StoreError> {
        let rows = sqlx::query(
            "SELECT i.id AS incident_id, i.number, i.urgency, c.page_id, p.auto_publish, \
             c.id AS component_id, c.name AS component_name \
             FROM incidents i \
             JOIN status_components c ON c.service_id = i.service_id AND c.created_at <= i.created_at \
             JOIN status_pages p ON p.id = c.page_id \
             WHERE i.status <> 'resolved' AND NOT EXISTS (SELECT 1 FROM status_incidents s \
                 WHERE s.incident_id = i.id AND s.page_id = c.page_id) \
             ORDER BY i.number, c.page_id, c.position LIMIT 500",
        )
        .fetch_all(&self.read)
        .await?;
        let mut due: Vec<DraftDue> = Vec::new();
        for row in &rows {
            let incident: IncidentId = parse_col(row, "incident_id", str::parse)?;
            let page: StatusPageId = parse_col(row, "page_id", str::parse)?;
            let component = (
                parse_col(row, "component_id", str::parse)?,
                col(row, "component_name")?,
            );
            match due.last_mut() {
                Some(d) if d.incident == incident && d.page == page => d.components.push(component),
                _ => {
                    if due.len() == 100 {
                        break;
                    }
                    due.push(DraftDue {
                        incident,
                        number: IncidentNumber(col(row, "number")?),
                        urgency: col(row, "urgency")?,
                        page,
                        auto_publish: col::<i64>(row, "auto_publish")? != 0,
                        components: vec![component],
                    });
                }
            }
        }
        Ok(due)
    }

    /// Publishes a draft: shown from now on, its components take the states it proposed,
    /// and its onduty incident's timeline says so. A draft published already is refused.
    pub async fn publish_status_draft(
        &self,
        id: StatusIncidentId,
        by: &Actor,
        now: Timestamp,
    ) -> Result<StatusIncident, StoreError> {
        let draft = self.status_incident(id).await?;
        let first = draft
            .updates
            .last()
            .ok_or_else(|| StoreError::corrupt(format!("public incident {id} has no update")))?;
        let mut conn = self.write_conn().await?;
        let mut tx = begin(&mut conn, self.backend).await?;
        let published = sqlx::query(
            "UPDATE status_incidents SET draft = 0, updated_at = $2, \
             created_by = COALESCE(created_by, $3) WHERE id = $1 AND draft = 1",
        )
        .bind(id.to_string())
        .bind(now.as_millis())
        .bind(match by {
            Actor::User { id, .. } => Some(id.to_string()),
            _ => None,
        })
        .execute(&mut *tx)
        .await?;
        if published.rows_affected() != 1 {
            return Err(StoreError::Conflict(format!(
                "public incident {id} is published already"
            )));
        }
        let mut states = Vec::with_capacity(first.affected.len());
        for proposed in &first.affected {
            let component: ComponentId = proposed.code.parse().map_err(StoreError::corrupt)?;
            let status =
                ComponentStatus::parse(&proposed.new_status).map_err(StoreError::corrupt)?;
            let old: Option<String> =
                sqlx::query_scalar("SELECT status FROM status_components WHERE id = $1")
                    .bind(component.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
            let old = old
                .map(|o| ComponentStatus::parse(&o))
                .transpose()
                .map_err(StoreError::corrupt)?;
            if let Some(old) = old.filter(|o| *o != status) {
                let changed = sqlx::query(
                    "UPDATE status_components SET status = $2, updated_at = $3 \
                     WHERE id = $1 AND status <> $2",
                )
                .bind(component.to_string())
                .bind(status.as_str())
                .bind(now.as_millis())
                .execute(&mut *tx)
                .await?;
                if changed.rows_affected() != 1 {
                    // Set to the same state meanwhile: one change is recorded.
                    states.push((component, status));
                    continue;
                }
                record_change(&mut tx, component, status, now).await?;
                tell_component(
                    &mut tx,
                    self.backend,
                    draft.page,
                    component,
                    old,
                    status,
                    now,
                )
                .await?;
            }
            states.push((component, status));
        }
        if let Some(incident) = draft.incident {
            let body = onduty_core::status_page::UpdateBody::parse(&first.body)
                .map_err(StoreError::corrupt)?;
            let update = NewUpdate {
                stage: first.stage,
                body,
                components: states,
            };
            let said = Told {
                page: draft.page,
                status_incident: id,
                name: &draft.name,
                update: &update,
            };
            said.on_timeline(&mut tx, self.backend, incident, by, now)
                .await?;
        }
        tell_update(&mut tx, self.backend, draft.page, id, first.id, now).await?;
        touch_page(&mut tx, draft.page, now).await?;
        tx.commit().await?;
        drop(conn);
        self.status_incident(id).await
    }
}
