//! Telegram's updates to onduty (`POST /telegram/webhook`, set with `setWebhook` and a
//! `secret_token`): a press on an incident message's button (`callback_query`) and
//! `/start <code>` sent to the bot, which links the sender's Telegram account to the
//! onduty user the code was made for.
//!
//! An update without the right `X-Telegram-Bot-Api-Secret-Token` gets `401` and changes
//! nothing; one whose `update_id` was received before (in the last 24 hours) is answered
//! `200` and changes nothing either. The presser acts as the user their account is linked to, through the same
//! `act_for` as SMS replies and Slack; they are answered with `answerCallbackQuery`. The
//! incident's messages are brought up to date by the engine.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use onduty_core::chat::ChatPlatform;
use onduty_core::lifecycle::Via;
use onduty_core::reply::ReplyAction;
use onduty_core::{IncidentId, IncidentRef};
use onduty_notify::telegram::parse_callback;
use serde_json::Value;
use subtle::ConstantTimeEq;

use crate::SharedState;
use crate::replay::{self, Sender};
use crate::replies::act_for;

/// The largest update onduty reads (Telegram's are a few KB).
const BODY_LIMIT: usize = 256 * 1024;

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/telegram/webhook", post(update))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
}

const NOT_LINKED: &str = "Your Telegram account is not linked to an onduty user. In onduty, \
                          make a Telegram code on your profile and send /start <code> to this bot.";

async fn update(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(secret) = state.config.telegram_webhook_secret.as_ref() else {
        return (
            StatusCode::NOT_FOUND,
            "Telegram is not configured on this server",
        )
            .into_response();
    };
    let given = headers
        .get("x-telegram-bot-api-secret-token")
        .map(|v| v.as_bytes())
        .unwrap_or_default();
    if !bool::from(given.ct_eq(secret.expose().as_bytes())) {
        return (
            StatusCode::UNAUTHORIZED,
            "invalid X-Telegram-Bot-Api-Secret-Token",
        )
            .into_response();
    }
    let body = match body {
        Ok(b) => b,
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return (
                StatusCode::PAYLOAD_TOO_LARGE,
                "the update is larger than Telegram sends",
            )
                .into_response();
        }
        Err(_) => return (StatusCode::BAD_REQUEST, "the update could not be read").into_response(),
    };
    let Ok(update) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "the update is not JSON").into_response();
    };
    // Telegram delivers an update again until it is answered `2xx`: one received before
    // is answered so, and acted on only once.
    let Some(update_id) = update["update_id"].as_i64() else {
        return (StatusCode::BAD_REQUEST, "the update has no update_id").into_response();
    };
    match replay::first_time(&state, Sender::Telegram, &update_id.to_string()).await {
        Ok(true) => {}
        Ok(false) => return StatusCode::OK.into_response(),
        Err(refusal) => return refusal.into_response(),
    }
    let Some(telegram) = state.providers.telegram.clone() else {
        return StatusCode::OK.into_response();
    };
    if let Some(query) = update.get("callback_query") {
        let (Some(id), Some(from), Some((button, incident))) = (
            query["id"].as_str(),
            query["from"]["id"].as_i64(),
            query["data"].as_str().and_then(parse_callback),
        ) else {
            return StatusCode::OK.into_response();
        };
        let said = match (
            state
                .app
                .chat_user(ChatPlatform::Telegram, &from.to_string(), None)
                .await,
            incident.parse::<IncidentId>(),
        ) {
            (Ok(Some(user)), Ok(incident)) => {
                let action = ReplyAction::from(button);
                act_for(
                    &state,
                    &user,
                    IncidentRef::Id(incident),
                    action,
                    Via::Telegram,
                )
                .await
            }
            (Ok(None), _) => NOT_LINKED.to_owned(),
            (Ok(Some(_)), Err(_)) => "That button is not onduty's.".to_owned(),
            (Err(e), _) => {
                tracing::warn!(error = %e, "a Telegram press could not be attributed");
                "onduty could not tell who you are just now; try again".to_owned()
            }
        };
        if let Err(e) = telegram.answer_callback(id, &said).await {
            tracing::warn!(error = %e, "a Telegram answer was not delivered");
        }
    } else if let Some(message) = update.get("message") {
        // A group upgraded to a supergroup says so in the old group: channels attached to
        // it follow to the new id.
        if let (Some(from), Some(to)) = (
            message["chat"]["id"].as_i64(),
            message["migrate_to_chat_id"].as_i64(),
        ) {
            let (from, to) = (from.to_string(), to.to_string());
            let now = state.clock.now();
            match (state.store)
                .move_chat_channels(ChatPlatform::Telegram, &from, &to, now)
                .await
            {
                Ok(moved) => {
                    tracing::info!(moved, %from, %to, "a Telegram group became a supergroup")
                }
                // The next message to the old id is refused with the new one, and follows.
                Err(e) => tracing::warn!(error = %e, "channels could not follow a supergroup"),
            }
            return StatusCode::OK.into_response();
        }
        let text = message["text"].as_str().unwrap_or_default();
        let (Some(chat), Some(from)) = (
            message["chat"]["id"].as_i64(),
            message["from"]["id"].as_i64(),
        ) else {
            return StatusCode::OK.into_response();
        };
        // Only in the person's private chat with the bot: a group would read the answer.
        if message["chat"]["type"] != "private" {
            return StatusCode::OK.into_response();
        }
        let mut words = text.split_whitespace();
        let command = words.next().unwrap_or_default();
        if command.split('@').next() != Some("/start") {
            return StatusCode::OK.into_response();
        }
        let answer = match words.next() {
            None => NOT_LINKED.to_owned(),
            Some(code) => match state
                .app
                .link_chat_by_code(ChatPlatform::Telegram, &from.to_string(), code)
                .await
            {
                Ok(user) => format!(
                    "Linked: your buttons in onduty's messages act as {} ({}).",
                    user.name, user.email
                ),
                Err(e @ onduty_app::AppError::NotFound(_)) => format!("Not linked: {e}"),
                Err(e) => {
                    tracing::warn!(error = %e, "a Telegram account could not be linked");
                    "Not linked: onduty could not do that just now; try again".to_owned()
                }
            },
        };
        if let Err(e) = telegram.send_text(&chat.to_string(), &answer).await {
            tracing::warn!(error = %e, "a Telegram answer was not delivered");
        }
    }
    StatusCode::OK.into_response()
}
