//! Public status pages: their components, public incidents and scheduled maintenance,
//! each with its updates. An update sets the states of the components it names, in the
//! same transaction, and every state a component takes is kept (its uptime).

use onduty_core::incident::{Actor, TimelineKind};
use onduty_core::status_page::{
    ComponentStatus, Impact, IncidentStatus, MaintenanceStatus, Slug, Stage, Title, UpdateBody,
};
use onduty_core::{
    ComponentId, IncidentId, MaintenanceId, PostmortemId, StatusIncidentId, StatusPageId,
    StatusUpdateId, Timestamp, UserId,
};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;

use crate::effects::{timeline_row, timeline_writes};
use crate::sql::{col, execute_writes, json_col, opt_id, parse_col, to_json};
pub use crate::status_components::{Component, NewComponent};
use crate::status_components::{Tx, record_change, touch_page};
use crate::status_subscribers::{tell_component, tell_update};
use crate::{Store, StoreError, begin};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusPage {
    pub id: StatusPageId,
    pub slug: String,
    pub name: String,
    /// A host name of its own, served at its root.
    pub host: Option<String>,
    /// IANA name: the page's times are shown on its clock.
    pub time_zone: String,
    /// Drafts made when a linked service's incident opens are published at once.
    pub auto_publish: bool,
    /// How often a public incident left open after its onduty incident is resolved is
    /// reminded of.
    pub remind_every_minutes: u32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct NewStatusPage {
    pub slug: Slug,
    pub name: Title,
    pub host: Option<String>,
    pub time_zone: String,
    pub auto_publish: bool,
    pub remind_every_minutes: u32,
}

/// A component's state as an update set it (Statuspage's `affected_components`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AffectedComponent {
    pub code: String,
    pub name: String,
    pub old_status: String,
    pub new_status: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusUpdate {
    pub id: StatusUpdateId,
    pub stage: Stage,
    pub body: String,
    pub created_at: Timestamp,
    pub affected: Vec<AffectedComponent>,
}

/// What a person posts: where things stand, what is known, and the states it sets.
#[derive(Debug, Clone)]
pub struct NewUpdate {
    pub stage: Stage,
    pub body: UpdateBody,
    pub components: Vec<(ComponentId, ComponentStatus)>,
}

/// A public incident, or a scheduled maintenance (`scheduled` is its span).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusIncident {
    pub id: StatusIncidentId,
    pub page: StatusPageId,
    pub name: String,
    /// As last set by a person (a maintenance also follows the clock: [`Self::stage_at`]).
    pub stage: Stage,
    pub impact: Impact,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub started_at: Timestamp,
    pub monitoring_at: Option<Timestamp>,
    pub resolved_at: Option<Timestamp>,
    pub scheduled: Option<(Timestamp, Timestamp)>,
    /// The maintenance window that quiets paging over the same span.
    pub window: Option<MaintenanceId>,
    /// The onduty incident it tells of.
    pub incident: Option<IncidentId>,
    /// Who published it.
    pub created_by: Option<UserId>,
    /// Kept open on purpose after its onduty incident was resolved: no reminders.
    pub keep_open: bool,
    /// Drafted, not published: shown to nobody outside, its components' states not set.
    pub draft: bool,
    /// The published postmortem shown with it.
    pub postmortem: Option<PostmortemId>,
    pub components: Vec<ComponentId>,
    /// Newest first.
    pub updates: Vec<StatusUpdate>,
}

impl StatusIncident {
    pub fn is_maintenance(&self) -> bool {
        self.scheduled.is_some()
    }

