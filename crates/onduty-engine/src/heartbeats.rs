//! The heartbeats stage: jobs that did not ping in time. Load the overdue heartbeats;
//! plan the trigger event each one sends ("nightly-backup has not reported for 1 h 10
//! min"); apply by ingesting each through its own integration like any event, so its
//! incident pages through the normal path, and marking it late so it is reported once.

use std::time::Duration;

use onduty_core::batch::{HandedIn, Inbound, Outcome, Received};
use onduty_core::heartbeat;
use onduty_core::{EventId, Timestamp};
use onduty_store::heartbeats::Heartbeat;

use crate::{Engine, EngineError};

/// How soon a heartbeat that fell due during maintenance is looked at again.
const RECHECK: Duration = Duration::from_secs(5 * 60);

pub(crate) async fn run(engine: &Engine, now: Timestamp) -> Result<usize, EngineError> {
    let overdue = engine.store.overdue_heartbeats(now).await?;
    for h in &overdue {
        let late = [lateness(h, now)];
        let results = engine.store.ingest_batch(&late).await?;
        let Some(due) = h.due_at else { continue };
        if matches!(results.first(), Some(Ok(a)) if matches!(a.outcome, Outcome::Maintenance)) {
            // Its service is in maintenance: nothing opened; look again after a while,
            // so a job still silent when maintenance ends is reported then.
            let again = now.saturating_add(RECHECK);
            engine.store.postpone_heartbeat(h.id, due, again).await?;
            continue;
        }
        if !engine.store.mark_heartbeat_late(h.id, due).await? {
            // It pinged while this was being reported: take the report back.
            let back = [onduty_event(
                heartbeat::resolve_event(h.routing_key.as_str()),
                now,
            )];
            engine.store.ingest_batch(&back).await?;
        }
    }
    Ok(overdue.len())
}

/// The trigger a late heartbeat sends through its own integration.
pub(crate) fn lateness(h: &Heartbeat, now: Timestamp) -> Received {
    let summary = heartbeat::late_summary(&h.name, h.last_success_at, h.created_at, now);
    let details = serde_json::json!({
        "heartbeat": h.name,
        "last ping": h.last_ping_at.map(|t| t.to_rfc3339()),
        "last ping was": h.last_ping,
        "expected": h.expect,
    });
    onduty_event(
        heartbeat::trigger_event(h.routing_key.as_str(), &summary, details),
        now,
    )
}

fn onduty_event(event: onduty_core::event::AlertEvent, now: Timestamp) -> Received {
    Received {
        id: EventId::new(now),
        received_at: now,
        event: Inbound::Alert(event),
        warnings: Vec::new(),
        from: HandedIn::ByOnduty,
    }
}
