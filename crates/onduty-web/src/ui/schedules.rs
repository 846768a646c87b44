//! Schedules: who is on call now and next, a two-week timeline of the final schedule
//! (layers, overrides and gaps, on the schedule's wall clock), overrides added from the
//! timeline, layers edited, and the calendar subscription link. Every change goes
//! through the same code as the REST API.

use super::CsrfForm;
use std::collections::{BTreeMap, HashMap};

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use onduty_core::account::User;
use onduty_core::schedule::{FinalSchedule, ShiftLength, Source, Stretch, Window};
use onduty_core::{Timestamp, UserId};
use serde::Deserialize;

use super::auth::forbidden;
use super::flash::{after, done, failed};
use super::time::{from_jiff, from_local_field, local_field, to_jiff, when, zone};
use super::{Choice, Viewer, page};
use crate::SharedState;
use crate::api::schedules::{compute, find_schedule, people, schedule_feed_url};
use crate::error::ApiError;
use onduty_app::{LayerInput, OverrideInput, ScheduleInput};

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/schedules", get(list).post(create))
        .route("/schedules/{id}", get(show).post(update))
        .route("/schedules/{id}/overrides", post(cover))
        .route(
            "/schedules/{id}/overrides/{override_id}/delete",
            post(uncover),
        )
        .route("/schedules/{id}/calendar", post(rotate_calendar))
}

/// Days the timeline shows.
const DAYS_SHOWN: i64 = 14;

/// One stretch of a day on the timeline.
struct Bar {
    /// Minutes since the day's start, and how many.
    x: i64,
    width: i64,
    /// `p0`…`p7` (a colour per person), `gap`; `override` is added for overrides.
    class: String,
    label: String,
}

/// A stretch of the final schedule: from, to, and who (from where), or nobody.
type Span = (Timestamp, Timestamp, Option<(UserId, Source)>);

/// One line under a day's bar.
struct Entry {
    from: String,
    to: String,
    who: String,
    source: String,
    gap: bool,
    /// The whole shift, for "cover this" (as `datetime-local` values).
    cover_start: String,
    cover_end: String,
}

struct DayRow {
    label: String,
    minutes: i64,
    bars: Vec<Bar>,
    entries: Vec<Entry>,
}

/// The final schedule laid out day by day on `tz`'s wall clock, from `first_day`'s
/// midnight. A day is as long as its wall clock says (23 or 25 hours at a clock change).
fn timeline(
    f: &FinalSchedule,
    days: &[(Timestamp, Timestamp, String)],
    tz: &TimeZone,
    names: &dyn Fn(UserId) -> String,
    layer_names: &dyn Fn(usize) -> String,
    colour: &dyn Fn(UserId) -> usize,
) -> Vec<DayRow> {
    let minutes = |from: Timestamp, to: Timestamp| (to.as_millis() - from.as_millis()) / 60_000;
    let clock = |at: Timestamp, day_end: Timestamp| {
        if at >= day_end {
            "24:00".to_owned()
        } else {
            to_jiff(at)
                .to_zoned(tz.clone())
                .strftime("%H:%M")
                .to_string()
        }
    };
    days.iter()
        .map(|(start, end, label)| {
            let mut bars = Vec::new();
            let mut entries = Vec::new();
            let mut spans: Vec<Span> = f
                .shifts
                .iter()
                .map(|s| (s.start, s.end, Some((s.user, s.source))))
                .chain(f.gaps.iter().map(|g| (g.start, g.end, None)))
                .filter(|(s, e, _)| s < end && e > start)
                .collect();
            spans.sort_by_key(|(s, _, _)| *s);
            for (s, e, who) in spans {
                let (from, to) = (s.max(*start), e.min(*end));
                let (class, name, source) = match who {
                    Some((user, source)) => {
                        let (src, extra) = match source {
                            Source::Layer(i) => (layer_names(i), ""),
                            Source::Override(_) => ("override".to_owned(), " override"),
                        };
                        (format!("p{}{extra}", colour(user) % 8), names(user), src)
                    }
                    None => ("gap".to_owned(), "nobody on call".to_owned(), String::new()),
                };
                bars.push(Bar {
                    x: minutes(*start, from),
                    width: minutes(from, to).max(1),
                    class,
                    label: format!("{}–{} {name}", clock(from, *end), clock(to, *end)),
                });
                entries.push(Entry {
                    from: clock(from, *end),
                    to: clock(to, *end),
                    who: name,
                    source,
                    gap: who.is_none(),
                    cover_start: local_field(s, tz),
                    cover_end: local_field(e, tz),
                });
            }
            DayRow {
                label: label.clone(),
                minutes: minutes(*start, *end).max(1),
                bars,
                entries,
            }
        })
        .collect()
}

