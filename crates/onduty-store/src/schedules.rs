//! On-call schedules (layers as JSON, computed by the core), their overrides, and the
//! secrets of calendar feeds (one per schedule, one per person).

use onduty_core::account::{Name, TimeZoneName};
use onduty_core::escalation::{Steps, Target};
use onduty_core::schedule::{Layer, Override, Schedule, Window};
use onduty_core::{OverrideId, ScheduleId, Timestamp, UserId};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use crate::sql::{col, json_col, opt_id, parse_col, to_json};
use crate::{Store, StoreError};

macro_rules! select_schedules {
    ($suffix:literal) => {
        concat!(
            "SELECT id, name, description, time_zone, team_id, layers FROM schedules ",
            $suffix
        )
    };
}

fn schedule_from_row(row: &AnyRow) -> Result<Schedule, StoreError> {
    Ok(Schedule {
        id: parse_col(row, "id", str::parse)?,
        name: parse_col(row, "name", Name::parse)?,
        description: col(row, "description")?,
        time_zone: TimeZoneName::read(&col::<String>(row, "time_zone")?),
        team_id: opt_id(row, "team_id")?,
        layers: json_col::<Vec<Layer>>(row, "layers")?,
    })
}

fn override_from_row(row: &AnyRow) -> Result<Override, StoreError> {
    Ok(Override {
        id: parse_col(row, "id", str::parse)?,
        user: parse_col(row, "user_id", str::parse)?,
        start: Timestamp::from_millis(col(row, "start_at")?),
        end: Timestamp::from_millis(col(row, "end_at")?),
        created_at: Timestamp::from_millis(col(row, "created_at")?),
        seq: col(row, "seq")?,
    })
}

fn name_taken(e: StoreError, name: &Name) -> StoreError {
    if e.is_unique_violation() {
        StoreError::Conflict(format!("a schedule named '{name}' already exists"))
    } else {
        e
    }
}

/// A secret for a calendar feed URL: 32 random bytes as hex.
fn feed_secret() -> Result<String, StoreError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreError::Config(format!("no randomness for a feed secret: {e}")))?;
    Ok(hex::encode(bytes))
}

/// Parsed schedules by id, with the revision they were read at.
#[derive(Debug, Clone, Default)]
pub(crate) struct Cache(
    std::sync::Arc<std::sync::Mutex<std::collections::HashMap<ScheduleId, (i64, Schedule)>>>,
);

impl Store {
    pub async fn create_schedule(
        &self,
        schedule: &Schedule,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        insert_schedule(&mut *self.write_conn().await?, schedule, now).await
    }

    /// Replaces a schedule's name, description, time zone, team and layers.
    pub async fn update_schedule(
        &self,
        schedule: &Schedule,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        write_schedule(&mut *self.write_conn().await?, schedule, now).await
    }

    /// Deletes a schedule no escalation policy pages.
    pub async fn delete_schedule(&self, id: ScheduleId) -> Result<(), StoreError> {
        delete_schedule_on(&mut *self.write_conn().await?, id).await
    }

