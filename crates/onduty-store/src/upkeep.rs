//! The loop around the store's upkeep step ([`Store::checkpoint`]): trivial on purpose.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::{Backend, Store};

/// How often the SQLite write-ahead log is copied into the database file.
pub const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Runs [`Store::checkpoint`] every `every` until the task is aborted. Returns `None` on
/// PostgreSQL, which needs no such upkeep.
pub fn spawn_checkpoints(store: Store, every: Duration) -> Option<JoinHandle<()>> {
    if store.backend() != Backend::Sqlite {
        return None;
    }
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(e) = store.checkpoint().await {
                tracing::warn!(error = %e, "checkpoint failed; will try again");
            }
        }
    }))
}
