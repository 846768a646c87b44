//! Runbooks of a service, each with every version it had.

use onduty_core::incident::Actor;
use onduty_core::runbook::{RunbookBody, RunbookScope};
use onduty_core::{RunbookId, ServiceId, Timestamp};
use sqlx::any::AnyRow;

use crate::sql::{col, json_col, parse_col, to_json};
use crate::{Store, StoreError, begin};

/// A runbook as kept now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runbook {
    pub id: RunbookId,
    pub service: ServiceId,
    pub scope: RunbookScope,
    /// What its link says; empty for "Runbook".
    pub title: String,
    pub body: RunbookBody,
    /// Counts its versions: 1 when made.
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl AsRef<RunbookScope> for Runbook {
    fn as_ref(&self) -> &RunbookScope {
        &self.scope
    }
}

/// A runbook to keep, or what a runbook becomes.
#[derive(Debug, Clone)]
pub struct RunbookText {
    pub scope: RunbookScope,
    pub title: String,
    pub body: RunbookBody,
}

/// One version of a runbook, as it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunbookRevision {
    pub version: i64,
    pub scope: RunbookScope,
    pub title: String,
    pub body: RunbookBody,
    pub changed_at: Timestamp,
    pub changed_by: Actor,
}

const COLUMNS: &str = "SELECT id, service_id, scope, pattern, title, url, markdown, version, \
                       created_at, updated_at FROM runbooks";

fn scope_from_row(row: &AnyRow) -> Result<RunbookScope, StoreError> {
    let kind: String = col(row, "scope")?;
    parse_col(row, "pattern", |p| RunbookScope::parse(&kind, p))
}

fn body_from_row(row: &AnyRow) -> Result<RunbookBody, StoreError> {
    let url: Option<String> = col(row, "url")?;
    let markdown: Option<String> = col(row, "markdown")?;
    RunbookBody::parse(url.as_deref(), markdown.as_deref())
        .map_err(|e| StoreError::corrupt(format!("runbook: {e}")))
}

fn runbook_from_row(row: &AnyRow) -> Result<Runbook, StoreError> {
    Ok(Runbook {
        id: parse_col(row, "id", str::parse)?,
        service: parse_col(row, "service_id", str::parse)?,
        scope: scope_from_row(row)?,
        title: col(row, "title")?,
        body: body_from_row(row)?,
        version: col(row, "version")?,
        created_at: Timestamp::from_millis(col(row, "created_at")?),
        updated_at: Timestamp::from_millis(col(row, "updated_at")?),
    })
}

fn revision_from_row(row: &AnyRow) -> Result<RunbookRevision, StoreError> {
    Ok(RunbookRevision {
        version: col(row, "version")?,
        scope: scope_from_row(row)?,
        title: col(row, "title")?,
        body: body_from_row(row)?,
        changed_at: Timestamp::from_millis(col(row, "changed_at")?),
        changed_by: json_col(row, "changed_by")?,
    })
}

fn taken(text: &RunbookText) -> StoreError {
    StoreError::Conflict(match &text.scope {
        RunbookScope::Service => "this service has a runbook for all its incidents already".into(),
        scope => format!(
            "this service has a runbook for {} '{}' already",
            scope.kind(),
            scope.pattern()
        ),
    })
}

impl Store {
    /// Keeps a new runbook as its version 1; a second runbook for the same alerts of the
    /// same service is refused.
    pub async fn create_runbook(
        &self,
        service: ServiceId,
        text: &RunbookText,
        by: &Actor,
        now: Timestamp,
    ) -> Result<Runbook, StoreError> {
        let id = RunbookId::new(now);
        let mut conn = self.write_conn().await?;
        let mut tx = begin(&mut conn, self.backend).await?;
        let made = sqlx::query(
            "INSERT INTO runbooks (id, service_id, scope, pattern, title, url, markdown, version, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8) \
             ON CONFLICT (service_id, scope, pattern) DO NOTHING",
        )
        .bind(id.to_string())
        .bind(service.to_string())
        .bind(text.scope.kind())
        .bind(text.scope.pattern().to_owned())
        .bind(text.title.clone())
        .bind(text.body.url().map(str::to_owned))
        .bind(text.body.markdown().map(str::to_owned))
        .bind(now.as_millis())
        .execute(&mut *tx)
        .await?;
        if made.rows_affected() == 0 {
            return Err(taken(text));
        }
        write_revision(&mut tx, id, 1, text, by, now).await?;
        tx.commit().await?;
        drop(conn);
        self.runbook(id).await
    }