    pub async fn schedule(&self, id: ScheduleId) -> Result<Schedule, StoreError> {
        let row = sqlx::query(select_schedules!("WHERE id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref()
            .map(schedule_from_row)
            .transpose()?
            .ok_or_else(|| StoreError::NotFound(format!("schedule {id}")))
    }

    pub async fn schedule_by_name(&self, name: &str) -> Result<Option<Schedule>, StoreError> {
        let row = sqlx::query(select_schedules!("WHERE name = $1"))
            .bind(name.trim().to_owned())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(schedule_from_row).transpose()
    }

    /// Every schedule, by name. Reads ids and revisions, and the rest only of schedules
    /// that are new or changed since this store last read them.
    pub async fn list_schedules(&self) -> Result<Vec<Schedule>, StoreError> {
        let rows = sqlx::query("SELECT id, revision FROM schedules ORDER BY name")
            .fetch_all(&self.read)
            .await?;
        let mut current = Vec::with_capacity(rows.len());
        for row in &rows {
            current.push((
                parse_col::<ScheduleId, _>(row, "id", str::parse)?,
                col::<i64>(row, "revision")?,
            ));
        }
        let stale: Vec<ScheduleId> = {
            let cache = self.schedules.0.lock().expect("not poisoned");
            current
                .iter()
                .filter(|(id, rev)| cache.get(id).is_none_or(|(r, _)| r != rev))
                .map(|(id, _)| *id)
                .collect()
        };
        let mut fresh = Vec::with_capacity(stale.len());
        for chunk in stale.chunks(500) {
            let sql = format!(
                "SELECT id, name, description, time_zone, team_id, layers, revision FROM schedules WHERE id IN {}",
                crate::sql::in_list(self.backend, chunk.len())
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(id.to_string());
            }
            for row in q.fetch_all(&self.read).await? {
                fresh.push((col::<i64>(&row, "revision")?, schedule_from_row(&row)?));
            }
        }
        let mut cache = self.schedules.0.lock().expect("not poisoned");
        for (revision, schedule) in fresh {
            cache.insert(schedule.id, (revision, schedule));
        }
        // Forget deleted schedules.
        let listed: std::collections::HashSet<ScheduleId> =
            current.iter().map(|(id, _)| *id).collect();
        cache.retain(|id, _| listed.contains(id));
        Ok(current
            .iter()
            .filter_map(|(id, _)| cache.get(id).map(|(_, s)| s.clone()))
            .collect())
    }

    /// A schedule's overrides that overlap `window` (all of them with `None`), by start.
    pub async fn overrides(
        &self,
        schedule: ScheduleId,
        window: Option<Window>,
    ) -> Result<Vec<Override>, StoreError> {
        let (from, until) = match window {
            Some(w) => (w.start.as_millis(), w.end.as_millis()),
            None => (i64::MIN, i64::MAX),
        };
        let rows = sqlx::query(
            "SELECT id, user_id, start_at, end_at, created_at, seq FROM schedule_overrides \
             WHERE schedule_id = $1 AND end_at > $2 AND start_at < $3 ORDER BY start_at, id",
        )
        .bind(schedule.to_string())
        .bind(from)
        .bind(until)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(override_from_row).collect()
    }

    /// Every schedule's overrides that overlap `window`, grouped by schedule.
    pub async fn all_overrides(
        &self,
        window: Window,
    ) -> Result<std::collections::HashMap<ScheduleId, Vec<Override>>, StoreError> {
        let rows = sqlx::query(
            "SELECT schedule_id, id, user_id, start_at, end_at, created_at, seq FROM schedule_overrides \
             WHERE end_at > $1 AND start_at < $2 ORDER BY start_at, id",
        )
        .bind(window.start.as_millis())
        .bind(window.end.as_millis())
        .fetch_all(&self.read)
        .await?;
        let mut out: std::collections::HashMap<ScheduleId, Vec<Override>> = Default::default();
        for row in &rows {
            out.entry(parse_col(row, "schedule_id", str::parse)?)
                .or_default()
                .push(override_from_row(row)?);
        }
        Ok(out)
    }

    /// Stores a new override and returns the number the database gave it: higher than
    /// every override's before it, so the override made last wins where they overlap.
    pub async fn add_override(
        &self,
        schedule: ScheduleId,
        o: &Override,
    ) -> Result<i64, StoreError> {
        insert_override(&mut *self.write_conn().await?, schedule, o).await
    }

    /// Changes an override's person or span.
    pub async fn update_override(
        &self,
        schedule: ScheduleId,
        o: &Override,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE schedule_overrides SET user_id = $3, start_at = $4, end_at = $5 WHERE id = $1 AND schedule_id = $2",
        )
        .bind(o.id.to_string())
        .bind(schedule.to_string())
        .bind(o.user.to_string())
        .bind(o.start.as_millis())
        .bind(o.end.as_millis())
        .execute(&mut *self.write_conn().await?)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("override {}", o.id)));
        }
        Ok(())
    }

    pub async fn delete_override(
        &self,
        schedule: ScheduleId,
        id: OverrideId,
    ) -> Result<(), StoreError> {
        delete_override_on(&mut *self.write_conn().await?, schedule, id).await
    }

    /// The secret of a schedule's calendar feed.
    pub async fn schedule_feed_token(&self, id: ScheduleId) -> Result<String, StoreError> {
        let row = sqlx::query("SELECT feed_token FROM schedules WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("schedule {id}")))?;
        col(&row, "feed_token")
    }

    /// A new secret for a schedule's calendar feed; the old URL stops working.
    pub async fn rotate_schedule_feed_token(&self, id: ScheduleId) -> Result<String, StoreError> {
        let token = feed_secret()?;
        let done = sqlx::query("UPDATE schedules SET feed_token = $2 WHERE id = $1")
            .bind(id.to_string())
            .bind(token.clone())
            .execute(&mut *self.write_conn().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("schedule {id}")));
        }
        Ok(token)
    }

    /// The schedule whose feed has this secret.
    pub async fn schedule_by_feed_token(
        &self,
        token: &str,
    ) -> Result<Option<Schedule>, StoreError> {
        let row = sqlx::query(select_schedules!("WHERE feed_token = $1"))
            .bind(token.to_owned())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref().map(schedule_from_row).transpose()
    }

    /// The secret of a person's own calendar feed, made on first use.
    pub async fn user_feed_token(&self, user: UserId) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO user_schedule_settings (user_id, feed_token) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO UPDATE SET feed_token = COALESCE(user_schedule_settings.feed_token, excluded.feed_token)",
        )
        .bind(user.to_string())
        .bind(feed_secret()?)
        .execute(&mut *self.write_conn().await?)
        .await?;
        let row = sqlx::query("SELECT feed_token FROM user_schedule_settings WHERE user_id = $1")
            .bind(user.to_string())
            .fetch_one(&mut *self.write_conn().await?)
            .await?;
        col(&row, "feed_token")
    }

    /// A new secret for a person's calendar feed; the old URL stops working.
    pub async fn rotate_user_feed_token(&self, user: UserId) -> Result<String, StoreError> {
        let token = feed_secret()?;
        sqlx::query(
            "INSERT INTO user_schedule_settings (user_id, feed_token) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO UPDATE SET feed_token = excluded.feed_token",
        )
        .bind(user.to_string())
        .bind(token.clone())
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(token)
    }

    /// The person whose calendar feed has this secret.
    pub async fn user_by_feed_token(&self, token: &str) -> Result<Option<UserId>, StoreError> {
        let row = sqlx::query("SELECT user_id FROM user_schedule_settings WHERE feed_token = $1")
            .bind(token.to_owned())
            .fetch_optional(&self.read)
            .await?;
        row.as_ref()
            .map(|r| parse_col(r, "user_id", str::parse))
            .transpose()
    }
}