/// The local midnights of `count` days from the one holding `now`, with each day's label.
fn days_from(now: Timestamp, tz: &TimeZone, count: i64) -> Vec<(Timestamp, Timestamp, String)> {
    let today = to_jiff(now).to_zoned(tz.clone()).date();
    (0..count)
        .filter_map(|d| {
            let date = today.checked_add(jiff::Span::new().days(d)).ok()?;
            let start = date.to_zoned(tz.clone()).ok()?;
            let end = date.tomorrow().ok()?.to_zoned(tz.clone()).ok()?;
            Some((
                from_jiff(start.timestamp()),
                from_jiff(end.timestamp()),
                start.strftime("%a %d %b").to_string(),
            ))
        })
        .collect()
}

struct ScheduleRow {
    id: String,
    name: String,
    time_zone: String,
    on_call: Option<String>,
    until: Option<String>,
    gaps: usize,
}

#[derive(Template)]
#[template(path = "schedules.html")]
struct SchedulesPage {
    chrome: super::Chrome,
    schedules: Vec<ScheduleRow>,
    time_zone: String,
    first_handoff: String,
    time_zones: &'static [String],
}

/// A first handoff to suggest: the last 09:00 on the wall clock (today's, or yesterday's
/// before nine), so that someone is on call from the moment the schedule is made.
fn last_nine_oclock(now: jiff::civil::DateTime) -> String {
    let day = if now.hour() >= 9 {
        now.date()
    } else {
        now.date().yesterday().unwrap_or(now.date())
    };
    format!("{day}T09:00")
}

async fn list(State(state): State<SharedState>, viewer: Viewer) -> Response {
    let now = state.clock.now();
    let found = async {
        let people = people(&state).await?;
        let mut rows = Vec::new();
        for s in state.store.list_schedules().await? {
            let tz = zone(s.time_zone.as_str());
            let window = Window {
                start: now,
                end: now.saturating_add(crate::api::schedules::GAP_HORIZON),
            };
            let f = compute(&state, &s, window).await?;
            let stretches = f.stretches();
            let current = stretches.first().filter(|c| c.start <= now);
            rows.push(ScheduleRow {
                id: s.id.to_string(),
                name: s.name.to_string(),
                time_zone: s.time_zone.to_string(),
                on_call: current.map(|c| name_of(&people, c.user)),
                until: current
                    .filter(|c| c.end < window.end)
                    .map(|c| when(c.end, &tz)),
                gaps: f.gaps.len(),
            });
        }
        Ok::<_, ApiError>(rows)
    };
    let schedules = match found.await {
        Ok(rows) => rows,
        Err(e) => return super::error_page(e),
    };
    let tz = zone(viewer.user.time_zone.as_str());
    page(SchedulesPage {
        chrome: viewer.chrome(),
        schedules,
        time_zone: viewer.user.time_zone.to_string(),
        first_handoff: last_nine_oclock(to_jiff(now).to_zoned(tz).datetime()),
        time_zones: super::time::zone_options(),
    })
}

/// Who is on call now and until when they hand over (back-to-back shifts of one person,
/// from a layer or an override, are one stretch), and the stretch after.
fn hand_over(stretches: &[Stretch], now: Timestamp) -> (Option<&Stretch>, Option<&Stretch>) {
    match stretches.iter().position(|s| s.start <= now && now < s.end) {
        Some(i) => (stretches.get(i), stretches.get(i + 1)),
        None => (None, stretches.iter().find(|s| s.start > now)),
    }
}

fn name_of(people: &HashMap<UserId, User>, id: UserId) -> String {
    people
        .get(&id)
        .map(|u| u.name.to_string())
        .unwrap_or_else(|| "(deleted user)".to_owned())
}

/// A layer as a form sends it.
#[derive(Default)]
struct LayerFields {
    name: String,
    participants: String,
    start: String,
    count: String,
    unit: String,
}

/// The schedule form, read by hand: its layers are numbered fields (`layer1.name`, …).
#[derive(Default)]
struct ScheduleForm {
    csrf: String,
    name: String,
    description: String,
    time_zone: String,
    layers: BTreeMap<u32, LayerFields>,
}

