//! The retention stage: once an hour (at once again while a pass left some behind), raw
//! events received, and the timelines of incidents resolved, longer ago than the retention
//! are deleted, and audit log entries older than theirs, a batch at a time. Only the instance running the engine does it.

use onduty_core::Timestamp;
use onduty_core::retention;

use crate::{Engine, EngineError};

/// Events, incidents' timelines and audit entries deleted per batch.
const EVENTS: u32 = 2000;
const TIMELINES: u32 = 200;
const AUDIT: u32 = 2000;

/// Prunes what is due; returns when to look again (`None`: retention is off).
pub(crate) async fn run(engine: &Engine, now: Timestamp) -> Result<Option<Timestamp>, EngineError> {
    let data = engine.config.retention;
    let audit = engine.config.audit_retention;
    if data.is_none() && audit.is_none() {
        return Ok(None);
    }
    let due = *engine
        .retention_look
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(at) = due
        && at > now
    {
        return Ok(Some(at));
    }
    let mut more = false;
    if let Some(keep) = data {
        let cutoff = keep.cutoff(now);
        let (events, events_left) = engine.store.prune_events(cutoff, EVENTS).await?;
        let timelines = engine.store.prune_timelines(cutoff, TIMELINES).await?;
        if events + timelines > 0 {
            tracing::info!(
                events,
                timelines,
                days = keep.in_days(),
                "data retention: deleted events and resolved incidents' timelines past retention"
            );
        }
        more |= events_left || timelines == TIMELINES as usize;
    }
    if let Some(keep) = audit {
        let entries = engine.store.prune_audit(keep.cutoff(now), AUDIT).await?;
        if entries > 0 {
            tracing::info!(
                entries,
                days = keep.in_days(),
                "data retention: deleted audit log entries past retention"
            );
        }
        more |= entries == AUDIT as usize;
    }
    let next = retention::next_look(now, more);
    *engine
        .retention_look
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = Some(next);
    Ok(Some(next))
}
