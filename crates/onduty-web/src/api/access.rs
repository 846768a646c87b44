//! Taking access away through the API: tokens listed and revoked, people disabled,
//! enabled and deleted. (Integrations are deleted and their keys rotated under
//! `/integrations`.)

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onduty_core::Timestamp;
use onduty_core::account::ApiToken;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Caller;
use super::users::UserBody;
use super::views::UserView;
use crate::SharedState;
use crate::error::{ApiError, ApiPath, ErrorBody};

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(my_tokens))
        .routes(routes!(revoke_my_token))
        .routes(routes!(user_tokens))
        .routes(routes!(revoke_user_token))
        .routes(routes!(disable_user))
        .routes(routes!(enable_user))
}

/// An API token as listed: never its secret, which onduty does not keep.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenView {
    pub id: String,
    pub name: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenList {
    pub tokens: Vec<TokenView>,
}

fn token_list(tokens: Vec<ApiToken>) -> Json<TokenList> {
    Json(TokenList {
        tokens: tokens
            .into_iter()
            .map(|t| TokenView {
                id: t.id.to_string(),
                name: t.name,
                created_at: t.created_at,
            })
            .collect(),
    })
}

/// Your API tokens.
#[utoipa::path(
    get, path = "/me/tokens", tag = "users",
    responses((status = 200, body = TokenList), (status = 401, body = ErrorBody))
)]
async fn my_tokens(
    State(state): State<SharedState>,
    caller: Caller,
) -> Result<Json<TokenList>, ApiError> {
    let me = caller.0.id.to_string();
    Ok(token_list(state.app.tokens(&caller.acting(), &me).await?))
}

/// Revoke one of your API tokens: it is refused from the next request on.
#[utoipa::path(
    delete, path = "/me/tokens/{token}", tag = "users",
    params(("token" = String, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
async fn revoke_my_token(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(token): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    let me = caller.0.id.to_string();
    state
        .app
        .revoke_token(&caller.acting(), &me, &token)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A person's API tokens (the person or an admin).
#[utoipa::path(
    get, path = "/users/{id}/tokens", tag = "users",
    params(("id" = String, Path, description = "User id or e-mail")),
    responses(
        (status = 200, body = TokenList),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
async fn user_tokens(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<TokenList>, ApiError> {
    Ok(token_list(state.app.tokens(&caller.acting(), &id).await?))
}

/// Revoke a person's API token (the person or an admin).
#[utoipa::path(
    delete, path = "/users/{id}/tokens/{token}", tag = "users",
    params(
        ("id" = String, Path, description = "User id or e-mail"),
        ("token" = String, Path, description = "Token id"),
    ),
    responses(
        (status = 204, description = "Revoked"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
async fn revoke_user_token(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath((id, token)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .revoke_token(&caller.acting(), &id, &token)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Disable a person (admins): their sessions and tokens end at once, they cannot log in
/// and are not paged.
#[utoipa::path(
    post, path = "/users/{id}/disable", tag = "users",
    params(("id" = String, Path, description = "User id or e-mail")),
    responses(
        (status = 200, body = UserBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The last active administrator", body = ErrorBody),
    )
)]
async fn disable_user(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<UserBody>, ApiError> {
    let user = state.app.disable_user(&caller.acting(), &id).await?;
    Ok(Json(UserBody {
        user: UserView::from(&user),
    }))
}

/// Enable a disabled person again (admins).
#[utoipa::path(
    post, path = "/users/{id}/enable", tag = "users",
    params(("id" = String, Path, description = "User id or e-mail")),
    responses(
        (status = 200, body = UserBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
async fn enable_user(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<UserBody>, ApiError> {
    let user = state.app.enable_user(&caller.acting(), &id).await?;
    Ok(Json(UserBody {
        user: UserView::from(&user),
    }))
}

/// Delete a person (admins): disabled for good and out of lists, teams and contact
/// methods; incidents' histories keep their name. (Routed with `PATCH /users/{id}`.)
#[utoipa::path(
    delete, path = "/users/{id}", tag = "users",
    params(("id" = String, Path, description = "User id or e-mail")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The last active administrator", body = ErrorBody),
    )
)]
pub(super) async fn delete_user(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_user(&caller.acting(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
