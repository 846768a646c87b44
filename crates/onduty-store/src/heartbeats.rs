//! Heartbeats: each owns an integration (its key is in the ping URL) and remembers its
//! last ping and when it is next overdue.

use onduty_core::account::Name;
use onduty_core::heartbeat::{Expect, Ping, PingBody};
use onduty_core::service::{IntegrationKind, IntegrationSettings};
use onduty_core::{HeartbeatId, IntegrationId, RoutingKey, ServiceId, Timestamp};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::sql::{col, json_col, parse_col, to_json};
use crate::{Backend, Store, StoreError, begin};

/// How a heartbeat stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeartbeatState {
    /// Never pinged, and not yet overdue.
    New,
    Up,
    /// Overdue, and reported.
    Late,
    /// Its last finish was a failure, reported.
    Failing,
}

impl HeartbeatState {
    pub fn as_str(self) -> &'static str {
        match self {
            HeartbeatState::New => "new",
            HeartbeatState::Up => "up",
            HeartbeatState::Late => "late",
            HeartbeatState::Failing => "failing",
        }
    }

    fn parse(text: &str) -> Result<Self, String> {
        Ok(match text {
            "new" => HeartbeatState::New,
            "up" => HeartbeatState::Up,
            "late" => HeartbeatState::Late,
            "failing" => HeartbeatState::Failing,
            other => return Err(format!("unknown heartbeat state '{other}'")),
        })
    }

    /// Whether an incident is open for it.
    pub fn is_down(self) -> bool {
        matches!(self, HeartbeatState::Late | HeartbeatState::Failing)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Heartbeat {
    pub id: HeartbeatId,
    pub integration_id: IntegrationId,
    pub service_id: ServiceId,
    pub routing_key: RoutingKey,
    pub name: String,
    pub expect: Expect,
    pub created_at: Timestamp,
    pub last_ping_at: Option<Timestamp>,
    pub last_ping: Option<String>,
    pub last_body: Option<String>,
    pub last_success_at: Option<Timestamp>,
    pub state: HeartbeatState,
    pub due_at: Option<Timestamp>,
}

const SELECT: &str = "SELECT h.id, h.integration_id, i.service_id, i.routing_key, h.name, h.expect, \
     h.created_at, h.last_ping_at, h.last_ping, h.last_body, h.last_success_at, h.state, h.due_at \
     FROM heartbeats h JOIN integrations i ON i.id = h.integration_id";

fn opt_time(row: &AnyRow, name: &str) -> Result<Option<Timestamp>, StoreError> {
    Ok(col::<Option<i64>>(row, name)?.map(Timestamp::from_millis))
}

fn heartbeat_from_row(row: &AnyRow) -> Result<Heartbeat, StoreError> {
    Ok(Heartbeat {
        id: parse_col(row, "id", str::parse)?,
        integration_id: parse_col(row, "integration_id", str::parse)?,
        service_id: parse_col(row, "service_id", str::parse)?,
        routing_key: parse_col(row, "routing_key", RoutingKey::parse)?,
        name: col(row, "name")?,
        expect: json_col(row, "expect")?,
        created_at: Timestamp::from_millis(col(row, "created_at")?),
        last_ping_at: opt_time(row, "last_ping_at")?,
        last_ping: col(row, "last_ping")?,
        last_body: col(row, "last_body")?,
        last_success_at: opt_time(row, "last_success_at")?,
        state: parse_col(row, "state", HeartbeatState::parse)?,
        due_at: opt_time(row, "due_at")?,
    })
}

/// What a ping changed, for the caller to report.
#[derive(Debug, Clone, PartialEq)]
pub struct Pinged {
    pub heartbeat: Heartbeat,
    /// How it stood before the ping.
    pub was: HeartbeatState,
}

/// A heartbeat to make, with the integration its pings arrive through.
#[derive(Debug, Clone)]
pub struct NewHeartbeat {
    pub id: HeartbeatId,
    pub integration: IntegrationId,
    pub service: ServiceId,
    pub name: Name,
    pub expect: Expect,
    pub routing_key: RoutingKey,
}

/// Makes a heartbeat and its integration, inside the caller's transaction; it is first
/// due one period (or cron time) from `now`.
pub(crate) async fn insert_heartbeat(
    conn: &mut AnyConnection,
    new: &NewHeartbeat,
    now: Timestamp,
) -> Result<(), StoreError> {
    let inserted = sqlx::query(
        "INSERT INTO integrations (id, service_id, name, kind, settings, routing_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new.integration.to_string())
    .bind(new.service.to_string())
    .bind(new.name.as_str().to_owned())
    .bind(IntegrationKind::Heartbeat.as_str())
    .bind(to_json(&IntegrationSettings::default()))
    .bind(new.routing_key.as_str().to_owned())
    .bind(now.as_millis())
    .execute(&mut *conn)
    .await
    .map_err(StoreError::from);
    if let Err(e) = inserted {
        return Err(if e.is_unique_violation() {
            StoreError::Conflict("that key is already in use".to_owned())
        } else {
            e
        });
    }
    sqlx::query(
        "INSERT INTO heartbeats (id, integration_id, name, expect, created_at, state, due_at) \
         VALUES ($1, $2, $3, $4, $5, 'new', $6)",
    )
    .bind(new.id.to_string())
    .bind(new.integration.to_string())
    .bind(new.name.as_str().to_owned())
    .bind(to_json(&new.expect))
    .bind(now.as_millis())
    .bind(new.expect.due_after(now).map(|d| d.as_millis()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Changes what a heartbeat expects and its key. A heartbeat not down is next due as
/// the new expectation says from `now`; a late or failing one stays so until it pings.
pub(crate) async fn write_heartbeat(
    conn: &mut AnyConnection,
    heartbeat: &Heartbeat,
    now: Timestamp,
) -> Result<(), StoreError> {
    let due = (!heartbeat.state.is_down())
        .then(|| heartbeat.expect.due_after(now))
        .flatten();
    let done = sqlx::query(
        "UPDATE heartbeats SET expect = $2, due_at = CASE WHEN state IN ('late', 'failing') \
         THEN due_at ELSE $3 END WHERE id = $1",
    )
    .bind(heartbeat.id.to_string())
    .bind(to_json(&heartbeat.expect))
    .bind(due.map(|d| d.as_millis()))
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("heartbeat {}", heartbeat.id)));
    }
    let keyed = sqlx::query("UPDATE integrations SET routing_key = $2 WHERE id = $1")
        .bind(heartbeat.integration_id.to_string())
        .bind(heartbeat.routing_key.as_str().to_owned())
        .execute(&mut *conn)
        .await
        .map_err(StoreError::from);
    match keyed {
        Err(e) if e.is_unique_violation() => Err(StoreError::Conflict(
            "that key is already in use".to_owned(),
        )),
        Err(e) => Err(e),
        Ok(_) => Ok(()),
    }
}

/// The first 10 KB of a ping's body, cut at a character boundary.
impl Store {
    /// Makes a heartbeat on a service, with the integration its pings arrive through.
    pub async fn create_heartbeat(
        &self,
        service: ServiceId,
        name: Name,
        expect: Expect,
        routing_key: RoutingKey,
        now: Timestamp,
    ) -> Result<Heartbeat, StoreError> {
        self.service(service).await?;
        let id = HeartbeatId::new(now);
        let new = NewHeartbeat {
            id,
            integration: IntegrationId::new(now),
            service,
            name,
            expect,
            routing_key,
        };
        let mut conn = self.write_conn().await?;
        let mut tx = begin(&mut conn, self.backend).await?;
        insert_heartbeat(&mut tx, &new, now).await?;
        tx.commit().await?;
        drop(conn);
        self.heartbeat(id).await
    }

    pub async fn heartbeat(&self, id: HeartbeatId) -> Result<Heartbeat, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} WHERE h.id = $1")))
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("heartbeat {id}")))?;
        heartbeat_from_row(&row)
    }

    pub async fn heartbeat_by_key(
        &self,
        key: &RoutingKey,
    ) -> Result<Option<Heartbeat>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE i.routing_key = $1"
        )))
        .bind(key.as_str().to_owned())
        .fetch_optional(&self.read)
        .await?;
        row.as_ref().map(heartbeat_from_row).transpose()
    }

    /// All heartbeats, or a service's, by name.
    pub async fn list_heartbeats(
        &self,
        service: Option<ServiceId>,
    ) -> Result<Vec<Heartbeat>, StoreError> {
        let rows = match service {
            Some(s) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{SELECT} WHERE i.service_id = $1 ORDER BY h.name"
                )))
                .bind(s.to_string())
                .fetch_all(&self.read)
                .await?
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT} ORDER BY h.name")))
                    .fetch_all(&self.read)
                    .await?
            }
        };
        rows.iter().map(heartbeat_from_row).collect()
    }

    /// Records a ping at `now`: a success or a finish moves the deadline on; a failure
    /// makes the heartbeat failing; a start only records itself.
    pub async fn record_ping(
        &self,
        id: HeartbeatId,
        ping: Ping,
        body: &PingBody,
        now: Timestamp,
    ) -> Result<Pinged, StoreError> {
        // Read and write in one transaction (the row locked on PostgreSQL), so that two
        // pings at once, even on two instances, each see the other's effect.
        let d = self.backend;
        let mut conn = self.lane().await?;
        let mut tx = begin(&mut conn, d).await?;
        let lock = match d {
            Backend::Postgres => " FOR UPDATE OF h",
            Backend::Sqlite => "",
        };
        let read = format!("{SELECT} WHERE h.id = $1{lock}");
        let row = sqlx::query(sqlx::AssertSqlSafe(read.clone()))
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("heartbeat {id}")))?;
        let before = heartbeat_from_row(&row)?;
        let (state, success_at, due) = match ping {
            Ping::Start => (before.state, before.last_success_at, before.due_at),
            Ping::Success | Ping::Exit(0) => {
                (HeartbeatState::Up, Some(now), before.expect.due_after(now))
            }
            Ping::Fail | Ping::Exit(_) => (
                HeartbeatState::Failing,
                before.last_success_at,
                // The failure is reported; if the job then goes quiet, that is reported
                // too (into the same open incident, or a new one if it was resolved).
                before.expect.due_after(now),
            ),
        };
        sqlx::query(
            "UPDATE heartbeats SET last_ping_at = $2, last_ping = $3, last_body = $4, \
             last_success_at = $5, state = $6, due_at = $7 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(now.as_millis())
        .bind(ping.as_str())
        .bind(body.as_str().to_owned())
        .bind(success_at.map(|t| t.as_millis()))
        .bind(state.as_str())
        .bind(due.map(|d| d.as_millis()))
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(read))
            .bind(id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        let heartbeat = heartbeat_from_row(&row)?;
        tx.commit().await?;
        Ok(Pinged {
            heartbeat,
            was: before.state,
        })
    }

    /// Heartbeats overdue at `now` (not yet reported).
    pub async fn overdue_heartbeats(&self, now: Timestamp) -> Result<Vec<Heartbeat>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT} WHERE h.due_at IS NOT NULL AND h.due_at <= $1 ORDER BY h.due_at LIMIT 100"
        )))
        .bind(now.as_millis())
        .fetch_all(&self.read)
        .await?;
        let d = self.backend;
        // One that cannot be read is no longer watched (the log says which).
        self.read_or_set_aside(&rows, "heartbeat", heartbeat_from_row, |row, _| {
            let id: String = col(row, "id")?;
            Ok(vec![crate::sql::write(
                d,
                "UPDATE heartbeats SET due_at = NULL WHERE id = ?",
                vec![crate::sql::Val::Text(id)],
            )])
        })
        .await
    }

    /// Marks a heartbeat late (reported) if it is still due at `was_due` — a ping may
    /// have come in meanwhile; says whether it did. It waits for a ping now.
    pub async fn mark_heartbeat_late(
        &self,
        id: HeartbeatId,
        was_due: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE heartbeats SET state = 'late', due_at = NULL WHERE id = $1 AND due_at = $2",
        )
        .bind(id.to_string())
        .bind(was_due.as_millis())
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Moves a heartbeat's deadline from `was_due` to `until` (its service is in
    /// maintenance: look again later), unless a ping moved it meanwhile.
    pub async fn postpone_heartbeat(
        &self,
        id: HeartbeatId,
        was_due: Timestamp,
        until: Timestamp,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE heartbeats SET due_at = $3 WHERE id = $1 AND due_at = $2")
            .bind(id.to_string())
            .bind(was_due.as_millis())
            .bind(until.as_millis())
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }

    /// When the next heartbeat falls due.
    pub async fn next_heartbeat_deadline(&self) -> Result<Option<Timestamp>, StoreError> {
        let row = sqlx::query("SELECT MIN(due_at) AS next FROM heartbeats")
            .fetch_one(&self.read)
            .await?;
        Ok(col::<Option<i64>>(&row, "next")?.map(Timestamp::from_millis))
    }
}
