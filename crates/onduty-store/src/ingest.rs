//! Applying a batch of received events in one transaction: the group-commit writer's work.
//!
//! A batch is applied in four steps: look up the integrations of its routing keys, load
//! the open incidents carrying its dedup keys, run the core's dedup rule over every event
//! in order against that working set, then write everything with a handful of multi-row
//! statements. The cost per batch is nearly constant, so one commit serves many events.
//!
//! Several onduty instances may share one PostgreSQL: every incident row carries a
//! `version` that each write checks, and a unique index keeps one key holder per
//! service and dedup key. A batch that loses a race is rolled back and applied again.

use std::collections::HashMap;

use onduty_core::event::{AlertEvent, ChangeEvent};
use onduty_core::incident::{
    Action, Actor, Decision, DedupMode, IncidentStatus, OpenIncident, TimelineKind, decide,
    transition,
};
use onduty_core::{
    DedupKey, EventId, IncidentId, IncidentNumber, IntegrationId, RoutingKey, ServiceId,
    TimelineId, Timestamp,
};
use serde_json::json;
use sqlx::AnyConnection;
use sqlx::{AssertSqlSafe, Row};

use crate::sql::{Val, bind, col, in_list, insert_rows, parse_col, to_json, values_list};
use crate::{Store, StoreError};

/// One event as accepted at the edge, waiting to be applied.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: EventId,
    pub received_at: Timestamp,
    pub event: Inbound,
    /// What the parser adjusted to accept the event (kept on the timeline).
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum Inbound {
    /// An alert event. For a trigger the edge has already filled in a generated dedup key
    /// if the sender gave none.
    Alert(AlertEvent),
    Change(ChangeEvent),
}

impl Inbound {
    fn routing_key(&self) -> Option<&RoutingKey> {
        match self {
            Inbound::Alert(e) => e.routing_key.as_ref(),
            Inbound::Change(e) => e.routing_key.as_ref(),
        }
    }
}

/// An incident an event touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Touched {
    pub id: IncidentId,
    pub number: IncidentNumber,
}

/// What an accepted event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Opened(Touched),
    Appended(Touched),
    Acknowledged(Touched),
    AlreadyAcknowledged(Touched),
    Resolved(Vec<Touched>),
    /// Acknowledge or resolve with no open incident for the key: dropped, as PagerDuty does.
    Ignored,
    ChangeRecorded,
}

impl Outcome {
    fn as_str(&self) -> &'static str {
        match self {
            Outcome::Opened(_) => "opened",
            Outcome::Appended(_) => "appended",
            Outcome::Acknowledged(_) => "acknowledged",
            Outcome::AlreadyAcknowledged(_) => "already_acknowledged",
            Outcome::Resolved(_) => "resolved",
            Outcome::Ignored => "ignored",
            Outcome::ChangeRecorded => "recorded",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub event_id: EventId,
    pub dedup_key: Option<DedupKey>,
    pub outcome: Outcome,
}

/// Why an event was not applied (nothing was stored for it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("no integration has this routing key")]
    UnknownRoutingKey,
}

pub type ItemResult = Result<Accepted, Rejected>;

/// How many times a batch that lost a race with another writer is applied again.
const MAX_ATTEMPTS: usize = 8;

impl Store {
    /// Applies `items` in order, in one transaction; one result per item. Nothing is
    /// visible (or acknowledged to a sender) before the commit.
    pub async fn ingest_batch(&self, items: &[Received]) -> Result<Vec<ItemResult>, StoreError> {
        let mut last = StoreError::Contention;
        for _ in 0..MAX_ATTEMPTS {
            match self.try_ingest_batch(items).await {
                Err(e) if e.is_retryable() => {
                    tracing::debug!(error = %e, "ingest batch lost a race; applying it again");
                    last = e;
                }
                other => return other,
            }
        }
        tracing::warn!(error = %last, "ingest batch kept losing races");
        Err(StoreError::Contention)
    }

