//! Postmortems, the incidents they are about, and their action items.

use onduty_core::postmortem::{PostmortemStatus, TimelineLine};
use onduty_core::{ActionItemId, IncidentId, PostmortemId, Timestamp, UserId};
use sqlx::any::AnyRow;

use crate::sql::{col, in_list, json_col, opt_id, parse_col, to_json};
use crate::{Store, StoreError, begin};

/// A postmortem as kept.
#[derive(Debug, Clone, PartialEq)]
pub struct Postmortem {
    pub id: PostmortemId,
    pub title: String,
    pub status: PostmortemStatus,
    pub owner: Option<UserId>,
    pub summary: String,
    pub contributing_factors: String,
    pub went_well: String,
    pub went_badly: String,
    pub timeline: Vec<TimelineLine>,
    pub provisional_due: Timestamp,
    pub final_due: Timestamp,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub published_at: Option<Timestamp>,
    pub version: i64,
    /// The incidents it is about, oldest first.
    pub incidents: Vec<IncidentId>,
    pub actions: Vec<ActionItem>,
}

/// Something to do so that it does not happen again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionItem {
    pub id: ActionItemId,
    pub text: String,
    pub owner: Option<UserId>,
    pub due_at: Option<Timestamp>,
    /// An issue in a tracker.
    pub link: Option<String>,
    pub done_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

/// A postmortem to start.
#[derive(Debug, Clone)]
pub struct NewPostmortem {
    pub title: String,
    pub owner: Option<UserId>,
    pub incidents: Vec<IncidentId>,
    pub timeline: Vec<TimelineLine>,
    pub provisional_due: Timestamp,
    pub final_due: Timestamp,
}

/// What a postmortem says: every field a person edits, at once.
#[derive(Debug, Clone)]
pub struct PostmortemText {
    pub title: String,
    pub owner: Option<UserId>,
    pub summary: String,
    pub contributing_factors: String,
    pub went_well: String,
    pub went_badly: String,
    pub timeline: Vec<TimelineLine>,
}

/// An action item's fields.
#[derive(Debug, Clone)]
pub struct ActionText {
    pub text: String,
    pub owner: Option<UserId>,
    pub due_at: Option<Timestamp>,
    pub link: Option<String>,
    pub done: bool,
}

/// Pages that reached one person by one channel, for some incidents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PagesTo {
    pub person: String,
    /// `sms`, `voice`, `email`, …
    pub channel: String,
    pub pages: i64,
}

/// A high-urgency incident resolved after the engine's mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedHigh {
    pub incident: IncidentId,
    pub resolved_at: Timestamp,
}

const COLUMNS: &str = "SELECT id, title, status, owner_id, summary, contributing_factors, \
     went_well, went_badly, timeline, provisional_due, final_due, created_at, updated_at, \
     published_at, version FROM postmortems";

fn postmortem_from_row(row: &AnyRow) -> Result<Postmortem, StoreError> {
    let published_at: Option<i64> = col(row, "published_at")?;
    Ok(Postmortem {
        id: parse_col(row, "id", str::parse)?,
        title: col(row, "title")?,
        status: parse_col(row, "status", PostmortemStatus::parse)?,
        owner: opt_id(row, "owner_id")?,
        summary: col(row, "summary")?,
        contributing_factors: col(row, "contributing_factors")?,
        went_well: col(row, "went_well")?,
        went_badly: col(row, "went_badly")?,
        timeline: json_col(row, "timeline")?,
        provisional_due: Timestamp::from_millis(col(row, "provisional_due")?),
        final_due: Timestamp::from_millis(col(row, "final_due")?),
        created_at: Timestamp::from_millis(col(row, "created_at")?),
        updated_at: Timestamp::from_millis(col(row, "updated_at")?),
        published_at: published_at.map(Timestamp::from_millis),
        version: col(row, "version")?,
        incidents: Vec::new(),
        actions: Vec::new(),
    })
}

