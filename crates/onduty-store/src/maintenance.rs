//! Maintenance windows: services that open no incident and page nobody between a start
//! and an end, with a reminder to their creator shortly before the end.

use std::collections::HashMap;
use std::time::Duration;

use onduty_core::{ContactMethodId, MaintenanceId, ServiceId, Timestamp, UserId};
use sqlx::any::AnyRow;

use crate::sql::{col, opt_id, parse_col};
use crate::{Store, StoreError, begin};

/// How long before its end a window's creator is reminded.
pub const REMINDER_LEAD: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaintenanceWindow {
    pub id: MaintenanceId,
    pub services: Vec<ServiceId>,
    pub start: Timestamp,
    pub end: Timestamp,
    pub reason: String,
    pub created_by: Option<UserId>,
    pub created_at: Timestamp,
    pub remind_at: Option<Timestamp>,
}

/// A reminder to a window's creator that it ends soon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reminder {
    pub window: MaintenanceId,
    pub user: UserId,
    /// The contact methods of their immediate rules; none: nobody to tell.
    pub methods: Vec<ContactMethodId>,
    pub text: String,
}

impl MaintenanceWindow {
    pub fn is_on(&self, now: Timestamp) -> bool {
        self.start <= now && now < self.end
    }
}

fn window_from_row(row: &AnyRow) -> Result<MaintenanceWindow, StoreError> {
    Ok(MaintenanceWindow {
        id: parse_col(row, "id", str::parse)?,
        services: Vec::new(),
        start: Timestamp::from_millis(col(row, "start_at")?),
        end: Timestamp::from_millis(col(row, "end_at")?),
        reason: col(row, "reason")?,
        created_by: opt_id(row, "created_by")?,
        created_at: Timestamp::from_millis(col(row, "created_at")?),
        remind_at: col::<Option<i64>>(row, "remind_at")?.map(Timestamp::from_millis),
    })
}

const COLUMNS: &str = "SELECT id, start_at, end_at, reason, created_by, created_at, remind_at \
     FROM maintenance_windows";

/// When to remind: the lead before the end, but not before the start.
pub fn remind_at(start: Timestamp, end: Timestamp) -> Timestamp {
    Timestamp::from_millis(end.as_millis() - REMINDER_LEAD.as_millis() as i64).max(start)
}

impl Store {
    /// Puts `services` in maintenance from `start` to `end`.
    pub async fn create_maintenance(
        &self,
        services: &[ServiceId],
        start: Timestamp,
        end: Timestamp,
        reason: &str,
        created_by: Option<UserId>,
        now: Timestamp,
    ) -> Result<MaintenanceWindow, StoreError> {
        if services.is_empty() {
            return Err(StoreError::Invalid("name at least one service".to_owned()));
        }
        if end <= start || end <= now {
            return Err(StoreError::Invalid(
                "a maintenance window ends after it starts, and in the future".to_owned(),
            ));
        }
        for s in services {
            self.service(*s).await?;
        }
        let window = MaintenanceWindow {
            id: MaintenanceId::new(now),
            services: services.to_vec(),
            start,
            end,
            reason: reason.to_owned(),
            created_by,
            created_at: now,
            remind_at: created_by.map(|_| remind_at(start, end)),
        };
        let mut conn = self.write_conn().await?;
        let mut tx = begin(&mut conn, self.backend).await?;
        insert_window(&mut tx, &window).await?;
        tx.commit().await?;
        drop(conn);
        self.maintenance(window.id).await
    }