    async fn try_ingest_batch(&self, items: &[Received]) -> Result<Vec<ItemResult>, StoreError> {
        let mut tx = self.begin_write().await?;
        let conn: &mut AnyConnection = &mut tx;
        let integrations = load_integrations(conn, items).await?;
        let mut work = WorkingSet::load(conn, items, &integrations).await?;

        let mut plans = Vec::with_capacity(items.len());
        for item in items {
            let Some(integ) = item
                .event
                .routing_key()
                .and_then(|k| integrations.get(k.as_str()))
            else {
                plans.push(None);
                continue;
            };
            plans.push(Some(work.apply(item, integ)));
        }

        work.assign_numbers(conn).await?;
        work.write_incidents(conn).await?;

        let mut event_rows = Vec::with_capacity(items.len());
        let mut results = Vec::with_capacity(items.len());
        for (item, plan) in items.iter().zip(plans) {
            let Some(plan) = plan else {
                results.push(Err(Rejected::UnknownRoutingKey));
                continue;
            };
            let outcome = work.outcome(&plan);
            let integ = &integrations[item
                .event
                .routing_key()
                .map(RoutingKey::as_str)
                .unwrap_or_default()];
            let (kind, dedup_key, body) = match &item.event {
                Inbound::Alert(e) => (e.action.as_str(), e.dedup_key.clone(), to_json(e)),
                Inbound::Change(e) => ("change", None, to_json(e)),
            };
            let first_incident = plan
                .touched
                .first()
                .map(|&w| work.incidents[w].id.to_string());
            event_rows.push(vec![
                Val::Text(item.id.to_string()),
                Val::Text(integ.id.to_string()),
                Val::Text(integ.service_id.to_string()),
                Val::Int(item.received_at.as_millis()),
                Val::Text(kind.to_owned()),
                Val::OptText(dedup_key.as_ref().map(|k| k.as_str().to_owned())),
                Val::OptText(first_incident),
                Val::Text(outcome.as_str().to_owned()),
                Val::Text(body),
            ]);
            results.push(Ok(Accepted {
                event_id: item.id,
                dedup_key,
                outcome,
            }));
        }
        let inserted = insert_rows(
            conn,
            "INSERT INTO events (id, integration_id, service_id, received_at, kind, dedup_key, incident_id, outcome, body)",
            "RETURNING id, seq",
            9,
            event_rows,
        )
        .await?;
        let mut event_seqs = HashMap::with_capacity(inserted.len());
        for row in &inserted {
            event_seqs.insert(
                parse_col::<EventId, _>(row, "id", str::parse)?,
                col::<i64>(row, "seq")?,
            );
        }
        work.write_timeline(conn, &event_seqs).await?;
        tx.commit().await?;
        Ok(results)
    }
}

/// What the batch needs to know about an integration.
#[derive(Debug, Clone)]
struct Integ {
    id: IntegrationId,
    name: String,
    service_id: ServiceId,
    dedup_mode: DedupMode,
}

impl Integ {
    fn actor(&self) -> Actor {
        Actor::Integration {
            id: self.id,
            name: self.name.clone(),
        }
    }
}

async fn load_integrations(
    conn: &mut AnyConnection,
    items: &[Received],
) -> Result<HashMap<String, Integ>, StoreError> {
    let mut keys: Vec<&str> = items
        .iter()
        .filter_map(|i| i.event.routing_key())
        .map(RoutingKey::as_str)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    let mut out = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(1000) {
        let sql = format!(
            "SELECT integrations.id, integrations.name, integrations.routing_key, integrations.service_id, \
             services.dedup_mode FROM integrations JOIN services ON services.id = integrations.service_id \
             WHERE integrations.routing_key IN {}",
            in_list(1, chunk.len())
        );
        let mut q = sqlx::query(AssertSqlSafe(sql)).persistent(false);
        for k in chunk {
            q = q.bind((*k).to_owned());
        }
        for row in q.fetch_all(&mut *conn).await? {
            let key: String = col(&row, "routing_key")?;
            out.insert(
                key,
                Integ {
                    id: parse_col(&row, "id", str::parse)?,
                    name: col(&row, "name")?,
                    service_id: parse_col(&row, "service_id", str::parse)?,
                    dedup_mode: parse_col(&row, "dedup_mode", |t| {
                        DedupMode::parse(t).ok_or("unknown dedup mode")
                    })?,
                },
            );
        }
    }
    Ok(out)
}

/// An incident as the batch sees it: loaded (open) or newly opened by this batch.
#[derive(Debug, Clone)]
struct Work {
    id: IncidentId,
    /// Known for loaded incidents; assigned after the batch for new ones.
    number: Option<IncidentNumber>,
    /// Loaded version; `None` for an incident this batch opens.
    version: Option<i64>,
    dirty: bool,
    service_id: ServiceId,
    dedup_key: String,
    holds_key: bool,
    status: IncidentStatus,
    alert_count: i64,
    last_event_at: i64,
    last_event_summary: String,
    updated_at: i64,
    acknowledged_at: Option<i64>,
    acknowledged_by: Option<String>,
    resolved_at: Option<i64>,
    resolved_by: Option<String>,
    /// Only for new incidents: the opening trigger.
    opening: Option<Opening>,
}

