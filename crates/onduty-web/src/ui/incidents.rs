//! The incident list, newest first, a hundred at a time, with counts by status and filters
//! (status, service, team, when, "mine", words to search); times relative, the whole time
//! on the viewer's clock on hover.

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use onduty_app::{ActedOnEach, IncidentCommand, MOST_AT_ONCE};
use onduty_core::incident::IncidentStatus;
use onduty_core::{IncidentNumber, IncidentRef};
use onduty_store::incidents::{IncidentFilter, IncidentOrder};
use serde::Deserialize;

use super::{Viewer, page};
use crate::SharedState;
use crate::error::ApiError;

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/incidents", get(list))
        .route("/incidents/bulk", post(bulk))
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
    services: Vec<(String, String)>,
    teams: Vec<super::Choice>,
    periods: Vec<super::Choice>,
    orders: Vec<super::Choice>,
    chosen: Chosen,
    /// How many incidents the filters match, in all.
    matching: i64,
    /// The highest number on the page: "all matching" means those up to it.
    upto: i64,
    /// Whether the viewer may acknowledge and resolve (the bulk form is shown).
    can_act: bool,
    /// Links to the next (older) hundred, and back to the newest, with the same filters.
    older: Option<String>,
    newest: Option<String>,
}

/// The list's filters, as the form sends them.
#[derive(Deserialize, Default)]
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
    /// `newest` (default), `oldest`, `severity` or `status`.
    sort: Option<String>,
}

/// How far back the list looks: the form's value, its label, and days (0: any time).
const PERIODS: [(&str, &str, i64); 4] = [
    ("", "any time", 0),
    ("1d", "the last day", 1),
    ("7d", "the last 7 days", 7),
    ("30d", "the last 30 days", 30),
];

/// Most characters of a search.
const SEARCH_MAX_CHARS: usize = 200;

/// The list's orders: the form's value, its label, and the store's order.
const ORDERS: [(&str, &str, IncidentOrder); 4] = [
    ("newest", "newest first", IncidentOrder::Newest),
    ("oldest", "oldest first", IncidentOrder::Oldest),
    ("severity", "severity", IncidentOrder::Severity),
    ("status", "status", IncidentOrder::Status),
];

const STATUSES: [(&str, &str); 5] = [
    ("open", "open"),
    ("triggered", "triggered"),
    ("acknowledged", "acknowledged"),
    ("resolved", "resolved"),
    ("all", "all"),
];

/// The filters as chosen, each with its default filled in.
struct Chosen {
    status: String,
    service: String,
    team: String,
    period: String,
    search: String,
    mine: bool,
    sort: String,
}

impl Chosen {
    fn read(f: Filters) -> Chosen {
        let status = f.status.unwrap_or_default();
        Chosen {
            status: if STATUSES.iter().any(|(v, _)| *v == status) {
                status
            } else {
                "open".to_owned()
            },
            service: f.service.unwrap_or_default(),
            team: f.team.unwrap_or_default(),
            period: f.opened.unwrap_or_default(),
            // As long as the field allows: the words go into four patterns.
            search: f
                .q
                .unwrap_or_default()
                .chars()
                .take(SEARCH_MAX_CHARS)
                .collect(),
            mine: f.mine.is_some_and(|m| !m.is_empty()),
            sort: f
                .sort
                .filter(|s| ORDERS.iter().any(|(v, _, _)| v == s))
                .unwrap_or_else(|| "newest".to_owned()),
        }
    }

    /// Whether a filter beyond the search and the status is chosen: the form then shows
    /// them all at first.
    fn narrowed_further(&self) -> bool {
        !self.service.is_empty()
            || !self.team.is_empty()
            || PERIODS.iter().any(|(v, _, d)| *v == self.period && *d > 0)
            || self.mine
            || self.sort != "newest"
    }

