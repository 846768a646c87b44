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

use std::collections::{HashMap, HashSet};

use onduty_core::event::{AlertEvent, ChangeEvent, EventAction};
use onduty_core::heartbeat::duration_words;
use onduty_core::incident::{
    Action, Actor, Decision, DedupMode, IncidentStatus, OpenIncident, TimelineKind, decide,
    transition,
};
use onduty_core::noise::{AlertResolution, GroupedAlerts, joins_group, reopens, window};
use onduty_core::service::ServiceUrgency;
use onduty_core::{
    DedupKey, EventId, IncidentId, IncidentNumber, IntegrationId, PolicyId, RoutingKey, ServiceId,
    TimelineId, Timestamp,
};
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};

use crate::paging::{
    TimerKind, clear_timers, minutes_of, set_timer, start_escalation, stop_paging,
};
use crate::sql::{
    Val, Write, chunked, col, execute_writes, in_list, multi_row, numbered, opt_id, parse_col,
    to_json,
};
use crate::{Backend, Store, StoreError, begin};

/// One event as accepted at the edge, waiting to be applied.
#[derive(Debug, Clone)]
pub struct Received {
    pub id: EventId,
    pub received_at: Timestamp,
    pub event: Inbound,
    /// What the parser adjusted to accept the event (kept on the timeline).
    pub warnings: Vec<String>,
    /// Who hands it in: a sender from outside, or onduty itself.
    pub via: Via,
}

/// Who hands an event in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// A monitoring tool or script, through one of the ingest endpoints.
    Sender,
    /// onduty itself: a heartbeat's pings and lateness, notes of refused events.
    Onduty,
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
    /// A trigger within the service's flap window after its key's incident resolved: that
    /// incident is open again (and pages nobody at once).
    Reopened(Touched),
    /// A trigger with a new key within the service's grouping window: it joined the
    /// newest open incident as an alert.
    Grouped(Touched),
    /// A resolve for one alert of a grouped incident whose other alerts still fire.
    AlertResolved(Touched),
    /// Acknowledge or resolve with no open incident for the key: dropped, as PagerDuty does.
    Ignored,
    /// A trigger while its service is in maintenance: recorded, no incident, nobody paged.
    Maintenance,
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
            Outcome::Reopened(_) => "reopened",
            Outcome::Grouped(_) => "grouped",
            Outcome::AlertResolved(_) => "alert_resolved",
            Outcome::Ignored => "ignored",
            Outcome::Maintenance => "maintenance",
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
    /// The edge gives every trigger a dedup key; one without is a programming error.
    #[error("a trigger needs a dedup key")]
    MissingDedupKey,
    /// A heartbeat's key takes pings (`/ping/<key>`, mail), not events from senders.
    #[error("this key belongs to a heartbeat: ping it at /ping/<key> instead of sending events")]
    HeartbeatKey,
}

pub type ItemResult = Result<Accepted, Rejected>;

/// How many times a batch that lost a race with another writer is applied again.
const MAX_ATTEMPTS: usize = 10;

/// A batch that takes longer has met a database that stopped answering (a connection
/// that died silently, say): it is abandoned and its connection discarded, and the
/// senders told to retry, rather than the writer waiting forever.
const BATCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

impl Store {
    /// Applies `items` in order, in one transaction; one result per item. Nothing is
    /// visible (or acknowledged to a sender) before the commit.
    pub async fn ingest_batch(&self, items: &[Received]) -> Result<Vec<ItemResult>, StoreError> {
        let mut last = StoreError::Contention;
        for attempt in 0..MAX_ATTEMPTS {
            match self.try_ingest_batch(items).await {
                Err(e) if e.is_retryable() => {
                    tracing::debug!(error = %e, "ingest batch lost a race; applying it again");
                    last = e;
                    // Two writers that lost to each other must not meet again at once.
                    tokio::time::sleep(retry_pause(attempt)).await;
                }
                other => return other,
            }
        }
        tracing::warn!(error = %last, "ingest batch kept losing races");
        Err(StoreError::Contention)
    }

    async fn try_ingest_batch(&self, items: &[Received]) -> Result<Vec<ItemResult>, StoreError> {
        let mut lane = self.lane().await?;
        let result =
            match tokio::time::timeout(BATCH_TIMEOUT, self.apply_batch(&mut lane, items)).await {
                Ok(result) => result,
                Err(_) => Err(StoreError::Unavailable(format!(
                    "no answer within {} s",
                    BATCH_TIMEOUT.as_secs()
                ))),
            };
        if let Err(e) = &result {
            lane.discard_if_broken(e);
        }
        result
    }

