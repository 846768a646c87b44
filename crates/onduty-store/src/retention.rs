//! Data retention's deletes: raw events received before a cutoff, and the timelines of
//! incidents resolved before it. Each call deletes one batch in one short transaction, so
//! that pruning a large backlog never holds the write lane for long.

use onduty_core::{IncidentId, Timestamp};

use crate::postmortems::write_engine_mark;
use crate::sql::{col, parse_col};
use crate::{Store, StoreError, begin};

/// The engine mark: the resolution time up to which timelines have been pruned.
const TIMELINE_MARK: &str = "retention_timelines";

impl Store {
    /// Deletes the oldest events received before `before`, a batch of numbers at a time.
    /// Events are numbered as they are stored, so the oldest are walked by number from the
    /// first, without an index on time (which every insert would pay for). Returns how
    /// many went, and whether the oldest event left is still older than `before` (more to
    /// do at once).
    pub async fn prune_events(
        &self,
        before: Timestamp,
        batch: u32,
    ) -> Result<(usize, bool), StoreError> {
        let mut conn = self.write_conn().await?;
        let first: Option<i64> = sqlx::query_scalar("SELECT MIN(seq) FROM events")
            .fetch_one(&mut *conn)
            .await?;
        let Some(first) = first else {
            return Ok((0, false));
        };
        let done = sqlx::query("DELETE FROM events WHERE seq < $1 AND received_at < $2")
            .bind(first + i64::from(batch))
            .bind(before.as_millis())
            .execute(&mut *conn)
            .await?;
        let oldest: Option<i64> = sqlx::query_scalar(
            "SELECT received_at FROM events WHERE seq = (SELECT MIN(seq) FROM events)",
        )
        .fetch_optional(&mut *conn)
        .await?;
        let deleted = usize::try_from(done.rows_affected()).unwrap_or(usize::MAX);
        Ok((deleted, oldest.is_some_and(|at| at < before.as_millis())))
    }

    /// Deletes the timelines of up to `batch` incidents resolved before `before`, oldest
    /// resolution first from where the last call got to. Returns how many incidents'
    /// timelines went.
    pub async fn prune_timelines(
        &self,
        before: Timestamp,
        batch: u32,
    ) -> Result<usize, StoreError> {
        let mark = self
            .engine_mark(TIMELINE_MARK)
            .await?
            .unwrap_or(Timestamp::from_millis(0));
        // Incidents resolved at the mark's very millisecond may have been left by the
        // last batch: they are walked again, unless their timeline is gone already.
        let rows = sqlx::query(
            "SELECT id, resolved_at FROM incidents i \
             WHERE status = 'resolved' AND resolved_at >= $1 AND resolved_at < $2 \
               AND EXISTS (SELECT 1 FROM timeline t WHERE t.incident_id = i.id) \
             ORDER BY resolved_at LIMIT $3",
        )
        .bind(mark.as_millis())
        .bind(before.as_millis())
        .bind(i64::from(batch))
        .fetch_all(&self.read)
        .await?;
        let Some(last) = rows.last() else {
            return Ok(0);
        };
        let reached = Timestamp::from_millis(col(last, "resolved_at")?);
        let incidents: Vec<IncidentId> = rows
            .iter()
            .map(|r| parse_col(r, "id", str::parse))
            .collect::<Result<_, _>>()?;
        let mut conn = self.write_conn().await?;
        let mut tx = begin(&mut conn, self.backend()).await?;
        for incident in &incidents {
            // Still resolved: one reopened since it was read keeps its timeline.
            sqlx::query(
                "DELETE FROM timeline WHERE incident_id = $1 AND EXISTS \
                 (SELECT 1 FROM incidents WHERE id = $1 AND status = 'resolved' AND resolved_at < $2)",
            )
            .bind(incident.to_string())
            .bind(before.as_millis())
            .execute(&mut *tx)
            .await?;
        }
        write_engine_mark(&mut tx, TIMELINE_MARK, reached).await?;
        tx.commit().await?;
        Ok(incidents.len())
    }
}