    /// What the store is asked for, at `now`, for `viewer`.
    fn filter(&self, viewer: onduty_core::UserId, now: onduty_core::Timestamp) -> IncidentFilter {
        let statuses = match self.status.as_str() {
            "triggered" => vec![IncidentStatus::Triggered],
            "acknowledged" => vec![IncidentStatus::Acknowledged],
            "resolved" => vec![IncidentStatus::Resolved],
            "all" => Vec::new(),
            _ => vec![IncidentStatus::Triggered, IncidentStatus::Acknowledged],
        };
        let days = PERIODS
            .iter()
            .find(|(v, _, _)| *v == self.period)
            .map_or(0, |(_, _, d)| *d);
        IncidentFilter {
            statuses,
            service: self.service.parse().ok(),
            team: self.team.parse().ok(),
            since: (days > 0).then(|| {
                onduty_core::Timestamp::from_millis(now.as_millis() - days * 24 * 3_600_000)
            }),
            assigned_to: self.mine.then_some(viewer),
            search: Some(self.search.clone()),
            order: ORDERS
                .iter()
                .find(|(v, _, _)| *v == self.sort)
                .map_or(IncidentOrder::Newest, |(_, _, o)| *o),
            ..IncidentFilter::default()
        }
    }

    /// The list with these filters, from incident `before` down.
    fn link(&self, before: Option<i64>) -> String {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("status", &self.status);
        for (name, value) in [
            ("service", &self.service),
            ("team", &self.team),
            ("opened", &self.period),
            ("q", &self.search),
        ] {
            if !value.is_empty() {
                query.append_pair(name, value);
            }
        }
        if self.mine {
            query.append_pair("mine", "1");
        }
        if self.sort != "newest" {
            query.append_pair("sort", &self.sort);
        }
        if let Some(b) = before {
            query.append_pair("before", &b.to_string());
        }
        format!("/incidents?{}", query.finish())
    }
}

async fn list(
    State(state): State<SharedState>,
    viewer: Viewer,
    Query(mut f): Query<Filters>,
) -> Response {
    let before = f
        .before
        .take()
        .and_then(|b| b.parse().ok())
        .map(onduty_core::IncidentNumber);
    let chosen = Chosen::read(f);
    let now = state.clock.now();
    let filter = chosen.filter(viewer.user.id, now);
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
    let older = incidents.next.map(|n| chosen.link(Some(n.0)));
    let newest = before.is_some().then(|| chosen.link(None));
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
        teams: super::Choice::list(
            all_teams.iter().map(|t| (t.id, &t.name)),
            Some(chosen.team.clone()),
        ),
        periods: super::Choice::list(
            PERIODS.iter().map(|(v, l, _)| (v, l)),
            Some(chosen.period.clone()),
        ),
        orders: super::Choice::list(
            ORDERS.iter().map(|(v, l, _)| (v, l)),
            Some(chosen.sort.clone()),
        ),
        services: services
            .iter()
            .map(|s| (s.id.to_string(), s.name.to_string()))
            .collect(),
        upto: incidents
            .incidents
            .iter()
            .map(|i| i.number.0)
            .max()
            .unwrap_or(0),
        matching: counts
            .iter()
            .filter(|(status, _)| filter.statuses.is_empty() || filter.statuses.contains(status))
            .map(|(_, n)| n)
            .sum(),
        can_act: viewer.user.role.can_respond(),
        chosen,
        older,
        newest,
    })
}

