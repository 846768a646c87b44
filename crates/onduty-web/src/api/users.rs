//! `/api/v1/me`, `/api/v1/users` and API tokens.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onduty_app::UserInput;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Caller;
use super::access::{__path_delete_user, delete_user};
use super::views::UserView;
use crate::SharedState;
use crate::error::{ApiError, ApiJson, ErrorBody};

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(me))
        .routes(routes!(create_token))
        .routes(routes!(list_users, create_user))
        .routes(routes!(update_user, delete_user))
        .routes(routes!(message_usage))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageLimits {
    /// Codes and tests one person may be sent per hour.
    pub per_person_per_hour: u32,
    /// Codes and tests the whole server sends per hour.
    pub per_hour: u32,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PersonSent {
    pub user: UserView,
    pub sent: u64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LastHour {
    pub total: u64,
    /// Everyone who was sent any, most first.
    pub people: Vec<PersonSent>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MessageUsage {
    pub limits: MessageLimits,
    pub last_hour: LastHour,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserBody {
    pub user: UserView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<UserView>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewTokenBody {
    /// What the token is for ("laptop", "grafana"). Default: `api`.
    #[serde(default)]
    #[schema(format = "name")]
    pub name: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenCreated {
    pub id: String,
    pub name: String,
    /// The secret, shown this once: onduty keeps only its hash.
    pub token: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewUserBody {
    /// Unique.
    #[schema(format = Email)]
    pub email: String,
    #[schema(format = "name")]
    pub name: String,
    /// `admin`, `responder` (default) or `observer`.
    #[serde(default)]
    #[schema(format = "role")]
    pub role: Option<String>,
    /// IANA time zone (default `UTC`).
    #[serde(default)]
    #[schema(format = "time-zone")]
    pub time_zone: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct UserPatchBody {
    /// The user or an admin; unique.
    #[serde(default)]
    #[schema(format = Email, nullable = false)]
    pub email: Option<String>,
    #[schema(format = "name", nullable = false)]
    pub name: Option<String>,
    /// Admins only.
    #[schema(format = "role", nullable = false)]
    pub role: Option<String>,
    #[schema(format = "time-zone", nullable = false)]
    pub time_zone: Option<String>,
}

impl From<NewUserBody> for UserInput {
    fn from(b: NewUserBody) -> Self {
        UserInput {
            email: Some(b.email),
            name: Some(b.name),
            role: b.role,
            time_zone: b.time_zone,
        }
    }
}

impl From<UserPatchBody> for UserInput {
    fn from(b: UserPatchBody) -> Self {
        UserInput {
            email: b.email,
            name: b.name,
            role: b.role,
            time_zone: b.time_zone,
        }
    }
}

/// The user the token belongs to.
#[utoipa::path(get, path = "/me", tag = "users", responses((status = 200, body = UserBody), (status = 401, body = ErrorBody)))]
async fn me(caller: Caller) -> Json<UserBody> {
    Json(UserBody {
        user: UserView::from(&caller.0),
    })
}

/// Create another API token for yourself. The secret is in the response, once.
#[utoipa::path(
    post, path = "/me/tokens", tag = "users",
    request_body = NewTokenBody,
    responses((status = 201, body = TokenCreated), (status = 400, body = ErrorBody))
)]
async fn create_token(
    State(state): State<SharedState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewTokenBody>,
) -> Result<(StatusCode, Json<TokenCreated>), ApiError> {
    let (token, secret) = state
        .app
        .create_token(&caller.acting(), body.name.as_deref())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenCreated {
            id: token.id.to_string(),
            name: token.name,
            token: secret.expose().to_owned(),
        }),
    ))
}

/// All users.
#[utoipa::path(get, path = "/users", tag = "users", responses((status = 200, body = UserList)))]
async fn list_users(
    State(state): State<SharedState>,
    _caller: Caller,
) -> Result<Json<UserList>, ApiError> {
    let users = state.store.list_users().await?;
    Ok(Json(UserList {
        users: users.iter().map(UserView::from).collect(),
    }))
}

/// Create a user (admins).
#[utoipa::path(
    post, path = "/users", tag = "users",
    request_body = NewUserBody,
    responses(
        (status = 201, body = UserBody),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, description = "E-mail taken", body = ErrorBody),
    )
)]
pub(crate) async fn create_user(
    State(state): State<SharedState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewUserBody>,
) -> Result<(StatusCode, Json<UserBody>), ApiError> {
    let user = state
        .app
        .create_user(&caller.acting(), body.into(), None)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(UserBody {
            user: UserView::from(&user),
        }),
    ))
}

/// Change a user's e-mail address, name, time zone (the user or an admin) or role (admins).
#[utoipa::path(
    patch, path = "/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id or e-mail")),
    request_body = UserPatchBody,
    responses(
        (status = 200, body = UserBody),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Another user has that e-mail address", body = ErrorBody),
    )
)]
pub(crate) async fn update_user(
    State(state): State<SharedState>,
    caller: Caller,
    crate::error::ApiPath(id): crate::error::ApiPath<String>,
    ApiJson(body): ApiJson<UserPatchBody>,
) -> Result<Json<UserBody>, ApiError> {
    let user = state
        .app
        .update_user(&caller.acting(), &id, body.into())
        .await?;
    Ok(Json(UserBody {
        user: UserView::from(&user),
    }))
}

/// Verification codes and test messages sent in the last hour, per person, against the
/// hourly limits (admins). Pages are not counted.
#[utoipa::path(
    get, path = "/message-usage", tag = "users",
    responses(
        (status = 200, body = MessageUsage),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    )
)]
async fn message_usage(
    State(state): State<SharedState>,
    caller: Caller,
) -> Result<Json<MessageUsage>, ApiError> {
    let usage = state.app.send_usage(&caller.acting()).await?;
    Ok(Json(MessageUsage {
        limits: MessageLimits {
            per_person_per_hour: usage.limits.per_person,
            per_hour: usage.limits.total,
        },
        last_hour: LastHour {
            total: usage.total,
            people: usage
                .by_person
                .iter()
                .map(|(user, sent)| PersonSent {
                    user: UserView::from(user),
                    sent: *sent,
                })
                .collect(),
        },
    }))
}
