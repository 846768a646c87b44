//! Reading incidents and their timelines, and adding notes. Every change of an incident's
//! state goes through [`crate::commands`].

use std::collections::HashMap;

use onduty_core::contact::Urgency;
use onduty_core::incident::{Actor, Incident, IncidentStatus, TimelineEntry, TimelineKind};
use onduty_core::{
    EventId, IncidentId, IncidentNumber, IncidentRef, ServiceId, TeamId, Timestamp, UserId,
};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};

use crate::effects::{timeline_row, timeline_writes};
use crate::sql::{Val, bind, col, execute_writes, in_list, json_col, opt_json_col, parse_col};
use crate::{Backend, Store, StoreError, begin};

/// Which incidents to list. Empty `statuses` means every status.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub statuses: Vec<IncidentStatus>,
    pub service: Option<ServiceId>,
    /// Only incidents of this team's services.
    pub team: Option<TeamId>,
    /// Opened at or after.
    pub since: Option<Timestamp>,
    /// Opened before.
    pub until: Option<Timestamp>,
    pub assigned_to: Option<UserId>,
    /// Words to look for: the number, a part of the summary or dedup key, or the
    /// beginning of the sender's name (`source`), letter case aside.
    pub search: Option<String>,
    pub order: IncidentOrder,
}

/// The order of a list. Only the newest first pages on (`before`); the others give their
/// first page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IncidentOrder {
    #[default]
    Newest,
    Oldest,
    /// Critical, error, warning, info; the newest first within each.
    Severity,
    /// Triggered, acknowledged, resolved; the newest first within each.
    Status,
}

impl IncidentOrder {
    fn sql(self) -> &'static str {
        match self {
            IncidentOrder::Newest => "incidents.number DESC",
            IncidentOrder::Oldest => "incidents.number ASC",
            IncidentOrder::Severity => {
                "CASE incidents.severity WHEN 'critical' THEN 0 WHEN 'error' THEN 1 \
                 WHEN 'warning' THEN 2 ELSE 3 END, incidents.number DESC"
            }
            IncidentOrder::Status => {
                "CASE incidents.status WHEN 'triggered' THEN 0 WHEN 'acknowledged' THEN 1 \
                 ELSE 2 END, incidents.number DESC"
            }
        }
    }
}

/// One page of a list, newest first, and the cursor of the next page if there is one.
#[derive(Debug, Clone)]
pub struct IncidentPage {
    pub incidents: Vec<Incident>,
    /// Pass as `before` to get the next (older) page.
    pub next: Option<IncidentNumber>,
}

/// A slice of a timeline, oldest first, and the cursor of the rest.
#[derive(Debug, Clone)]
pub struct TimelinePage {
    pub entries: Vec<TimelineEntry>,
    /// Pass as `after` to get the following entries.
    pub next: Option<i64>,
}

const INCIDENT_COLUMNS: &str = "incidents.id, incidents.number, incidents.service_id, incidents.dedup_key, \
     incidents.status, incidents.summary, incidents.severity, incidents.urgency, incidents.details, incidents.alert_count, \
     incidents.last_event_at, incidents.last_event_summary, incidents.created_at, incidents.updated_at, \
     incidents.acknowledged_at, incidents.acknowledged_by, incidents.resolved_at, incidents.resolved_by, \
     incidents.alerts, incidents.version";

fn incident_from_row(row: &AnyRow) -> Result<Incident, StoreError> {
    let opt_ts = |name: &str| -> Result<Option<Timestamp>, StoreError> {
        Ok(col::<Option<i64>>(row, name)?.map(Timestamp::from_millis))
    };
    Ok(Incident {
        id: parse_col(row, "id", str::parse)?,
        number: IncidentNumber(col(row, "number")?),
        service_id: parse_col(row, "service_id", str::parse)?,
        dedup_key: parse_col(row, "dedup_key", onduty_core::DedupKey::parse)?,
        status: parse_col(row, "status", |t| {
            IncidentStatus::parse(t).ok_or("unknown status")
        })?,
        summary: col(row, "summary")?,
        severity: parse_col(row, "severity", |t| {
            onduty_core::event::Severity::parse(t).ok_or("unknown severity")
        })?,
        urgency: parse_col(row, "urgency", |t| {
            Urgency::parse(t).ok_or("unknown urgency")
        })?,
        details: json_col(row, "details")?,
        alert_count: col(row, "alert_count")?,
        last_event_at: Timestamp::from_millis(col(row, "last_event_at")?),
        last_event_summary: col(row, "last_event_summary")?,
        created_at: Timestamp::from_millis(col(row, "created_at")?),
        updated_at: Timestamp::from_millis(col(row, "updated_at")?),
        acknowledged_at: opt_ts("acknowledged_at")?,
        acknowledged_by: opt_json_col(row, "acknowledged_by")?,
        resolved_at: opt_ts("resolved_at")?,
        resolved_by: opt_json_col(row, "resolved_by")?,
        grouped_alerts: opt_json_col(row, "alerts")?.unwrap_or_default(),
        assignees: Vec::new(),
    })
}