#[derive(Debug, Clone)]
struct Opening {
    summary: String,
    severity: &'static str,
    details: String,
    created_at: i64,
}

/// A timeline line waiting for incident numbers to be known.
struct Entry {
    work: usize,
    at: Timestamp,
    kind: TimelineKind,
    actor: Actor,
    message: Message,
    event_id: Option<EventId>,
    data: Option<serde_json::Value>,
}

enum Message {
    Text(String),
    /// "A new trigger opened incident #N …", once N is known.
    SupersededBy(usize),
}

/// What one event did, in terms of the working set.
struct Plan {
    decision: Option<Decision>,
    touched: Vec<usize>,
}

#[derive(Default)]
struct WorkingSet {
    incidents: Vec<Work>,
    by_key: HashMap<(ServiceId, String), Vec<usize>>,
    timeline: Vec<Entry>,
}

impl WorkingSet {
    /// Loads the open incidents carrying any dedup key of the batch's alert events.
    async fn load(
        conn: &mut AnyConnection,
        items: &[Received],
        integrations: &HashMap<String, Integ>,
    ) -> Result<WorkingSet, StoreError> {
        let mut keys: Vec<&str> = items
            .iter()
            .filter(|i| {
                i.event
                    .routing_key()
                    .is_some_and(|k| integrations.contains_key(k.as_str()))
            })
            .filter_map(|i| match &i.event {
                Inbound::Alert(e) => e.dedup_key.as_ref().map(DedupKey::as_str),
                Inbound::Change(_) => None,
            })
            .collect();
        keys.sort_unstable();
        keys.dedup();
        let services: std::collections::HashSet<ServiceId> =
            integrations.values().map(|i| i.service_id).collect();
        let mut set = WorkingSet::default();
        for chunk in keys.chunks(1000) {
            let sql = format!(
                "SELECT id, number, service_id, dedup_key, open_key, status, alert_count, last_event_at, \
                 last_event_summary, updated_at, acknowledged_at, acknowledged_by, resolved_at, resolved_by, version \
                 FROM incidents WHERE status <> 'resolved' AND dedup_key IN {}",
                in_list(1, chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql)).persistent(false);
            for k in chunk {
                q = q.bind((*k).to_owned());
            }
            for row in q.fetch_all(&mut *conn).await? {
                let service_id: ServiceId = parse_col(&row, "service_id", str::parse)?;
                if !services.contains(&service_id) {
                    continue;
                }
                let open_key: Option<String> = col(&row, "open_key")?;
                set.push(Work {
                    id: parse_col(&row, "id", str::parse)?,
                    number: Some(IncidentNumber(col(&row, "number")?)),
                    version: Some(col(&row, "version")?),
                    dirty: false,
                    service_id,
                    dedup_key: col(&row, "dedup_key")?,
                    holds_key: open_key.is_some(),
                    status: parse_col(&row, "status", |t| {
                        IncidentStatus::parse(t).ok_or("unknown status")
                    })?,
                    alert_count: col(&row, "alert_count")?,
                    last_event_at: col(&row, "last_event_at")?,
                    last_event_summary: col(&row, "last_event_summary")?,
                    updated_at: col(&row, "updated_at")?,
                    acknowledged_at: col(&row, "acknowledged_at")?,
                    acknowledged_by: col(&row, "acknowledged_by")?,
                    resolved_at: col(&row, "resolved_at")?,
                    resolved_by: col(&row, "resolved_by")?,
                    opening: None,
                });
            }
        }
        // Oldest first, so a superseded incident precedes the one that took its key.
        for list in set.by_key.values_mut() {
            list.sort_by_key(|&w| set.incidents[w].id);
        }
        Ok(set)
    }

    fn push(&mut self, w: Work) -> usize {
        let idx = self.incidents.len();
        self.by_key
            .entry((w.service_id, w.dedup_key.clone()))
            .or_default()
            .push(idx);
        self.incidents.push(w);
        idx
    }

