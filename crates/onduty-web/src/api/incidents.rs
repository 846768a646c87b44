//! `/api/v1/incidents`: list with filters and cursors, read one with its timeline,
//! acknowledge, resolve, add a note; and the actions that reshape paging: unacknowledge,
//! escalate now, reassign, add responders, snooze.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onduty_app::{IncidentCommand, SnoozeFor};
use onduty_core::incident::IncidentStatus;
use onduty_core::lifecycle::Assignee;
use onduty_core::{IncidentNumber, IncidentRef, Timestamp, UserId};
use onduty_store::incidents::IncidentFilter;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::policies::find_policy;
use super::teams::find_user;
use super::views::{IncidentView, TimelineEntryView};
use super::{Caller, decode_cursor, encode_cursor, page_limit};
use crate::SharedState;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_incidents))
        .routes(routes!(get_incident))
        .routes(routes!(get_timeline))
        .routes(routes!(acknowledge))
        .routes(routes!(resolve))
        .routes(routes!(add_note))
        .routes(routes!(unacknowledge))
        .routes(routes!(escalate))
        .routes(routes!(reassign))
        .routes(routes!(add_responders))
        .routes(routes!(snooze))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Comma-separated statuses (`triggered`, `acknowledged`, `resolved`), or `open` for
    /// triggered and acknowledged. Default: all.
    #[param(
        pattern = "^ *(triggered|acknowledged|resolved|open) *(, *(triggered|acknowledged|resolved|open) *)*$"
    )]
    status: Option<String>,
    /// A service id or name.
    service: Option<String>,
    /// A team id or name: incidents of its services.
    team: Option<String>,
    /// Only incidents opened at or after this instant (RFC 3339).
    #[param(format = DateTime)]
    since: Option<String>,
    /// Only incidents opened before this instant (RFC 3339).
    #[param(format = DateTime)]
    until: Option<String>,
    /// `me`, or a user id.
    #[param(format = "me-or-id")]
    assigned_to: Option<String>,
    /// Page size, 1 to 100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentList {
    /// Newest first.
    pub incidents: Vec<IncidentView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentDetail {
    pub incident: IncidentView,
    /// The first 50 entries, oldest first: every event received, state change, note; who
    /// and when.
    pub timeline: Vec<TimelineEntryView>,
    /// Present when the timeline has more entries: pass to `/incidents/{id}/timeline`.
    pub timeline_next_cursor: Option<String>,
    /// Present while nobody has an open incident because no level of its escalation
    /// policy reached anyone (nobody on call, or nobody with a notification rule).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nobody_paged: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TimelinePageView {
    pub timeline: Vec<TimelineEntryView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActionResult {
    pub incident: IncidentView,
    /// False when the incident was already in that state (nothing changed).
    pub changed: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewNote {
    /// 1 to 10,000 characters.
    #[schema(format = "note")]
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoteCreated {
    pub note: TimelineEntryView,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    /// Entries per page, 1 to 100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    cursor: Option<String>,
}

pub(super) fn parse_ref(text: &str) -> Result<IncidentRef, ApiError> {
    text.parse()
        .map_err(|e: onduty_core::ids::IdError| ApiError::BadRequest(e.to_string()))
}

fn parse_time(name: &str, text: &str) -> Result<Timestamp, ApiError> {
    Timestamp::parse(text).map_err(|e| ApiError::BadRequest(format!("'{name}': {e}")))
}

fn parse_statuses(text: &str) -> Result<Vec<IncidentStatus>, ApiError> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part {
            "open" => out.extend([IncidentStatus::Triggered, IncidentStatus::Acknowledged]),
            other => out.push(IncidentStatus::parse(other).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "unknown status '{other}': use triggered, acknowledged, resolved or open"
                ))
            })?),
        }
    }
    out.sort_by_key(|s| s.as_str());
    out.dedup();
    Ok(out)
}

