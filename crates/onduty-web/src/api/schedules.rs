//! `/api/v1/schedules`: on-call schedules (layers, overrides, the final schedule), "who is
//! on call" for a schedule, for everyone (`/oncall`) and for a person, and the secret
//! URLs of calendar feeds.

use std::collections::HashMap;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onduty_app::{LayerInput, OverrideInput, ScheduleInput};
use onduty_core::account::User;
use onduty_core::escalation::{Level, Policy, Target};
use onduty_core::schedule::{
    FinalSchedule, Override, Restriction, Schedule, ShiftLength, Source, Window, final_schedule,
};
use onduty_core::{ScheduleId, Timestamp, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Caller;
use crate::SharedState;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_schedules, create_schedule))
        .routes(routes!(get_schedule, replace_schedule, delete_schedule))
        .routes(routes!(get_final_schedule))
        .routes(routes!(list_overrides, add_override))
        .routes(routes!(replace_override, delete_override))
        .routes(routes!(get_schedule_feed, rotate_schedule_feed))
        .routes(routes!(on_call_now))
        .routes(routes!(user_on_call))
        .routes(routes!(get_user_feed, rotate_user_feed))
        .routes(routes!(get_handoff_settings, set_handoff_settings))
}

pub(crate) use onduty_app::GAP_HORIZON;

/// A schedule by id or by name.
pub(crate) async fn find_schedule(state: &SharedState, text: &str) -> Result<Schedule, ApiError> {
    Ok(state.app.find_schedule(text).await?)
}

/// The final schedule of `window` for a stored schedule, overrides included.
pub(crate) async fn compute(
    state: &SharedState,
    schedule: &Schedule,
    window: Window,
) -> Result<FinalSchedule, ApiError> {
    Ok(state.app.final_schedule(schedule, window).await?)
}

