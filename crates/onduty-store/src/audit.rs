//! The audit log's rows: added one per change, read newest first a page at a time, and
//! deleted only by data retention. Nothing here updates a row (the table's trigger would
//! refuse it).

use onduty_core::audit::{AuditEntry, AuditRecord, Change, MAX_PAGE};
use onduty_core::{Timestamp, UserId};
use serde_json::Value;

use crate::sql::{col, parse_col};
use crate::{Store, StoreError};

/// Which entries to read: newest first, older than `before` (a page's cursor), by one
/// person, or of actions starting with a word (`service`, `incident.acknowledge`).
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub before: Option<i64>,
    pub user: Option<UserId>,
    pub action: Option<String>,
    pub limit: u32,
}

impl Store {
    /// Adds an entry.
    pub async fn append_audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        let mut conn = self.write_conn().await?;
        sqlx::query(
            "INSERT INTO audit_log \
             (at, user_id, who, door, token, address, action, target, before, after) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(record.at.as_millis())
        .bind(record.user.to_string())
        .bind(record.who.clone())
        .bind(record.door.clone())
        .bind(record.token.clone())
        .bind(record.address.map(|a| a.to_string()))
        .bind(record.action.clone())
        .bind(record.target.clone())
        .bind(record.change.before.as_ref().map(Value::to_string))
        .bind(record.change.after.as_ref().map(Value::to_string))
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// A page of entries, newest first.
    pub async fn audit_log(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StoreError> {
        let mut filters = Vec::new();
        let mut values: Vec<String> = Vec::new();
        // The cursor is a number, written into the statement as one.
        if let Some(before) = query.before {
            filters.push(format!("id < {before}"));
        }
        if let Some(user) = query.user {
            values.push(user.to_string());
            filters.push(format!("user_id = ${}", values.len()));
        }
        if let Some(action) = &query.action {
            // `service` takes `service.update`; `service.update` only itself.
            values.push(action.clone());
            let exact = values.len();
            // `_` and `%` are LIKE's wildcards: escaped, they are themselves.
            let literal = action
                .replace('!', "!!")
                .replace('_', "!_")
                .replace('%', "!%");
            values.push(format!("{literal}.%"));
            filters.push(format!(
                "(action = ${exact} OR action LIKE ${} ESCAPE '!')",
                values.len()
            ));
        }
        let filter = if filters.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", filters.join(" AND "))
        };
        let sql = format!(
            "SELECT id, at, user_id, who, door, token, address, action, target, before, after \
             FROM audit_log {filter} ORDER BY id DESC LIMIT {}",
            query.limit.clamp(1, MAX_PAGE + 1)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for value in values {
            q = q.bind(value);
        }
        let rows = q.fetch_all(&self.read).await?;
        rows.iter()
            .map(|row| {
                let address: Option<String> = col(row, "address")?;
                Ok(AuditEntry {
                    id: col(row, "id")?,
                    record: AuditRecord {
                        at: Timestamp::from_millis(col(row, "at")?),
                        user: parse_col(row, "user_id", str::parse)?,
                        who: col(row, "who")?,
                        door: col(row, "door")?,
                        token: col(row, "token")?,
                        address: address.and_then(|a| a.parse().ok()),
                        action: col(row, "action")?,
                        target: col(row, "target")?,
                        change: Change {
                            before: json_of(col(row, "before")?),
                            after: json_of(col(row, "after")?),
                        },
                    },
                })
            })
            .collect()
    }

    /// Deletes up to `batch` of the oldest entries made before `before`; returns how many
    /// went.
    pub async fn prune_audit(&self, before: Timestamp, batch: u32) -> Result<usize, StoreError> {
        let mut conn = self.write_conn().await?;
        let done = sqlx::query(
            "DELETE FROM audit_log WHERE id IN \
             (SELECT id FROM audit_log WHERE at < $1 ORDER BY id LIMIT $2)",
        )
        .bind(before.as_millis())
        .bind(i64::from(batch))
        .execute(&mut *conn)
        .await?;
        Ok(usize::try_from(done.rows_affected()).unwrap_or(usize::MAX))
    }
}

/// A stored JSON text read back; text that does not read as JSON is shown as it is rather
/// than hiding the entry.
fn json_of(text: Option<String>) -> Option<Value> {
    text.map(|t| serde_json::from_str(&t).unwrap_or(Value::String(t)))
}
