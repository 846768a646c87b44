//! Applying a batch of received events in one transaction: the group-commit writer's work.
//!
//! A batch is load → decide → write: look up the integrations of its routing keys and
//! load the incidents its dedup keys reach (one round trip on SQLite); let the core's
//! [`Batch`] apply every event in order; then write the incidents it changed and the
//! effects it returned with a handful of multi-row statements. The cost per batch is
//! nearly constant, so one commit serves many events.
//!
//! Several onduty instances may share one PostgreSQL: every incident row carries a
//! `version` that each write checks, and a unique index keeps one key holder per
//! service and dedup key. A batch that loses a race is rolled back and applied again.

use std::collections::HashMap;

use onduty_core::batch::{
    Accepted, Batch, Inbound, ItemResult, Plan, Quiet, Received, Rejected, Source,
};
use onduty_core::lifecycle::{IncidentState, Settings};
use onduty_core::noise::window;
use onduty_core::{DedupKey, EventId, IncidentId, RoutingKey, ServiceId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};

use crate::effects::{Known, RowWrite, Scope, effect_writes, incident_writes};
use crate::rows::{STATE_COLUMNS, settings_from_row, state_from_row};
use crate::sql::{
    Val, Write, col, execute_writes, in_list, multi_row, numbered, parse_col, to_json,
};
use crate::{Backend, Store, StoreError, begin};

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
        // Load.
        let Loaded {
            sources,
            incidents,
            versions,
            counter,
        } = load(conn, d, items).await?;
        let trigger_times = items
            .iter()
            .filter(|i| i.event.is_trigger())
            .map(|i| i.received_at);
        let quiet: Quiet = match (trigger_times.clone().min(), trigger_times.max()) {
            (Some(from), Some(to)) => crate::maintenance::quiet_spans(conn, from, to).await?,
            _ => Quiet::default(),
        };

        // Decide.
        let mut batch = Batch::new(&sources, incidents, &quiet);
        let plans: Vec<Result<Plan, Rejected>> = items.iter().map(|i| batch.apply(i)).collect();

        // Write: numbers for the new incidents, then their rows, the effects and the
        // events that touched no incident.
        let mut writes = Vec::new();
        let opened = batch.opened() as i64;
        if opened > 0 {
            let first = reserve_numbers(conn, counter, opened, &mut writes).await?;
            batch.number_from(first);
        }
        let mut event_rows = Vec::with_capacity(items.len());
        let mut results = Vec::with_capacity(items.len());
        let mut bodies: HashMap<EventId, String> = HashMap::with_capacity(items.len());
        for (item, plan) in items.iter().zip(plans) {
            let plan = match plan {
                Ok(plan) => plan,
                Err(refused) => {
                    results.push(Err(refused));
                    continue;
                }
            };
            let outcome = batch.outcome(&plan);
            let body = match &item.event {
                Inbound::Alert(e) => to_json(e),
                Inbound::Change(e) => to_json(e),
            };
            // An event that touched incidents is kept in their timeline entries; the
            // others (dropped acknowledgements and resolutions, change events) here.
            if plan.touches_an_incident() {
                bodies.insert(item.id, body);
            } else if let Ok(source) = batch.source(item) {
                event_rows.push(vec![
                    Val::Text(item.id.to_string()),
                    Val::Text(source.id.to_string()),
                    Val::Text(source.service_id.to_string()),
                    Val::Int(item.received_at.as_millis()),
                    Val::Text(item.event.kind().to_owned()),
                    Val::OptText(item.dedup_key().map(|k| k.as_str().to_owned())),
                    Val::Text(outcome.as_str().to_owned()),
                    Val::Text(body),
                ]);
            }
            results.push(Ok(Accepted {
                event_id: item.id,
                dedup_key: item.dedup_key(),
                outcome,
            }));
        }
        let (tracked, effects) = batch.finish();
        let rows: Vec<RowWrite> = tracked
            .iter()
            .filter(|t| t.dirty)
            .map(|t| RowWrite {
                state: &t.state,
                version: versions.get(&t.state.id).copied(),
                scope: match (&t.opening, t.state_changed) {
                    (Some(opening), _) => Scope::New(opening),
                    (None, true) => Scope::State,
                    (None, false) => Scope::Counted,
                },
            })
            .collect();
        writes.extend(incident_writes(d, &rows));
        writes.extend(multi_row(
            d,
            "INSERT INTO events (id, integration_id, service_id, received_at, kind, dedup_key, outcome, body)",
            "",
            event_rows,
        ));
        let numbers: HashMap<IncidentId, i64> = tracked
            .iter()
            .filter_map(|t| Some((t.state.id, t.state.number?.0)))
            .collect();
        let now = items
            .iter()
            .map(|i| i.received_at)
            .max()
            .unwrap_or(Timestamp::from_millis(0));
        let known = Known {
            now,
            numbers: &numbers,
            event_bodies: &bodies,
        };
        writes.extend(effect_writes(d, &effects, &known));
        execute_writes(conn, d, writes).await?;
        Ok(results)
    }
}

/// Reserves `n` incident numbers for the incidents a batch opens and returns the first.
/// SQLite (holding the write lock) continues from the counter it read; PostgreSQL
/// reserves a range with a row lock, so concurrent writers get distinct ranges.
async fn reserve_numbers(
    conn: &mut AnyConnection,
    counter: Option<i64>,
    n: i64,
    writes: &mut Vec<Write>,
) -> Result<i64, StoreError> {
    Ok(match counter {
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
    })
}