fn action_from_row(row: &AnyRow) -> Result<ActionItem, StoreError> {
    let due_at: Option<i64> = col(row, "due_at")?;
    let done_at: Option<i64> = col(row, "done_at")?;
    Ok(ActionItem {
        id: parse_col(row, "id", str::parse)?,
        text: col(row, "text")?,
        owner: opt_id(row, "owner_id")?,
        due_at: due_at.map(Timestamp::from_millis),
        link: col(row, "link")?,
        done_at: done_at.map(Timestamp::from_millis),
        created_at: Timestamp::from_millis(col(row, "created_at")?),
    })
}

fn stale(id: PostmortemId) -> StoreError {
    StoreError::Conflict(format!(
        "postmortem {id} was changed meanwhile: read it again"
    ))
}

impl Store {
    /// Starts a postmortem of `incidents`; one already in a postmortem is refused.
    pub async fn create_postmortem(
        &self,
        new: &NewPostmortem,
        now: Timestamp,
    ) -> Result<Postmortem, StoreError> {
        let id = PostmortemId::new(now);
        let mut conn = self.write_conn().await?;
        let mut tx = begin(&mut conn, self.backend).await?;
        sqlx::query(
            "INSERT INTO postmortems (id, title, status, owner_id, summary, contributing_factors, \
             went_well, went_badly, timeline, provisional_due, final_due, created_at, updated_at, \
             published_at, version) \
             VALUES ($1, $2, 'draft', $3, '', '', '', '', $4, $5, $6, $7, $7, NULL, 1)",
        )
        .bind(id.to_string())
        .bind(new.title.clone())
        .bind(new.owner.map(|u| u.to_string()))
        .bind(to_json(&new.timeline))
        .bind(new.provisional_due.as_millis())
        .bind(new.final_due.as_millis())
        .bind(now.as_millis())
        .execute(&mut *tx)
        .await?;
        for incident in &new.incidents {
            let added = sqlx::query(
                "INSERT INTO postmortem_incidents (postmortem_id, incident_id) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(id.to_string())
            .bind(incident.to_string())
            .execute(&mut *tx)
            .await?;
            if added.rows_affected() == 0 {
                return Err(StoreError::Conflict(format!(
                    "incident {incident} has a postmortem already"
                )));
            }
        }
        tx.commit().await?;
        drop(conn);
        self.postmortem(id).await
    }

    pub async fn postmortem(&self, id: PostmortemId) -> Result<Postmortem, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE id = $1")))
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("postmortem {id}")))?;
        let mut found = postmortem_from_row(&row)?;
        let incidents = sqlx::query(
            "SELECT p.incident_id FROM postmortem_incidents p \
             JOIN incidents i ON i.id = p.incident_id \
             WHERE p.postmortem_id = $1 ORDER BY i.number",
        )
        .bind(id.to_string())
        .fetch_all(&self.read)
        .await?;
        found.incidents = incidents
            .iter()
            .map(|r| parse_col(r, "incident_id", str::parse))
            .collect::<Result<_, _>>()?;
        let actions = sqlx::query(
            "SELECT id, text, owner_id, due_at, link, done_at, created_at \
             FROM postmortem_actions WHERE postmortem_id = $1 ORDER BY created_at, id",
        )
        .bind(id.to_string())
        .fetch_all(&self.read)
        .await?;
        found.actions = actions
            .iter()
            .map(action_from_row)
            .collect::<Result<_, _>>()?;
        Ok(found)
    }

    /// The postmortem an incident is in, if any.
    pub async fn postmortem_of(
        &self,
        incident: IncidentId,
    ) -> Result<Option<PostmortemId>, StoreError> {
        let found: Option<String> = sqlx::query_scalar(
            "SELECT postmortem_id FROM postmortem_incidents WHERE incident_id = $1",
        )
        .bind(incident.to_string())
        .fetch_optional(&self.read)
        .await?;
        found
            .map(|id| id.parse().map_err(StoreError::corrupt))
            .transpose()
    }

    /// Postmortems, newest first (without their incidents and action items).
    pub async fn list_postmortems(&self, limit: u32) -> Result<Vec<Postmortem>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{COLUMNS} ORDER BY created_at DESC, id DESC LIMIT $1"
        )))
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(postmortem_from_row).collect()
    }

    /// Writes what a postmortem says, if it is still at version `expected` and may be
    /// edited (not published).
    pub async fn update_postmortem(
        &self,
        id: PostmortemId,
        text: &PostmortemText,
        expected: i64,
        now: Timestamp,
    ) -> Result<Postmortem, StoreError> {
        let mut conn = self.write_conn().await?;
        let changed = sqlx::query(
            "UPDATE postmortems SET title = $3, owner_id = $4, summary = $5, \
             contributing_factors = $6, went_well = $7, went_badly = $8, timeline = $9, \
             updated_at = $10, version = version + 1 \
             WHERE id = $1 AND version = $2 AND status <> 'published'",
        )
        .bind(id.to_string())
        .bind(expected)
        .bind(text.title.clone())
        .bind(text.owner.map(|u| u.to_string()))
        .bind(text.summary.clone())
        .bind(text.contributing_factors.clone())
        .bind(text.went_well.clone())
        .bind(text.went_badly.clone())
        .bind(to_json(&text.timeline))
        .bind(now.as_millis())
        .execute(&mut *conn)
        .await?;
        drop(conn);
        if changed.rows_affected() == 0 {
            return Err(stale(id));
        }
        self.postmortem(id).await
    }

    /// Moves a postmortem to `status` if it is still at version `expected` (the use case
    /// checked the move from the status it read).
    pub async fn set_postmortem_status(
        &self,
        id: PostmortemId,
        status: PostmortemStatus,
        expected: i64,
        now: Timestamp,
    ) -> Result<Postmortem, StoreError> {
        let mut conn = self.write_conn().await?;
        let published = (status == PostmortemStatus::Published).then_some(now.as_millis());
        let changed = sqlx::query(
            "UPDATE postmortems SET status = $3, published_at = COALESCE(published_at, $4), \
             updated_at = $5, version = version + 1 WHERE id = $1 AND version = $2",
        )
        .bind(id.to_string())
        .bind(expected)
        .bind(status.as_str())
        .bind(published)
        .bind(now.as_millis())
        .execute(&mut *conn)
        .await?;
        drop(conn);
        if changed.rows_affected() == 0 {
            return Err(stale(id));
        }
        self.postmortem(id).await
    }

    pub async fn add_action_item(
        &self,
        postmortem: PostmortemId,
        item: &ActionText,
        now: Timestamp,
    ) -> Result<ActionItem, StoreError> {
        let id = ActionItemId::new(now);
        let mut conn = self.write_conn().await?;
        sqlx::query(
            "INSERT INTO postmortem_actions (id, postmortem_id, text, owner_id, due_at, link, \
             done_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id.to_string())
        .bind(postmortem.to_string())
        .bind(item.text.clone())
        .bind(item.owner.map(|u| u.to_string()))
        .bind(item.due_at.map(Timestamp::as_millis))
        .bind(item.link.clone())
        .bind(item.done.then_some(now.as_millis()))
        .bind(now.as_millis())
        .execute(&mut *conn)
        .await?;
        drop(conn);
        self.action_item(postmortem, id).await
    }

    /// Changes an action item; marking it done keeps when it first was.
    pub async fn update_action_item(
        &self,
        postmortem: PostmortemId,
        id: ActionItemId,
        item: &ActionText,
        now: Timestamp,
    ) -> Result<ActionItem, StoreError> {
        let mut conn = self.write_conn().await?;
        let changed = sqlx::query(
            "UPDATE postmortem_actions SET text = $3, owner_id = $4, due_at = $5, link = $6, \
             done_at = CASE WHEN $7 = 1 THEN COALESCE(done_at, $8) ELSE NULL END \
             WHERE id = $1 AND postmortem_id = $2",
        )
        .bind(id.to_string())
        .bind(postmortem.to_string())
        .bind(item.text.clone())
        .bind(item.owner.map(|u| u.to_string()))
        .bind(item.due_at.map(Timestamp::as_millis))
        .bind(item.link.clone())
        .bind(i64::from(item.done))
        .bind(now.as_millis())
        .execute(&mut *conn)
        .await?;
        drop(conn);
        if changed.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("action item {id}")));
        }
        self.action_item(postmortem, id).await
    }

    pub async fn delete_action_item(
        &self,
        postmortem: PostmortemId,
        id: ActionItemId,
    ) -> Result<(), StoreError> {
        let mut conn = self.write_conn().await?;
        let gone =
            sqlx::query("DELETE FROM postmortem_actions WHERE id = $1 AND postmortem_id = $2")
                .bind(id.to_string())
                .bind(postmortem.to_string())
                .execute(&mut *conn)
                .await?;
        if gone.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("action item {id}")));
        }
        Ok(())
    }

    async fn action_item(
        &self,
        postmortem: PostmortemId,
        id: ActionItemId,
    ) -> Result<ActionItem, StoreError> {
        let row = sqlx::query(
            "SELECT id, text, owner_id, due_at, link, done_at, created_at \
             FROM postmortem_actions WHERE id = $1 AND postmortem_id = $2",
        )
        .bind(id.to_string())
        .bind(postmortem.to_string())
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("action item {id}")))?;
        action_from_row(&row)
    }

    /// High-urgency incidents resolved after `after` and at or before `upto`, of services
    /// that draft postmortems, in no postmortem yet, oldest first.
    pub async fn resolved_high_since(
        &self,
        after: Timestamp,
        upto: Timestamp,
        limit: u32,
    ) -> Result<Vec<ResolvedHigh>, StoreError> {
        let rows = sqlx::query(
            "SELECT i.id, i.resolved_at FROM incidents i \
             JOIN services s ON s.id = i.service_id AND s.draft_postmortems = 1 \
             WHERE i.status = 'resolved' AND i.urgency = 'high' \
             AND i.resolved_at > $1 AND i.resolved_at <= $2 \
             AND NOT EXISTS (SELECT 1 FROM postmortem_incidents p WHERE p.incident_id = i.id) \
             ORDER BY i.resolved_at, i.id LIMIT $3",
        )
        .bind(after.as_millis())
        .bind(upto.as_millis())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ResolvedHigh {
                    incident: parse_col(r, "id", str::parse)?,
                    resolved_at: Timestamp::from_millis(col(r, "resolved_at")?),
                })
            })
            .collect()
    }

    /// Where the engine's stage `name` got to; `None` before it first ran.
    pub async fn engine_mark(&self, name: &str) -> Result<Option<Timestamp>, StoreError> {
        let at: Option<i64> = sqlx::query_scalar("SELECT at FROM engine_marks WHERE name = $1")
            .bind(name.to_owned())
            .fetch_optional(&self.read)
            .await?;
        Ok(at.map(Timestamp::from_millis))
    }

    pub async fn set_engine_mark(&self, name: &str, at: Timestamp) -> Result<(), StoreError> {
        write_engine_mark(&mut *self.write_conn().await?, name, at).await
    }

    /// Who was paged about `incidents` (at most [`onduty_core::postmortem::MOST_INCIDENTS`]),
    /// by which channel, how often: sent pages, not reminders or notices.
    pub async fn pages_about(&self, incidents: &[IncidentId]) -> Result<Vec<PagesTo>, StoreError> {
        if incidents.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT COALESCE(u.name, '(deleted user)') AS person, \
             COALESCE(c.channel, 'unknown') AS channel, COUNT(*) AS pages \
             FROM outbox o LEFT JOIN users u ON u.id = o.user_id \
             LEFT JOIN contact_methods c ON c.id = o.contact_method_id \
             WHERE o.incident_id IN {} AND o.status = 'sent' AND o.notice IS NULL \
             GROUP BY u.name, c.channel ORDER BY person, channel",
            in_list(self.backend, incidents.len())
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in incidents {
            query = query.bind(id.to_string());
        }
        let rows = query.fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| {
                Ok(PagesTo {
                    person: col(r, "person")?,
                    channel: col(r, "channel")?,
                    pages: col(r, "pages")?,
                })
            })
            .collect()
    }
}

/// Sets the engine stage `name`'s mark, on `conn` (a transaction's, say).
pub(crate) async fn write_engine_mark(
    conn: &mut sqlx::AnyConnection,
    name: &str,
    at: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO engine_marks (name, at) VALUES ($1, $2) \
         ON CONFLICT (name) DO UPDATE SET at = excluded.at",
    )
    .bind(name.to_owned())
    .bind(at.as_millis())
    .execute(conn)
    .await?;
    Ok(())
}