    async fn apply_batch(
        &self,
        conn: &mut AnyConnection,
        items: &[Received],
    ) -> Result<Vec<ItemResult>, StoreError> {
        let mut tx = begin(conn, self.backend).await?;
        match self.apply_in(&mut tx, items).await {
            Ok(results) => {
                tx.commit().await?;
                Ok(results)
            }
            Err(e) => {
                // Roll back now: the lane keeps its connection, and a rollback left
                // for its next use would hold the batch's locks until then.
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }

    async fn apply_in(
        &self,
        conn: &mut AnyConnection,
        items: &[Received],
    ) -> Result<Vec<ItemResult>, StoreError> {
        let d = self.backend;
        let Loaded {
            integrations,
            incidents,
            counter,
        } = load(conn, d, items).await?;
        let mut work = WorkingSet::new(d, incidents, &integrations);

        // Which integration each event belongs to, or why it is refused.
        let accept = |item: &Received| -> Result<&Integ, Rejected> {
            let integ = item
                .event
                .routing_key()
                .and_then(|k| integrations.get(k.as_str()))
                .ok_or(Rejected::UnknownRoutingKey)?;
            if integ.heartbeat && item.via == Via::Sender {
                return Err(Rejected::HeartbeatKey);
            }
            match &item.event {
                Inbound::Alert(e) if e.action == EventAction::Trigger && e.dedup_key.is_none() => {
                    Err(Rejected::MissingDedupKey)
                }
                _ => Ok(integ),
            }
        };
        // Triggers for services in maintenance open nothing.
        let is_trigger = |item: &Received| matches!(&item.event, Inbound::Alert(e) if e.action == EventAction::Trigger);
        let times = items
            .iter()
            .filter(|i| is_trigger(i))
            .map(|i| i.received_at);
        let quiet = match (times.clone().min(), times.max()) {
            (Some(from), Some(to)) => crate::maintenance::quiet_spans(conn, from, to).await?,
            _ => Default::default(),
        };
        let in_maintenance = |service: &ServiceId, at: Timestamp| {
            quiet
                .get(service)
                .is_some_and(|spans| spans.iter().any(|(s, e)| *s <= at && at < *e))
        };
        let plans: Vec<Result<Plan, Rejected>> = items
            .iter()
            .map(|item| {
                accept(item).map(|integ| {
                    if is_trigger(item) && in_maintenance(&integ.service_id, item.received_at) {
                        Plan {
                            maintenance: true,
                            ..Plan::nothing()
                        }
                    } else {
                        work.apply(item, integ)
                    }
                })
            })
            .collect();

        let mut writes = Vec::new();
        work.assign_numbers(conn, counter, &mut writes).await?;
        work.incident_writes(&mut writes);
        let paging: HashMap<ServiceId, ServicePaging> = integrations
            .values()
            .map(|i| (i.service_id, i.paging))
            .collect();
        writes.extend(work.paging_writes(&paging));

        let mut event_rows = Vec::with_capacity(items.len());
        let mut results = Vec::with_capacity(items.len());
        for (item, plan) in items.iter().zip(plans) {
            let (plan, integ) = match (plan, accept(item)) {
                (Ok(plan), Ok(integ)) => (plan, integ),
                (Err(refused), _) | (_, Err(refused)) => {
                    results.push(Err(refused));
                    continue;
                }
            };
            let outcome = work.outcome(&plan);
            let (kind, dedup_key, body) = match &item.event {
                Inbound::Alert(e) => (e.action.as_str(), e.dedup_key.clone(), to_json(e)),
                Inbound::Change(e) => ("change", None, to_json(e)),
            };
            // An event that touched incidents is kept in their timeline entries; the
            // others (dropped acknowledgements and resolutions, change events) here.
            if plan.touched.is_empty() {
                event_rows.push(vec![
                    Val::Text(item.id.to_string()),
                    Val::Text(integ.id.to_string()),
                    Val::Text(integ.service_id.to_string()),
                    Val::Int(item.received_at.as_millis()),
                    Val::Text(kind.to_owned()),
                    Val::OptText(dedup_key.as_ref().map(|k| k.as_str().to_owned())),
                    Val::Text(outcome.as_str().to_owned()),
                    Val::Text(body),
                ]);
            }
            results.push(Ok(Accepted {
                event_id: item.id,
                dedup_key,
                outcome,
            }));
        }
        writes.extend(multi_row(
            d,
            "INSERT INTO events (id, integration_id, service_id, received_at, kind, dedup_key, outcome, body)",
            "",
            event_rows,
        ));
        writes.extend(timeline_writes(d, work.timeline_rows()));
        execute_writes(conn, d, writes).await?;
        Ok(results)
    }
}

/// A random pause before applying a batch again, up to 1 ms after the first loss and
/// doubling to 128 ms (about half a second in all): on a busy machine a transaction
/// takes tens of milliseconds, and two writers must stop meeting each other.
fn retry_pause(attempt: usize) -> std::time::Duration {
    let ceiling = 1000u64 << attempt.min(7);
    let random = getrandom::u64().unwrap_or(0);
    std::time::Duration::from_micros(random % (ceiling + 1))
}

/// What the batch needs to know about an integration.
#[derive(Debug, Clone)]
struct Integ {
    id: IntegrationId,
    name: String,
    service_id: ServiceId,
    dedup_mode: DedupMode,
    urgency: ServiceUrgency,
    paging: ServicePaging,
    /// A heartbeat's integration: only onduty's own events are taken for it.
    heartbeat: bool,
}

/// What a service's settings mean for the engine's state.
#[derive(Debug, Clone, Copy)]
struct ServicePaging {
    policy: Option<PolicyId>,
    ack_timeout_minutes: Option<u32>,
    auto_resolve_minutes: Option<u32>,
    /// Noise control (see `onduty_core::noise`).
    group_window_minutes: Option<u32>,
    flap_window_minutes: Option<u32>,
}

impl Integ {
    fn actor(&self) -> Actor {
        Actor::Integration {
            id: self.id,
            name: self.name.clone(),
        }
    }
}

/// What a batch reads before deciding anything.
struct Loaded {
    /// By routing key.
    integrations: HashMap<String, Integ>,
    /// Open incidents carrying any of the batch's dedup keys (in any service), or
    /// grouping alerts with them; and for services with noise control, their recent open
    /// incidents and those with the batch's keys that resolved within the flap window.
    incidents: Vec<Work>,
    /// The incident-number counter, read under SQLite's write lock; `None` on
    /// PostgreSQL, where numbers are reserved with a row lock instead.
    counter: Option<i64>,
}

const INTEGRATIONS_SQL: &str = "SELECT 'integration' AS row_kind, integrations.id, integrations.name, \
     integrations.routing_key, integrations.service_id, services.dedup_mode, services.urgency, \
     services.policy_id, services.ack_timeout_minutes, services.auto_resolve_minutes, \
     services.group_window_minutes, services.flap_window_minutes, integrations.kind \
     FROM integrations JOIN services ON services.id = integrations.service_id WHERE integrations.routing_key IN ";

/// The incident columns a batch works with, for `work_from_row`.
macro_rules! select_work {
    ($where:literal) => {
        concat!(
            "SELECT 'incident' AS row_kind, id, number, service_id, dedup_key, open_key, status, \
             alert_count, last_event_at, last_event_summary, created_at, updated_at, acknowledged_at, \
             acknowledged_by, resolved_at, resolved_by, alerts, version FROM incidents WHERE ",
            $where
        )
    };
}

const OPEN_INCIDENTS_SQL: &str = select_work!("status <> 'resolved' AND dedup_key IN ");

/// Open incidents that keys of the batch joined as grouped alerts.
const GROUPED_INCIDENTS_SQL: &str = select_work!(
    "status <> 'resolved' AND id IN (SELECT incident_id FROM incident_alert_keys WHERE dedup_key IN "
);

/// Reads what the batch needs. On SQLite the reads go as one string of statements (one
/// round trip); on PostgreSQL one statement at a time.
async fn load(
    conn: &mut AnyConnection,
    d: Backend,
    items: &[Received],
) -> Result<Loaded, StoreError> {
    let mut routing_keys: Vec<&str> = items
        .iter()
        .filter_map(|i| i.event.routing_key())
        .map(RoutingKey::as_str)
        .collect();
    routing_keys.sort_unstable();
    routing_keys.dedup();
    let mut dedup_keys: Vec<&str> = items
        .iter()
        .filter_map(|i| match &i.event {
            Inbound::Alert(e) => e.dedup_key.as_ref().map(DedupKey::as_str),
            Inbound::Change(_) => None,
        })
        .collect();
    dedup_keys.sort_unstable();
    dedup_keys.dedup();

    let mut queries: Vec<(String, Vec<&str>)> = Vec::new();
    for chunk in routing_keys.chunks(1000) {
        queries.push((
            format!("{INTEGRATIONS_SQL}{}", in_list(d, chunk.len())),
            chunk.to_vec(),
        ));
    }
    for chunk in dedup_keys.chunks(1000) {
        queries.push((
            format!("{OPEN_INCIDENTS_SQL}{}", in_list(d, chunk.len())),
            chunk.to_vec(),
        ));
        queries.push((
            format!("{GROUPED_INCIDENTS_SQL}{})", in_list(d, chunk.len())),
            chunk.to_vec(),
        ));
    }
    if d == Backend::Sqlite {
        queries.push((
            "SELECT 'counter' AS row_kind, value FROM counters WHERE name = 'incident_number'"
                .to_owned(),
            Vec::new(),
        ));
    }
    let rows = fetch(conn, d, &queries).await?;
    let mut loaded = Loaded {
        integrations: HashMap::with_capacity(routing_keys.len()),
        incidents: Vec::new(),
        counter: None,
    };
    let mut seen = HashSet::new();
    for row in &rows {
        match col::<String>(row, "row_kind")?.as_str() {
            "integration" => {
                loaded.integrations.insert(
                    col(row, "routing_key")?,
                    Integ {
                        id: parse_col(row, "id", str::parse)?,
                        name: col(row, "name")?,
                        service_id: parse_col(row, "service_id", str::parse)?,
                        dedup_mode: parse_col(row, "dedup_mode", |t| {
                            DedupMode::parse(t).ok_or("unknown dedup mode")
                        })?,
                        urgency: parse_col(row, "urgency", |t| {
                            ServiceUrgency::parse(t).ok_or("unknown urgency")
                        })?,
                        paging: ServicePaging {
                            policy: opt_id(row, "policy_id")?,
                            ack_timeout_minutes: minutes(row, "ack_timeout_minutes")?,
                            auto_resolve_minutes: minutes(row, "auto_resolve_minutes")?,
                            group_window_minutes: minutes(row, "group_window_minutes")?,
                            flap_window_minutes: minutes(row, "flap_window_minutes")?,
                        },
                        heartbeat: col::<String>(row, "kind")? == "heartbeat",
                    },
                );
            }
            "incident" => {
                let w = work_from_row(row)?;
                if seen.insert(w.id) {
                    loaded.incidents.push(w);
                }
            }
            _ => loaded.counter = Some(col(row, "value")?),
        }
    }

    // Noise control reads more, for the services that have it: their recent open
    // incidents (which a new key may join), and the incidents with the batch's keys that
    // resolved within the flap window (which a trigger re-opens).
    let Some(first_trigger) = items
        .iter()
        .filter(|i| matches!(&i.event, Inbound::Alert(e) if e.action == EventAction::Trigger))
        .map(|i| i.received_at.as_millis())
        .min()
    else {
        return Ok(loaded);
    };
    let mut services: Vec<(ServiceId, ServicePaging)> = loaded
        .integrations
        .values()
        .filter(|i| {
            i.paging.group_window_minutes.is_some() || i.paging.flap_window_minutes.is_some()
        })
        .map(|i| (i.service_id, i.paging))
        .collect();
    services.sort_unstable_by_key(|(id, _)| *id);
    services.dedup_by_key(|(id, _)| *id);
    let ids: Vec<String> = services.iter().map(|(id, _)| id.to_string()).collect();
    let mut queries: Vec<(String, Vec<&str>)> = Vec::new();
    for ((_, paging), id) in services.iter().zip(&ids) {
        let since = |minutes: u32| first_trigger - window(minutes).as_millis() as i64;
        if let Some(minutes) = paging.group_window_minutes {
            let sql = select_work!("status <> 'resolved' AND service_id = ? AND created_at >= ");
            queries.push((format!("{sql}{}", since(minutes)), vec![id.as_str()]));
        }
        if let Some(minutes) = paging.flap_window_minutes {
            let sql = select_work!("status = 'resolved' AND service_id = ? AND resolved_at >= ");
            for chunk in dedup_keys.chunks(1000) {
                let mut values = vec![id.as_str()];
                values.extend(chunk);
                // Numbered below, with the service's placeholder first.
                let keys = in_list(Backend::Sqlite, chunk.len());
                queries.push((
                    format!("{sql}{} AND dedup_key IN {keys}", since(minutes)),
                    values,
                ));
            }
        }
    }
    let queries: Vec<(String, Vec<&str>)> = queries
        .into_iter()
        .map(|(sql, values)| (numbered(d, &sql), values))
        .collect();
    for row in fetch(conn, d, &queries).await? {
        let w = work_from_row(&row)?;
        if seen.insert(w.id) {
            loaded.incidents.push(w);
        }
    }
    Ok(loaded)
}

/// Runs `queries` (SQL with its text values): on SQLite as one string of statements (one
/// round trip), on PostgreSQL one at a time.
async fn fetch(
    conn: &mut AnyConnection,
    d: Backend,
    queries: &[(String, Vec<&str>)],
) -> Result<Vec<AnyRow>, StoreError> {
    Ok(match d {
        Backend::Sqlite => {
            if queries.is_empty() {
                return Ok(Vec::new());
            }
            let sql: Vec<&str> = queries.iter().map(|(sql, _)| sql.as_str()).collect();
            let mut q = sqlx::query(AssertSqlSafe(sql.join(";\n"))).persistent(false);
            for (_, values) in queries {
                for v in values {
                    q = q.bind((*v).to_owned());
                }
            }
            q.fetch_all(&mut *conn).await?
        }
        Backend::Postgres => {
            let mut rows = Vec::new();
            for (sql, values) in queries {
                let mut q = sqlx::query(AssertSqlSafe(sql.clone())).persistent(false);
                for v in values {
                    q = q.bind((*v).to_owned());
                }
                rows.extend(q.fetch_all(&mut *conn).await?);
            }
            rows
        }
    })
}

fn minutes(row: &AnyRow, name: &str) -> Result<Option<u32>, StoreError> {
    col::<Option<i64>>(row, name)?
        .map(|m| u32::try_from(m).map_err(StoreError::corrupt))
        .transpose()
}

fn work_from_row(row: &AnyRow) -> Result<Work, StoreError> {
    let open_key: Option<String> = col(row, "open_key")?;
    let status = parse_col(row, "status", |t| {
        IncidentStatus::parse(t).ok_or("unknown status")
    })?;
    Ok(Work {
        id: parse_col(row, "id", str::parse)?,
        number: Some(IncidentNumber(col(row, "number")?)),
        version: Some(col(row, "version")?),
        loaded_status: Some(status),
        dirty: false,
        state_changed: false,
        service_id: parse_col(row, "service_id", str::parse)?,
        dedup_key: col(row, "dedup_key")?,
        holds_key: open_key.is_some(),
        status,
        alert_count: col(row, "alert_count")?,
        last_event_at: col(row, "last_event_at")?,
        last_event_summary: col(row, "last_event_summary")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
        acknowledged_at: col(row, "acknowledged_at")?,
        acknowledged_by: col(row, "acknowledged_by")?,
        resolved_at: col(row, "resolved_at")?,
        resolved_by: col(row, "resolved_by")?,
        alerts: col::<Option<String>>(row, "alerts")?
            .map(|t| serde_json::from_str(&t).map_err(StoreError::corrupt))
            .transpose()?,
        reopened: false,
        opening: None,
    })
}

/// An incident as the batch sees it: loaded (open) or newly opened by this batch.
#[derive(Debug, Clone)]
struct Work {
    id: IncidentId,
    /// Known for loaded incidents; assigned after the batch for new ones.
    number: Option<IncidentNumber>,
    /// Loaded version; `None` for an incident this batch opens.
    version: Option<i64>,
    /// The status it was loaded with; `None` for an incident this batch opens.
    loaded_status: Option<IncidentStatus>,
    /// Changed by this batch (must be written).
    dirty: bool,
    /// Changed beyond counting alerts: status, key, acknowledgement or resolution.
    state_changed: bool,
    service_id: ServiceId,
    dedup_key: String,
    holds_key: bool,
    status: IncidentStatus,
    alert_count: i64,
    last_event_at: i64,
    last_event_summary: String,
    created_at: i64,
    updated_at: i64,
    acknowledged_at: Option<i64>,
    acknowledged_by: Option<String>,
    resolved_at: Option<i64>,
    resolved_by: Option<String>,
    /// The alerts grouped into it, once another key joined it.
    alerts: Option<GroupedAlerts>,
    /// Resolved when loaded and re-opened by this batch (flapping).
    reopened: bool,
    /// Only for new incidents: the opening trigger.
    opening: Option<Opening>,
}

#[derive(Debug, Clone)]
struct Opening {
    summary: String,
    severity: &'static str,
    urgency: &'static str,
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
    /// The event behind the entry, and its stored form.
    event: Option<(EventId, String)>,
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
    /// A trigger for a service in maintenance: recorded, nothing opened.
    maintenance: bool,
    /// What noise control made of it, when it did.
    folded: Option<Folded>,
}

impl Plan {
    fn nothing() -> Plan {
        Plan {
            decision: None,
            touched: Vec::new(),
            maintenance: false,
            folded: None,
        }
    }
}

enum Folded {
    Reopened,
    Grouped,
    /// A resolve reached grouped incidents: these resolved; the others still have
    /// alerts firing.
    Partly {
        resolved: Vec<usize>,
    },
}

struct WorkingSet {
    dialect: Backend,
    incidents: Vec<Work>,
    /// By service and key: the incidents with that dedup key, and those grouping it.
    by_key: HashMap<(ServiceId, String), Vec<usize>>,
    timeline: Vec<Entry>,
    /// Keys that joined an incident in this batch.
    joined: Vec<(usize, String)>,
}

impl WorkingSet {
    /// The working set over the loaded incidents of the services the batch reaches.
    fn new(
        dialect: Backend,
        loaded: Vec<Work>,
        integrations: &HashMap<String, Integ>,
    ) -> WorkingSet {
        let services: HashSet<ServiceId> = integrations.values().map(|i| i.service_id).collect();
        let mut set = WorkingSet {
            dialect,
            incidents: Vec::with_capacity(loaded.len()),
            by_key: HashMap::with_capacity(loaded.len()),
            timeline: Vec::new(),
            joined: Vec::new(),
        };
        for w in loaded
            .into_iter()
            .filter(|w| services.contains(&w.service_id))
        {
            set.push(w);
        }
        // Oldest first, so a superseded incident precedes the one that took its key.
        for list in set.by_key.values_mut() {
            list.sort_by_key(|&w| set.incidents[w].id);
        }
        set
    }

    fn push(&mut self, w: Work) -> usize {
        let idx = self.incidents.len();
        self.by_key
            .entry((w.service_id, w.dedup_key.clone()))
            .or_default()
            .push(idx);
        for alert in w.alerts.iter().flat_map(|a| &a.0) {
            if alert.key != w.dedup_key {
                self.by_key
                    .entry((w.service_id, alert.key.clone()))
                    .or_default()
                    .push(idx);
            }
        }
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
        let event = match &item.event {
            Inbound::Alert(e) => to_json(e),
            Inbound::Change(e) => to_json(e),
        };
        self.timeline.push(Entry {
            work,
            at: item.received_at,
            kind,
            actor,
            message,
            event: Some((item.id, event)),
            data,
        });
    }

    /// Runs the dedup rule for one event against the working set and applies the result.
    fn apply(&mut self, item: &Received, integ: &Integ) -> Plan {
        let Inbound::Alert(event) = &item.event else {
            return Plan::nothing();
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
        // A key that joined another incident follows the `open` dedup mode there: its
        // triggers fold in, whoever acknowledged the incident.
        let grouped = candidates
            .iter()
            .any(|&w| self.incidents[w].dedup_key != key);
        let mode = if grouped {
            DedupMode::Open
        } else {
            integ.dedup_mode
        };
        let decision = decide(mode, event.action, &open);
        let at = item.received_at.as_millis();
        if decision == (Decision::Open { supersedes: None }) {
            let folded_into = |w: usize, folded: Folded, set: &WorkingSet| Plan {
                decision: Some(Decision::Append(set.incidents[w].id)),
                touched: vec![w],
                maintenance: false,
                folded: Some(folded),
            };
            if let Some(w) = self.flapping(integ, &key, at) {
                self.reopen(w, item, integ, &key);
                return folded_into(w, Folded::Reopened, self);
            }
            if let Some(w) = self.group_target(integ, at) {
                self.join(w, item, integ, &key);
                return folded_into(w, Folded::Grouped, self);
            }
        }
        let mut partly = false;
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
                    loaded_status: None,
                    dirty: true,
                    state_changed: true,
                    service_id: integ.service_id,
                    dedup_key: key,
                    holds_key: true,
                    status: IncidentStatus::Triggered,
                    alert_count: 1,
                    last_event_at: at,
                    last_event_summary: alert.summary.clone(),
                    created_at: at,
                    updated_at: at,
                    acknowledged_at: None,
                    acknowledged_by: None,
                    resolved_at: None,
                    resolved_by: None,
                    alerts: None,
                    reopened: false,
                    opening: Some(Opening {
                        summary: alert.summary.clone(),
                        severity: alert.severity.as_str(),
                        urgency: integ.urgency.of(alert.severity).as_str(),
                        details: to_json(event),
                        created_at: at,
                    }),
                });
                if let Some(old) = supersedes.and_then(find) {
                    let w = &mut self.incidents[old];
                    w.holds_key = false;
                    w.dirty = true;
                    w.state_changed = true;
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
                // A grouped alert that had resolved fires again.
                if inc.alerts.as_mut().is_some_and(|a| a.fire(&key)) {
                    inc.state_changed = true;
                }
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
                inc.state_changed = true;
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
                // Written with a version check, so a concurrent resolve is noticed.
                self.incidents[w].dirty = true;
                self.incidents[w].updated_at = at;
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
                let mut resolved = Vec::with_capacity(ids.len());
                for id in ids {
                    let w = find(*id).expect("decided on a candidate");
                    let inc = &mut self.incidents[w];
                    touched.push(w);
                    // A grouped incident resolves with its last alert.
                    let still = inc
                        .alerts
                        .as_mut()
                        .map(|a| a.resolve(&key, item.received_at));
                    if let Some(AlertResolution::Still(firing)) = still {
                        inc.updated_at = at;
                        inc.dirty = true;
                        inc.state_changed = true;
                        let message = format!(
                            "Alert {key} resolved by {} (resolve event); {firing} grouped alert{} still firing",
                            integ.name,
                            if firing == 1 { "" } else { "s" }
                        );
                        self.note(
                            w,
                            item,
                            TimelineKind::Event,
                            integ.actor(),
                            Message::Text(message),
                        );
                        partly = true;
                        continue;
                    }
                    resolved.push(w);
                    if let Ok(Some(next)) = transition(inc.status, Action::Resolve) {
                        inc.status = next;
                    }
                    inc.holds_key = false;
                    inc.resolved_at = Some(at);
                    inc.resolved_by = Some(to_json(&integ.actor()));
                    inc.updated_at = at;
                    inc.dirty = true;
                    inc.state_changed = true;
                    let message = format!("Resolved by {} (resolve event)", integ.name);
                    self.note(
                        w,
                        item,
                        TimelineKind::Resolved,
                        integ.actor(),
                        Message::Text(message),
                    );
                }
                if partly {
                    return Plan {
                        decision: Some(decision.clone()),
                        touched,
                        maintenance: false,
                        folded: Some(Folded::Partly { resolved }),
                    };
                }
                touched
            }
            Decision::Ignore => Vec::new(),
        };
        Plan {
            decision: Some(decision),
            touched,
            maintenance: false,
            folded: None,
        }
    }