    fn note(
        &mut self,
        work: usize,
        item: &Received,
        kind: TimelineKind,
        actor: Actor,
        message: Message,
    ) {
        let data = (!item.warnings.is_empty()).then(|| json!({ "warnings": item.warnings }));
        self.timeline.push(Entry {
            work,
            at: item.received_at,
            kind,
            actor,
            message,
            event_id: Some(item.id),
            data,
        });
    }

    /// Runs the dedup rule for one event against the working set and applies the result.
    fn apply(&mut self, item: &Received, integ: &Integ) -> Plan {
        let Inbound::Alert(event) = &item.event else {
            return Plan {
                decision: None,
                touched: Vec::new(),
            };
        };
        let key = event
            .dedup_key
            .as_ref()
            .map(|k| k.as_str().to_owned())
            .unwrap_or_default();
        let candidates: Vec<usize> = self
            .by_key
            .get(&(integ.service_id, key.clone()))
            .map(|list| {
                list.iter()
                    .copied()
                    .filter(|&w| self.incidents[w].status.is_open())
                    .collect()
            })
            .unwrap_or_default();
        let open: Vec<OpenIncident> = candidates
            .iter()
            .map(|&w| OpenIncident {
                id: self.incidents[w].id,
                status: self.incidents[w].status,
                holds_key: self.incidents[w].holds_key,
            })
            .collect();
        let decision = decide(integ.dedup_mode, event.action, &open);
        let at = item.received_at.as_millis();
        let find = |id: IncidentId| {
            candidates
                .iter()
                .zip(&open)
                .find(|(_, o)| o.id == id)
                .map(|(&w, _)| w)
        };
        let touched = match &decision {
            Decision::Open { supersedes } => {
                let alert = event.alert.as_ref().expect("a trigger carries an alert");
                let new = self.push(Work {
                    id: IncidentId::new(item.received_at),
                    number: None,
                    version: None,
                    dirty: true,
                    service_id: integ.service_id,
                    dedup_key: key,
                    holds_key: true,
                    status: IncidentStatus::Triggered,
                    alert_count: 1,
                    last_event_at: at,
                    last_event_summary: alert.summary.clone(),
                    updated_at: at,
                    acknowledged_at: None,
                    acknowledged_by: None,
                    resolved_at: None,
                    resolved_by: None,
                    opening: Some(Opening {
                        summary: alert.summary.clone(),
                        severity: alert.severity.as_str(),
                        details: to_json(event),
                        created_at: at,
                    }),
                });
                if let Some(old) = supersedes.and_then(find) {
                    let w = &mut self.incidents[old];
                    w.holds_key = false;
                    w.dirty = true;
                    w.updated_at = at;
                    self.note(
                        old,
                        item,
                        TimelineKind::Superseded,
                        integ.actor(),
                        Message::SupersededBy(new),
                    );
                }
                let message = format!("Triggered by an event from {}", integ.name);
                self.note(
                    new,
                    item,
                    TimelineKind::Triggered,
                    integ.actor(),
                    Message::Text(message),
                );
                vec![new]
            }
            Decision::Append(id) => {
                let w = find(*id).expect("decided on a candidate");
                let summary = event
                    .alert
                    .as_ref()
                    .map(|a| a.summary.clone())
                    .unwrap_or_default();
                let inc = &mut self.incidents[w];
                inc.alert_count += 1;
                inc.last_event_at = at;
                inc.last_event_summary = summary;
                inc.updated_at = at;
                inc.dirty = true;
                let message = format!(
                    "Trigger event from {} (alert {})",
                    integ.name, inc.alert_count
                );
                self.note(
                    w,
                    item,
                    TimelineKind::Alert,
                    integ.actor(),
                    Message::Text(message),
                );
                vec![w]
            }
            Decision::Acknowledge(id) => {
                let w = find(*id).expect("decided on a candidate");
                let inc = &mut self.incidents[w];
                if let Ok(Some(next)) = transition(inc.status, Action::Acknowledge) {
                    inc.status = next;
                }
                inc.acknowledged_at = Some(at);
                inc.acknowledged_by = Some(to_json(&integ.actor()));
                inc.updated_at = at;
                inc.dirty = true;
                let message = format!("Acknowledged by {} (acknowledge event)", integ.name);
                self.note(
                    w,
                    item,
                    TimelineKind::Acknowledged,
                    integ.actor(),
                    Message::Text(message),
                );
                vec![w]
            }
            Decision::AlreadyAcknowledged(id) => {
                let w = find(*id).expect("decided on a candidate");
                let message = format!(
                    "Acknowledge event from {}; already acknowledged",
                    integ.name
                );
                self.note(
                    w,
                    item,
                    TimelineKind::Event,
                    integ.actor(),
                    Message::Text(message),
                );
                vec![w]
            }
            Decision::Resolve(ids) => {
                let mut touched = Vec::with_capacity(ids.len());
                for id in ids {
                    let w = find(*id).expect("decided on a candidate");
                    let inc = &mut self.incidents[w];
                    if let Ok(Some(next)) = transition(inc.status, Action::Resolve) {
                        inc.status = next;
                    }
                    inc.holds_key = false;
                    inc.resolved_at = Some(at);
                    inc.resolved_by = Some(to_json(&integ.actor()));
                    inc.updated_at = at;
                    inc.dirty = true;
                    let message = format!("Resolved by {} (resolve event)", integ.name);
                    self.note(
                        w,
                        item,
                        TimelineKind::Resolved,
                        integ.actor(),
                        Message::Text(message),
                    );
                    touched.push(w);
                }
                touched
            }
            Decision::Ignore => Vec::new(),
        };
        Plan {
            decision: Some(decision),
            touched,
        }
    }

