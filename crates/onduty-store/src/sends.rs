//! Verification codes and test messages sent (not pages), counted for the hourly limits.

use onduty_core::{ContactMethodId, Timestamp, UserId};

use crate::sql::{col, parse_col};
use crate::{Store, StoreError};

/// What a message that is not a page was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendKind {
    Code,
    Test,
}

impl SendKind {
    fn as_str(self) -> &'static str {
        match self {
            SendKind::Code => "code",
            SendKind::Test => "test",
        }
    }
}

/// Codes and tests sent since a time: in all, and per person (most first).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendCounts {
    pub total: u64,
    pub by_person: Vec<(UserId, u64)>,
}

impl SendCounts {
    pub fn to(&self, user: UserId) -> u64 {
        self.by_person
            .iter()
            .find(|(u, _)| *u == user)
            .map_or(0, |(_, n)| *n)
    }
}

/// How long sent messages are remembered.
const KEPT_MILLIS: i64 = 24 * 60 * 60 * 1000;

impl Store {
    /// Records a code or test sent to `user`'s contact method at `now`, and forgets those
    /// older than a day.
    pub async fn record_send(
        &self,
        user: UserId,
        method: ContactMethodId,
        kind: SendKind,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut conn = self.write_conn().await?;
        sqlx::query("DELETE FROM message_sends WHERE at < $1")
            .bind(now.as_millis() - KEPT_MILLIS)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "INSERT INTO message_sends (at, user_id, contact_method_id, kind) VALUES ($1, $2, $3, $4)",
        )
        .bind(now.as_millis())
        .bind(user.to_string())
        .bind(method.to_string())
        .bind(kind.as_str())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Codes and tests sent at or after `since`.
    pub async fn sends_since(&self, since: Timestamp) -> Result<SendCounts, StoreError> {
        let rows = sqlx::query(
            "SELECT user_id, COUNT(*) AS sent FROM message_sends WHERE at >= $1 GROUP BY user_id",
        )
        .bind(since.as_millis())
        .fetch_all(&self.read)
        .await?;
        let mut by_person: Vec<(UserId, u64)> = Vec::with_capacity(rows.len());
        for row in &rows {
            let sent: i64 = col(row, "sent")?;
            by_person.push((
                parse_col(row, "user_id", str::parse)?,
                u64::try_from(sent).map_err(StoreError::corrupt)?,
            ));
        }
        by_person.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(SendCounts {
            total: by_person.iter().map(|(_, n)| n).sum(),
            by_person,
        })
    }
}