    /// The incident with `key` that resolved within the service's flap window (the
    /// latest), which a trigger re-opens.
    fn flapping(&self, integ: &Integ, key: &str, at: i64) -> Option<usize> {
        let minutes = integ.paging.flap_window_minutes?;
        let now = Timestamp::from_millis(at);
        self.by_key
            .get(&(integ.service_id, key.to_owned()))?
            .iter()
            .copied()
            .filter(|&w| {
                let inc = &self.incidents[w];
                inc.dedup_key == key
                    && inc.status == IncidentStatus::Resolved
                    && !resolved_by_a_person(inc)
                    && inc
                        .resolved_at
                        .is_some_and(|r| reopens(minutes, Timestamp::from_millis(r), now))
            })
            .max_by_key(|&w| self.incidents[w].resolved_at)
    }

    /// The service's newest open incident, if it opened within the grouping window.
    fn group_target(&self, integ: &Integ, at: i64) -> Option<usize> {
        let minutes = integ.paging.group_window_minutes?;
        let now = Timestamp::from_millis(at);
        (0..self.incidents.len())
            .filter(|&w| {
                let inc = &self.incidents[w];
                inc.service_id == integ.service_id && inc.status.is_open()
            })
            .max_by_key(|&w| self.incidents[w].created_at)
            .filter(|&w| {
                joins_group(
                    minutes,
                    Timestamp::from_millis(self.incidents[w].created_at),
                    now,
                )
            })
    }