/// A random pause before applying a batch again, up to 1 ms after the first loss and
/// doubling to 128 ms (about half a second in all): on a busy machine a transaction
/// takes tens of milliseconds, and two writers must stop meeting each other.
fn retry_pause(attempt: usize) -> std::time::Duration {
    let ceiling = 1000u64 << attempt.min(7);
    let random = getrandom::u64().unwrap_or(0);
    std::time::Duration::from_micros(random % (ceiling + 1))
}

/// What a batch reads before deciding anything.
struct Loaded {
    /// By routing key.
    sources: HashMap<RoutingKey, Source>,
    /// Open incidents carrying any of the batch's dedup keys (in any service), or
    /// grouping alerts with them; and for services with noise control, their recent open
    /// incidents and those with the batch's keys that resolved within the flap window.
    incidents: Vec<IncidentState>,
    /// The version each incident was read at.
    versions: HashMap<IncidentId, i64>,
    /// The incident-number counter, read under SQLite's write lock; `None` on
    /// PostgreSQL, where numbers are reserved with a row lock instead.
    counter: Option<i64>,
}

impl Loaded {
    fn add_incident(&mut self, row: &AnyRow) -> Result<(), StoreError> {
        let state = state_from_row(row)?;
        if let std::collections::hash_map::Entry::Vacant(slot) = self.versions.entry(state.id) {
            slot.insert(col(row, "version")?);
            self.incidents.push(state);
        }
        Ok(())
    }
}

const INTEGRATIONS_SQL: &str = "SELECT 'integration' AS row_kind, integrations.id, integrations.name, \
     integrations.routing_key, integrations.service_id, services.dedup_mode, services.urgency, \
     services.policy_id, services.ack_timeout_minutes, services.auto_resolve_minutes, \
     services.group_window_minutes, services.flap_window_minutes, integrations.kind \
     FROM integrations JOIN services ON services.id = integrations.service_id WHERE integrations.routing_key IN ";

/// Incidents as a batch works with them (for [`state_from_row`]), chosen by `filter`.
fn select_state(filter: &str) -> String {
    format!("SELECT 'incident' AS row_kind, {STATE_COLUMNS} FROM incidents WHERE {filter}")
}

const OPEN_INCIDENTS: &str = "status <> 'resolved' AND dedup_key IN ";

/// Open incidents that keys of the batch joined as grouped alerts.
const GROUPED_INCIDENTS: &str = "status <> 'resolved' AND id IN (SELECT incident_id FROM incident_alert_keys WHERE dedup_key IN ";

fn source_from_row(row: &AnyRow) -> Result<Source, StoreError> {
    Ok(Source {
        id: parse_col(row, "id", str::parse)?,
        name: col(row, "name")?,
        service_id: parse_col(row, "service_id", str::parse)?,
        settings: settings_from_row(row)?,
        heartbeat: col::<String>(row, "kind")? == "heartbeat",
    })
}

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
    // A trigger without a key gets a new one, which no stored incident holds.
    let mut dedup_keys: Vec<&str> = items
        .iter()
        .filter_map(|i| match &i.event {
            Inbound::Alert(e) => e.dedup_key(),
            Inbound::Change(_) => None,
        })
        .map(DedupKey::as_str)
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
            format!(
                "{}{}",
                select_state(OPEN_INCIDENTS),
                in_list(d, chunk.len())
            ),
            chunk.to_vec(),
        ));
        queries.push((
            format!(
                "{}{})",
                select_state(GROUPED_INCIDENTS),
                in_list(d, chunk.len())
            ),
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
        sources: HashMap::with_capacity(routing_keys.len()),
        incidents: Vec::new(),
        versions: HashMap::new(),
        counter: None,
    };
    for row in &rows {
        match col::<String>(row, "row_kind")?.as_str() {
            "integration" => {
                let key = parse_col(row, "routing_key", RoutingKey::parse)?;
                loaded.sources.insert(key, source_from_row(row)?);
            }
            "incident" => loaded.add_incident(row)?,
            _ => loaded.counter = Some(col(row, "value")?),
        }
    }

    // Noise control reads more, for the services that have it: their recent open
    // incidents (which a new key may join), and the incidents with the batch's keys that
    // resolved within the flap window (which a trigger re-opens).
    let Some(first_trigger) = items
        .iter()
        .filter(|i| i.event.is_trigger())
        .map(|i| i.received_at.as_millis())
        .min()
    else {
        return Ok(loaded);
    };
    let mut services: Vec<(ServiceId, Settings)> = loaded
        .sources
        .values()
        .filter(|s| {
            s.settings.group_window_minutes.is_some() || s.settings.flap_window_minutes.is_some()
        })
        .map(|s| (s.service_id, s.settings))
        .collect();
    services.sort_unstable_by_key(|(id, _)| *id);
    services.dedup_by_key(|(id, _)| *id);
    let ids: Vec<String> = services.iter().map(|(id, _)| id.to_string()).collect();
    let mut queries: Vec<(String, Vec<&str>)> = Vec::new();
    for ((_, settings), id) in services.iter().zip(&ids) {
        let since = |minutes: u32| first_trigger - window(minutes).as_millis() as i64;
        if let Some(minutes) = settings.group_window_minutes {
            let sql = select_state("status <> 'resolved' AND service_id = ? AND created_at >= ");
            queries.push((format!("{sql}{}", since(minutes)), vec![id.as_str()]));
        }
        if let Some(minutes) = settings.flap_window_minutes {
            let sql = select_state("status = 'resolved' AND service_id = ? AND resolved_at >= ");
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
        loaded.add_incident(&row)?;
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
