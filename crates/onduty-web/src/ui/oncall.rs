//! "On call now": who holds every schedule, and whom each level of every escalation
//! policy pages at this moment.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;

use super::{Viewer, page};
use crate::SharedState;
use crate::api::schedules::{OnCallPolicy, OnCallSchedule, on_call_overview};

pub(super) fn routes() -> Router<SharedState> {
    Router::new().route("/oncall", get(show))
}

/// A schedule's line: who holds it, and until when on the viewer's clock.
struct ScheduleRow {
    schedule: OnCallSchedule,
    until: Option<(String, String)>,
}

#[derive(Template)]
#[template(path = "oncall.html")]
struct OnCallPage {
    chrome: super::Chrome,
    schedules: Vec<ScheduleRow>,
    policies: Vec<OnCallPolicy>,
}

async fn show(State(state): State<SharedState>, viewer: Viewer) -> Response {
    match on_call_overview(&state, state.clock.now()).await {
        Ok(overview) => page(OnCallPage {
            chrome: viewer.chrome(),
            schedules: overview
                .schedules
                .into_iter()
                .map(|schedule| ScheduleRow {
                    until: schedule
                        .until
                        .map(|u| (super::time::when(u, &viewer.zone()), u.to_rfc3339())),
                    schedule,
                })
                .collect(),
            policies: overview.escalation_policies,
        }),
        Err(e) => super::error_page(e),
    }
}