/// `WHERE` clauses with their bind values, numbered as they are added.
#[derive(Default)]
struct Conditions {
    clauses: Vec<String>,
    values: Vec<Val>,
}

impl Conditions {
    /// Adds a clause; each `?` in `clause` becomes the next `$N` and takes one of `values`.
    fn add(&mut self, clause: &str, values: Vec<Val>) {
        let mut sql = String::new();
        let mut values = values.into_iter();
        for part in clause.split('?').enumerate() {
            if part.0 > 0 {
                self.values
                    .push(values.next().expect("one value per placeholder"));
                sql.push_str(&format!("${}", self.values.len()));
            }
            sql.push_str(part.1);
        }
        self.clauses.push(sql);
    }

    fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }
}

/// The `WHERE` clauses of a list's filter.
fn conditions(filter: &IncidentFilter, backend: Backend) -> Conditions {
    let mut c = Conditions::default();
    if !filter.statuses.is_empty() {
        let marks = vec!["?"; filter.statuses.len()].join(",");
        let values = filter
            .statuses
            .iter()
            .map(|s| Val::Text(s.as_str().to_owned()))
            .collect();
        c.add(&format!("incidents.status IN ({marks})"), values);
    }
    if let Some(service) = filter.service {
        c.add(
            "incidents.service_id = ?",
            vec![Val::Text(service.to_string())],
        );
    }
    if let Some(team) = filter.team {
        c.add(
            "incidents.service_id IN (SELECT s.id FROM services s WHERE s.team_id = ?)",
            vec![Val::Text(team.to_string())],
        );
    }
    if let Some(since) = filter.since {
        c.add(
            "incidents.created_at >= ?",
            vec![Val::Int(since.as_millis())],
        );
    }
    if let Some(until) = filter.until {
        c.add(
            "incidents.created_at < ?",
            vec![Val::Int(until.as_millis())],
        );
    }
    if let Some(user) = filter.assigned_to {
        c.add(
            "EXISTS (SELECT 1 FROM incident_assignees a WHERE a.incident_id = incidents.id AND a.user_id = ?)",
            vec![Val::Text(user.to_string())],
        );
    }
    if let Some(words) = filter
        .search
        .as_deref()
        .map(str::trim)
        .filter(|w| !w.is_empty())
    {
        let number = words.trim_start_matches('#').parse::<i64>().unwrap_or(-1);
        let words = escape_like(words);
        // Letter case aside: SQLite's LIKE ignores it (for ASCII), PostgreSQL's ILIKE does.
        let like = match backend {
            Backend::Sqlite => "LIKE",
            Backend::Postgres => "ILIKE",
        };
        c.add(
            &format!(
                "(incidents.number = ? OR incidents.summary {like} ? ESCAPE '\\' \
                 OR incidents.dedup_key {like} ? ESCAPE '\\' \
                 OR incidents.details {like} ? ESCAPE '\\')"
            ),
            vec![
                Val::Int(number),
                Val::Text(format!("%{words}%")),
                Val::Text(format!("%{words}%")),
                // The sender's name, at the start: `"source":"db01…` in the stored event.
                Val::Text(format!("%\"source\":\"{words}%")),
            ],
        );
    }
    c
}

