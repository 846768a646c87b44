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
use onduty_store::incidents::{IncidentFilter, IncidentOrder};

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

/// One of a person's shifts, as pages show it.
pub(super) struct ShiftRow {
    pub schedule: String,
    /// The schedule's page, at the override form filled with this shift.
    pub cover: String,
    pub from: String,
    pub until: String,
    /// They are on call in it now.
    pub now: bool,
}

/// `user`'s shifts that begin before `now` + `ahead`, in every schedule, on `tz`'s clock.
pub(super) async fn upcoming_shifts(
    state: &SharedState,
    user: onduty_core::UserId,
    tz: &jiff::tz::TimeZone,
    now: Timestamp,
    ahead: std::time::Duration,
) -> Result<Vec<ShiftRow>, crate::error::ApiError> {
    // Read a month further, so that the last shift shows its real end.
    let until = now.saturating_add(ahead);
    let window = Window {
        start: now,
        end: until.saturating_add(std::time::Duration::from_secs(31 * 24 * 3600)),
    };
    let shifts = user_shifts(state, user, window, now).await?;
    Ok(shifts
        .iter()
        .filter(|s| s.start < until)
        .map(|s| {
            let zone = super::time::zone(&s.time_zone);
            let query = form_urlencoded::Serializer::new(String::new())
                .append_pair("start", &super::time::local_field(s.start, &zone))
                .append_pair("end", &super::time::local_field(s.end, &zone))
                .finish();
            ShiftRow {
                schedule: s.schedule_name.clone(),
                cover: format!("/schedules/{}?{query}#cover", s.schedule),
                from: super::time::when(s.start, tz),
                until: super::time::when(s.end, tz),
                now: s.start <= now && now < s.end,
            }
        })
        .collect())
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage {
    chrome: super::Chrome,
    live_since: String,
    /// Triggered incidents waiting for you: in the title and the icon.
    waiting: i64,
    incidents: Vec<IncidentRow>,
    now: Option<ShiftRow>,
    next: Option<ShiftRow>,
}

async fn show(State(state): State<SharedState>, viewer: Viewer) -> Response {
    let now = state.clock.now();
    let live_since = super::live::since(&state).await;
    // Those still paging first (sorted before the limit), then the newest.
    let mine = IncidentFilter {
        statuses: vec![IncidentStatus::Triggered, IncidentStatus::Acknowledged],
        assigned_to: Some(viewer.user.id),
        order: IncidentOrder::Status,
        ..IncidentFilter::default()
    };
    let tz = viewer.zone();
    let (incidents, counts, shifts) = match tokio::try_join!(
        async {
            (state.store.list_incidents(&mine, None, SHOWN).await)
                .map_err(crate::error::ApiError::from)
        },
        async {
            (state.store.count_incidents_by_status(&mine).await)
                .map_err(crate::error::ApiError::from)
        },
        upcoming_shifts(&state, viewer.user.id, &tz, now, AHEAD),
    ) {
        Ok(found) => found,
        Err(e) => return super::error_page(e),
    };
    let (mut current, mut next) = (None, None);
    for shift in shifts {
        match shift.now {
            true if current.is_none() => current = Some(shift),
            false if next.is_none() => next = Some(shift),
            _ => {}
        }
    }
    page(HomePage {
        chrome: viewer.chrome(),
        live_since,
        waiting: counts.get(&IncidentStatus::Triggered).copied().unwrap_or(0),
        incidents: incidents
            .incidents
            .iter()
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
        now: current,
        next,
    })
}
