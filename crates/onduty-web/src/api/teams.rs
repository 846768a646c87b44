//! `/api/v1/teams`: teams and their members.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Caller;
use super::views::TeamView;
use crate::SharedState;
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_teams, create_team))
        .routes(routes!(get_team))
        .routes(routes!(add_member, remove_member))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewTeamBody {
    /// 1 to 100 characters, unique.
    #[schema(format = "name")]
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamList {
    pub teams: Vec<TeamView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TeamEnvelope {
    pub team: TeamView,
}

/// A user by id or e-mail address.
pub(crate) async fn find_user(
    state: &SharedState,
    text: &str,
) -> Result<onduty_core::account::User, ApiError> {
    Ok(state.app.find_user(text).await?)
}

/// All teams, by name.
#[utoipa::path(get, path = "/teams", tag = "teams", responses((status = 200, body = TeamList)))]
async fn list_teams(
    State(state): State<SharedState>,
    _caller: Caller,
) -> Result<Json<TeamList>, ApiError> {
    let teams = state.store.list_teams().await?;
    Ok(Json(TeamList {
        teams: teams.iter().map(TeamView::from).collect(),
    }))
}

/// Create a team (admins).
#[utoipa::path(
    post, path = "/teams", tag = "teams",
    request_body = NewTeamBody,
    responses((status = 201, body = TeamEnvelope), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody))
)]
pub(crate) async fn create_team(
    State(state): State<SharedState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewTeamBody>,
) -> Result<(StatusCode, Json<TeamEnvelope>), ApiError> {
    let team = state.app.create_team(&caller.acting(), &body.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(TeamEnvelope {
            team: TeamView::from(&team),
        }),
    ))
}

/// One team, by id or name, with its members.
#[utoipa::path(
    get, path = "/teams/{id}", tag = "teams",
    params(("id" = String, Path, description = "Team id or name")),
    responses((status = 200, body = TeamEnvelope), (status = 404, body = ErrorBody))
)]
async fn get_team(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TeamEnvelope>, ApiError> {
    let team = state.store.team(&id).await?;
    Ok(Json(TeamEnvelope {
        team: TeamView::from(&team),
    }))
}

/// Add a member (admins). Adding a member twice is harmless.
#[utoipa::path(
    put, path = "/teams/{id}/members/{user}", tag = "teams",
    params(("id" = String, Path, description = "Team id or name"), ("user" = String, Path, description = "User id or e-mail")),
    responses((status = 200, body = TeamEnvelope), (status = 404, body = ErrorBody))
)]
pub(crate) async fn add_member(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath((id, user)): ApiPath<(String, String)>,
) -> Result<Json<TeamEnvelope>, ApiError> {
    let team = state.app.add_member(&caller.acting(), &id, &user).await?;
    Ok(Json(TeamEnvelope {
        team: TeamView::from(&team),
    }))
}

/// Remove a member (admins).
#[utoipa::path(
    delete, path = "/teams/{id}/members/{user}", tag = "teams",
    params(("id" = String, Path, description = "Team id or name"), ("user" = String, Path, description = "User id or e-mail")),
    responses((status = 200, body = TeamEnvelope), (status = 404, body = ErrorBody))
)]
pub(crate) async fn remove_member(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath((id, user)): ApiPath<(String, String)>,
) -> Result<Json<TeamEnvelope>, ApiError> {
    let team = state
        .app
        .remove_member(&caller.acting(), &id, &user)
        .await?;
    Ok(Json(TeamEnvelope {
        team: TeamView::from(&team),
    }))
}
