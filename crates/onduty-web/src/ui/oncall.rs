//! "On call now": who holds every schedule, and whom each level of every escalation
//! policy pages at this moment.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use super::{Viewer, page};
use crate::SharedState;
use crate::api::schedules::{OnCallPolicy, OnCallSchedule, on_call_overview};

pub(super) fn routes() -> Router<SharedState> {
    Router::new().route("/oncall", get(show))
}

#[derive(Template)]
#[template(path = "oncall.html")]
struct OnCallPage {
    chrome: super::Chrome,
    schedules: Vec<OnCallSchedule>,
    policies: Vec<OnCallPolicy>,
}

async fn show(State(state): State<SharedState>, viewer: Viewer) -> Response {
    match on_call_overview(&state, state.clock.now()).await {
        Ok(overview) => page(OnCallPage {
            chrome: viewer.chrome(),
            schedules: overview.schedules,
            policies: overview.escalation_policies,
        }),
        Err(e) => e.into_response(),
    }
}
