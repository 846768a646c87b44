//! A public status page as its readers see it: [`Snapshot`], everything a page shows at
//! one moment, read once from the store; and Statuspage's public documents drawn from it
//! (`summary.json` and the rest, and the payloads subscribers' webhooks receive). The web
//! serves them; the engine sends them to subscribers.

mod documents;
mod snapshot;

pub use documents::*;
pub use snapshot::{HISTORY_DAYS, PublicPostmortem, Snapshot};
