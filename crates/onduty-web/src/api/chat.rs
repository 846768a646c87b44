//! `/api/v1/…/chat-channels`: the chat channels that get every incident of a service, or
//! of a team's services, with buttons to act on it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onduty_app::ChatChannelInput;
use onduty_core::chat::{ChatChannel, ChatScope};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Caller;
use crate::SharedState;
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(service_channels, add_service_channel))
        .routes(routes!(team_channels, add_team_channel))
        .routes(routes!(remove_channel))
        .routes(routes!(link_code))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChatChannelView {
    pub id: String,
    /// `slack`, `telegram`, `mattermost`, `teams` or `discord`.
    pub platform: String,
    /// The platform's id of the channel; for Teams and Discord, whose channels are
    /// webhooks, only the webhook's host (`webhook at discord.com`): the URL is a secret.
    pub channel: String,
    /// The service whose incidents it gets, or
    pub service_id: Option<String>,
    /// the team whose services' incidents it gets.
    pub team_id: Option<String>,
    /// Why the platform refused the channel for good (the bot is not in it, it was
    /// archived): nothing is posted until it is added again.
    pub failing: Option<String>,
}

impl From<&ChatChannel> for ChatChannelView {
    fn from(c: &ChatChannel) -> Self {
        let (service_id, team_id) = match c.scope {
            ChatScope::Service(s) => (Some(s.to_string()), None),
            ChatScope::Team(t) => (None, Some(t.to_string())),
        };
        ChatChannelView {
            id: c.id.to_string(),
            platform: c.platform.as_str().to_owned(),
            channel: onduty_core::chat::channel_shown(c.platform, &c.channel),
            service_id,
            team_id,
            failing: c.failing.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChatChannelList {
    pub chat_channels: Vec<ChatChannelView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChatChannelEnvelope {
    pub chat_channel: ChatChannelView,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewChatChannel {
    /// `slack`, `telegram`, `mattermost`, `teams` or `discord`.
    #[schema(format = "chat-platform")]
    pub platform: String,
    /// The channel: in Slack, open the channel's details and copy the id at the bottom
    /// (`C0123ABCD`) and invite the onduty app to the channel; in Telegram, add the onduty
    /// bot to the group and use the group's id (`-1001234567890`); in Mattermost, add the
    /// bot to the channel and copy the ID from View Info (26 letters and digits). For
    /// Teams, the URL of a Workflows webhook ("Post to a channel when a webhook request
    /// is received"); for Discord, the channel's webhook URL
    /// (`https://discord.com/api/webhooks/<id>/<token>`). A webhook's URL is a secret:
    /// it is never shown again.
    #[schema(
        pattern = "^([CG][A-Z0-9]{1,31}|-?[0-9]{1,20}|[a-z0-9]{26}|https?://[^\\s]+)$",
        max_length = 2048
    )]
    pub channel: String,
}

async fn list(state: &SharedState, scope: ChatScope) -> Result<Json<ChatChannelList>, ApiError> {
    let channels = state.store.chat_channels(scope).await?;
    Ok(Json(ChatChannelList {
        chat_channels: channels.iter().map(ChatChannelView::from).collect(),
    }))
}

async fn add(
    state: &SharedState,
    caller: &Caller,
    scope: ChatScope,
    body: NewChatChannel,
) -> Result<(StatusCode, Json<ChatChannelEnvelope>), ApiError> {
    let input = ChatChannelInput {
        platform: body.platform,
        channel: body.channel,
    };
    let made = state
        .app
        .add_chat_channel(&caller.acting(), scope, input)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ChatChannelEnvelope {
            chat_channel: ChatChannelView::from(&made),
        }),
    ))
}

/// The chat channels that get this service's incidents.
#[utoipa::path(
    get, path = "/services/{id}/chat-channels", tag = "services",
    params(("id" = String, Path, description = "Service id or name")),
    responses((status = 200, body = ChatChannelList), (status = 404, body = ErrorBody))
)]
async fn service_channels(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ChatChannelList>, ApiError> {
    let service = state.app.find_service(&id).await?;
    list(&state, ChatScope::Service(service.id)).await
}

/// Post every incident of this service opened from now on to a chat channel (admins).
#[utoipa::path(
    post, path = "/services/{id}/chat-channels", tag = "services",
    params(("id" = String, Path, description = "Service id or name")),
    request_body = NewChatChannel,
    responses(
        (status = 201, body = ChatChannelEnvelope),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The channel already gets these incidents", body = ErrorBody),
    )
)]
async fn add_service_channel(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NewChatChannel>,
) -> Result<(StatusCode, Json<ChatChannelEnvelope>), ApiError> {
    let service = state.app.find_service(&id).await?;
    add(&state, &caller, ChatScope::Service(service.id), body).await
}

/// The chat channels that get the incidents of this team's services.
#[utoipa::path(
    get, path = "/teams/{id}/chat-channels", tag = "teams",
    params(("id" = String, Path, description = "Team id or name")),
    responses((status = 200, body = ChatChannelList), (status = 404, body = ErrorBody))
)]
async fn team_channels(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ChatChannelList>, ApiError> {
    let team = state.store.team(&id).await?;
    list(&state, ChatScope::Team(team.id)).await
}

/// Post every incident of this team's services opened from now on to a chat channel
/// (admins).
#[utoipa::path(
    post, path = "/teams/{id}/chat-channels", tag = "teams",
    params(("id" = String, Path, description = "Team id or name")),
    request_body = NewChatChannel,
    responses(
        (status = 201, body = ChatChannelEnvelope),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The channel already gets these incidents", body = ErrorBody),
    )
)]
async fn add_team_channel(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NewChatChannel>,
) -> Result<(StatusCode, Json<ChatChannelEnvelope>), ApiError> {
    let team = state.store.team(&id).await?;
    add(&state, &caller, ChatScope::Team(team.id), body).await
}

/// Stop posting to a chat channel (admins); what it has stays.
#[utoipa::path(
    delete, path = "/chat-channels/{id}", tag = "services",
    params(("id" = String, Path, description = "Chat channel id", format = Uuid)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn remove_channel(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.app.remove_chat_channel(&caller.acting(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkCodeRequest {
    /// `telegram` (Slack links accounts by their e-mail address).
    #[schema(format = "chat-platform")]
    pub platform: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LinkCode {
    /// Send `/start <code>` to onduty's Telegram bot: your Telegram account then acts as you.
    pub code: String,
    #[schema(value_type = String, format = DateTime)]
    pub expires_at: onduty_core::Timestamp,
}

/// A one-time code that links the person's chat account to them, valid for 15 minutes
/// (the person themselves, or admins); a new one replaces the last.
#[utoipa::path(
    post, path = "/users/{user}/chat-link-code", tag = "users",
    params(("user" = String, Path, description = "User id or e-mail")),
    request_body = LinkCodeRequest,
    responses(
        (status = 201, body = LinkCode),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
async fn link_code(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(user): ApiPath<String>,
    ApiJson(body): ApiJson<LinkCodeRequest>,
) -> Result<(StatusCode, Json<LinkCode>), ApiError> {
    let (code, expires_at) = state
        .app
        .chat_link_code(&caller.acting(), &user, &body.platform)
        .await?;
    Ok((StatusCode::CREATED, Json(LinkCode { code, expires_at })))
}
