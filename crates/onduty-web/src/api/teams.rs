//! `/api/v1/teams`: teams and their members.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onduty_core::UserId;
use onduty_core::account::{Email, Name};
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
    if let Ok(id) = text.parse::<UserId>() {
        return Ok(state.store.user(id).await?);
    }
    let email = Email::parse(text)
        .map_err(|_| ApiError::NotFound(format!("no user with id or e-mail '{text}'")))?;
    state
        .store
        .user_by_email(&email)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no user with id or e-mail '{text}'")))
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
    caller.require_admin()?;
    let name = Name::parse(&body.name).map_err(|e| ApiError::BadRequest(format!("'name': {e}")))?;
    let team = state.store.create_team(name, state.clock.now()).await?;
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
    caller.require_admin()?;
    let team = state.store.team(&id).await?;
    let user = find_user(&state, &user).await?;
    state.store.add_team_member(team.id, user.id).await?;
    let team = state.store.team(&team.id.to_string()).await?;
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
    caller.require_admin()?;
    let team = state.store.team(&id).await?;
    let user = find_user(&state, &user).await?;
    if !state.store.remove_team_member(team.id, user.id).await? {
        return Err(ApiError::NotFound(format!(
            "{} is not a member of {}",
            user.email, team.name
        )));
    }
    let team = state.store.team(&team.id.to_string()).await?;
    Ok(Json(TeamEnvelope {
        team: TeamView::from(&team),
    }))
}
