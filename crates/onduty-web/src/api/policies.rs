//! `/api/v1/escalation-policies`: who is paged, in what order, how long apart.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onduty_app::{LevelInput, PolicyInput};
use onduty_core::escalation::Policy;
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
    Ok(state.app.find_policy(text).await?)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PolicyBody {
    /// 1 to 100 characters, unique.
    #[schema(format = "name")]
    pub name: String,
    #[serde(default)]
    #[schema(format = "description")]
    pub description: Option<String>,
    /// A team id or name.
    #[serde(default)]
    pub team: Option<String>,
    /// In order: level 1 is paged at once, level 2 after level 1's delay, … (1 to 20 levels).
    #[schema(min_items = 1, max_items = 20)]
    pub levels: Vec<LevelView>,
    /// How many more times the whole policy runs after its first pass (0 to 9; default 0).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 9)]
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

impl From<PolicyBody> for PolicyInput {
    fn from(b: PolicyBody) -> Self {
        PolicyInput {
            name: b.name,
            description: b.description,
            team: b.team,
            levels: b
                .levels
                .into_iter()
                .map(|l| LevelInput {
                    targets: l.targets.into_iter().map(|t| (t.kind, t.id)).collect(),
                    delay_minutes: l.delay_minutes,
                    mode: l.mode,
                })
                .collect(),
            repeat: b.repeat,
        }
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
    let (policy, warnings) = state
        .app
        .create_policy(&caller.acting(), body.into())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(PolicyEnvelope {
            escalation_policy: PolicyView::from(&policy),
            warnings,
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
        warnings: state.app.policy_warnings(&policy).await?,
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
    let (policy, warnings) = state
        .app
        .replace_policy(&caller.acting(), &id, body.into())
        .await?;
    Ok(Json(PolicyEnvelope {
        escalation_policy: PolicyView::from(&policy),
        warnings,
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
    state.app.delete_policy(&caller.acting(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