fn parse_form(bytes: &[u8]) -> ScheduleForm {
    let mut form = ScheduleForm::default();
    for (key, value) in form_urlencoded::parse(bytes) {
        let value = value.trim().to_owned();
        match key.as_ref() {
            "csrf" => form.csrf = value,
            "name" => form.name = value,
            "description" => form.description = value,
            "time_zone" => form.time_zone = value,
            key => {
                let Some((n, field)) = key
                    .strip_prefix("layer")
                    .and_then(|rest| rest.split_once('.'))
                    .and_then(|(n, f)| Some((n.parse::<u32>().ok()?, f)))
                else {
                    continue;
                };
                if form.layers.len() >= 20 && !form.layers.contains_key(&n) {
                    continue;
                }
                let layer = form.layers.entry(n).or_default();
                match field {
                    "name" => layer.name = value,
                    "participants" => layer.participants = value,
                    "start" => layer.start = value,
                    "count" => layer.count = value,
                    "unit" => layer.unit = value,
                    _ => {}
                }
            }
        }
    }
    form
}

/// The layers a form asks for: those with people in them, in order, each keeping the
/// restrictions the layer at its place had (the form does not edit them).
fn layer_bodies(
    form: &ScheduleForm,
    kept: &[onduty_core::schedule::Layer],
) -> Result<Vec<LayerInput>, ApiError> {
    let mut out = Vec::new();
    for (i, (n, l)) in form
        .layers
        .iter()
        .filter(|(_, l)| !l.participants.is_empty())
        .enumerate()
    {
        let start: DateTime = l.start.parse().map_err(|_| {
            ApiError::BadRequest(format!(
                "layer {n}: the first handoff is a date and time like 2026-11-23T09:00"
            ))
        })?;
        let count: u32 = l.count.parse().map_err(|_| {
            ApiError::BadRequest(format!("layer {n}: a turn is a whole number of {}", l.unit))
        })?;
        let shift = match l.unit.as_str() {
            "hours" => ShiftLength::Hours(count),
            "days" => ShiftLength::Days(count),
            "weeks" => ShiftLength::Weeks(count),
            other => {
                return Err(ApiError::BadRequest(format!(
                    "layer {n}: turns are counted in hours, days or weeks, not '{other}'"
                )));
            }
        };
        out.push(LayerInput {
            name: if l.name.is_empty() {
                format!("Layer {}", i + 1)
            } else {
                l.name.clone()
            },
            participants: l
                .participants
                .split([',', '\n'])
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_owned)
                .collect(),
            start,
            shift,
            // The layer the form showed at this number keeps its restrictions, even when
            // an earlier one was removed.
            restrictions: usize::try_from(*n)
                .ok()
                .and_then(|n| kept.get(n.checked_sub(1)?))
                .map(|k| k.restrictions.clone())
                .unwrap_or_default(),
        });
    }
    Ok(out)
}

async fn create(State(state): State<SharedState>, viewer: Viewer, body: Bytes) -> Response {
    let form = parse_form(&body);
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let layers = match layer_bodies(&form, &[]) {
        Ok(l) => l,
        Err(e) => return failed_keeping_typed(&state, &body, e),
    };
    let input = ScheduleInput {
        name: form.name.clone(),
        description: Some(form.description.clone()),
        time_zone: form.time_zone.clone(),
        team: None,
        layers,
    };
    match state.app.create_schedule(&viewer.acting(), input).await {
        Ok(s) => done(
            &state,
            &format!("/schedules/{}", s.id),
            format!("Created {}.", s.name),
        ),
        Err(e) => failed_keeping_typed(&state, &body, e),
    }
}

/// Back to the new schedule's form, with what was typed in it.
fn failed_keeping_typed(
    state: &SharedState,
    body: &[u8],
    error: impl std::fmt::Display,
) -> Response {
    let typed: Vec<(String, String)> = form_urlencoded::parse(body)
        .filter(|(name, _)| name != "csrf")
        .map(|(name, value)| (name.into_owned(), value.into_owned()))
        .collect();
    let fields: Vec<(&str, &str)> = typed
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    super::flash::failed_keeping(state, "/schedules#new-schedule", error, &fields)
}

struct LayerRow {
    number: usize,
    name: String,
    participants: String,
    people: String,
    start: String,
    count: u32,
    unit: &'static str,
    restrictions: usize,
}

struct OverrideRow {
    id: String,
    who: String,
    from: String,
    to: String,
}

