//! The timers stage: acknowledgement timeouts, snoozes' ends and auto-resolution. Load
//! the due timers; the plan is the lifecycle's (`Command::Timer`, decided in the store's
//! transaction with what each incident needs); apply them all in one transaction, each
//! unless it moved or went since it was read.

use onduty_core::Timestamp;

use crate::{BATCH, Engine, EngineError};

pub(crate) async fn run(engine: &Engine, now: Timestamp) -> Result<usize, EngineError> {
    let due = engine.store.due_timers(now, BATCH).await?;
    engine.store.fire_timers(&due, now).await?;
    Ok(due.len())
}