    fn touched(&self, w: usize) -> Touched {
        let inc = &self.incidents[w];
        Touched {
            id: inc.id,
            number: inc
                .number
                .expect("numbers are assigned before outcomes are read"),
        }
    }

    fn outcome(&self, plan: &Plan) -> Outcome {
        let first = || self.touched(plan.touched[0]);
        match &plan.decision {
            None => Outcome::ChangeRecorded,
            Some(Decision::Open { .. }) => Outcome::Opened(first()),
            Some(Decision::Append(_)) => Outcome::Appended(first()),
            Some(Decision::Acknowledge(_)) => Outcome::Acknowledged(first()),
            Some(Decision::AlreadyAcknowledged(_)) => Outcome::AlreadyAcknowledged(first()),
            Some(Decision::Resolve(_)) => {
                Outcome::Resolved(plan.touched.iter().map(|&w| self.touched(w)).collect())
            }
            Some(Decision::Ignore) => Outcome::Ignored,
        }
    }

    /// Reserves one incident number per new incident, in the order they were opened.
    async fn assign_numbers(&mut self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        let new: Vec<usize> = (0..self.incidents.len())
            .filter(|&w| self.incidents[w].number.is_none())
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        let first = reserve_incident_numbers(conn, new.len() as i64).await?;
        for (i, w) in new.into_iter().enumerate() {
            self.incidents[w].number = Some(IncidentNumber(first + i as i64));
        }
        Ok(())
    }

