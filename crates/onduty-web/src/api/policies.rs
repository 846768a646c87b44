//! `/api/v1/escalation-policies`: who is paged, in what order, how long apart.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onduty_core::account::{Email, Name};
use onduty_core::escalation::{Level, LevelMode, Policy, Steps, Target};
use onduty_core::service::parse_description;
use onduty_core::{PolicyId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Caller;
use super::views::{LevelView, PolicyView};
use crate::SharedState;
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_policies, create_policy))
        .routes(routes!(get_policy, replace_policy, delete_policy))
}

/// A policy by id or by name.
pub(crate) async fn find_policy(state: &SharedState, text: &str) -> Result<Policy, ApiError> {
    if let Ok(id) = text.parse::<PolicyId>() {
        return Ok(state.store.policy(id).await?);
    }
    state
        .store
        .policy_by_name(text)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no escalation policy with id or name '{text}'")))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PolicyBody {
    /// 1 to 100 characters, unique.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// A team id or name.
    #[serde(default)]
    pub team: Option<String>,
    /// In order: level 1 is paged at once, level 2 after level 1's delay, …
    pub levels: Vec<LevelView>,
    /// How many more times the whole policy runs after its first pass (0 to 9; default 0).
    #[serde(default)]
    pub repeat: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyList {
    pub escalation_policies: Vec<PolicyView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyEnvelope {
    pub escalation_policy: PolicyView,
    /// Things that would stop the policy from paging someone, such as a schedule it pages
    /// with nobody on call for a while in the next 14 days.
    pub warnings: Vec<String>,
}

/// Warnings about a policy: gaps in the next 14 days of the schedules it pages.
pub(crate) async fn warnings(
    state: &SharedState,
    policy: &Policy,
) -> Result<Vec<String>, ApiError> {
    let now = state.clock.now();
    let window = onduty_core::schedule::Window {
        start: now,
        end: now.saturating_add(super::schedules::GAP_HORIZON),
    };
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for (i, level) in policy.steps.levels().iter().enumerate() {
        for t in &level.targets {
            let Target::Schedule(id) = t else { continue };
            if seen.contains(id) {
                continue;
            }
            seen.push(*id);
            let schedule = match state.store.schedule(*id).await {
                Ok(s) => s,
                Err(onduty_store::StoreError::NotFound(_)) => {
                    out.push(format!(
                        "level {}: a schedule it pages no longer exists",
                        i + 1
                    ));
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let f = super::schedules::compute(state, &schedule, window).await?;
            if let Some(first) = f.gaps.first() {
                out.push(format!(
                    "level {}: schedule '{}' has nobody on call in {} span(s) of the next 14 days, first from {} to {}; nobody would be paged then",
                    i + 1,
                    schedule.name,
                    f.gaps.len(),
                    first.start.to_rfc3339(),
                    first.end.to_rfc3339()
                ));
            }
        }
    }
    Ok(out)
}

/// Builds a valid policy from a request, resolving names and checking every target exists.
async fn parse_policy(
    state: &SharedState,
    id: PolicyId,
    body: PolicyBody,
) -> Result<Policy, ApiError> {
    let name = Name::parse(&body.name).map_err(|e| ApiError::BadRequest(format!("'name': {e}")))?;
    let description = parse_description(body.description.as_deref().unwrap_or(""))
        .map_err(ApiError::BadRequest)?;
    let team_id = match body.team.as_deref() {
        None => None,
        Some(t) => Some(state.store.team(t).await?.id),
    };
    let mut levels = Vec::with_capacity(body.levels.len());
    for (i, level) in body.levels.into_iter().enumerate() {
        let n = i + 1;
        let mode = match level.mode.as_deref() {
            None | Some("all") => LevelMode::All,
            Some("round_robin") => LevelMode::RoundRobin,
            Some(other) => {
                return Err(ApiError::BadRequest(format!(
                    "level {n}: 'mode' must be all or round_robin, not '{other}'"
                )));
            }
        };
        let mut targets = Vec::with_capacity(level.targets.len());
        for t in &level.targets {
            targets.push(parse_target(state, n, &t.kind, &t.id).await?);
        }
        levels.push(Level {
            targets,
            delay_minutes: level.delay_minutes,
            mode,
        });
    }
    let steps =
        Steps::parse(id, levels, body.repeat).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(Policy {
        id,
        name,
        description,
        team_id,
        steps,
    })
}

async fn parse_target(
    state: &SharedState,
    level: usize,
    kind: &str,
    id: &str,
) -> Result<Target, ApiError> {
    let missing = |what: &str| ApiError::BadRequest(format!("level {level}: no {what} '{id}'"));
    match kind {
        "user" => {
            let user = match id.parse::<UserId>() {
                Ok(uid) => state.store.user(uid).await.ok(),
                Err(_) => match Email::parse(id) {
                    Ok(email) => state.store.user_by_email(&email).await?,
                    Err(_) => None,
                },
            };
            user.map(|u| Target::User(u.id))
                .ok_or_else(|| missing("user"))
        }
        "policy" => match find_policy(state, id).await {
            Ok(p) => Ok(Target::Policy(p.id)),
            Err(ApiError::NotFound(_)) => Err(missing("escalation policy")),
            Err(e) => Err(e),
        },
        "schedule" => match super::schedules::find_schedule(state, id).await {
            Ok(s) => Ok(Target::Schedule(s.id)),
            Err(ApiError::NotFound(_)) => Err(missing("schedule")),
            Err(e) => Err(e),
        },
        other => Err(ApiError::BadRequest(format!(
            "level {level}: a target's 'type' is user, schedule or policy, not '{other}'"
        ))),
    }
}

/// All escalation policies, by name.
#[utoipa::path(get, path = "/escalation-policies", tag = "escalation policies", responses((status = 200, body = PolicyList)))]
async fn list_policies(
    State(state): State<SharedState>,
    _caller: Caller,
) -> Result<Json<PolicyList>, ApiError> {
    let policies = state.store.list_policies().await?;
    Ok(Json(PolicyList {
        escalation_policies: policies.iter().map(PolicyView::from).collect(),
    }))
}

/// Create an escalation policy (admins).
#[utoipa::path(
    post, path = "/escalation-policies", tag = "escalation policies",
    request_body = PolicyBody,
    responses(
        (status = 201, body = PolicyEnvelope),
        (status = 400, description = "Invalid levels or unknown targets", body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, description = "Name taken", body = ErrorBody),
    )
)]
pub(crate) async fn create_policy(
    State(state): State<SharedState>,
    caller: Caller,
    ApiJson(body): ApiJson<PolicyBody>,
) -> Result<(StatusCode, Json<PolicyEnvelope>), ApiError> {
    caller.require_admin()?;
    let now = state.clock.now();
    let policy = parse_policy(&state, PolicyId::new(now), body).await?;
    state.store.create_policy(&policy, now).await?;
    Ok((
        StatusCode::CREATED,
        Json(PolicyEnvelope {
            escalation_policy: PolicyView::from(&policy),
            warnings: warnings(&state, &policy).await?,
        }),
    ))
}

/// One escalation policy, by id or name.
#[utoipa::path(
    get, path = "/escalation-policies/{id}", tag = "escalation policies",
    params(("id" = String, Path, description = "Policy id or name")),
    responses((status = 200, body = PolicyEnvelope), (status = 404, body = ErrorBody))
)]
async fn get_policy(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<PolicyEnvelope>, ApiError> {
    let policy = find_policy(&state, &id).await?;
    Ok(Json(PolicyEnvelope {
        escalation_policy: PolicyView::from(&policy),
        warnings: warnings(&state, &policy).await?,
    }))
}

/// Replace an escalation policy's name, team and levels (admins).
#[utoipa::path(
    put, path = "/escalation-policies/{id}", tag = "escalation policies",
    params(("id" = String, Path, description = "Policy id or name")),
    request_body = PolicyBody,
    responses(
        (status = 200, body = PolicyEnvelope),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    )
)]
pub(crate) async fn replace_policy(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<PolicyBody>,
) -> Result<Json<PolicyEnvelope>, ApiError> {
    caller.require_admin()?;
    let existing = find_policy(&state, &id).await?;
    let policy = parse_policy(&state, existing.id, body).await?;
    state
        .store
        .update_policy(&policy, state.clock.now())
        .await?;
    Ok(Json(PolicyEnvelope {
        escalation_policy: PolicyView::from(&policy),
        warnings: warnings(&state, &policy).await?,
    }))
}

/// Delete an escalation policy no service uses and no policy hands over to (admins).
#[utoipa::path(
    delete, path = "/escalation-policies/{id}", tag = "escalation policies",
    params(("id" = String, Path, description = "Policy id or name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Still in use", body = ErrorBody),
    )
)]
pub(crate) async fn delete_policy(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    caller.require_admin()?;
    let policy = find_policy(&state, &id).await?;
    state.store.delete_policy(policy.id).await?;
    Ok(StatusCode::NO_CONTENT)
}
