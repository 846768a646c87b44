//! The incident list, newest first, a hundred at a time, with counts by status and filters
//! (status, service, team, when, "mine", words to search); times relative, the whole time
//! on the viewer's clock on hover.

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
    severity: &'static str,
    service: String,
    /// How long ago, the whole time on the viewer's clock, and RFC 3339 for
    /// `<time datetime>`.
    opened: String,
    opened_exact: String,
    opened_at: String,
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
    teams: Vec<super::Choice>,
    periods: Vec<super::Choice>,
    mine: bool,
    search: String,
    /// Links to the next (older) hundred, and back to the newest, with the same filters.
    older: Option<String>,
    newest: Option<String>,
}

/// The list's filters, as the form sends them.
#[derive(Deserialize)]
struct Filters {
    /// `open` (default), `triggered`, `acknowledged`, `resolved` or `all`.
    status: Option<String>,
    /// A service id; empty for all.
    service: Option<String>,
    /// A team id; empty for all.
    team: Option<String>,
    /// Opened in the last `1d`, `7d` or `30d`; empty for any time.
    opened: Option<String>,
    /// Only incidents assigned to the viewer.
    mine: Option<String>,
    /// Only incidents numbered below this: the older pages.
    before: Option<String>,
    /// Words to look for: a number, or a part of a summary, dedup key or sender.
    q: Option<String>,
}

/// How far back the list looks: the form's value, its label, and days (0: any time).
const PERIODS: [(&str, &str, i64); 4] = [
    ("", "any time", 0),
    ("1d", "the last day", 1),
    ("7d", "the last 7 days", 7),
    ("30d", "the last 30 days", 30),
];

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
    let team = f.team.unwrap_or_default();
    let period = f.opened.unwrap_or_default();
    let search = f.q.unwrap_or_default();
    let days = PERIODS
        .iter()
        .find(|(v, _, _)| *v == period)
        .map_or(0, |(_, _, d)| *d);
    let before = f
        .before
        .as_deref()
        .and_then(|b| b.parse().ok())
        .map(onduty_core::IncidentNumber);
    // The same filters, for the paging links.
    let link = |before: Option<i64>| {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("status", &status);
        for (name, value) in [
            ("service", &service),
            ("team", &team),
            ("opened", &period),
            ("q", &search),
        ] {
            if !value.is_empty() {
                query.append_pair(name, value);
            }
        }
        if mine {
            query.append_pair("mine", "1");
        }
        if let Some(b) = before {
            query.append_pair("before", &b.to_string());
        }
        format!("/incidents?{}", query.finish())
    };
    let now = state.clock.now();
    let filter = IncidentFilter {
        statuses,
        service: service.parse().ok(),
        team: team.parse().ok(),
        since: (days > 0)
            .then(|| onduty_core::Timestamp::from_millis(now.as_millis() - days * 24 * 3_600_000)),
        assigned_to: mine.then_some(viewer.user.id),
        search: Some(search.clone()),
        ..IncidentFilter::default()
    };
    // The counts follow every filter but the status.
    let counted = IncidentFilter {
        statuses: Vec::new(),
        ..filter.clone()
    };
    let live_since = super::live::since(&state).await;
    let (incidents, counts, services, all_teams) = match tokio::try_join!(
        state.store.list_incidents(&filter, before, SHOWN),
        state.store.count_incidents_by_status(&counted),
        state.store.list_services(),
        state.store.list_teams(),
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
    let older = incidents.next.map(|n| link(Some(n.0)));
    let newest = before.is_some().then(|| link(None));
    let tz = viewer.zone();
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
            severity: i.severity.as_str(),
            service: names.get(&i.service_id).cloned().unwrap_or_default(),
            opened: super::time::ago(i.created_at, now),
            opened_exact: super::time::exact(i.created_at, &tz),
            opened_at: i.created_at.to_rfc3339(),
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
        teams: super::Choice::list(all_teams.iter().map(|t| (t.id, &t.name)), Some(team)),
        periods: super::Choice::list(PERIODS.iter().map(|(v, l, _)| (v, l)), Some(period)),
        mine,
        search,
        older,
        newest,
    })
}