    /// Writes a new version of a runbook. With `expected` set, only if the runbook is still
    /// at that version (someone else's edit in between is refused, not lost).
    pub async fn update_runbook(
        &self,
        id: RunbookId,
        text: &RunbookText,
        expected: Option<i64>,
        by: &Actor,
        now: Timestamp,
    ) -> Result<Runbook, StoreError> {
        let mut conn = self.write_conn().await?;
        let mut tx = begin(&mut conn, self.backend).await?;
        let version: Option<i64> = sqlx::query_scalar("SELECT version FROM runbooks WHERE id = $1")
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(version) = version else {
            return Err(StoreError::NotFound(format!("runbook {id}")));
        };
        if expected.is_some_and(|e| e != version) {
            return Err(StoreError::Conflict(format!(
                "the runbook was changed meanwhile: it is at version {version}"
            )));
        }
        let next = version + 1;
        let changed = sqlx::query(
            "UPDATE runbooks SET scope = $2, pattern = $3, title = $4, url = $5, markdown = $6, \
             version = $7, updated_at = $8 WHERE id = $1",
        )
        .bind(id.to_string())
        .bind(text.scope.kind())
        .bind(text.scope.pattern().to_owned())
        .bind(text.title.clone())
        .bind(text.body.url().map(str::to_owned))
        .bind(text.body.markdown().map(str::to_owned))
        .bind(next)
        .bind(now.as_millis())
        .execute(&mut *tx)
        .await;
        if let Err(e) = changed {
            let e = StoreError::from(e);
            return Err(if e.is_unique_violation() {
                taken(text)
            } else {
                e
            });
        }
        write_revision(&mut tx, id, next, text, by, now).await?;
        tx.commit().await?;
        drop(conn);
        self.runbook(id).await
    }

    pub async fn runbook(&self, id: RunbookId) -> Result<Runbook, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE id = $1")))
            .bind(id.to_string())
            .fetch_optional(&self.read)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("runbook {id}")))?;
        runbook_from_row(&row)
    }

    /// A service's runbooks, oldest first (among equally specific runbooks, the oldest
    /// is chosen).
    pub async fn runbooks(&self, service: ServiceId) -> Result<Vec<Runbook>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{COLUMNS} WHERE service_id = $1 ORDER BY created_at, id"
        )))
        .bind(service.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(runbook_from_row).collect()
    }

    /// Every version of a runbook, newest first.
    pub async fn runbook_revisions(
        &self,
        id: RunbookId,
    ) -> Result<Vec<RunbookRevision>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, scope, pattern, title, url, markdown, changed_at, changed_by \
             FROM runbook_revisions WHERE runbook_id = $1 ORDER BY version DESC",
        )
        .bind(id.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(revision_from_row).collect()
    }

    /// Removes a runbook and its history.
    pub async fn delete_runbook(&self, id: RunbookId) -> Result<(), StoreError> {
        let mut conn = self.write_conn().await?;
        let gone = sqlx::query("DELETE FROM runbooks WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *conn)
            .await?;
        if gone.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("runbook {id}")));
        }
        Ok(())
    }
}

async fn write_revision(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: RunbookId,
    version: i64,
    text: &RunbookText,
    by: &Actor,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO runbook_revisions (runbook_id, version, scope, pattern, title, url, \
         markdown, changed_at, changed_by) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(id.to_string())
    .bind(version)
    .bind(text.scope.kind())
    .bind(text.scope.pattern().to_owned())
    .bind(text.title.clone())
    .bind(text.body.url().map(str::to_owned))
    .bind(text.body.markdown().map(str::to_owned))
    .bind(now.as_millis())
    .bind(to_json(by))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