    /// A flapping incident opens again: acknowledged if it was when it resolved (its
    /// acknowledgement timeout starts again), otherwise triggered, its policy paging again
    /// from the first level only after the flap window, so that nobody is paged per flap.
    fn reopen(&mut self, w: usize, item: &Received, integ: &Integ, key: &str) {
        let at = item.received_at.as_millis();
        let minutes = integ.paging.flap_window_minutes.unwrap_or_default();
        let inc = &mut self.incidents[w];
        let resolved_at = inc.resolved_at.unwrap_or(at);
        inc.status = if inc.acknowledged_at.is_some() {
            IncidentStatus::Acknowledged
        } else {
            IncidentStatus::Triggered
        };
        inc.holds_key = true;
        inc.resolved_at = None;
        inc.resolved_by = None;
        inc.alert_count += 1;
        inc.last_event_at = at;
        inc.last_event_summary = summary_of(item);
        inc.updated_at = at;
        inc.dirty = true;
        inc.state_changed = true;
        inc.reopened = true;
        if let Some(alerts) = &mut inc.alerts {
            // The others ended with the incident; this one fires again.
            for a in &mut alerts.0 {
                a.resolved_at.get_or_insert(resolved_at);
            }
            alerts.fire(key);
        }
        let after = duration_words(std::time::Duration::from_millis(
            u64::try_from(at - resolved_at).unwrap_or(0),
        ));
        let then = if inc.status == IncidentStatus::Acknowledged {
            "it stays acknowledged".to_owned()
        } else {
            format!(
                "nobody is paged now; if it is still unacknowledged in {minutes} min, its escalation policy pages again from the first level"
            )
        };
        let message = format!(
            "Re-opened: a trigger from {} arrived {after} after it resolved (flapping); {then}",
            integ.name
        );
        self.note(
            w,
            item,
            TimelineKind::Reopened,
            integ.actor(),
            Message::Text(message),
        );
    }