    pub async fn maintenance(&self, id: MaintenanceId) -> Result<MaintenanceWindow, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE id = $1")))
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("maintenance window {id}")))?;
        let mut window = window_from_row(&row)?;
        window.services = self.window_services(id).await?;
        Ok(window)
    }

    /// Windows from their rows, each with its services.
    async fn with_services(&self, rows: &[AnyRow]) -> Result<Vec<MaintenanceWindow>, StoreError> {
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let mut w = window_from_row(row)?;
            w.services = self.window_services(w.id).await?;
            out.push(w);
        }
        Ok(out)
    }

    async fn window_services(&self, id: MaintenanceId) -> Result<Vec<ServiceId>, StoreError> {
        let rows = sqlx::query(
            "SELECT service_id FROM maintenance_services WHERE window_id = $1 ORDER BY service_id",
        )
        .bind(id.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| parse_col(r, "service_id", str::parse))
            .collect()
    }

    /// Windows not yet over at `now` (on, or to come), soonest first; a service's only if
    /// `service` is given.
    pub async fn list_maintenance(
        &self,
        service: Option<ServiceId>,
        now: Timestamp,
    ) -> Result<Vec<MaintenanceWindow>, StoreError> {
        let rows = match service {
            Some(s) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{COLUMNS} WHERE end_at > $1 AND id IN \
                     (SELECT window_id FROM maintenance_services WHERE service_id = $2) ORDER BY start_at"
                )))
                .bind(now.as_millis())
                .bind(s.to_string())
                .fetch_all(&self.read)
                .await?
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "{COLUMNS} WHERE end_at > $1 ORDER BY start_at"
                )))
                .bind(now.as_millis())
                .fetch_all(&self.read)
                .await?
            }
        };
        self.with_services(&rows).await
    }

    /// Ends a window at `now` (one still to come is cancelled). Ending one already over
    /// changes nothing.
    pub async fn end_maintenance(
        &self,
        id: MaintenanceId,
        now: Timestamp,
    ) -> Result<MaintenanceWindow, StoreError> {
        end_window_on(&mut *self.write_conn().await?, id, now).await?;
        self.maintenance(id).await
    }

    /// Moves a window's end to `end` (later or earlier, but after `now`), with a new
    /// reminder before it.
    pub async fn extend_maintenance(
        &self,
        id: MaintenanceId,
        end: Timestamp,
        now: Timestamp,
    ) -> Result<MaintenanceWindow, StoreError> {
        let window = self.maintenance(id).await?;
        if end <= now || end <= window.start {
            return Err(StoreError::Invalid(
                "a maintenance window ends after it starts, and in the future".to_owned(),
            ));
        }
        let remind = window
            .created_by
            .map(|_| remind_at(window.start, end).max(now));
        sqlx::query("UPDATE maintenance_windows SET end_at = $2, remind_at = $3 WHERE id = $1")
            .bind(id.to_string())
            .bind(end.as_millis())
            .bind(remind.map(|t| t.as_millis()))
            .execute(&mut *self.write_conn().await?)
            .await?;
        self.maintenance(id).await
    }

    /// Windows whose creator is due a reminder at `now`.
    pub async fn due_maintenance_reminders(
        &self,
        now: Timestamp,
    ) -> Result<Vec<MaintenanceWindow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{COLUMNS} WHERE remind_at IS NOT NULL AND remind_at <= $1 ORDER BY remind_at LIMIT 100"
        )))
        .bind(now.as_millis())
        .fetch_all(&self.read)
        .await?;
        self.with_services(&rows).await
    }

    /// Queues each window's reminder to its creator through its methods (none: nobody to
    /// tell) and marks it sent, all in one transaction; a window already reminded (by
    /// another engine) is left alone.
    pub async fn queue_maintenance_reminders(
        &self,
        reminders: &[Reminder],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let notices = reminders
            .iter()
            .map(|r| crate::notices::OnceNotice {
                mark: "UPDATE maintenance_windows SET remind_at = NULL \
                       WHERE id = ? AND remind_at IS NOT NULL",
                mark_values: vec![crate::sql::Val::Text(r.window.to_string())],
                to: vec![(r.user, r.methods.as_slice())],
                text: &r.text,
            })
            .collect();
        self.queue_notices_once(notices, now).await
    }

    /// When the next maintenance reminder is due.
    pub async fn next_maintenance_deadline(&self) -> Result<Option<Timestamp>, StoreError> {
        let row = sqlx::query("SELECT MIN(remind_at) AS next FROM maintenance_windows")
            .fetch_one(&self.read)
            .await?;
        Ok(col::<Option<i64>>(&row, "next")?.map(Timestamp::from_millis))
    }
}

/// The maintenance windows touching `[from, to]`, per service, read inside a transaction:
/// each event of a batch is checked against its own time.
pub(crate) async fn quiet_spans(
    conn: &mut sqlx::AnyConnection,
    from: Timestamp,
    to: Timestamp,
) -> Result<HashMap<ServiceId, Vec<(Timestamp, Timestamp)>>, StoreError> {
    let rows = sqlx::query(
        "SELECT ms.service_id, mw.start_at, mw.end_at FROM maintenance_services ms \
         JOIN maintenance_windows mw ON mw.id = ms.window_id \
         WHERE mw.start_at <= $2 AND mw.end_at > $1",
    )
    .bind(from.as_millis())
    .bind(to.as_millis())
    .fetch_all(&mut *conn)
    .await?;
    let mut spans: HashMap<ServiceId, Vec<(Timestamp, Timestamp)>> = HashMap::new();
    for r in &rows {
        spans
            .entry(parse_col(r, "service_id", str::parse)?)
            .or_default()
            .push((
                Timestamp::from_millis(col(r, "start_at")?),
                Timestamp::from_millis(col(r, "end_at")?),
            ));
    }
    Ok(spans)
}

/// Stores a window and its services (each once), inside the caller's transaction.
pub(crate) async fn insert_window(
    conn: &mut sqlx::AnyConnection,
    window: &MaintenanceWindow,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO maintenance_windows (id, start_at, end_at, reason, created_by, created_at, remind_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(window.id.to_string())
    .bind(window.start.as_millis())
    .bind(window.end.as_millis())
    .bind(window.reason.clone())
    .bind(window.created_by.map(|u| u.to_string()))
    .bind(window.created_at.as_millis())
    .bind(window.remind_at.map(|t| t.as_millis()))
    .execute(&mut *conn)
    .await?;
    let mut unique: Vec<ServiceId> = window.services.clone();
    unique.sort();
    unique.dedup();
    for s in &unique {
        sqlx::query("INSERT INTO maintenance_services (window_id, service_id) VALUES ($1, $2)")
            .bind(window.id.to_string())
            .bind(s.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Ends a window at `now` (one still to come is cancelled; one already over stays as it
/// was), inside the caller's transaction.
pub(crate) async fn end_window_on(
    conn: &mut sqlx::AnyConnection,
    id: MaintenanceId,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE maintenance_windows SET end_at = $2, start_at = CASE WHEN start_at > $2 THEN $2 ELSE start_at END, \
         remind_at = NULL WHERE id = $1 AND end_at > $2",
    )
    .bind(id.to_string())
    .bind(now.as_millis())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