/// `text` matched literally by `LIKE … ESCAPE '\'`.
fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl Store {
    /// The incident with this number or id.
    pub async fn incident(&self, r: IncidentRef) -> Result<Incident, StoreError> {
        let mut conn = self.read.acquire().await?;
        let (incident, _) = load_incident(&mut conn, r).await?;
        let mut list = vec![incident];
        attach_assignees(&mut conn, self.backend, &mut list).await?;
        Ok(list.pop().expect("one incident"))
    }

    /// Incidents matching `filter` in its order, `limit` at a time (newest first: from
    /// `before` on; other orders: their first `limit`).
    pub async fn list_incidents(
        &self,
        filter: &IncidentFilter,
        before: Option<IncidentNumber>,
        limit: u32,
    ) -> Result<IncidentPage, StoreError> {
        let mut c = conditions(filter, self.backend);
        let paged = filter.order == IncidentOrder::Newest;
        if let Some(before) = before.filter(|_| paged) {
            c.add("incidents.number < ?", vec![Val::Int(before.0)]);
        }
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents {} ORDER BY {} LIMIT {}",
            c.sql(),
            filter.order.sql(),
            u64::from(limit) + 1
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for v in c.values {
            q = bind(q, v);
        }
        let mut conn = self.read.acquire().await?;
        let rows = q.fetch_all(&mut *conn).await?;
        let mut incidents = rows
            .iter()
            .take(limit as usize)
            .map(incident_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        let next = if paged && rows.len() > limit as usize {
            incidents.last().map(|i| i.number)
        } else {
            None
        };
        attach_assignees(&mut conn, self.backend, &mut incidents).await?;
        Ok(IncidentPage { incidents, next })
    }

    /// Something that changes whenever an incident is opened or changes (the newest
    /// number and the latest change, both from an index): the live pages of the web UI
    /// compare it to know when to refresh.
    pub async fn incidents_version(&self) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query(
            // One MAX per subquery: SQLite reads a lone MAX from the index's end, but
            // scans the table for two in one SELECT.
            "SELECT COALESCE((SELECT MAX(number) FROM incidents), 0) AS n, \
             COALESCE((SELECT MAX(updated_at) FROM incidents), 0) AS last",
        )
        .fetch_one(&self.read)
        .await?;
        Ok((col(&row, "n")?, col(&row, "last")?))
    }

    /// Counts the incidents matching `filter` by status (for summaries and the UI).
    pub async fn count_incidents_by_status(
        &self,
        filter: &IncidentFilter,
    ) -> Result<HashMap<IncidentStatus, i64>, StoreError> {
        let c = conditions(filter, self.backend);
        let sql = format!(
            "SELECT status, COUNT(*) AS n FROM incidents {} GROUP BY status",
            c.sql()
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for v in c.values {
            q = bind(q, v);
        }
        let rows = q.fetch_all(&self.read).await?;
        let mut out = HashMap::new();
        for row in &rows {
            let status = parse_col(row, "status", |t| {
                IncidentStatus::parse(t).ok_or("unknown status")
            })?;
            out.insert(status, col(row, "n")?);
        }
        Ok(out)
    }

    /// Timeline entries of an incident after the `after` cursor, oldest first.
    pub async fn timeline(
        &self,
        incident: IncidentId,
        after: Option<i64>,
        limit: u32,
    ) -> Result<TimelinePage, StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{TIMELINE_COLUMNS} WHERE timeline.incident_id = $1 AND timeline.seq > $2 \
             ORDER BY timeline.seq LIMIT $3"
        )))
        .bind(incident.to_string())
        .bind(after.unwrap_or(0))
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.read)
        .await?;
        let mut entries = Vec::with_capacity(rows.len().min(limit as usize));
        let mut last_seq = None;
        for row in rows.iter().take(limit as usize) {
            entries.push(entry_from_row(row)?);
            last_seq = Some(col::<i64>(row, "seq")?);
        }
        let next = if rows.len() > limit as usize {
            last_seq
        } else {
            None
        };
        Ok(TimelinePage { entries, next })
    }

    /// The newest `limit` entries of an incident's timeline, oldest first, and whether
    /// there are earlier ones.
    pub async fn timeline_tail(
        &self,
        incident: IncidentId,
        limit: u32,
    ) -> Result<(Vec<TimelineEntry>, bool), StoreError> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "{TIMELINE_COLUMNS} WHERE timeline.incident_id = $1 ORDER BY timeline.seq DESC LIMIT $2"
        )))
        .bind(incident.to_string())
        .bind(i64::from(limit) + 1)
        .fetch_all(&self.read)
        .await?;
        let earlier = rows.len() > limit as usize;
        let mut entries = rows
            .iter()
            .take(limit as usize)
            .map(entry_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        entries.reverse();
        Ok((entries, earlier))
    }

    /// The newest incident of `service` with `dedup_key`, open or not (what an Opsgenie
    /// alias names).
    pub async fn newest_incident_with_key(
        &self,
        service: ServiceId,
        dedup_key: &str,
    ) -> Result<Option<IncidentId>, StoreError> {
        // Two index reads: the open one, else the newest resolved one.
        for sql in [
            "SELECT id FROM incidents WHERE status <> 'resolved' AND dedup_key = $1 AND service_id = $2 \
             ORDER BY number DESC LIMIT 1",
            "SELECT id FROM incidents WHERE status = 'resolved' AND dedup_key = $1 AND service_id = $2 \
             ORDER BY resolved_at DESC LIMIT 1",
        ] {
            let row = sqlx::query(sql)
                .bind(dedup_key.to_owned())
                .bind(service.to_string())
                .fetch_optional(&self.read)
                .await?;
            if let Some(row) = row {
                return Ok(Some(parse_col(&row, "id", str::parse)?));
            }
        }
        Ok(None)
    }

    /// The timeline's word that no level of the incident's policy reached anyone, if it
    /// said so (the engine marks that line `nobody_paged`).
    pub async fn nobody_paged(&self, id: IncidentId) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(
            "SELECT message FROM timeline WHERE incident_id = $1 AND kind = 'escalated' \
             AND data LIKE '%\"nobody_paged\":true%' ORDER BY seq DESC LIMIT 1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(|r| col(r, "message")).transpose()
    }

    /// Adds a note to an incident's timeline (open or resolved). A note that came as a
    /// request with an id of its own (Opsgenie's API) keeps the request with it, so that
    /// its status can be looked up ([`Store::request`]).
    pub async fn add_note(
        &self,
        r: IncidentRef,
        text: &str,
        actor: &Actor,
        request: Option<(EventId, &serde_json::Value)>,
        now: Timestamp,
    ) -> Result<TimelineEntry, StoreError> {
        let mut conn = self.write_conn().await?;
        let mut tx = begin(&mut conn, self.backend).await?;
        let conn: &mut AnyConnection = &mut tx;
        let (incident, _) = load_incident(conn, r).await?;
        let data = serde_json::json!({ "text": text });
        let body_json = request
            .map(|(_, body)| body.to_string())
            .unwrap_or_default();
        let row = timeline_row(
            incident.id,
            now,
            TimelineKind::Note,
            actor,
            format!("Note from {}", actor.name()),
            request.as_ref().map(|(id, _)| (*id, body_json.as_str())),
            Some(&data),
        );
        let id = match &row[0] {
            Val::Text(id) => id.parse().map_err(StoreError::corrupt)?,
            _ => unreachable!("the first timeline column is its id"),
        };
        execute_writes(conn, self.backend, timeline_writes(self.backend, vec![row])).await?;
        tx.commit().await?;
        Ok(TimelineEntry {
            id,
            incident_id: incident.id,
            at: now,
            kind: TimelineKind::Note,
            actor: actor.clone(),
            message: format!("Note from {}", actor.name()),
            event_id: request.map(|(id, _)| id),
            event: request.map(|(_, body)| body.clone()),
            data: Some(data),
        })
    }
}

