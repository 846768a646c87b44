//! The incident list, newest first, with counts by status and filters (status, service,
//! "mine").

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use onduty_core::incident::IncidentStatus;
use onduty_store::incidents::IncidentFilter;
use serde::Deserialize;

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
    chrome: super::Chrome,
    live_since: String,
    triggered: i64,
    acknowledged: i64,
    rows: Vec<Row>,
    statuses: Vec<(&'static str, &'static str)>,
    status: String,
    services: Vec<(String, String)>,
    service: String,
    mine: bool,
}

/// The list's filters, as the form sends them.
#[derive(Deserialize)]
struct Filters {
    /// `open` (default), `triggered`, `acknowledged`, `resolved` or `all`.
    status: Option<String>,
    /// A service id; empty for all.
    service: Option<String>,
    /// Only incidents assigned to the viewer.
    mine: Option<String>,
}

const STATUSES: [(&str, &str); 5] = [
    ("open", "open"),
    ("triggered", "triggered"),
    ("acknowledged", "acknowledged"),
    ("resolved", "resolved"),
    ("all", "all"),
];

async fn list(
    State(state): State<SharedState>,
    viewer: Viewer,
    Query(f): Query<Filters>,
) -> Response {
    let status = f.status.unwrap_or_else(|| "open".to_owned());
    let statuses = match status.as_str() {
        "triggered" => vec![IncidentStatus::Triggered],
        "acknowledged" => vec![IncidentStatus::Acknowledged],
        "resolved" => vec![IncidentStatus::Resolved],
        "all" => Vec::new(),
        _ => vec![IncidentStatus::Triggered, IncidentStatus::Acknowledged],
    };
    let service = f.service.unwrap_or_default();
    let mine = f.mine.is_some_and(|m| !m.is_empty());
    let filter = IncidentFilter {
        statuses,
        service: service.parse().ok(),
        assigned_to: mine.then_some(viewer.user.id),
        ..IncidentFilter::default()
    };
    let live_since = super::live::since(&state).await;
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
        chrome: viewer.chrome(),
        live_since,
        triggered: counts.get(&IncidentStatus::Triggered).copied().unwrap_or(0),
        acknowledged: counts
            .get(&IncidentStatus::Acknowledged)
            .copied()
            .unwrap_or(0),
        rows,
        statuses: STATUSES.to_vec(),
        status: if STATUSES.iter().any(|(v, _)| *v == status) {
            status
        } else {
            "open".to_owned()
        },
        services: services
            .iter()
            .map(|s| (s.id.to_string(), s.name.to_string()))
            .collect(),
        service,
        mine,
    })
}