fn window_from(start: Timestamp, length: Duration) -> Window {
    Window {
        start,
        end: start.saturating_add(length),
    }
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct LayerBody {
    /// 1 to 100 characters.
    #[schema(format = "name")]
    pub name: String,
    /// Who takes turns, in order: user ids or e-mail addresses (ids in answers); 1 to 100.
    #[schema(min_items = 1, max_items = 100)]
    pub participants: Vec<String>,
    /// The first handoff, on the schedule's wall clock: `2026-06-01T09:00`. Later handoffs
    /// keep its time of day, across daylight-saving changes.
    #[schema(value_type = String, format = "wall-clock", example = "2026-06-01T09:00")]
    #[serde(deserialize_with = "wall_clock")]
    pub start: jiff::civil::DateTime,
    /// `{"unit": "hours" | "days" | "weeks", "count": N}`.
    #[schema(schema_with = super::doc::shift_length)]
    pub shift: ShiftLength,
    /// Only these hours of each day or spans of each week: `{"type": "daily", "start":
    /// "09:00", "end": "17:00"}` or `{"type": "weekly", "start_day": "friday", "start":
    /// "18:00", "end_day": "monday", "end": "09:00"}`. None: always.
    #[serde(default)]
    #[schema(schema_with = super::doc::restrictions)]
    pub restrictions: Vec<Restriction>,
}

/// Reads a wall-clock time such as `2026-06-01T09:00`, and says so when given anything else.
fn wall_clock<'de, D: serde::Deserializer<'de>>(d: D) -> Result<jiff::civil::DateTime, D::Error> {
    struct WallClock;
    impl serde::de::Visitor<'_> for WallClock {
        type Value = jiff::civil::DateTime;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a wall-clock time on the schedule's clock, as a string such as \"2026-06-01T09:00\"")
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
            text.parse().map_err(|_| {
                let shown: String = text.chars().take(64).collect();
                E::custom(format!(
                    "'{shown}' is not a wall-clock time such as 2026-06-01T09:00"
                ))
            })
        }
    }
    d.deserialize_str(WallClock)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ScheduleBody {
    /// 1 to 100 characters, unique.
    #[schema(format = "name")]
    pub name: String,
    #[serde(default)]
    #[schema(format = "description")]
    pub description: Option<String>,
    /// An IANA time zone (`Europe/London`); handoffs and restrictions are in it.
    #[schema(format = "time-zone")]
    pub time_zone: String,
    /// A team id or name.
    #[serde(default)]
    pub team: Option<String>,
    /// Bottom layer first: a later layer takes precedence where it has someone on call (at
    /// most 20).
    #[schema(min_items = 1, max_items = 20)]
    pub layers: Vec<LayerBody>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct PersonView {
    pub id: String,
    pub name: String,
    pub email: String,
}

impl From<&User> for PersonView {
    fn from(u: &User) -> Self {
        PersonView {
            id: u.id.to_string(),
            name: u.name.to_string(),
            email: u.email.to_string(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub time_zone: String,
    pub team_id: Option<String>,
    pub layers: Vec<LayerBody>,
    /// Who is on call now (nobody, or one person).
    pub on_call_now: Vec<PersonView>,
    /// When the person on call now hands over (or, with nobody on call, when someone
    /// next is), within the next 14 days.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_change: Option<Timestamp>,
    /// Spans in the next 14 days with nobody on call.
    pub gaps_next_14_days: Vec<SpanView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SpanView {
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub end: Timestamp,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleEnvelope {
    pub schedule: ScheduleView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ScheduleList {
    pub schedules: Vec<ScheduleView>,
}

/// Everyone, by id, to name people in answers.
pub(crate) async fn people(state: &SharedState) -> Result<HashMap<UserId, User>, ApiError> {
    Ok(state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(|u| (u.id, u))
        .collect())
}

fn person(people: &HashMap<UserId, User>, id: UserId) -> PersonView {
    match people.get(&id) {
        Some(u) => PersonView::from(u),
        None => PersonView {
            id: id.to_string(),
            name: "(deleted user)".to_owned(),
            email: String::new(),
        },
    }
}

pub(crate) async fn schedule_view(
    state: &SharedState,
    schedule: &Schedule,
    people: &HashMap<UserId, User>,
) -> Result<ScheduleView, ApiError> {
    let now = state.clock.now();
    let ahead = compute(state, schedule, window_from(now, GAP_HORIZON)).await?;
    let stretches = ahead.stretches();
    let current = stretches.first().filter(|s| s.start <= now);
    let next_change = match current {
        Some(s) => Some(s.end).filter(|end| *end < now.saturating_add(GAP_HORIZON)),
        None => stretches.first().map(|s| s.start),
    };
    Ok(ScheduleView {
        id: schedule.id.to_string(),
        name: schedule.name.to_string(),
        description: schedule.description.clone(),
        time_zone: schedule.time_zone.to_string(),
        team_id: schedule.team_id.map(|t| t.to_string()),
        layers: schedule
            .layers
            .iter()
            .map(|l| LayerBody {
                name: l.name.clone(),
                participants: l.participants.iter().map(ToString::to_string).collect(),
                start: l.start,
                shift: l.shift,
                restrictions: l.restrictions.clone(),
            })
            .collect(),
        on_call_now: current
            .map(|s| person(people, s.user))
            .into_iter()
            .collect(),
        next_change,
        gaps_next_14_days: ahead
            .gaps
            .iter()
            .map(|g| SpanView {
                start: g.start,
                end: g.end,
            })
            .collect(),
    })
}

impl From<ScheduleBody> for ScheduleInput {
    fn from(b: ScheduleBody) -> Self {
        ScheduleInput {
            name: b.name,
            description: b.description,
            time_zone: b.time_zone,
            team: b.team,
            layers: b
                .layers
                .into_iter()
                .map(|l| LayerInput {
                    name: l.name,
                    participants: l.participants,
                    start: l.start,
                    shift: l.shift,
                    restrictions: l.restrictions,
                })
                .collect(),
        }
    }
}

/// All schedules, by name, with who is on call now.
#[utoipa::path(get, path = "/schedules", tag = "schedules", responses((status = 200, body = ScheduleList)))]
async fn list_schedules(
    State(state): State<SharedState>,
    _caller: Caller,
) -> Result<Json<ScheduleList>, ApiError> {
    let people = people(&state).await?;
    let mut schedules = Vec::new();
    for s in state.store.list_schedules().await? {
        schedules.push(schedule_view(&state, &s, &people).await?);
    }
    Ok(Json(ScheduleList { schedules }))
}

/// Create a schedule (admins).
#[utoipa::path(
    post, path = "/schedules", tag = "schedules",
    request_body = ScheduleBody,
    responses(
        (status = 201, body = ScheduleEnvelope),
        (status = 400, description = "Invalid layers, time zone or unknown people", body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, description = "Name taken", body = ErrorBody),
    )
)]
pub(crate) async fn create_schedule(
    State(state): State<SharedState>,
    caller: Caller,
    ApiJson(body): ApiJson<ScheduleBody>,
) -> Result<(StatusCode, Json<ScheduleEnvelope>), ApiError> {
    let schedule = state
        .app
        .create_schedule(&caller.acting(), body.into())
        .await?;
    let people = people(&state).await?;
    Ok((
        StatusCode::CREATED,
        Json(ScheduleEnvelope {
            schedule: schedule_view(&state, &schedule, &people).await?,
        }),
    ))
}

/// One schedule, by id or name, with who is on call now and the gaps ahead.
#[utoipa::path(
    get, path = "/schedules/{id}", tag = "schedules",
    params(("id" = String, Path, description = "Schedule id or name")),
    responses((status = 200, body = ScheduleEnvelope), (status = 404, body = ErrorBody))
)]
async fn get_schedule(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ScheduleEnvelope>, ApiError> {
    let schedule = find_schedule(&state, &id).await?;
    let people = people(&state).await?;
    Ok(Json(ScheduleEnvelope {
        schedule: schedule_view(&state, &schedule, &people).await?,
    }))
}

/// Replace a schedule's name, time zone, team and layers (admins). Overrides stay.
#[utoipa::path(
    put, path = "/schedules/{id}", tag = "schedules",
    params(("id" = String, Path, description = "Schedule id or name")),
    request_body = ScheduleBody,
    responses(
        (status = 200, body = ScheduleEnvelope),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    )
)]
pub(crate) async fn replace_schedule(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ScheduleBody>,
) -> Result<Json<ScheduleEnvelope>, ApiError> {
    let schedule = state
        .app
        .replace_schedule(&caller.acting(), &id, body.into())
        .await?;
    let people = people(&state).await?;
    Ok(Json(ScheduleEnvelope {
        schedule: schedule_view(&state, &schedule, &people).await?,
    }))
}

/// Delete a schedule no escalation policy pages (admins).
#[utoipa::path(
    delete, path = "/schedules/{id}", tag = "schedules",
    params(("id" = String, Path, description = "Schedule id or name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "A policy pages it", body = ErrorBody),
    )
)]
async fn delete_schedule(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_schedule(&caller.acting(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct WindowQuery {
    /// Start of the window (RFC 3339); default now.
    #[param(format = DateTime)]
    since: Option<String>,
    /// End of the window (RFC 3339), after `since` and at most 400 days from it; default
    /// `since` plus `days`.
    #[param(format = DateTime)]
    until: Option<String>,
    /// Length of the window in days when `until` is absent (1 to 400; default 14).
    #[param(minimum = 1, maximum = 400)]
    days: Option<u32>,
}

impl WindowQuery {
    fn window(&self, now: Timestamp) -> Result<Window, ApiError> {
        let instant = |name: &str, text: &str| {
            Timestamp::parse(text).map_err(|e| ApiError::BadRequest(format!("'{name}': {e}")))
        };
        let start = match &self.since {
            Some(t) => instant("since", t)?,
            None => now,
        };
        let end = match (&self.until, self.days) {
            (Some(t), _) => instant("until", t)?,
            (None, Some(d)) if (1..=400).contains(&d) => {
                start.saturating_add(Duration::from_secs(u64::from(d) * 24 * 3600))
            }
            (None, Some(d)) => {
                return Err(ApiError::BadRequest(format!(
                    "'days' must be 1 to 400, not {d}"
                )));
            }
            (None, None) => start.saturating_add(GAP_HORIZON),
        };
        Window::new(start, end).map_err(|e| ApiError::BadRequest(e.to_string()))
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FinalShiftView {
    pub user: PersonView,
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub end: Timestamp,
    /// The layer's name, or `override`.
    pub from: String,
    /// The override's id, for shifts that come from one.
    pub override_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FinalScheduleView {
    pub schedule: String,
    #[schema(value_type = String, format = DateTime)]
    pub since: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub until: Timestamp,
    /// Who is on call, in order; layers, restrictions and overrides applied.
    pub shifts: Vec<FinalShiftView>,
    /// Spans with nobody on call: nobody would be paged.
    pub gaps: Vec<SpanView>,
}

fn final_view(
    schedule: &Schedule,
    window: Window,
    f: &FinalSchedule,
    people: &HashMap<UserId, User>,
) -> FinalScheduleView {
    FinalScheduleView {
        schedule: schedule.name.to_string(),
        since: window.start,
        until: window.end,
        shifts: f
            .shifts
            .iter()
            .map(|s| FinalShiftView {
                user: person(people, s.user),
                start: s.start,
                end: s.end,
                from: match s.source {
                    Source::Layer(i) => schedule
                        .layers
                        .get(i)
                        .map(|l| l.name.clone())
                        .unwrap_or_default(),
                    Source::Override(_) => "override".to_owned(),
                },
                override_id: match s.source {
                    Source::Override(id) => Some(id.to_string()),
                    Source::Layer(_) => None,
                },
            })
            .collect(),
        gaps: f
            .gaps
            .iter()
            .map(|g| SpanView {
                start: g.start,
                end: g.end,
            })
            .collect(),
    }
}

/// The final schedule of a window: who is on call when, and the gaps.
#[utoipa::path(
    get, path = "/schedules/{id}/final", tag = "schedules",
    params(("id" = String, Path, description = "Schedule id or name"), WindowQuery),
    responses((status = 200, body = FinalScheduleView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn get_final_schedule(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<WindowQuery>,
) -> Result<Json<FinalScheduleView>, ApiError> {
    let schedule = find_schedule(&state, &id).await?;
    let window = q.window(state.clock.now())?;
    let f = compute(&state, &schedule, window).await?;
    let people = people(&state).await?;
    Ok(Json(final_view(&schedule, window, &f, &people)))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct OverrideBody {
    /// Who covers: a user id or e-mail address.
    pub user: String,
    /// RFC 3339.
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    /// RFC 3339; after `start`.
    #[schema(value_type = String, format = DateTime)]
    pub end: Timestamp,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OverrideView {
    pub id: String,
    pub user: PersonView,
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub end: Timestamp,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OverrideEnvelope {
    #[serde(rename = "override")]
    pub item: OverrideView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OverrideList {
    pub overrides: Vec<OverrideView>,
}

impl OverrideBody {
    /// The override this body asks for.
    fn input(self) -> OverrideInput {
        OverrideInput {
            user: self.user,
            start: self.start,
            end: self.end,
        }
    }
}

fn override_view(o: &Override, user: &User) -> OverrideView {
    OverrideView {
        id: o.id.to_string(),
        user: PersonView::from(user),
        start: o.start,
        end: o.end,
    }
}

/// A schedule's overrides that overlap a window (default: the next 14 days).
#[utoipa::path(
    get, path = "/schedules/{id}/overrides", tag = "schedules",
    params(("id" = String, Path, description = "Schedule id or name"), WindowQuery),
    responses((status = 200, body = OverrideList), (status = 404, body = ErrorBody))
)]
async fn list_overrides(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<WindowQuery>,
) -> Result<Json<OverrideList>, ApiError> {
    let schedule = find_schedule(&state, &id).await?;
    let window = q.window(state.clock.now())?;
    let people = people(&state).await?;
    let overrides = state.store.overrides(schedule.id, Some(window)).await?;
    Ok(Json(OverrideList {
        overrides: overrides
            .iter()
            .map(|o| OverrideView {
                id: o.id.to_string(),
                user: person(&people, o.user),
                start: o.start,
                end: o.end,
            })
            .collect(),
    }))
}

/// Someone covers a span: they are on call there instead of whoever the layers say
/// (responders and admins).
#[utoipa::path(
    post, path = "/schedules/{id}/overrides", tag = "schedules",
    params(("id" = String, Path, description = "Schedule id or name")),
    request_body = OverrideBody,
    responses(
        (status = 201, body = OverrideEnvelope),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub(crate) async fn add_override(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<OverrideBody>,
) -> Result<(StatusCode, Json<OverrideEnvelope>), ApiError> {
    let (o, user) = state
        .app
        .add_override(&caller.acting(), &id, body.input())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(OverrideEnvelope {
            item: override_view(&o, &user),
        }),
    ))
}

/// Change who covers, or when (responders and admins).
#[utoipa::path(
    put, path = "/schedules/{id}/overrides/{override_id}", tag = "schedules",
    params(
        ("id" = String, Path, description = "Schedule id or name"),
        ("override_id" = String, Path, description = "Override id"),
    ),
    request_body = OverrideBody,
    responses(
        (status = 200, body = OverrideEnvelope),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
async fn replace_override(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath((id, override_id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<OverrideBody>,
) -> Result<Json<OverrideEnvelope>, ApiError> {
    let (o, user) = state
        .app
        .replace_override(&caller.acting(), &id, &override_id, body.input())
        .await?;
    Ok(Json(OverrideEnvelope {
        item: override_view(&o, &user),
    }))
}

/// Remove an override (responders and admins).
#[utoipa::path(
    delete, path = "/schedules/{id}/overrides/{override_id}", tag = "schedules",
    params(
        ("id" = String, Path, description = "Schedule id or name"),
        ("override_id" = String, Path, description = "Override id"),
    ),
    responses((status = 204, description = "Removed"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub(crate) async fn delete_override(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath((id, override_id)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .delete_override(&caller.acting(), &id, &override_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FeedView {
    /// Subscribe to this in Google Calendar, Outlook or Apple Calendar. Anyone with the
    /// URL can read the shifts; rotate it if it leaks.
    pub calendar_url: String,
}

/// The public URL of a schedule's calendar feed with this secret token.
pub(crate) fn schedule_feed_url(state: &SharedState, token: &str) -> String {
    format!(
        "{}/calendar/schedules/{token}.ics",
        state.config.public_url.trim_end_matches('/')
    )
}

fn user_feed_url(state: &SharedState, token: &str) -> String {
    format!(
        "{}/calendar/users/{token}.ics",
        state.config.public_url.trim_end_matches('/')
    )
}

/// A new secret URL for the schedule's calendar feed; the old one stops working (admins).
/// `GET /schedules/{id}/calendar` shows the current one.
#[utoipa::path(
    post, path = "/schedules/{id}/calendar", tag = "schedules",
    params(("id" = String, Path, description = "Schedule id or name")),
    responses((status = 200, body = FeedView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub(crate) async fn rotate_schedule_feed(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<FeedView>, ApiError> {
    let token = state
        .app
        .rotate_schedule_feed(&caller.acting(), &id)
        .await?;
    Ok(Json(FeedView {
        calendar_url: schedule_feed_url(&state, &token),
    }))
}

/// The schedule's calendar feed URL.
#[utoipa::path(
    get, path = "/schedules/{id}/calendar", tag = "schedules",
    params(("id" = String, Path, description = "Schedule id or name")),
    responses((status = 200, body = FeedView), (status = 404, body = ErrorBody))
)]
pub(crate) async fn get_schedule_feed(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<FeedView>, ApiError> {
    let schedule = find_schedule(&state, &id).await?;
    let token = state.store.schedule_feed_token(schedule.id).await?;
    Ok(Json(FeedView {
        calendar_url: schedule_feed_url(&state, &token),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OnCallSchedule {
    pub id: String,
    pub name: String,
    pub on_call: Vec<PersonView>,
    /// When the person on call now hands over, within 14 days.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub until: Option<Timestamp>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OnCallPolicyLevel {
    /// From 1.
    pub level: usize,
    /// The people this level pages now: its users, whoever is on call in its schedules,
    /// and, when it hands over to another policy, the people of that policy's first level
    /// (paged at once).
    pub people: Vec<PersonView>,
    /// The name of the policy this level hands the incident over to, if it does.
    pub hands_over_to: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OnCallPolicy {
    pub id: String,
    pub name: String,
    pub levels: Vec<OnCallPolicyLevel>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OnCallOverview {
    #[schema(value_type = String, format = DateTime)]
    pub at: Timestamp,
    pub schedules: Vec<OnCallSchedule>,
    pub escalation_policies: Vec<OnCallPolicy>,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AtQuery {
    /// The moment to ask about (RFC 3339); default now.
    #[param(format = DateTime)]
    at: Option<String>,
}

/// Who is on call in every schedule, and whom each level of every escalation policy
/// pages — now, or at the moment given.
#[utoipa::path(
    get, path = "/oncall", tag = "schedules", params(AtQuery),
    responses((status = 200, body = OnCallOverview), (status = 400, body = ErrorBody))
)]
async fn on_call_now(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<AtQuery>,
) -> Result<Json<OnCallOverview>, ApiError> {
    let now = match &q.at {
        Some(t) => Timestamp::parse(t).map_err(|e| ApiError::BadRequest(format!("'at': {e}")))?,
        None => state.clock.now(),
    };
    Ok(Json(on_call_overview(&state, now).await?))
}

/// Who is on call at `now` in every schedule, and whom each policy level pages then.
pub(crate) async fn on_call_overview(
    state: &SharedState,
    now: Timestamp,
) -> Result<OnCallOverview, ApiError> {
    let people = people(state).await?;
    let window = window_from(now, GAP_HORIZON);
    let mut overrides = state.store.all_overrides(window).await?;
    let mut schedules = Vec::new();
    let mut on_call: HashMap<ScheduleId, Vec<UserId>> = HashMap::new();
    for s in state.store.list_schedules().await? {
        let f = final_schedule(&s.rota(overrides.remove(&s.id).unwrap_or_default()), window);
        // A stretch, not a shift: an override running into the person's own turn is not a
        // handover.
        let stretches = f.stretches();
        let current = stretches.first().filter(|x| x.start <= now);
        on_call.insert(s.id, current.map(|x| x.user).into_iter().collect());
        schedules.push(OnCallSchedule {
            id: s.id.to_string(),
            name: s.name.to_string(),
            on_call: current
                .map(|x| person(&people, x.user))
                .into_iter()
                .collect(),
            until: current.map(|x| x.end).filter(|e| *e < window.end),
        });
    }
    let policies = state.store.list_policies().await?;
    let mut escalation_policies = Vec::new();
    for p in &policies {
        let levels = p
            .steps
            .levels()
            .iter()
            .enumerate()
            .map(|(i, level)| {
                let handed = hand_over(level, &policies);
                let mut ids: Vec<UserId> = Vec::new();
                add_paged(&level.targets, &on_call, &mut ids);
                if let Some(first) = handed.and_then(|h| h.steps.levels().first()) {
                    add_paged(&first.targets, &on_call, &mut ids);
                }
                OnCallPolicyLevel {
                    level: i + 1,
                    people: ids.iter().map(|u| person(&people, *u)).collect(),
                    hands_over_to: handed.map(|h| h.name.to_string()),
                }
            })
            .collect();
        escalation_policies.push(OnCallPolicy {
            id: p.id.to_string(),
            name: p.name.to_string(),
            levels,
        });
    }
    Ok(OnCallOverview {
        at: now,
        schedules,
        escalation_policies,
    })
}

/// The policy a level hands the incident over to, as the engine finds it: its first
/// policy target (`None` when it has none, or that policy is gone).
fn hand_over<'p>(level: &Level, policies: &'p [Policy]) -> Option<&'p Policy> {
    let id = level.targets.iter().find_map(|t| match t {
        Target::Policy(p) => Some(*p),
        _ => None,
    })?;
    policies.iter().find(|p| p.id == id)
}

/// Adds to `ids` (once each) the people these targets page now: the users, and whoever is
/// on call in the schedules. Hand-overs are the caller's (see [`hand_over`]).
fn add_paged(
    targets: &[Target],
    on_call: &HashMap<ScheduleId, Vec<UserId>>,
    ids: &mut Vec<UserId>,
) {
    for t in targets {
        let found = match t {
            Target::User(u) => std::slice::from_ref(u),
            Target::Schedule(s) => on_call.get(s).map(Vec::as_slice).unwrap_or_default(),
            Target::Policy(_) => &[],
        };
        for u in found {
            if !ids.contains(u) {
                ids.push(*u);
            }
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserShiftView {
    pub schedule: String,
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub end: Timestamp,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserOnCallView {
    pub user: PersonView,
    /// True when the person is on call somewhere now.
    pub on_call_now: bool,
    /// Their next shift that has not ended (the current one, if they are on call, with
    /// the time it really began), in the window.
    pub next: Option<UserShiftView>,
    /// Their shifts in every schedule in the window, in order; the one they are on now
    /// starts when it really began, though that is before the window.
    pub shifts: Vec<UserShiftView>,
}

/// A person's shifts across every schedule: "when am I next on call?" (`me` for yourself).
#[utoipa::path(
    get, path = "/users/{id}/oncall", tag = "schedules",
    params(("id" = String, Path, description = "User id, e-mail, or `me`"), WindowQuery),
    responses((status = 200, body = UserOnCallView), (status = 404, body = ErrorBody))
)]
async fn user_on_call(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<WindowQuery>,
) -> Result<Json<UserOnCallView>, ApiError> {
    let user = if id == "me" {
        caller.0.clone()
    } else {
        super::teams::find_user(&state, &id).await?
    };
    let now = state.clock.now();
    let window = match (&q.since, &q.until, q.days) {
        (None, None, None) => window_from(now, Duration::from_secs(90 * 24 * 3600)),
        _ => q.window(now)?,
    };
    let shifts = user_shifts(&state, user.id, window, now).await?;
    Ok(Json(UserOnCallView {
        user: PersonView::from(&user),
        on_call_now: shifts.iter().any(|s| s.start <= now && now < s.end),
        next: shifts.iter().find(|s| s.end > now).map(UserShiftView::from),
        shifts: shifts.iter().map(UserShiftView::from).collect(),
    }))
}

/// One of a person's shifts, and the schedule it is in.
pub(crate) struct UserShift {
    pub schedule: ScheduleId,
    pub schedule_name: String,
    /// The schedule's clock (its handoffs are on it).
    pub time_zone: String,
    pub start: Timestamp,
    pub end: Timestamp,
}

impl From<&UserShift> for UserShiftView {
    fn from(s: &UserShift) -> Self {
        UserShiftView {
            schedule: s.schedule_name.clone(),
            start: s.start,
            end: s.end,
        }
    }
}

/// A person's shifts in every schedule over `window`, in order. The shift they are on at
/// `now` starts when it really began, though the window cuts it.
pub(crate) async fn user_shifts(
    state: &SharedState,
    user: UserId,
    window: Window,
    now: Timestamp,
) -> Result<Vec<UserShift>, ApiError> {
    let mut overrides = state.store.all_overrides(window).await?;
    let mut out = Vec::new();
    for s in state.store.list_schedules().await? {
        let f = final_schedule(&s.rota(overrides.remove(&s.id).unwrap_or_default()), window);
        // One shift per stretch on call, even where it changes layer or override.
        for x in f.stretches().into_iter().filter(|x| x.user == user) {
            let cut = x.start == window.start && x.start <= now && now < x.end;
            let start = if cut {
                state.app.stretch_began(&s, now).await?.unwrap_or(x.start)
            } else {
                x.start
            };
            out.push(UserShift {
                schedule: s.id,
                schedule_name: s.name.to_string(),
                time_zone: s.time_zone.to_string(),
                start,
                end: x.end,
            });
        }
    }
    out.sort_by_key(|s| (s.start, s.end));
    Ok(out)
}

/// Your own calendar feed URL ("my shifts in every schedule"); made on first use.
#[utoipa::path(
    get, path = "/users/{id}/calendar", tag = "schedules",
    params(("id" = String, Path, description = "User id, e-mail, or `me`")),
    responses((status = 200, body = FeedView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn get_user_feed(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<FeedView>, ApiError> {
    let user = own_or_admin(&state, &caller, &id).await?;
    let token = state.store.user_feed_token(user).await?;
    Ok(Json(FeedView {
        calendar_url: user_feed_url(&state, &token),
    }))
}

/// A new secret URL for your calendar feed; the old one stops working.
#[utoipa::path(
    post, path = "/users/{id}/calendar", tag = "schedules",
    params(("id" = String, Path, description = "User id, e-mail, or `me`")),
    responses((status = 200, body = FeedView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn rotate_user_feed(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<FeedView>, ApiError> {
    let token = state.app.rotate_user_feed(&caller.acting(), &id).await?;
    Ok(Json(FeedView {
        calendar_url: user_feed_url(&state, &token),
    }))
}

/// A person's feed belongs to them; admins may see and rotate anyone's.
async fn own_or_admin(state: &SharedState, caller: &Caller, id: &str) -> Result<UserId, ApiError> {
    Ok(state.app.own_or_admin(&caller.acting(), id).await?)
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct HandoffSettings {
    /// Tell the person before their on-call shifts start and when they end (through the
    /// contact methods of their immediate notification rules). Off by default.
    pub enabled: bool,
    /// How long before a shift starts, in minutes (0 to 1440; default 60).
    #[serde(default = "default_lead")]
    #[schema(minimum = 0, maximum = 1440)]
    pub lead_minutes: u32,
}

fn default_lead() -> u32 {
    60
}

/// Whether a person is told about their shifts starting and ending.
#[utoipa::path(
    get, path = "/users/{id}/handoff-notifications", tag = "schedules",
    params(("id" = String, Path, description = "User id, e-mail, or `me`")),
    responses((status = 200, body = HandoffSettings), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn get_handoff_settings(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<HandoffSettings>, ApiError> {
    let user = own_or_admin(&state, &caller, &id).await?;
    let minutes = state.store.handoff_notice_minutes(user).await?;
    Ok(Json(HandoffSettings {
        enabled: minutes.is_some(),
        lead_minutes: minutes.unwrap_or_else(default_lead),
    }))
}

/// Turn handoff notifications on or off, with their lead time (yourself, or admins).
#[utoipa::path(
    put, path = "/users/{id}/handoff-notifications", tag = "schedules",
    params(("id" = String, Path, description = "User id, e-mail, or `me`")),
    request_body = HandoffSettings,
    responses((status = 200, body = HandoffSettings), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn set_handoff_settings(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<HandoffSettings>,
) -> Result<Json<HandoffSettings>, ApiError> {
    state
        .app
        .set_handoff_notifications(
            &caller.acting(),
            &id,
            body.enabled.then_some(body.lead_minutes),
        )
        .await?;
    Ok(Json(body))
}
