//! Pushes taken back. A page pushed to a phone or browser (ntfy, Web Push) is remembered
//! in `pushed` when it is sent (`paging::record_deliveries`); once its incident needs
//! nobody (acknowledged or resolved, by any door), the engine queues a message that takes
//! the push back.

use onduty_core::{ContactMethodId, IncidentId, OutboxId, Timestamp, UserId};

use crate::sql::{Val, col, execute_writes, parse_col, write};
use crate::{Store, StoreError, begin};

/// An incident pushed to a contact method that no longer needs its person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettledPush {
    pub incident: IncidentId,
    pub method: ContactMethodId,
    pub user: UserId,
}

impl Store {
    /// Pushes about incidents that are no longer triggered and not taken back yet.
    pub async fn settled_pushes(&self, limit: u32) -> Result<Vec<SettledPush>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.incident_id, p.contact_method_id, p.user_id FROM pushed p \
             JOIN incidents i ON i.id = p.incident_id WHERE i.status <> 'triggered' \
             ORDER BY p.incident_id, p.contact_method_id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(SettledPush {
                    incident: parse_col(row, "incident_id", str::parse)?,
                    method: parse_col(row, "contact_method_id", str::parse)?,
                    user: parse_col(row, "user_id", str::parse)?,
                })
            })
            .collect()
    }

    /// Queues one message per push that takes it back, and forgets the push, in one
    /// transaction. A push forgotten meanwhile (another instance took it back) queues
    /// nothing.
    pub async fn take_back_pushes(
        &self,
        pushes: &[SettledPush],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if pushes.is_empty() {
            return Ok(());
        }
        let d = self.backend;
        let mut conn = self.lane().await?;
        let mut tx = begin(&mut conn, d).await?;
        for push in pushes {
            let forgotten =
                sqlx::query("DELETE FROM pushed WHERE incident_id = $1 AND contact_method_id = $2")
                    .bind(push.incident.to_string())
                    .bind(push.method.to_string())
                    .execute(&mut *tx)
                    .await?;
            if forgotten.rows_affected() == 0 {
                continue;
            }
            execute_writes(
                &mut tx,
                d,
                vec![write(
                    d,
                    "INSERT INTO outbox (id, incident_id, user_id, contact_method_id, next_attempt_at, \
                     created_at, status, attempts, clears) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, 1)",
                    vec![
                        Val::Text(OutboxId::new(now).to_string()),
                        Val::Text(push.incident.to_string()),
                        Val::Text(push.user.to_string()),
                        Val::Text(push.method.to_string()),
                        Val::Int(now.as_millis()),
                        Val::Int(now.as_millis()),
                    ],
                )],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// How many pushes wait to be taken back (for tests and the contract suite).
    pub async fn pushes_outstanding(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM pushed")
            .fetch_one(&self.read)
            .await?;
        col(&row, "n")
    }
}