/// The incident and its version, by number or id.
pub(crate) async fn load_incident(
    conn: &mut AnyConnection,
    r: IncidentRef,
) -> Result<(Incident, i64), StoreError> {
    let row = crate::rows::incident_row(conn, INCIDENT_COLUMNS, r).await?;
    Ok((incident_from_row(&row)?, col(&row, "version")?))
}

/// Incidents whose assignees one query reads.
const ASSIGNEES_PER_QUERY: usize = 500;

async fn attach_assignees(
    conn: &mut AnyConnection,
    d: Backend,
    incidents: &mut [Incident],
) -> Result<(), StoreError> {
    let mut by_incident: HashMap<IncidentId, Vec<UserId>> = HashMap::new();
    // A few hundred at a time: however many incidents are listed, no statement comes
    // near SQLite's limit of 32,766 parameters.
    for chunk in incidents.chunks(ASSIGNEES_PER_QUERY) {
        let sql = format!(
            "SELECT incident_id, user_id FROM incident_assignees WHERE incident_id IN {} ORDER BY assigned_at, user_id",
            in_list(d, chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).persistent(false);
        for i in chunk {
            q = q.bind(i.id.to_string());
        }
        for row in &q.fetch_all(&mut *conn).await? {
            by_incident
                .entry(parse_col(row, "incident_id", str::parse)?)
                .or_default()
                .push(parse_col(row, "user_id", str::parse)?);
        }
    }
    for i in incidents.iter_mut() {
        i.assignees = by_incident.remove(&i.id).unwrap_or_default();
    }
    Ok(())
}

const TIMELINE_COLUMNS: &str = "SELECT timeline.seq, timeline.id, timeline.incident_id, timeline.at, \
     timeline.kind, timeline.actor, timeline.message, timeline.data, timeline.event_id, \
     timeline.event AS event_body FROM timeline";

fn entry_from_row(row: &AnyRow) -> Result<TimelineEntry, StoreError> {
    let event_id: Option<String> = col(row, "event_id")?;
    Ok(TimelineEntry {
        id: parse_col(row, "id", str::parse)?,
        incident_id: parse_col(row, "incident_id", str::parse)?,
        at: Timestamp::from_millis(col(row, "at")?),
        kind: parse_col(row, "kind", |t| {
            TimelineKind::parse(t).ok_or("unknown timeline kind")
        })?,
        actor: json_col(row, "actor")?,
        message: col(row, "message")?,
        event_id: event_id
            .map(|t| t.parse())
            .transpose()
            .map_err(StoreError::corrupt)?,
        event: opt_json_col(row, "event_body")?,
        data: opt_json_col(row, "data")?,
    })
}