#[derive(Template)]
#[template(path = "schedule.html")]
struct SchedulePage {
    chrome: super::Chrome,
    id: String,
    name: String,
    description: String,
    time_zone: String,
    on_call: Option<String>,
    until: Option<String>,
    next: Option<String>,
    gaps: Vec<String>,
    days: Vec<DayRow>,
    layers: Vec<LayerRow>,
    overrides: Vec<OverrideRow>,
    people: Vec<Choice>,
    cover_start: String,
    cover_end: String,
    calendar_url: String,
}

#[derive(Deserialize)]
struct CoverQuery {
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
}

/// A suggested field value from a link, if it reads as a local date and time.
fn field_or(text: &str, fallback: String) -> String {
    match text.parse::<DateTime>() {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M").to_string(),
        Err(_) => fallback,
    }
}

async fn show(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(cover): Query<CoverQuery>,
) -> Response {
    let now = state.clock.now();
    let schedule = match find_schedule(&state, &id).await {
        Ok(s) => s,
        Err(e) => return super::error_page(e),
    };
    let tz = zone(schedule.time_zone.as_str());
    let days = days_from(now, &tz, DAYS_SHOWN);
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return ApiError::BadRequest("this schedule's time zone has no calendar".to_owned())
            .into_response();
    };
    let window = Window {
        start: first.0,
        end: last.1,
    };
    let found = tokio::try_join!(
        compute(&state, &schedule, window),
        people(&state),
        async { Ok(state.store.overrides(schedule.id, Some(window)).await?) },
        async { Ok(state.store.schedule_feed_token(schedule.id).await?) },
    );
    let (f, people, overrides, feed) = match found {
        Ok(found) => found,
        Err(e) => return super::error_page(e),
    };
    // A colour per person, stable across the page.
    let mut everyone: Vec<UserId> = people.keys().copied().collect();
    everyone.sort();
    let colour = |u: UserId| everyone.iter().position(|x| *x == u).unwrap_or(0);
    let stretches = f.stretches();
    let (current, next) = hand_over(&stretches, now);
    let layer_name = |i: usize| {
        schedule
            .layers
            .get(i)
            .map(|l| l.name.clone())
            .unwrap_or_default()
    };
    let names = |u: UserId| name_of(&people, u);
    let page_days = timeline(&f, &days, &tz, &names, &layer_name, &colour);
    let mut layers: Vec<LayerRow> = schedule
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let (count, unit) = match l.shift {
                ShiftLength::Hours(n) => (n, "hours"),
                ShiftLength::Days(n) => (n, "days"),
                ShiftLength::Weeks(n) => (n, "weeks"),
            };
            LayerRow {
                number: i + 1,
                name: l.name.clone(),
                participants: l
                    .participants
                    .iter()
                    .map(|p| {
                        people
                            .get(p)
                            .map(|u| u.email.to_string())
                            .unwrap_or_default()
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                people: l
                    .participants
                    .iter()
                    .map(|p| names(*p))
                    .collect::<Vec<_>>()
                    .join(", "),
                start: l.start.strftime("%Y-%m-%dT%H:%M").to_string(),
                count,
                unit,
                restrictions: l.restrictions.len(),
            }
        })
        .collect();
    layers.push(LayerRow {
        number: layers.len() + 1,
        name: String::new(),
        participants: String::new(),
        people: String::new(),
        start: layers.first().map(|l| l.start.clone()).unwrap_or_default(),
        count: 1,
        unit: "weeks",
        restrictions: 0,
    });
    let mut everyone_by_name: Vec<&User> = people.values().collect();
    everyone_by_name.sort_by_key(|u| u.name.to_string());
    page(SchedulePage {
        chrome: viewer.chrome(),
        id: schedule.id.to_string(),
        name: schedule.name.to_string(),
        description: schedule.description.clone(),
        time_zone: schedule.time_zone.to_string(),
        on_call: current.map(|c| names(c.user)),
        until: current.map(|c| when(c.end, &tz)),
        next: next.map(|n| format!("{} from {}", names(n.user), when(n.start, &tz))),
        gaps: f
            .gaps
            .iter()
            .filter(|g| g.end > now)
            .map(|g| format!("{} to {}", when(g.start.max(now), &tz), when(g.end, &tz)))
            .collect(),
        days: page_days,
        layers,
        overrides: overrides
            .iter()
            .filter(|o| o.end > now)
            .map(|o| OverrideRow {
                id: o.id.to_string(),
                who: names(o.user),
                from: when(o.start, &tz),
                to: when(o.end, &tz),
            })
            .collect(),
        people: Choice::list(
            everyone_by_name.iter().map(|u| (u.id, &u.name)),
            Some(viewer.user.id.to_string()),
        ),
        cover_start: field_or(&cover.start, local_field(now, &tz)),
        cover_end: field_or(
            &cover.end,
            local_field(
                now.saturating_add(std::time::Duration::from_secs(3600)),
                &tz,
            ),
        ),
        calendar_url: schedule_feed_url(&state, &feed),
    })
}