    /// A trigger with a key of its own joins incident `w` as one more alert.
    fn join(&mut self, w: usize, item: &Received, integ: &Integ, key: &str) {
        let at = item.received_at.as_millis();
        let minutes = integ.paging.group_window_minutes.unwrap_or_default();
        let inc = &mut self.incidents[w];
        let own = inc.dedup_key.clone();
        inc.alerts
            .get_or_insert_with(|| GroupedAlerts::start(&own))
            .fire(key);
        inc.alert_count += 1;
        inc.last_event_at = at;
        inc.last_event_summary = summary_of(item);
        inc.updated_at = at;
        inc.dirty = true;
        inc.state_changed = true;
        let message = format!(
            "Alert {key} from {} joined this incident: it arrived within {minutes} min of it opening (alert {})",
            integ.name, inc.alert_count
        );
        let service = inc.service_id;
        let listed = self.by_key.entry((service, key.to_owned())).or_default();
        if !listed.contains(&w) {
            listed.push(w);
            self.joined.push((w, key.to_owned()));
        }
        self.note(
            w,
            item,
            TimelineKind::Alert,
            integ.actor(),
            Message::Text(message),
        );
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
        if plan.maintenance {
            return Outcome::Maintenance;
        }
        let first = || self.touched(plan.touched[0]);
        match &plan.folded {
            Some(Folded::Reopened) => return Outcome::Reopened(first()),
            Some(Folded::Grouped) => return Outcome::Grouped(first()),
            Some(Folded::Partly { resolved }) if resolved.is_empty() => {
                return Outcome::AlertResolved(first());
            }
            Some(Folded::Partly { resolved }) => {
                return Outcome::Resolved(resolved.iter().map(|&w| self.touched(w)).collect());
            }
            None => {}
        }
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

    /// Numbers the incidents this batch opens, in the order they were opened. SQLite
    /// (holding the write lock) continues from the counter it read; PostgreSQL reserves
    /// a range with a row lock, so concurrent writers get distinct ranges.
    async fn assign_numbers(
        &mut self,
        conn: &mut AnyConnection,
        counter: Option<i64>,
        writes: &mut Vec<Write>,
    ) -> Result<(), StoreError> {
        let new: Vec<usize> = (0..self.incidents.len())
            .filter(|&w| self.incidents[w].number.is_none())
            .collect();
        if new.is_empty() {
            return Ok(());
        }
        let n = new.len() as i64;
        let first = match counter {
            Some(value) => {
                writes.push(Write {
                    sql: "UPDATE counters SET value = ? WHERE name = 'incident_number'".to_owned(),
                    values: vec![Val::Int(value + n)],
                    expect_rows: None,
                });
                value + 1
            }
            None => {
                let row = sqlx::query(
                    "UPDATE counters SET value = value + $1 WHERE name = 'incident_number' RETURNING value",
                )
                .bind(n)
                .fetch_one(&mut *conn)
                .await?;
                col::<i64>(&row, "value")? - n + 1
            }
        };
        for (i, w) in new.into_iter().enumerate() {
            self.incidents[w].number = Some(IncidentNumber(first + i as i64));
        }
        Ok(())
    }

    /// The statements that persist changed and new incidents. Updates come first, so a
    /// key given up by a superseded incident is free for its successor. Most updates only
    /// count another alert and leave indexed columns alone.
    fn incident_writes(&self, writes: &mut Vec<Write>) {
        let appends = self
            .incidents
            .iter()
            .filter(|w| w.dirty && !w.state_changed && w.version.is_some())
            .map(|w| {
                vec![
                    Val::Text(w.id.to_string()),
                    Val::Int(w.version.unwrap_or_default()),
                    Val::Int(w.alert_count),
                    Val::Int(w.last_event_at),
                    Val::Text(w.last_event_summary.clone()),
                    Val::Int(w.updated_at),
                ]
            })
            .collect();
        self.checked_updates(
            writes,
            "alert_count = v.column3, last_event_at = v.column4, last_event_summary = v.column5, \
             updated_at = v.column6",
            appends,
        );
        // Those that give a key up before those that take one: a unique index is checked
        // row by row, so one statement must never hand a key from one row to another.
        for holders in [false, true] {
            let changes = self
                .incidents
                .iter()
                .filter(|w| w.dirty && w.state_changed && w.version.is_some())
                .filter(|w| w.holds_key == holders)
                .map(|w| {
                    vec![
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
                        Val::OptText(w.alerts.as_ref().map(to_json)),
                    ]
                })
                .collect();
            self.checked_updates(
                writes,
                "status = v.column3, open_key = v.column4, alert_count = v.column5, last_event_at = v.column6, \
                 last_event_summary = v.column7, updated_at = v.column8, acknowledged_at = v.column9, \
                 acknowledged_by = v.column10, resolved_at = v.column11, resolved_by = v.column12, \
                 alerts = v.column13",
                changes,
            );
        }
        let inserts = self
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
                    Val::Text(o.urgency.to_owned()),
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
                    Val::OptText(w.alerts.as_ref().map(to_json)),
                    Val::Int(1),
                ])
            })
            .collect();
        writes.extend(multi_row(
            self.dialect,
            "INSERT INTO incidents (id, number, service_id, dedup_key, open_key, status, summary, severity, urgency, details, \
             alert_count, last_event_at, last_event_summary, created_at, updated_at, acknowledged_at, \
             acknowledged_by, resolved_at, resolved_by, alerts, version)",
            "",
            inserts,
        ));
        // The keys that joined incidents, after the incidents they point at.
        let joined = self
            .joined
            .iter()
            .map(|(w, key)| {
                let inc = &self.incidents[*w];
                vec![
                    Val::Text(inc.id.to_string()),
                    Val::Text(inc.service_id.to_string()),
                    Val::Text(key.clone()),
                ]
            })
            .collect();
        writes.extend(multi_row(
            self.dialect,
            "INSERT INTO incident_alert_keys (incident_id, service_id, dedup_key)",
            "ON CONFLICT DO NOTHING",
            joined,
        ));
    }

    /// `UPDATE incidents SET <set>, version = version + 1 FROM (VALUES …) AS v` for rows
    /// whose first two columns are the incident id and the version it was read at. On
    /// PostgreSQL every row must come back, or another writer changed it since (SQLite
    /// holds its write lock from the first read, so nobody can).
    fn checked_updates(&self, writes: &mut Vec<Write>, set: &str, rows: Vec<Vec<Val>>) {
        let returning = match self.dialect {
            Backend::Postgres => "RETURNING incidents.id",
            Backend::Sqlite => "",
        };
        let postgres = self.dialect == Backend::Postgres;
        writes.extend(chunked(self.dialect, rows, |values, n| {
            let sql = format!(
                "UPDATE incidents SET {set}, version = incidents.version + 1 FROM (VALUES {values}) AS v \
                 WHERE incidents.id = v.column1 AND incidents.version = v.column2 {returning}"
            );
            (sql, postgres.then_some(n))
        }));
    }

    /// Keeps the engine's state in step with what the batch did: new triggered incidents
    /// start escalating; incidents acknowledged or resolved stop paging; acknowledgement
    /// timeouts start; events push auto-resolution back.
    fn paging_writes(&self, services: &HashMap<ServiceId, ServicePaging>) -> Vec<Write> {
        let d = self.dialect;
        let mut writes = Vec::new();
        let mut stopped = Vec::new();
        let mut resolved = Vec::new();
        for w in &self.incidents {
            let Some(settings) = services.get(&w.service_id) else {
                continue;
            };
            let at = Timestamp::from_millis(w.updated_at);
            match (w.loaded_status, w.status) {
                (None, IncidentStatus::Triggered) => {
                    if let Some(policy) = settings.policy {
                        writes.push(start_escalation(
                            d,
                            w.id,
                            policy,
                            Timestamp::from_millis(w.last_event_at),
                        ));
                    }
                }
                // Re-opened by a flap, unacknowledged: if it still is after the flap
                // window, the service's policy pages it again from its first level.
                (Some(IncidentStatus::Resolved), IncidentStatus::Triggered) => {
                    if let Some(policy) = settings.policy {
                        let minutes = settings.flap_window_minutes.unwrap_or_default();
                        writes.push(start_escalation(
                            d,
                            w.id,
                            policy,
                            at.saturating_add(minutes_of(minutes)),
                        ));
                    }
                }
                // Re-opened acknowledged: its paging stopped when it resolved.
                (Some(IncidentStatus::Resolved), _) => {}
                (Some(before), after) if before != after => stopped.push(w.id),
                _ => {}
            }
            if w.status == IncidentStatus::Resolved
                && w.loaded_status != Some(IncidentStatus::Resolved)
            {
                resolved.push(w.id);
            } else if w.status == IncidentStatus::Acknowledged
                && w.loaded_status != Some(IncidentStatus::Acknowledged)
                && let Some(minutes) = settings.ack_timeout_minutes
            {
                writes.push(set_timer(
                    d,
                    w.id,
                    TimerKind::AckTimeout,
                    at.saturating_add(minutes_of(minutes)),
                ));
            }
            if w.status.is_open()
                && w.dirty
                && let Some(minutes) = settings.auto_resolve_minutes
            {
                let last = Timestamp::from_millis(w.last_event_at);
                writes.push(set_timer(
                    d,
                    w.id,
                    TimerKind::AutoResolve,
                    last.saturating_add(minutes_of(minutes)),
                ));
            }
        }
        writes.extend(stop_paging(d, &stopped));
        writes.extend(clear_timers(d, &resolved));
        writes
    }

    /// The timeline rows of the batch, now that incident numbers are known.
    fn timeline_rows(&self) -> Vec<Vec<Val>> {
        self.timeline
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
                timeline_row(
                    self.incidents[e.work].id,
                    e.at,
                    e.kind,
                    &e.actor,
                    message,
                    e.event.as_ref().map(|(id, body)| (*id, body.as_str())),
                    e.data.as_ref(),
                )
            })
            .collect()
    }
}

