//! The report page: a period and filters in a form (dates on the viewer's clock), the
//! figures, charts beside tables of their numbers, and the same report as CSV
//! (`/reports.csv`). Through the same use case as `/api/v1/reports`.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use jiff::civil::Date;
use onduty_app::reports::{Report, ReportQuery};
use onduty_core::report::duration_words;
use serde::Deserialize;

use super::charts::{BarChart, Series};
use super::{Choice, Viewer, page};
use crate::SharedState;
use crate::error::ApiError;

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/reports", get(show))
        .route("/reports.csv", get(csv))
}

/// The form: dates on the viewer's clock (`to` included), filters by id.
#[derive(Debug, Default, Deserialize)]
struct Form {
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    #[serde(default)]
    team: String,
    #[serde(default)]
    service: String,
    #[serde(default)]
    policy: String,
    #[serde(default)]
    urgency: String,
}

struct WeekRow {
    start: String,
    incidents: u64,
    alerts: u64,
    acknowledged: u64,
    to_acknowledge: String,
    resolved: u64,
    to_resolve: String,
    escalated: u64,
    auto_resolved: u64,
    flaps: u64,
    heartbeat_failures: u64,
}

struct PersonRow {
    name: String,
    time_zone: String,
    pages: u64,
    business: u64,
    off: u64,
    sleep: u64,
    hours_on_call: String,
    acknowledged: u64,
    resolved: u64,
    over_budget: u64,
}

#[derive(Template)]
#[template(path = "reports.html")]
struct ReportPage {
    chrome: super::Chrome,
    from: String,
    to: String,
    teams: Vec<Choice>,
    services: Vec<Choice>,
    policies: Vec<Choice>,
    urgencies: Vec<Choice>,
    /// The query string of this report, for the CSV link.
    query: String,
    report: Report,
    to_acknowledge: [String; 3],
    to_resolve: [String; 3],
    weeks: Vec<WeekRow>,
    people: Vec<PersonRow>,
    incidents_chart: BarChart,
    times_chart: BarChart,
    channels_chart: BarChart,
    people_chart: BarChart,
}

fn percent(share: &f64) -> String {
    format!("{:.0}%", share * 100.0)
}

/// A date field as the instant its day starts on `tz`'s clock; `after` for the day after.
fn day_start(
    field: &str,
    text: &str,
    tz: &jiff::tz::TimeZone,
    after: bool,
) -> Result<String, ApiError> {
    let date: Date = text
        .trim()
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("{field} is a date like 2026-03-01")))?;
    let date = if after {
        date.tomorrow()
            .map_err(|_| ApiError::BadRequest(format!("{field} is out of range")))?
    } else {
        date
    };
    let start = date
        .to_zoned(tz.clone())
        .map_err(|_| ApiError::BadRequest(format!("{field} is out of range")))?;
    Ok(super::time::from_jiff(start.timestamp()).to_rfc3339())
}

impl Form {
    /// The use case's query, and the dates the form shows.
    fn query(
        &self,
        tz: &jiff::tz::TimeZone,
        now: onduty_core::Timestamp,
    ) -> Result<(ReportQuery, String, String), ApiError> {
        let today = super::time::to_jiff(now).to_zoned(tz.clone()).date();
        let to = match self.to.trim() {
            "" => today.to_string(),
            t => t.to_owned(),
        };
        let from = match self.from.trim() {
            "" => {
                let end: Date = to.parse().unwrap_or(today);
                end.checked_sub(jiff::Span::new().days(27))
                    .unwrap_or(end)
                    .to_string()
            }
            f => f.to_owned(),
        };
        let query = ReportQuery {
            from: day_start("The first day", &from, tz, false)?,
            to: day_start("The last day", &to, tz, true)?,
            team: self.team.clone(),
            service: self.service.clone(),
            policy: self.policy.clone(),
            urgency: self.urgency.clone(),
        };
        Ok((query, from, to))
    }
}

async fn run(
    state: &SharedState,
    viewer: &Viewer,
    form: &Form,
) -> Result<(Report, String, String), ApiError> {
    let (query, from, to) = form.query(&viewer.zone(), state.clock.now())?;
    let report = state.app.report(&viewer.acting(), &query).await?;
    Ok((report, from, to))
}

async fn csv(
    State(state): State<SharedState>,
    viewer: Viewer,
    Query(form): Query<Form>,
) -> Response {
    match run(&state, &viewer, &form).await {
        Ok((report, _, _)) => crate::api::report_csv_response(&report),
        Err(e) => super::error_page(e),
    }
}

