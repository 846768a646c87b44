//! The incident list: what is open now, newest first, with counts by status.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use onduty_core::incident::IncidentStatus;
use onduty_store::incidents::IncidentFilter;

use super::{Viewer, page};
use crate::SharedState;

pub(super) fn routes() -> Router<SharedState> {
    Router::new().route("/incidents", get(list))
}

/// Most incidents the list shows.
const SHOWN: u32 = 100;

struct Row {
    number: i64,
    status: &'static str,
    summary: String,
    service: String,
    opened: String,
}

#[derive(Template)]
#[template(path = "incidents.html")]
struct IncidentsPage {
    viewer_name: String,
    csrf: String,
    triggered: i64,
    acknowledged: i64,
    rows: Vec<Row>,
}

async fn list(State(state): State<SharedState>, viewer: Viewer) -> Response {
    let filter = IncidentFilter {
        statuses: vec![IncidentStatus::Triggered, IncidentStatus::Acknowledged],
        ..IncidentFilter::default()
    };
    let (incidents, counts, services) = match tokio::try_join!(
        state.store.list_incidents(&filter, None, SHOWN),
        state.store.count_incidents_by_status(),
        state.store.list_services(),
    ) {
        Ok(found) => found,
        Err(e) => {
            tracing::error!(error = %e, "cannot list incidents for a page");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unavailable",
            )
                .into_response();
        }
    };
    let names: HashMap<_, _> = services
        .iter()
        .map(|s| (s.id, s.name.to_string()))
        .collect();
    let rows = incidents
        .incidents
        .iter()
        .map(|i| Row {
            number: i.number.0,
            status: i.status.as_str(),
            summary: i.summary.clone(),
            service: names.get(&i.service_id).cloned().unwrap_or_default(),
            opened: i.created_at.to_rfc3339(),
        })
        .collect();
    page(IncidentsPage {
        viewer_name: viewer.name(),
        csrf: viewer.csrf.clone(),
        triggered: counts.get(&IncidentStatus::Triggered).copied().unwrap_or(0),
        acknowledged: counts
            .get(&IncidentStatus::Acknowledged)
            .copied()
            .unwrap_or(0),
        rows,
    })
}