/// List incidents, newest first.
#[utoipa::path(
    get, path = "/incidents", tag = "incidents",
    params(ListQuery),
    responses(
        (status = 200, body = IncidentList),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
    )
)]
async fn list_incidents(
    State(state): State<SharedState>,
    caller: Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<IncidentList>, ApiError> {
    let limit = page_limit(q.limit)?;
    let mut filter = IncidentFilter {
        statuses: q
            .status
            .as_deref()
            .map(parse_statuses)
            .transpose()?
            .unwrap_or_default(),
        since: q
            .since
            .as_deref()
            .map(|t| parse_time("since", t))
            .transpose()?,
        until: q
            .until
            .as_deref()
            .map(|t| parse_time("until", t))
            .transpose()?,
        ..Default::default()
    };
    if let Some(team) = q.team.as_deref() {
        filter.team = Some(state.store.team(team).await?.id);
    }
    if let Some(service) = q.service.as_deref() {
        filter.service = Some(super::services::find_service(&state, service).await?.id);
    }
    filter.assigned_to = match q.assigned_to.as_deref() {
        None => None,
        Some("me") => Some(caller.0.id),
        Some(id) => Some(id.parse::<UserId>().map_err(|_| {
            ApiError::BadRequest(format!(
                "'assigned_to' must be 'me' or a user id, not '{id}'"
            ))
        })?),
    };
    let before = q
        .cursor
        .as_deref()
        .map(|c| decode_cursor('n', c))
        .transpose()?
        .map(IncidentNumber);
    let page = state.store.list_incidents(&filter, before, limit).await?;
    Ok(Json(IncidentList {
        incidents: page.incidents.iter().map(IncidentView::from).collect(),
        next_cursor: page.next.map(|n| encode_cursor('n', n.0)),
    }))
}

/// Timeline entries returned with an incident (each may carry an event of up to 512 KB);
/// the rest are paged through `/incidents/{id}/timeline`.
const DETAIL_TIMELINE: u32 = 50;

/// One incident, by number or id, with its timeline.
#[utoipa::path(
    get, path = "/incidents/{id}", tag = "incidents",
    params(("id" = String, Path, description = "Incident number (42) or id", format = "incident-ref")),
    responses(
        (status = 200, body = IncidentDetail),
        (status = 404, body = ErrorBody),
    )
)]
async fn get_incident(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<IncidentDetail>, ApiError> {
    let incident = state.store.incident(parse_ref(&id)?).await?;
    let timeline = state
        .store
        .timeline(incident.id, None, DETAIL_TIMELINE)
        .await?;
    Ok(Json(IncidentDetail {
        incident: IncidentView::from(&incident),
        timeline: timeline
            .entries
            .iter()
            .map(TimelineEntryView::from)
            .collect(),
        timeline_next_cursor: timeline.next.map(|s| encode_cursor('t', s)),
        nobody_paged: nobody_paged(&state, &incident).await?,
    }))
}

/// Why nobody was paged for an open incident that nobody has, if that is so.
pub(crate) async fn nobody_paged(
    state: &SharedState,
    incident: &onduty_core::incident::Incident,
) -> Result<Option<String>, onduty_store::StoreError> {
    if !incident.status.is_open() || !incident.assignees.is_empty() {
        return Ok(None);
    }
    state.store.nobody_paged(incident.id).await
}

/// An incident's timeline, oldest first, a page at a time.
#[utoipa::path(
    get, path = "/incidents/{id}/timeline", tag = "incidents",
    params(("id" = String, Path, description = "Incident number or id", format = "incident-ref"), TimelineQuery),
    responses((status = 200, body = TimelinePageView), (status = 404, body = ErrorBody))
)]
async fn get_timeline(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<TimelineQuery>,
) -> Result<Json<TimelinePageView>, ApiError> {
    let incident = state.store.incident(parse_ref(&id)?).await?;
    let after = q
        .cursor
        .as_deref()
        .map(|c| decode_cursor('t', c))
        .transpose()?;
    let page = state
        .store
        .timeline(incident.id, after, page_limit(q.limit)?)
        .await?;
    Ok(Json(TimelinePageView {
        timeline: page.entries.iter().map(TimelineEntryView::from).collect(),
        next_cursor: page.next.map(|s| encode_cursor('t', s)),
    }))
}