/// A handoff notification: a shift in a schedule starts or ends for a person.
#[derive(Debug, Clone)]
pub struct HandoffNotice {
    pub schedule: ScheduleId,
    pub user: UserId,
    pub kind: HandoffKind,
    /// When the shift starts or ends.
    pub at: Timestamp,
    /// Where to tell the person.
    pub methods: Vec<onduty_core::ContactMethodId>,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandoffKind {
    Start,
    End,
}

impl HandoffKind {
    fn as_str(self) -> &'static str {
        match self {
            HandoffKind::Start => "start",
            HandoffKind::End => "end",
        }
    }
}

impl Store {
    /// How many minutes before a shift a person is told (`None`: handoff notifications off).
    pub async fn handoff_notice_minutes(&self, user: UserId) -> Result<Option<u32>, StoreError> {
        let row = sqlx::query(
            "SELECT handoff_notice_minutes FROM user_schedule_settings WHERE user_id = $1",
        )
        .bind(user.to_string())
        .fetch_optional(&self.read)
        .await?;
        Ok(match row {
            Some(r) => col::<Option<i64>>(&r, "handoff_notice_minutes")?
                .and_then(|m| u32::try_from(m).ok()),
            None => None,
        })
    }

    pub async fn set_handoff_notice_minutes(
        &self,
        user: UserId,
        minutes: Option<u32>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO user_schedule_settings (user_id, handoff_notice_minutes) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO UPDATE SET handoff_notice_minutes = excluded.handoff_notice_minutes",
        )
        .bind(user.to_string())
        .bind(minutes.map(i64::from))
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(())
    }

    /// Everyone with handoff notifications on, with their lead time in minutes.
    pub async fn handoff_subscribers(&self) -> Result<Vec<(UserId, u32)>, StoreError> {
        let rows = sqlx::query(
            "SELECT user_id, handoff_notice_minutes FROM user_schedule_settings \
             WHERE handoff_notice_minutes IS NOT NULL ORDER BY user_id",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    parse_col(r, "user_id", str::parse)?,
                    u32::try_from(col::<i64>(r, "handoff_notice_minutes")?).unwrap_or(0),
                ))
            })
            .collect()
    }

    /// Queues each notification not queued before (one outbox message per method), in
    /// one transaction. Returns how many were new.
    pub async fn queue_handoff_notices(
        &self,
        notices: &[HandoffNotice],
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        if notices.is_empty() {
            return Ok(0);
        }
        let d = self.backend;
        let mut conn = self.lane().await?;
        let mut tx = crate::begin(&mut conn, d).await?;
        let mut rows = Vec::new();
        let mut new = 0;
        for n in notices {
            let done = sqlx::query(sqlx::AssertSqlSafe(crate::sql::numbered(
                d,
                "INSERT INTO handoff_notices (schedule_id, user_id, kind, at) VALUES (?, ?, ?, ?) \
                 ON CONFLICT (schedule_id, user_id, kind, at) DO NOTHING",
            )))
            .bind(n.schedule.to_string())
            .bind(n.user.to_string())
            .bind(n.kind.as_str())
            .bind(n.at.as_millis())
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                continue;
            }
            new += 1;
            for m in &n.methods {
                rows.push(crate::effects::message_row(
                    None,
                    n.user,
                    *m,
                    Some(n.text.clone()),
                    now,
                ));
            }
        }
        crate::sql::execute_writes(&mut tx, d, crate::effects::outbox_writes(d, rows)).await?;
        tx.commit().await?;
        Ok(new)
    }
}