    /// Updates changed incidents (checking versions), then inserts new ones. Updates come
    /// first so that a key given up by a superseded incident is free for its successor.
    async fn write_incidents(&self, conn: &mut AnyConnection) -> Result<(), StoreError> {
        let updates: Vec<&Work> = self
            .incidents
            .iter()
            .filter(|w| w.dirty && w.version.is_some())
            .collect();
        for chunk in updates.chunks(1000) {
            let sql = format!(
                "UPDATE incidents SET status = v.column3, open_key = v.column4, alert_count = v.column5, \
                 last_event_at = v.column6, last_event_summary = v.column7, updated_at = v.column8, \
                 acknowledged_at = v.column9, acknowledged_by = v.column10, resolved_at = v.column11, \
                 resolved_by = v.column12, version = incidents.version + 1 \
                 FROM (VALUES {}) AS v WHERE incidents.id = v.column1 AND incidents.version = v.column2 \
                 RETURNING incidents.id",
                values_list(chunk.len(), 12)
            );
            let mut q = sqlx::query(AssertSqlSafe(sql)).persistent(false);
            for w in chunk {
                for v in [
                    Val::Text(w.id.to_string()),
                    Val::Int(w.version.unwrap_or_default()),
                    Val::Text(w.status.as_str().to_owned()),
                    Val::OptText(w.holds_key.then(|| w.dedup_key.clone())),
                    Val::Int(w.alert_count),
                    Val::Int(w.last_event_at),
                    Val::Text(w.last_event_summary.clone()),
                    Val::Int(w.updated_at),
                    Val::OptInt(w.acknowledged_at),
                    Val::OptText(w.acknowledged_by.clone()),
                    Val::OptInt(w.resolved_at),
                    Val::OptText(w.resolved_by.clone()),
                ] {
                    q = bind(q, v);
                }
            }
            let updated = q.fetch_all(&mut *conn).await?;
            if updated.len() != chunk.len() {
                return Err(StoreError::VersionConflict);
            }
        }
        let inserts: Vec<Vec<Val>> = self
            .incidents
            .iter()
            .filter_map(|w| {
                let o = w.opening.as_ref()?;
                Some(vec![
                    Val::Text(w.id.to_string()),
                    Val::Int(w.number.map(|n| n.0).unwrap_or_default()),
                    Val::Text(w.service_id.to_string()),
                    Val::Text(w.dedup_key.clone()),
                    Val::OptText(w.holds_key.then(|| w.dedup_key.clone())),
                    Val::Text(w.status.as_str().to_owned()),
                    Val::Text(o.summary.clone()),
                    Val::Text(o.severity.to_owned()),
                    Val::Text(o.details.clone()),
                    Val::Int(w.alert_count),
                    Val::Int(w.last_event_at),
                    Val::Text(w.last_event_summary.clone()),
                    Val::Int(o.created_at),
                    Val::Int(w.updated_at),
                    Val::OptInt(w.acknowledged_at),
                    Val::OptText(w.acknowledged_by.clone()),
                    Val::OptInt(w.resolved_at),
                    Val::OptText(w.resolved_by.clone()),
                    Val::Int(1),
                ])
            })
            .collect();
        insert_rows(
            conn,
            "INSERT INTO incidents (id, number, service_id, dedup_key, open_key, status, summary, severity, details, \
             alert_count, last_event_at, last_event_summary, created_at, updated_at, acknowledged_at, \
             acknowledged_by, resolved_at, resolved_by, version)",
            "",
            19,
            inserts,
        )
        .await?;
        Ok(())
    }

    async fn write_timeline(
        &self,
        conn: &mut AnyConnection,
        event_seqs: &HashMap<EventId, i64>,
    ) -> Result<(), StoreError> {
        let rows = self
            .timeline
            .iter()
            .map(|e| {
                let message = match &e.message {
                    Message::Text(t) => t.clone(),
                    Message::SupersededBy(w) => format!(
                        "A new trigger arrived while acknowledged and opened incident #{}; \
                         further events with this dedup key go there",
                        self.incidents[*w].number.map(|n| n.0).unwrap_or_default()
                    ),
                };
                let event_seq = e.event_id.and_then(|id| event_seqs.get(&id).copied());
                timeline_row(
                    self.incidents[e.work].id,
                    e.at,
                    e.kind,
                    &e.actor,
                    message,
                    event_seq,
                    e.data.as_ref(),
                )
            })
            .collect();
        insert_timeline(conn, rows).await
    }
}

/// The values of one `timeline` row, in [`insert_timeline`]'s column order.
pub(crate) fn timeline_row(
    incident: IncidentId,
    at: Timestamp,
    kind: TimelineKind,
    actor: &Actor,
    message: String,
    event_seq: Option<i64>,
    data: Option<&serde_json::Value>,
) -> Vec<Val> {
    vec![
        Val::Text(TimelineId::new(at).to_string()),
        Val::Text(incident.to_string()),
        Val::Int(at.as_millis()),
        Val::Text(kind.as_str().to_owned()),
        Val::Text(to_json(actor)),
        Val::Text(message),
        Val::OptInt(event_seq),
        Val::OptText(data.map(to_json)),
    ]
}

pub(crate) async fn insert_timeline(
    conn: &mut AnyConnection,
    rows: Vec<Vec<Val>>,
) -> Result<(), StoreError> {
    insert_rows(
        conn,
        "INSERT INTO timeline (id, incident_id, at, kind, actor, message, event_seq, data)",
        "",
        8,
        rows,
    )
    .await?;
    Ok(())
}

/// Reserves `n` consecutive incident numbers; returns the first. The counter row is
/// locked until the transaction ends, so concurrent writers get distinct ranges.
async fn reserve_incident_numbers(conn: &mut AnyConnection, n: i64) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "UPDATE counters SET value = value + $1 WHERE name = 'incident_number' RETURNING value",
    )
    .bind(n)
    .fetch_one(&mut *conn)
    .await?;
    let last: i64 = row.try_get("value").map_err(StoreError::from)?;
    Ok(last - n + 1)
}