async fn update(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let to = format!("/schedules/{id}");
    let form = parse_form(&body);
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let existing = match find_schedule(&state, &id).await {
        Ok(s) => s,
        Err(e) => return failed(&state, &to, e),
    };
    let layers = match layer_bodies(&form, &existing.layers) {
        Ok(l) => l,
        Err(e) => return failed(&state, &to, e),
    };
    let input = ScheduleInput {
        name: form.name.clone(),
        description: Some(form.description.clone()),
        time_zone: form.time_zone.clone(),
        team: existing.team_id.map(|t| t.to_string()),
        layers,
    };
    let replaced = state
        .app
        .replace_schedule(&viewer.acting(), &id, input)
        .await;
    after(&state, &to, replaced, "Saved.")
}

#[derive(Deserialize)]
struct CoverForm {
    csrf: String,
    user: String,
    start: String,
    end: String,
}

/// Adds an override: someone covers a span, read on the schedule's wall clock.
async fn cover(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<CoverForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let to = format!("/schedules/{id}");
    let added = async {
        let schedule = find_schedule(&state, &id).await?;
        let tz = zone(schedule.time_zone.as_str());
        let input = OverrideInput {
            user: form.user.clone(),
            start: from_local_field("The start", &form.start, &tz)?,
            end: from_local_field("The end", &form.end, &tz)?,
        };
        state.app.add_override(&viewer.acting(), &id, input).await?;
        Ok::<_, ApiError>(())
    };
    match added.await {
        Ok(()) => done(&state, &to, "Override added."),
        Err(e) => failed(&state, &to, e),
    }
}

