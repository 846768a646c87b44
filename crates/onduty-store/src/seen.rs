//! Callbacks already received, so that a replayed one is refused by any instance on the
//! database: a Slack request's signature, a Mattermost click's trigger id, a Telegram
//! update's id. Each is kept by its SHA-256 for as long as its sender could still replay
//! it; older ones from the same sender are forgotten as new ones come.

use std::time::Duration;

use onduty_core::Timestamp;
use sha2::{Digest, Sha256};

use crate::{Store, StoreError, begin};

impl Store {
    /// Whether `key` from `source` is received for the first time within `keep`;
    /// remembers it. Of two instances receiving the same request at once, one is first.
    pub async fn first_sighting(
        &self,
        source: &str,
        key: &str,
        now: Timestamp,
        keep: Duration,
    ) -> Result<bool, StoreError> {
        let fingerprint = hex::encode(Sha256::digest(key.as_bytes()));
        let mut conn = self.lane().await?;
        let mut tx = begin(&mut conn, self.backend).await?;
        sqlx::query("DELETE FROM seen_requests WHERE source = $1 AND seen_at < $2")
            .bind(source.to_owned())
            .bind(now.saturating_sub(keep).as_millis())
            .execute(&mut *tx)
            .await?;
        let added = sqlx::query(
            "INSERT INTO seen_requests (source, fingerprint, seen_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(source.to_owned())
        .bind(fingerprint)
        .bind(now.as_millis())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(added.rows_affected() == 1)
    }
}
