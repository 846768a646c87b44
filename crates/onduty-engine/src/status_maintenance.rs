//! Scheduled maintenance moved on by the clock: when it starts, and when it ends, an
//! update says so, as Statuspage's do: on the page, in its history and feeds, and to its
//! subscribers. Load the maintenance due a move; plan each update; post them.

use onduty_core::Timestamp;
use onduty_core::incident::Actor;
use onduty_core::status_page::{MaintenanceStatus, Stage, UpdateBody};
use onduty_store::status_pages::{NewUpdate, StatusIncident};

use crate::{Engine, EngineError};

pub(crate) async fn run(engine: &Engine, now: Timestamp) -> Result<usize, EngineError> {
    let due = engine.store.due_maintenance_moves(now).await?;
    for m in &due {
        if let Some(update) = plan(m, now) {
            engine
                .store
                .post_status_update(m.id, &update, &Actor::System, now)
                .await?;
        }
    }
    Ok(due.len())
}

/// The update that moves `m` to where the clock has it: in progress once it starts,
/// completed once it ends; `None` if it is there already.
pub(crate) fn plan(m: &StatusIncident, now: Timestamp) -> Option<NewUpdate> {
    let (Stage::Maintenance(set), Some((from, until))) = (m.stage, m.scheduled) else {
        return None;
    };
    let reached = MaintenanceStatus::at(set, from, until, now);
    let body = match reached {
        _ if reached == set => return None,
        MaintenanceStatus::InProgress => {
            "Scheduled maintenance is currently in progress. We will provide updates as necessary."
        }
        MaintenanceStatus::Completed => "The scheduled maintenance has been completed.",
        _ => return None,
    };
    Some(NewUpdate {
        stage: Stage::Maintenance(reached),
        body: UpdateBody::parse(body).expect("a short body"),
        components: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use onduty_core::status_page::{Impact, IncidentStatus};
    use onduty_core::{StatusIncidentId, StatusPageId};

    fn maintenance(set: MaintenanceStatus) -> StatusIncident {
        let t = |m: i64| Timestamp::from_millis(m * 60_000);
        StatusIncident {
            id: StatusIncidentId::new(t(0)),
            page: StatusPageId::new(t(0)),
            name: "Database upgrade".to_owned(),
            stage: Stage::Maintenance(set),
            impact: Impact::Maintenance,
            created_at: t(0),
            updated_at: t(0),
            started_at: t(60),
            monitoring_at: None,
            resolved_at: None,
            scheduled: Some((t(60), t(120))),
            window: None,
            incident: None,
            created_by: None,
            keep_open: false,
            draft: false,
            postmortem: None,
            components: Vec::new(),
            updates: Vec::new(),
        }
    }

    #[test]
    fn the_clock_starts_and_completes_maintenance() {
        use MaintenanceStatus::*;
        let at = |m: i64| Timestamp::from_millis(m * 60_000);
        // (status set, minute, status reached by an update, if any)
        let table = [
            (Scheduled, 59, None),
            (Scheduled, 60, Some(InProgress)),
            (Scheduled, 130, Some(Completed)),
            (InProgress, 90, None),
            (InProgress, 120, Some(Completed)),
            (Verifying, 100, None),
            (Verifying, 120, Some(Completed)),
            (Completed, 200, None),
        ];
        for (set, minute, expected) in table {
            let got = plan(&maintenance(set), at(minute)).map(|u| u.stage);
            assert_eq!(got, expected.map(Stage::Maintenance), "{set:?} at {minute}");
        }
        let mut incident = maintenance(Scheduled);
        incident.stage = Stage::Incident(IncidentStatus::Investigating);
        assert!(plan(&incident, at(200)).is_none());
    }
}
