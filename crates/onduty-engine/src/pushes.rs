//! The pushes stage: pages pushed to phones (ntfy) or browsers (Web Push) about incidents
//! that need nobody any more, acknowledged or resolved by any door, are taken back. Load
//! the pages whose incident is no longer triggered; the plan is one clearing message each;
//! apply queues them and forgets the pages in one transaction (the outbox stage sends
//! them). (Pages in chat are edited in place instead, by the chat stage.)

use onduty_core::Timestamp;

use crate::{BATCH, Engine, EngineError};

pub(crate) async fn run(engine: &Engine, now: Timestamp) -> Result<usize, EngineError> {
    let settled = engine.store.settled_pushes(BATCH).await?;
    engine.store.take_back_pushes(&settled, now).await?;
    Ok(settled.len())
}