/// "Acknowledge selected", "Resolve selected": the incidents ticked (`n`), or all those
/// matching the list's filters (`all`), through [`onduty_app::App::act_on_each`]; back to
/// the list saying what was done.
async fn bulk(State(state): State<SharedState>, viewer: Viewer, body: Bytes) -> Response {
    let mut filters = Filters::default();
    let (mut csrf, mut action, mut all, mut numbers) =
        (String::new(), String::new(), false, vec![]);
    let mut upto = None;
    for (key, value) in form_urlencoded::parse(&body) {
        let value = value.into_owned();
        match key.as_ref() {
            "csrf" => csrf = value,
            "action" => action = value,
            "all" => all = value == "1",
            "n" => numbers.push(value),
            "upto" => upto = value.parse::<i64>().ok(),
            "status" => filters.status = Some(value),
            "service" => filters.service = Some(value),
            "team" => filters.team = Some(value),
            "opened" => filters.opened = Some(value),
            "q" => filters.q = Some(value),
            "sort" => filters.sort = Some(value),
            "mine" => filters.mine = Some(value),
            _ => {}
        }
    }
    if !viewer.csrf_ok(&csrf) {
        return super::auth::forbidden();
    }
    let chosen = Chosen::read(filters);
    let back = chosen.link(None);
    let (command, done) = match action.as_str() {
        "acknowledge" => (IncidentCommand::Acknowledge, "Acknowledged"),
        "resolve" => (IncidentCommand::Resolve, "Resolved"),
        _ => return super::flash::failed(&state, &back, "choose Acknowledge or Resolve"),
    };
    // "All matching": those the page was drawn with (numbered up to `upto`), not any
    // opened since, and at most MOST_AT_ONCE of them.
    let mut left_over = false;
    let chosen_ones: Vec<IncidentRef> = if all {
        let filter = IncidentFilter {
            order: IncidentOrder::Newest,
            ..chosen.filter(viewer.user.id, state.clock.now())
        };
        let most = u32::try_from(MOST_AT_ONCE).unwrap_or(u32::MAX);
        let below = upto.map(|n| IncidentNumber(n.saturating_add(1)));
        match state.store.list_incidents(&filter, below, most).await {
            Ok(page) => {
                left_over = page.next.is_some();
                page.incidents
                    .iter()
                    .map(|i| IncidentRef::Number(i.number))
                    .collect()
            }
            Err(e) => return super::error_page(e),
        }
    } else {
        match numbers
            .iter()
            .map(|n| n.parse().map(|n| IncidentRef::Number(IncidentNumber(n))))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(refs) => refs,
            Err(_) => {
                return super::flash::failed(&state, &back, "an incident number is not a number");
            }
        }
    };
    if chosen_ones.is_empty() {
        return super::flash::failed(
            &state,
            &back,
            "Nothing was selected: tick incidents, or \"All matching this filter\".",
        );
    }
    match state
        .app
        .act_on_each(&viewer.acting(), &chosen_ones, command)
        .await
    {
        Ok(acted) => {
            let mut text = said(done, &acted);
            if left_over {
                text.push_str(&format!(
                    "; only {MOST_AT_ONCE} are done at a time: do it again for the rest"
                ));
            }
            super::flash::done(&state, &back, text)
        }
        Err(e) => super::flash::failed(&state, &back, ApiError::from(e)),
    }
}

/// "Acknowledged 3 incidents; 1 already was; 2 could not be (…)".
fn said(done: &str, acted: &ActedOnEach) -> String {
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    let mut text = format!("{done} {} incident{}", acted.changed, plural(acted.changed));
    if acted.unchanged > 0 {
        let were = if acted.unchanged == 1 { "was" } else { "were" };
        text.push_str(&format!("; {} already {were}", acted.unchanged));
    }
    if let Some(why) = &acted.first_refusal {
        text.push_str(&format!("; {} could not be ({why})", acted.refused));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_further_filters_are_shown_at_first_only_when_one_is_chosen() {
        let read = |f: Filters| Chosen::read(f).narrowed_further();
        assert!(!read(Filters::default()));
        assert!(!read(Filters {
            status: Some("all".to_owned()),
            q: Some("disk".to_owned()),
            opened: Some(String::new()),
            sort: Some("newest".to_owned()),
            ..Filters::default()
        }));
        assert!(read(Filters {
            team: Some("7".to_owned()),
            ..Filters::default()
        }));
        assert!(read(Filters {
            opened: Some("7d".to_owned()),
            ..Filters::default()
        }));
        assert!(read(Filters {
            sort: Some("severity".to_owned()),
            ..Filters::default()
        }));
        assert!(read(Filters {
            mine: Some("1".to_owned()),
            ..Filters::default()
        }));
    }

    #[test]
    fn a_bulk_action_says_what_it_did() {
        let acted = |changed, unchanged, refused: usize| ActedOnEach {
            changed,
            unchanged,
            refused,
            first_refusal: (refused > 0).then(|| "incident #4 is resolved".to_owned()),
        };
        assert_eq!(
            said("Acknowledged", &acted(1, 0, 0)),
            "Acknowledged 1 incident"
        );
        assert_eq!(
            said("Resolved", &acted(3, 1, 2)),
            "Resolved 3 incidents; 1 already was; 2 could not be (incident #4 is resolved)"
        );
    }
}