/// Adds a schedule (with a new calendar-feed secret), inside the caller's transaction.
pub(crate) async fn insert_schedule(
    conn: &mut AnyConnection,
    schedule: &Schedule,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO schedules (id, name, description, time_zone, team_id, layers, feed_token, revision, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $8)",
    )
    .bind(schedule.id.to_string())
    .bind(schedule.name.as_str().to_owned())
    .bind(schedule.description.clone())
    .bind(schedule.time_zone.as_str().to_owned())
    .bind(schedule.team_id.map(|t| t.to_string()))
    .bind(to_json(&schedule.layers))
    .bind(feed_secret()?)
    .bind(now.as_millis())
    .execute(&mut *conn)
    .await
    .map_err(|e| name_taken(e.into(), &schedule.name))?;
    Ok(())
}

/// Replaces a schedule's name, description, time zone, team and layers; its revision
/// moves on, so every cached copy is read again.
pub(crate) async fn write_schedule(
    conn: &mut AnyConnection,
    schedule: &Schedule,
    now: Timestamp,
) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE schedules SET name = $2, description = $3, time_zone = $4, team_id = $5, layers = $6, updated_at = $7, \
         revision = revision + 1 WHERE id = $1",
    )
    .bind(schedule.id.to_string())
    .bind(schedule.name.as_str().to_owned())
    .bind(schedule.description.clone())
    .bind(schedule.time_zone.as_str().to_owned())
    .bind(schedule.team_id.map(|t| t.to_string()))
    .bind(to_json(&schedule.layers))
    .bind(now.as_millis())
    .execute(&mut *conn)
    .await
    .map_err(|e| name_taken(e.into(), &schedule.name))?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("schedule {}", schedule.id)));
    }
    Ok(())
}

/// Deletes a schedule no escalation policy pages, inside the caller's transaction (so
/// the policies checked are the transaction's).
pub(crate) async fn delete_schedule_on(
    conn: &mut AnyConnection,
    id: ScheduleId,
) -> Result<(), StoreError> {
    let rows = sqlx::query("SELECT name, steps FROM escalation_policies ORDER BY name")
        .fetch_all(&mut *conn)
        .await?;
    for row in &rows {
        let steps: Steps = json_col(row, "steps")?;
        let pages_it = steps
            .levels()
            .iter()
            .any(|l| l.targets.contains(&Target::Schedule(id)));
        if pages_it {
            return Err(StoreError::Conflict(format!(
                "escalation policy '{}' pages this schedule; change it first",
                col::<String>(row, "name")?
            )));
        }
    }
    let done = sqlx::query("DELETE FROM schedules WHERE id = $1")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("schedule {id}")));
    }
    Ok(())
}

/// Stores a new override and returns the number the database gave it.
pub(crate) async fn insert_override(
    conn: &mut AnyConnection,
    schedule: ScheduleId,
    o: &Override,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO schedule_overrides (id, schedule_id, user_id, start_at, end_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING seq",
    )
    .bind(o.id.to_string())
    .bind(schedule.to_string())
    .bind(o.user.to_string())
    .bind(o.start.as_millis())
    .bind(o.end.as_millis())
    .bind(o.created_at.as_millis())
    .fetch_one(&mut *conn)
    .await?;
    col(&row, "seq")
}

pub(crate) async fn delete_override_on(
    conn: &mut AnyConnection,
    schedule: ScheduleId,
    id: OverrideId,
) -> Result<(), StoreError> {
    let done = sqlx::query("DELETE FROM schedule_overrides WHERE id = $1 AND schedule_id = $2")
        .bind(id.to_string())
        .bind(schedule.to_string())
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound(format!("override {id}")));
    }
    Ok(())
}