    /// Where it stands at `now`: a maintenance starts and completes by itself.
    pub fn stage_at(&self, now: Timestamp) -> Stage {
        match (self.stage, self.scheduled) {
            (Stage::Maintenance(set), Some((from, until))) => {
                Stage::Maintenance(MaintenanceStatus::at(set, from, until, now))
            }
            (stage, _) => stage,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewStatusIncident {
    pub name: Title,
    pub impact: Impact,
    pub started_at: Timestamp,
    /// A maintenance's span; `None` for an incident.
    pub scheduled: Option<(Timestamp, Timestamp)>,
    pub window: Option<MaintenanceId>,
    /// The onduty incident it tells of (its timeline records what is published).
    pub incident: Option<IncidentId>,
    /// Who publishes it.
    pub by: Actor,
    /// Only drafted: a person publishes it later.
    pub draft: bool,
    pub first: NewUpdate,
}

fn page_from_row(row: &AnyRow) -> Result<StatusPage, StoreError> {
    Ok(StatusPage {
        id: parse_col(row, "id", str::parse)?,
        slug: col(row, "slug")?,
        name: col(row, "name")?,
        host: col(row, "host")?,
        time_zone: col(row, "time_zone")?,
        auto_publish: col::<i64>(row, "auto_publish")? != 0,
        remind_every_minutes: u32::try_from(col::<i64>(row, "remind_every_minutes")?)
            .map_err(StoreError::corrupt)?,
        created_at: Timestamp::from_millis(col(row, "created_at")?),
        updated_at: Timestamp::from_millis(col(row, "updated_at")?),
    })
}

fn stage_col(row: &AnyRow, maintenance: bool) -> Result<Stage, StoreError> {
    parse_col(row, "status", |s| Stage::parse(maintenance, s))
}

pub(crate) fn incident_from_row(row: &AnyRow) -> Result<StatusIncident, StoreError> {
    let opt_time = |name| -> Result<Option<Timestamp>, StoreError> {
        Ok(col::<Option<i64>>(row, name)?.map(Timestamp::from_millis))
    };
    let scheduled = match (opt_time("scheduled_for")?, opt_time("scheduled_until")?) {
        (Some(from), Some(until)) => Some((from, until)),
        _ => None,
    };
    Ok(StatusIncident {
        id: parse_col(row, "id", str::parse)?,
        page: parse_col(row, "page_id", str::parse)?,
        name: col(row, "name")?,
        stage: stage_col(row, scheduled.is_some())?,
        impact: parse_col(row, "impact", Impact::parse)?,
        created_at: Timestamp::from_millis(col(row, "created_at")?),
        updated_at: Timestamp::from_millis(col(row, "updated_at")?),
        started_at: Timestamp::from_millis(col(row, "started_at")?),
        monitoring_at: opt_time("monitoring_at")?,
        resolved_at: opt_time("resolved_at")?,
        scheduled,
        window: opt_id(row, "window_id")?,
        incident: opt_id(row, "incident_id")?,
        created_by: opt_id(row, "created_by")?,
        keep_open: col::<i64>(row, "keep_open")? != 0,
        draft: col::<i64>(row, "draft")? != 0,
        postmortem: opt_id(row, "postmortem_id")?,
        components: Vec::new(),
        updates: Vec::new(),
    })
}

const PAGE_COLUMNS: &str = "SELECT id, slug, name, host, time_zone, auto_publish, \
     remind_every_minutes, created_at, updated_at FROM status_pages";
pub(crate) const INCIDENT_COLUMNS: &str = "SELECT id, page_id, name, status, impact, created_at, \
     updated_at, started_at, monitoring_at, resolved_at, scheduled_for, scheduled_until, window_id, \
     incident_id, created_by, keep_open, draft, postmortem_id FROM status_incidents";

pub(crate) async fn insert_page(
    conn: &mut sqlx::AnyConnection,
    id: StatusPageId,
    page: &NewStatusPage,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO status_pages (id, slug, name, host, time_zone, auto_publish, \
         remind_every_minutes, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $7, $8, $6, $6)",
    )
    .bind(id.to_string())
    .bind(page.slug.as_str().to_owned())
    .bind(page.name.as_str().to_owned())
    .bind(page.host.clone())
    .bind(page.time_zone.clone())
    .bind(now.as_millis())
    .bind(i64::from(page.auto_publish))
    .bind(i64::from(page.remind_every_minutes))
    .execute(&mut *conn)
    .await
    .map_err(|e| taken(e.into(), "that slug or host name"))?;
    Ok(())
}

/// Changes a page's settings (its slug stays: links point at it).
pub(crate) async fn write_page(
    conn: &mut sqlx::AnyConnection,
    id: StatusPageId,
    page: &NewStatusPage,
    now: Timestamp,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE status_pages SET name = $2, host = $3, time_zone = $4, auto_publish = $5, \
         remind_every_minutes = $6, updated_at = $7 WHERE id = $1",
    )
    .bind(id.to_string())
    .bind(page.name.as_str().to_owned())
    .bind(page.host.clone())
    .bind(page.time_zone.clone())
    .bind(i64::from(page.auto_publish))
    .bind(i64::from(page.remind_every_minutes))
    .bind(now.as_millis())
    .execute(&mut *conn)
    .await
    .map_err(|e| taken(e.into(), "that host name"))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("status page {id}")));
    }
    Ok(())
}