/// Whether a person resolved the incident: that is final, even within a flap window.
fn resolved_by_a_person(inc: &Work) -> bool {
    inc.resolved_by
        .as_deref()
        .and_then(|text| serde_json::from_str::<Actor>(text).ok())
        .is_some_and(|actor| matches!(actor, Actor::User { .. }))
}

/// The summary of a trigger (empty for other events).
fn summary_of(item: &Received) -> String {
    match &item.event {
        Inbound::Alert(e) => e.alert.as_ref().map(|a| a.summary.clone()),
        Inbound::Change(_) => None,
    }
    .unwrap_or_default()
}

/// The values of one `timeline` row, in [`timeline_writes`]'s column order.
pub(crate) fn timeline_row(
    incident: IncidentId,
    at: Timestamp,
    kind: TimelineKind,
    actor: &Actor,
    message: String,
    event: Option<(EventId, &str)>,
    data: Option<&serde_json::Value>,
) -> Vec<Val> {
    vec![
        Val::Text(TimelineId::new(at).to_string()),
        Val::Text(incident.to_string()),
        Val::Int(at.as_millis()),
        Val::Text(kind.as_str().to_owned()),
        Val::Text(to_json(actor)),
        Val::Text(message),
        Val::OptText(event.map(|(id, _)| id.to_string())),
        Val::OptText(event.map(|(_, body)| body.to_owned())),
        Val::OptText(data.map(to_json)),
    ]
}

/// The statements that insert timeline rows built by [`timeline_row`].
pub(crate) fn timeline_writes(d: Backend, rows: Vec<Vec<Val>>) -> Vec<Write> {
    multi_row(
        d,
        "INSERT INTO timeline (id, incident_id, at, kind, actor, message, event_id, event, data)",
        "",
        rows,
    )
}