/// Does `command` through the application layer, as the caller, via the API.
async fn act(
    state: &SharedState,
    caller: &Caller,
    id: &str,
    command: IncidentCommand,
) -> Result<Json<ActionResult>, ApiError> {
    let acted = state
        .app
        .act(&caller.acting(), parse_ref(id)?, command)
        .await?;
    Ok(Json(ActionResult {
        incident: IncidentView::from(&acted.incident),
        changed: acted.changed,
    }))
}

/// Acknowledge: someone is on it. Acknowledging twice changes nothing.
#[utoipa::path(
    post, path = "/incidents/{id}/acknowledge", tag = "incidents",
    params(("id" = String, Path, description = "Incident number or id", format = "incident-ref")),
    responses(
        (status = 200, body = ActionResult),
        (status = 403, description = "Observers cannot act", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Already resolved", body = ErrorBody),
    )
)]
async fn acknowledge(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ActionResult>, ApiError> {
    act(&state, &caller, &id, IncidentCommand::Acknowledge).await
}

/// Resolve: the problem is over. Resolved is final; a new event opens a new incident.
#[utoipa::path(
    post, path = "/incidents/{id}/resolve", tag = "incidents",
    params(("id" = String, Path, description = "Incident number or id", format = "incident-ref")),
    responses(
        (status = 200, body = ActionResult),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Already resolved", body = ErrorBody),
    )
)]
async fn resolve(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ActionResult>, ApiError> {
    act(&state, &caller, &id, IncidentCommand::Resolve).await
}

/// Add a note to the incident's timeline.
#[utoipa::path(
    post, path = "/incidents/{id}/notes", tag = "incidents",
    params(("id" = String, Path, description = "Incident number or id", format = "incident-ref")),
    request_body = NewNote,
    responses(
        (status = 201, body = NoteCreated),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
async fn add_note(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NewNote>,
) -> Result<(StatusCode, Json<NoteCreated>), ApiError> {
    let note = state
        .app
        .add_note(&caller.acting(), parse_ref(&id)?, &body.text)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(NoteCreated {
            note: TimelineEntryView::from(&note),
        }),
    ))
}

/// Unacknowledge: triggered again, and its escalation policy pages from the first level.
#[utoipa::path(
    post, path = "/incidents/{id}/unacknowledge", tag = "incidents",
    params(("id" = String, Path, description = "Incident number or id", format = "incident-ref")),
    responses(
        (status = 200, body = ActionResult),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Already resolved", body = ErrorBody),
    )
)]
async fn unacknowledge(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ActionResult>, ApiError> {
    act(&state, &caller, &id, IncidentCommand::Unacknowledge).await
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalateRequest {
    /// The level to page, counting from 1. Default: the level after the current one.
    #[schema(minimum = 1, nullable = false)]
    pub level: Option<u32>,
}

/// Escalate now: page the next level (or the one given) at once, without waiting for its
/// delay. An acknowledged incident is triggered again.
#[utoipa::path(
    post, path = "/incidents/{id}/escalate", tag = "incidents",
    params(("id" = String, Path, description = "Incident number or id", format = "incident-ref")),
    request_body = EscalateRequest,
    responses(
        (status = 200, body = ActionResult),
        (status = 400, description = "No such level, or already at the last one", body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Resolved, or no escalation policy", body = ErrorBody),
    )
)]
async fn escalate(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    body: axum::body::Bytes,
) -> Result<Json<ActionResult>, ApiError> {
    // The body is optional: none means "the next level".
    let body: EscalateRequest = if body.iter().all(u8::is_ascii_whitespace) {
        EscalateRequest::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))?
    };
    let command = IncidentCommand::Escalate { level: body.level };
    act(&state, &caller, &id, command).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1, max_properties = 1)]