fn taken(e: StoreError, what: &str) -> StoreError {
    if e.is_unique_violation() {
        StoreError::Conflict(format!("{what} is taken by another status page"))
    } else {
        e
    }
}

impl Store {
    pub async fn create_status_page(
        &self,
        page: &NewStatusPage,
        now: Timestamp,
    ) -> Result<StatusPage, StoreError> {
        let id = StatusPageId::new(now);
        insert_page(&mut *self.write_conn().await?, id, page, now).await?;
        self.status_page(id).await
    }

    /// Changes a page's settings (its slug stays: links point at it).
    pub async fn update_status_page(
        &self,
        id: StatusPageId,
        page: &NewStatusPage,
        now: Timestamp,
    ) -> Result<StatusPage, StoreError> {
        write_page(&mut *self.write_conn().await?, id, page, now).await?;
        self.status_page(id).await
    }

    pub async fn status_pages(&self) -> Result<Vec<StatusPage>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{PAGE_COLUMNS} ORDER BY slug")))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(page_from_row).collect()
    }

    pub async fn status_page(&self, id: StatusPageId) -> Result<StatusPage, StoreError> {
        self.one_page("id", &id.to_string()).await
    }

    pub async fn status_page_by_slug(&self, slug: &str) -> Result<StatusPage, StoreError> {
        self.one_page("slug", slug).await
    }

    pub async fn status_page_by_host(&self, host: &str) -> Result<StatusPage, StoreError> {
        self.one_page("host", host).await
    }

    async fn one_page(&self, column: &str, value: &str) -> Result<StatusPage, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{PAGE_COLUMNS} WHERE {column} = $1"
        )))
        .bind(value.to_owned())
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("status page '{value}'")))?;
        page_from_row(&row)
    }

    /// Opens a public incident or schedules a maintenance, with its first update.
    pub async fn create_status_incident(
        &self,
        page: StatusPageId,
        new: &NewStatusIncident,
        now: Timestamp,
    ) -> Result<StatusIncident, StoreError> {
        let id = StatusIncidentId::new(now);
        let mut conn = self.write_conn().await?;
        let mut tx = begin(&mut conn, self.backend).await?;
        let (from, until) = new.scheduled.unzip();
        sqlx::query(
            "INSERT INTO status_incidents (id, page_id, kind, name, status, impact, created_at, \
             updated_at, started_at, scheduled_for, scheduled_until, window_id, incident_id, \
             created_by, draft) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(id.to_string())
        .bind(page.to_string())
        .bind(if new.scheduled.is_some() {
            "maintenance"
        } else {
            "incident"
        })
        .bind(new.name.as_str().to_owned())
        .bind(new.first.stage.as_str())
        .bind(new.impact.as_str())
        .bind(now.as_millis())
        .bind(new.started_at.as_millis())
        .bind(from.map(|t| t.as_millis()))
        .bind(until.map(|t| t.as_millis()))
        .bind(new.window.map(|w| w.to_string()))
        .bind(new.incident.map(|i| i.to_string()))
        .bind(match &new.by {
            Actor::User { id, .. } => Some(id.to_string()),
            _ => None,
        })
        .bind(i64::from(new.draft))
        .execute(&mut *tx)
        .await?;
        write_update(&mut tx, self.backend, page, id, &new.first, !new.draft, now).await?;
        if let (Some(incident), false) = (new.incident, new.draft) {
            let said = Told {
                page,
                status_incident: id,
                name: new.name.as_str(),
                update: &new.first,
            };
            said.on_timeline(&mut tx, self.backend, incident, &new.by, now)
                .await?;
        }
        tx.commit().await?;
        drop(conn);
        self.status_incident(id).await
    }

    /// Posts an update: the incident takes its stage, and its components their states.
    pub async fn post_status_update(
        &self,
        id: StatusIncidentId,
        update: &NewUpdate,
        by: &Actor,
        now: Timestamp,
    ) -> Result<StatusIncident, StoreError> {
        let incident = self.status_incident(id).await?;
        if incident.is_maintenance() != matches!(update.stage, Stage::Maintenance(_)) {
            return Err(StoreError::Invalid(format!(
                "'status' {} is not one of a {}",
                update.stage.as_str(),
                if incident.is_maintenance() {
                    "maintenance"
                } else {
                    "public incident"
                }
            )));
        }
        let mut conn = self.write_conn().await?;
        let mut tx = begin(&mut conn, self.backend).await?;
        let at = |reached: bool, before: Option<Timestamp>| {
            before
                .or_else(|| reached.then_some(now))
                .map(|t| t.as_millis())
        };
        let monitoring = matches!(update.stage, Stage::Incident(IncidentStatus::Monitoring));
        sqlx::query(
            "UPDATE status_incidents SET status = $2, updated_at = $3, monitoring_at = $4, \
             resolved_at = $5 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(update.stage.as_str())
        .bind(now.as_millis())
        .bind(at(monitoring, incident.monitoring_at))
        .bind(at(update.stage.is_over(), incident.resolved_at))
        .execute(&mut *tx)
        .await?;
        write_update(
            &mut tx,
            self.backend,
            incident.page,
            id,
            update,
            !incident.draft,
            now,
        )
        .await?;
        if let Some(onduty_incident) = incident.incident {
            let said = Told {
                page: incident.page,
                status_incident: id,
                name: &incident.name,
                update,
            };
            said.on_timeline(&mut tx, self.backend, onduty_incident, by, now)
                .await?;
        }
        tx.commit().await?;
        drop(conn);
        self.status_incident(id).await
    }

    pub async fn status_incident(
        &self,
        id: StatusIncidentId,
    ) -> Result<StatusIncident, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{INCIDENT_COLUMNS} WHERE id = $1"
        )))
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("public incident {id}")))?;
        let mut incident = incident_from_row(&row)?;
        self.fill_incident(&mut incident).await?;
        Ok(incident)
    }

    /// A page's public incidents and maintenance, drafts too, newest first: those
    /// created from `since` on, and any not over yet.
    pub async fn status_incidents(
        &self,
        page: StatusPageId,
        since: Timestamp,
    ) -> Result<Vec<StatusIncident>, StoreError> {
        self.listed(page, since, "").await
    }

    /// The same without drafts: what the public may see.
    pub async fn published_status_incidents(
        &self,
        page: StatusPageId,
        since: Timestamp,
    ) -> Result<Vec<StatusIncident>, StoreError> {
        self.listed(page, since, "AND draft = 0").await
    }

    async fn listed(
        &self,
        page: StatusPageId,
        since: Timestamp,
        only: &'static str,
    ) -> Result<Vec<StatusIncident>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{INCIDENT_COLUMNS} WHERE page_id = $1 AND (created_at >= $2 OR (resolved_at IS NULL \
             AND (scheduled_until IS NULL OR scheduled_until >= $2))) {only} \
             ORDER BY created_at DESC, id DESC"
        )))
        .bind(page.to_string())
        .bind(since.as_millis())
        .fetch_all(&self.read)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut incident = incident_from_row(row)?;
            self.fill_incident(&mut incident).await?;
            out.push(incident);
        }
        Ok(out)
    }

    pub(crate) async fn fill_incident(
        &self,
        incident: &mut StatusIncident,
    ) -> Result<(), StoreError> {
        let id = incident.id.to_string();
        let rows = sqlx::query(
            "SELECT ic.component_id FROM status_incident_components ic \
             JOIN status_components c ON c.id = ic.component_id \
             WHERE ic.status_incident_id = $1 ORDER BY c.position, c.id",
        )
        .bind(id.clone())
        .fetch_all(&self.read)
        .await?;
        incident.components = rows
            .iter()
            .map(|r| parse_col(r, "component_id", str::parse))
            .collect::<Result<_, _>>()?;
        let rows = sqlx::query(
            "SELECT id, status, body, created_at, affected_components FROM status_updates \
             WHERE status_incident_id = $1 ORDER BY n DESC",
        )
        .bind(id)
        .fetch_all(&self.read)
        .await?;
        let maintenance = incident.is_maintenance();
        incident.updates = rows
            .iter()
            .map(|r| {
                Ok(StatusUpdate {
                    id: parse_col(r, "id", str::parse)?,
                    stage: stage_col(r, maintenance)?,
                    body: col(r, "body")?,
                    created_at: Timestamp::from_millis(col(r, "created_at")?),
                    affected: json_col(r, "affected_components")?,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(())
    }
}

/// Writes an update of incident `id` on `page`, setting its components' states when
/// `public` (a draft's states wait for it to be published).
async fn write_update(
    tx: &mut Tx<'_>,
    d: crate::Backend,
    page: StatusPageId,
    id: StatusIncidentId,
    update: &NewUpdate,
    public: bool,
    now: Timestamp,
) -> Result<(), StoreError> {
    // A maintenance still to come names its components; their states are its own
    // business only once it is in progress.
    let sets_states = public && update.stage != Stage::Maintenance(MaintenanceStatus::Scheduled);
    let proposes = !public;
    let mut affected = Vec::with_capacity(update.components.len());
    for (component, status) in &update.components {
        let row = sqlx::query(
            "SELECT name, status FROM status_components WHERE id = $1 AND page_id = $2",
        )
        .bind(component.to_string())
        .bind(page.to_string())
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| {
            StoreError::Invalid(format!("no component {component} on this status page"))
        })?;
        let old: String = col(&row, "status")?;
        // Set only if it is not so already: two people setting the same state at once
        // record one change.
        let changed = sets_states
            && old != status.as_str()
            && sqlx::query(
                "UPDATE status_components SET status = $2, updated_at = $3 \
                 WHERE id = $1 AND status <> $2",
            )
            .bind(component.to_string())
            .bind(status.as_str())
            .bind(now.as_millis())
            .execute(&mut **tx)
            .await?
            .rows_affected()
                == 1;
        if changed {
            record_change(tx, *component, *status, now).await?;
            let old = ComponentStatus::parse(&old).map_err(StoreError::corrupt)?;
            tell_component(tx, d, page, *component, old, *status, now).await?;
        }
        sqlx::query(
            "INSERT INTO status_incident_components (status_incident_id, component_id) \
             VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(id.to_string())
        .bind(component.to_string())
        .execute(&mut **tx)
        .await?;
        if !sets_states && !proposes {
            continue;
        }
        affected.push(AffectedComponent {
            code: component.to_string(),
            name: col(&row, "name")?,
            old_status: old,
            new_status: status.as_str().to_owned(),
        });
    }
    let update_id = StatusUpdateId::new(now);
    sqlx::query(
        "INSERT INTO status_updates (id, status_incident_id, n, status, body, created_at, \
         affected_components) VALUES ($1, $2, \
         (SELECT COUNT(*) + 1 FROM status_updates WHERE status_incident_id = $2), $3, $4, $5, $6)",
    )
    .bind(update_id.to_string())
    .bind(id.to_string())
    .bind(update.stage.as_str())
    .bind(update.body.as_str().to_owned())
    .bind(now.as_millis())
    .bind(to_json(&affected))
    .execute(&mut **tx)
    .await?;
    if public {
        tell_update(tx, d, page, id, update_id, now).await?;
    }
    touch_page(tx, page, now).await
}

/// What was told to the public, as the onduty incident's timeline records it.
pub(crate) struct Told<'a> {
    pub page: StatusPageId,
    pub status_incident: StatusIncidentId,
    pub name: &'a str,
    pub update: &'a NewUpdate,
}

impl Told<'_> {
    pub(crate) async fn on_timeline(
        &self,
        tx: &mut Tx<'_>,
        d: crate::Backend,
        incident: IncidentId,
        by: &Actor,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let page: String = sqlx::query_scalar("SELECT name FROM status_pages WHERE id = $1")
            .bind(self.page.to_string())
            .fetch_one(&mut **tx)
            .await?;
        let message = format!(
            "Status page {page}: \"{}\" {}",
            self.name,
            self.update.stage.label().to_lowercase()
        );
        let data = serde_json::json!({
            "status_page": self.page.to_string(),
            "status_incident": self.status_incident.to_string(),
            "status": self.update.stage.as_str(),
            "text": self.update.body.as_str(),
        });
        let row = timeline_row(
            incident,
            now,
            TimelineKind::Published,
            by,
            message,
            None,
            Some(&data),
        );
        execute_writes(tx, d, timeline_writes(d, vec![row])).await
    }
}