async fn show(
    State(state): State<SharedState>,
    viewer: Viewer,
    Query(form): Query<Form>,
) -> Response {
    let (report, from, to) = match run(&state, &viewer, &form).await {
        Ok(r) => r,
        Err(e) => return super::error_page(e),
    };
    let lists = tokio::try_join!(
        state.store.list_teams(),
        state.store.list_services(),
        state.store.list_policies(),
    );
    let (teams, services, policies) = match lists {
        Ok(l) => l,
        Err(e) => return super::error_page(ApiError::from(e)),
    };
    let chosen = |v: &str| (!v.is_empty()).then(|| v.to_owned());
    let mut chrome = viewer.chrome();
    chrome.section = "reports".to_owned();
    let words = |s: Option<f64>| s.map_or("–".to_owned(), duration_words);
    let spread = |s: Option<onduty_core::report::Spread>| {
        [
            words(s.map(|s| s.mean_seconds)),
            words(s.map(|s| s.median_seconds)),
            words(s.map(|s| s.p90_seconds)),
        ]
    };
    let week_label = |w: &onduty_app::reports::WeekFigures| {
        super::time::to_jiff(w.start)
            .to_zoned(jiff::tz::TimeZone::UTC)
            .strftime("%b %-d")
            .to_string()
    };
    let labels: Vec<String> = report.weeks.iter().map(week_label).collect();
    let incidents_chart = BarChart::columns(
        "Incidents by week",
        &labels,
        vec![
            Series {
                class: "s2",
                name: "Escalated",
                values: report.weeks.iter().map(|w| w.escalated as f64).collect(),
            },
            Series {
                class: "s0",
                name: "Not escalated",
                values: report
                    .weeks
                    .iter()
                    .map(|w| (w.incidents - w.escalated.min(w.incidents)) as f64)
                    .collect(),
            },
        ],
        " incidents",
    );
    let minutes = |v: Option<f64>| v.map_or(0.0, |s| (s / 60.0 * 10.0).round() / 10.0);
    let times_chart = BarChart::columns(
        "Mean minutes to acknowledge and to resolve, by week",
        &labels,
        vec![
            Series {
                class: "s0",
                name: "To acknowledge",
                values: report
                    .weeks
                    .iter()
                    .map(|w| minutes(w.mean_seconds_to_acknowledge))
                    .collect(),
            },
            Series {
                class: "s1",
                name: "To resolve",
                values: report
                    .weeks
                    .iter()
                    .map(|w| minutes(w.mean_seconds_to_resolve))
                    .collect(),
            },
        ],
        " minutes",
    );
    let channels: Vec<String> = report
        .acknowledgements_by_channel
        .iter()
        .map(|c| c.channel.to_owned())
        .collect();
    let channels_chart = BarChart::columns(
        "Acknowledgements by channel",
        &channels,
        vec![Series {
            class: "s0",
            name: "Acknowledgements",
            values: report
                .acknowledgements_by_channel
                .iter()
                .map(|c| c.count as f64)
                .collect(),
        }],
        "",
    );
    let names: Vec<String> = report.responders.iter().map(|r| r.name.clone()).collect();
    let people_chart = BarChart::columns(
        "Pages per person, by when they came in their own time zone",
        &names,
        vec![
            Series {
                class: "s0",
                name: "Business hours",
                values: report
                    .responders
                    .iter()
                    .map(|r| r.business_hours_pages as f64)
                    .collect(),
            },
            Series {
                class: "s1",
                name: "Off hours",
                values: report
                    .responders
                    .iter()
                    .map(|r| r.off_hours_pages as f64)
                    .collect(),
            },
            Series {
                class: "s2",
                name: "Sleep hours",
                values: report
                    .responders
                    .iter()
                    .map(|r| r.sleep_hours_pages as f64)
                    .collect(),
            },
        ],
        " pages",
    );
    let weeks = report
        .weeks
        .iter()
        .map(|w| WeekRow {
            start: week_label(w),
            incidents: w.incidents,
            alerts: w.alerts,
            acknowledged: w.acknowledged,
            to_acknowledge: words(w.mean_seconds_to_acknowledge),
            resolved: w.resolved,
            to_resolve: words(w.mean_seconds_to_resolve),
            escalated: w.escalated,
            auto_resolved: w.auto_resolved,
            flaps: w.flaps,
            heartbeat_failures: w.heartbeat_failures,
        })
        .collect();
    let people = report
        .responders
        .iter()
        .map(|r| PersonRow {
            name: r.name.clone(),
            time_zone: r.time_zone.clone(),
            pages: r.pages,
            business: r.business_hours_pages,
            off: r.off_hours_pages,
            sleep: r.sleep_hours_pages,
            hours_on_call: format!("{:.1}", r.hours_on_call),
            acknowledged: r.acknowledged,
            resolved: r.resolved,
            over_budget: r.weeks_over_budget,
        })
        .collect();
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("from", &from)
        .append_pair("to", &to)
        .append_pair("team", &form.team)
        .append_pair("service", &form.service)
        .append_pair("policy", &form.policy)
        .append_pair("urgency", &form.urgency)
        .finish();
    page(ReportPage {
        chrome,
        from,
        to,
        teams: Choice::list(
            teams.iter().map(|t| (t.id, t.name.as_str())),
            chosen(&form.team),
        ),
        services: Choice::list(
            services.iter().map(|s| (s.id, s.name.as_str())),
            chosen(&form.service),
        ),
        policies: Choice::list(
            policies.iter().map(|p| (p.id, p.name.as_str())),
            chosen(&form.policy),
        ),
        urgencies: Choice::list([("high", "High"), ("low", "Low")], chosen(&form.urgency)),
        query,
        to_acknowledge: spread(report.time_to_acknowledge),
        to_resolve: spread(report.time_to_resolve),
        report,
        weeks,
        people,
        incidents_chart,
        times_chart,
        channels_chart,
        people_chart,
    })
}
