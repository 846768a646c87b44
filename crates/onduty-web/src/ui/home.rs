//! The home page: what is paging you (open incidents you have, triggered first), your
//! shift now and your next one with a link to find cover, and a count of the incidents
//! waiting for you in the title and the icon.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use onduty_core::Timestamp;
use onduty_core::incident::IncidentStatus;
use onduty_core::schedule::Window;
use onduty_store::incidents::IncidentFilter;

use super::{Viewer, page};
use crate::SharedState;
use crate::api::schedules::user_shifts;

pub(super) fn routes() -> Router<SharedState> {
    Router::new().route("/", get(show))
}

/// Most incidents the page lists; the incident list has the rest.
const SHOWN: u32 = 50;
/// How far ahead the page looks for your next shift.
const AHEAD: std::time::Duration = std::time::Duration::from_secs(30 * 24 * 3600);

struct IncidentRow {
    number: i64,
    status: &'static str,
    urgency: &'static str,
    summary: String,
    opened: String,
    opened_exact: String,
    opened_at: String,
}

struct ShiftRow {
    schedule: String,
    /// The schedule's page, at the override form filled with this shift.
    cover: Option<String>,
    from: String,
    until: String,
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: super::Chrome,
    live_since: String,
    /// Triggered incidents waiting for you: in the title and the icon.
    waiting: usize,
    incidents: Vec<IncidentRow>,
    now: Option<ShiftRow>,
    next: Option<ShiftRow>,
}

async fn show(State(state): State<SharedState>, viewer: Viewer) -> Response {
    let now = state.clock.now();
    let live_since = super::live::since(&state).await;
    let mine = IncidentFilter {
        statuses: vec![IncidentStatus::Triggered, IncidentStatus::Acknowledged],
        assigned_to: Some(viewer.user.id),
        ..IncidentFilter::default()
    };
    let window = Window {
        start: now,
        end: now.saturating_add(AHEAD),
    };
    let (incidents, schedules) = match tokio::try_join!(
        state.store.list_incidents(&mine, None, SHOWN),
        state.store.list_schedules(),
    ) {
        Ok(found) => found,
        Err(e) => return super::error_page(e),
    };
    let shifts = match user_shifts(&state, viewer.user.id, window, now).await {
        Ok(s) => s,
        Err(e) => return super::error_page(e),
    };
    let tz = viewer.zone();
    let row = |s: &crate::api::schedules::UserShiftView| {
        let schedule = schedules.iter().find(|x| x.name.to_string() == s.schedule);
        let cover = schedule.map(|x| {
            let field = |at| super::time::local_field(at, &super::time::zone(x.time_zone.as_str()));
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("start", &field(s.start))
                .append_pair("end", &field(s.end))
                .finish();
            format!("/schedules/{}?{query}#cover", x.id)
        });
        ShiftRow {
            schedule: s.schedule.clone(),
            cover,
            from: super::time::when(s.start, &tz),
            until: super::time::when(s.end, &tz),
        }
    };
    let mut rows: Vec<_> = incidents.incidents.iter().collect();
    // Those still paging first, then the newest.
    rows.sort_by_key(|i| {
        (
            i.status != IncidentStatus::Triggered,
            std::cmp::Reverse(i.number),
        )
    });
    page(HomePage {
        chrome: viewer.chrome(),
        live_since,
        waiting: rows
            .iter()
            .filter(|i| i.status == IncidentStatus::Triggered)
            .count(),
        incidents: rows
            .into_iter()
            .map(|i| IncidentRow {
                number: i.number.0,
                status: i.status.as_str(),
                urgency: i.urgency.as_str(),
                summary: i.summary.clone(),
                opened: super::time::ago(i.created_at, now),
                opened_exact: super::time::exact(i.created_at, &tz),
                opened_at: i.created_at.to_rfc3339(),
            })
            .collect(),
        now: shifts.iter().find(|s| on_at(s, now)).map(row),
        next: shifts.iter().find(|s| s.start > now).map(row),
    })
}

fn on_at(shift: &crate::api::schedules::UserShiftView, at: Timestamp) -> bool {
    shift.start <= at && at < shift.end
}
