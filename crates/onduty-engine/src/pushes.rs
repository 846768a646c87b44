//! The pushes stage: pages pushed to phones (ntfy) about incidents that need nobody any
//! more, acknowledged or resolved by any door, are taken back. Load the pushes whose
//! incident is no longer triggered; the plan is one clearing message each; apply queues
//! them and forgets the pushes in one transaction (the outbox stage sends them).

use onduty_core::Timestamp;

use crate::{BATCH, Engine, EngineError};

pub(crate) async fn run(engine: &Engine, now: Timestamp) -> Result<usize, EngineError> {
    let settled = engine.store.settled_pushes(BATCH).await?;
    engine.store.take_back_pushes(&settled, now).await?;
    Ok(settled.len())
}