pub struct ReassignRequest {
    /// A user's e-mail or id: they are paged now, and no escalation policy follows.
    #[schema(nullable = false)]
    pub user: Option<String>,
    /// An escalation policy's name or id: it pages from its first level now.
    #[schema(nullable = false)]
    pub escalation_policy: Option<String>,
}

/// Reassign to a person or an escalation policy. What was paging stops; an acknowledged
/// incident is triggered again.
#[utoipa::path(
    post, path = "/incidents/{id}/reassign", tag = "incidents",
    params(("id" = String, Path, description = "Incident number or id", format = "incident-ref")),
    request_body = ReassignRequest,
    responses(
        (status = 200, body = ActionResult),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    )
)]
async fn reassign(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ReassignRequest>,
) -> Result<Json<ActionResult>, ApiError> {
    let to = match (&body.user, &body.escalation_policy) {
        (Some(user), None) => Assignee::User(find_user(&state, user).await?.id),
        (None, Some(policy)) => Assignee::Policy(find_policy(&state, policy).await?.id),
        _ => {
            return Err(ApiError::BadRequest(
                "give either 'user' or 'escalation_policy'".to_owned(),
            ));
        }
    };
    act(&state, &caller, &id, IncidentCommand::Reassign(to)).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RespondersRequest {
    /// E-mails or ids of the people to page, 1 to 20.
    #[schema(min_items = 1, max_items = 20)]
    pub users: Vec<String>,
}

/// Add responders: page more people now, as well as whoever is paged already. They are
/// paged even if the incident is acknowledged.
#[utoipa::path(
    post, path = "/incidents/{id}/responders", tag = "incidents",
    params(("id" = String, Path, description = "Incident number or id", format = "incident-ref")),
    request_body = RespondersRequest,
    responses(
        (status = 200, body = ActionResult),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    )
)]
async fn add_responders(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RespondersRequest>,
) -> Result<Json<ActionResult>, ApiError> {
    if body.users.len() > onduty_app::MAX_RESPONDERS {
        return Err(ApiError::BadRequest(format!(
            "'users' needs 1 to {} people",
            onduty_app::MAX_RESPONDERS
        )));
    }
    let mut users = Vec::with_capacity(body.users.len());
    for text in &body.users {
        users.push(find_user(&state, text).await?.id);
    }
    act(&state, &caller, &id, IncidentCommand::AddResponders(users)).await
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(min_properties = 1, max_properties = 1)]
pub struct SnoozeRequest {
    /// When to trigger again (RFC 3339): in the future, within a week.
    #[schema(format = DateTime, nullable = false)]
    pub until: Option<String>,
    /// Or: how many minutes from now (1 to 10,080, a week).
    #[schema(minimum = 1, maximum = 10080, nullable = false)]
    pub minutes: Option<u32>,
}

/// Snooze: quiet until a time, then triggered again and paged. A triggered incident is
/// acknowledged by the snooze.
#[utoipa::path(
    post, path = "/incidents/{id}/snooze", tag = "incidents",
    params(("id" = String, Path, description = "Incident number or id", format = "incident-ref")),
    request_body = SnoozeRequest,
    responses(
        (status = 200, body = ActionResult),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    )
)]
async fn snooze(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<SnoozeRequest>,
) -> Result<Json<ActionResult>, ApiError> {
    let snooze = match (&body.until, body.minutes) {
        (Some(text), None) => SnoozeFor::Until(parse_time("until", text)?),
        (None, Some(minutes)) => SnoozeFor::Minutes(minutes),
        _ => {
            return Err(ApiError::BadRequest(
                "give either 'until' or 'minutes'".to_owned(),
            ));
        }
    };
    act(&state, &caller, &id, IncidentCommand::Snooze(snooze)).await
}