async fn uncover(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path((id, override_id)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let to = format!("/schedules/{id}");
    let removed = state
        .app
        .delete_override(&viewer.acting(), &id, &override_id)
        .await;
    after(&state, &to, removed, "Override removed.")
}

async fn rotate_calendar(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let to = format!("/schedules/{id}");
    let rotated = state.app.rotate_schedule_feed(&viewer.acting(), &id).await;
    after(
        &state,
        &to,
        rotated,
        "The calendar has a new link; the old one no longer works.",
    )
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_new_schedule_starts_at_the_last_nine_oclock_so_nobody_is_missing_until_then() {
        let at = |text: &str| text.parse::<jiff::civil::DateTime>().unwrap();
        assert_eq!(last_nine_oclock(at("2026-12-06T20:49")), "2026-12-06T09:00");
        assert_eq!(last_nine_oclock(at("2026-12-06T09:00")), "2026-12-06T09:00");
        assert_eq!(last_nine_oclock(at("2026-12-06T03:00")), "2026-12-05T09:00");
    }

    use super::*;
    use onduty_core::schedule::FinalShift;

    #[test]
    fn a_day_with_a_clock_change_is_as_long_as_its_wall_clock() {
        let tz = TimeZone::get("Europe/London").unwrap();
        // Sunday 29 March 2026 has 23 hours in London.
        let noon = from_jiff("2026-03-28T12:00:00Z".parse().unwrap());
        let days = days_from(noon, &tz, 2);
        assert_eq!(days[0].2, "Sat 28 Mar");
        assert_eq!(
            (days[0].1.as_millis() - days[0].0.as_millis()) / 3_600_000,
            24
        );
        assert_eq!(
            (days[1].1.as_millis() - days[1].0.as_millis()) / 3_600_000,
            23
        );
    }

    #[test]
    fn the_holder_hands_over_after_back_to_back_shifts_to_someone_else() {
        let at = |h: i64| Timestamp::from_millis(h * 3_600_000);
        let (ada, grace) = (UserId::new(at(1)), UserId::new(at(2)));
        let shift = |user, from, to, source| FinalShift {
            user,
            start: at(from),
            end: at(to),
            source,
            source_start: at(from),
        };
        let o = Source::Override(onduty_core::OverrideId::new(at(0)));
        let f = FinalSchedule {
            shifts: vec![
                shift(ada, 0, 24, o),
                shift(ada, 24, 48, Source::Layer(0)),
                shift(grace, 48, 72, Source::Layer(0)),
            ],
            gaps: Vec::new(),
        };
        let stretches = f.stretches();
        let (current, next) = hand_over(&stretches, at(1));
        let current = current.unwrap();
        assert_eq!((current.user, current.end), (ada, at(48)));
        assert_eq!(next.map(|n| (n.user, n.start)), Some((grace, at(48))));
        // Before anyone is on call, the next is whoever starts first.
        let (current, next) = hand_over(&stretches, at(-1));
        assert!(current.is_none());
        assert_eq!(next.map(|n| (n.user, n.start)), Some((ada, at(0))));
    }

    #[test]
    fn a_layer_keeps_its_own_restrictions_when_an_earlier_one_is_removed() {
        use jiff::civil::time;
        use onduty_core::schedule::{Layer, Restriction};
        let layer = |name: &str, restrictions| Layer {
            name: name.to_owned(),
            participants: vec![UserId::new(Timestamp::from_millis(1))],
            start: "2026-11-23T09:00".parse().unwrap(),
            shift: ShiftLength::Weeks(1),
            restrictions,
        };
        let nights = vec![Restriction::Daily {
            start: time(22, 0, 0, 0),
            end: time(6, 0, 0, 0),
        }];
        let kept = [layer("Days", Vec::new()), layer("Nights", nights.clone())];
        // Layer 1 emptied (removed), layer 2 kept, a new layer 3 added.
        let form = parse_form(
            b"csrf=t&name=Ops&time_zone=UTC&layer1.name=Days&layer1.participants=\
              &layer2.name=Nights&layer2.participants=a%40example.com&layer2.start=2026-11-23T09:00\
              &layer2.count=1&layer2.unit=weeks&layer3.name=Extra&layer3.participants=b%40example.com\
              &layer3.start=2026-11-23T09:00&layer3.count=2&layer3.unit=days",
        );
        let layers = layer_bodies(&form, &kept).unwrap();
        assert_eq!(layers.len(), 2);
        assert_eq!(layers[0].name, "Nights");
        assert_eq!(layers[0].restrictions, nights);
        assert_eq!(layers[1].name, "Extra");
        assert!(layers[1].restrictions.is_empty());
        assert_eq!(layers[1].shift, ShiftLength::Days(2));
    }

    #[test]
    fn shifts_are_cut_at_midnight_and_gaps_shown() {
        let tz = TimeZone::UTC;
        let at = |t: &str| from_jiff(t.parse().unwrap());
        let alice = UserId::new(at("2026-01-01T00:00:00Z"));
        let f = FinalSchedule {
            shifts: vec![FinalShift {
                user: alice,
                start: at("2026-11-23T18:00:00Z"),
                end: at("2026-11-24T09:00:00Z"),
                source: Source::Layer(0),
                source_start: at("2026-11-23T18:00:00Z"),
            }],
            gaps: vec![Window {
                start: at("2026-11-24T09:00:00Z"),
                end: at("2026-11-24T12:00:00Z"),
            }],
        };
        let days = days_from(at("2026-11-23T10:00:00Z"), &tz, 2);
        let rows = timeline(
            &f,
            &days,
            &tz,
            &|_| "Alice".to_owned(),
            &|_| "Primary".to_owned(),
            &|_| 3,
        );
        assert_eq!(rows[0].minutes, 1440);
        assert_eq!(rows[0].bars.len(), 1);
        assert_eq!(
            (rows[0].bars[0].x, rows[0].bars[0].width),
            (18 * 60, 6 * 60)
        );
        assert_eq!(rows[0].bars[0].class, "p3");
        assert_eq!(rows[0].entries[0].to, "24:00");
        // The shift's whole span is what "cover this" offers.
        assert_eq!(rows[0].entries[0].cover_start, "2026-11-23T18:00");
        assert_eq!(rows[0].entries[0].cover_end, "2026-11-24T09:00");
        assert_eq!(rows[1].bars.len(), 2);
        assert_eq!(rows[1].entries[0].from, "00:00");
        assert_eq!(rows[1].entries[1].who, "nobody on call");
        assert!(rows[1].entries[1].gap);
        assert_eq!(rows[1].bars[1].class, "gap");
    }
}
