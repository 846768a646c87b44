//! The pushes stage: pages pushed to phones (ntfy) or sent in chat (Slack, Telegram direct
//! messages) about incidents that need nobody any more, acknowledged or resolved by any
//! door, are followed up. Load the pages whose incident is no longer triggered; the plan
//! is one message each (a clear for a push, a line in chat); apply queues them and forgets
//! the pages in one transaction (the outbox stage sends them).

use onduty_core::Timestamp;

use crate::{BATCH, Engine, EngineError};

pub(crate) async fn run(engine: &Engine, now: Timestamp) -> Result<usize, EngineError> {
    let settled = engine.store.settled_pushes(BATCH).await?;
    engine.store.take_back_pushes(&settled, now).await?;
    Ok(settled.len())
}
