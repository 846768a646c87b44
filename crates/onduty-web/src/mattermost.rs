//! Mattermost's requests to onduty: clicks on an incident message's buttons
//! (`POST /mattermost/actions`).
//!
//! Mattermost does not sign these requests. Each button's `context` carries a token
//! onduty signed (one incident, one button, expiring), which Mattermost keeps on its
//! server and sends back with the click; a request without a valid one gets `401` and
//! changes nothing, as does one whose `trigger_id` was already seen by this instance. The
//! clicker (`user_id`, as Mattermost says) acts as the onduty user their account is linked
//! to: by the e-mail address Mattermost verified for it, or else by the link onduty
//! answers them with. The incident's messages are brought up to date by the engine.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use onduty_core::IncidentRef;
use onduty_core::account::User;
use onduty_core::chat::ChatPlatform;
use onduty_core::lifecycle::Via;
use onduty_core::reply::ReplyAction;
use onduty_core::signature::{LINK_KEY, LinkError, verify_button_token};
use onduty_notify::mattermost::ACTIONS_PATH;
use serde_json::{Value, json};

use crate::SharedState;
use crate::replay::{self, Sender};
use crate::replies::act_for;

/// The largest request Mattermost sends here (a click's JSON is small).
const BODY_LIMIT: usize = 64 * 1024;

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route(ACTIONS_PATH, post(action))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
}

fn refused(status: StatusCode, why: &str) -> Response {
    (status, why.to_owned()).into_response()
}

/// An answer only the clicker sees.
fn ephemeral(text: &str) -> Response {
    axum::Json(json!({"ephemeral_text": text})).into_response()
}

/// A click on a button of an incident's message.
async fn action(State(state): State<SharedState>, body: Result<Bytes, BytesRejection>) -> Response {
    if state.providers.mattermost.is_none() {
        return refused(
            StatusCode::NOT_FOUND,
            "Mattermost is not configured on this server",
        );
    }
    let body = match body {
        Ok(b) => b,
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request is larger than Mattermost sends",
            );
        }
        Err(_) => return refused(StatusCode::BAD_REQUEST, "the request could not be read"),
    };
    let Ok(click) = serde_json::from_slice::<Value>(&body) else {
        return refused(StatusCode::BAD_REQUEST, "the request is not JSON");
    };
    let Some(token) = click["context"]["token"].as_str() else {
        return refused(
            StatusCode::UNAUTHORIZED,
            "the button carries no onduty token",
        );
    };
    let key = match state.store.server_key(LINK_KEY).await {
        Ok(k) => k,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the link key");
            return refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unavailable",
            );
        }
    };
    let now = state.clock.now();
    // Only a Mattermost button's token: the others are seen by whole channels.
    let grant = match verify_button_token(&key, token, now) {
        Ok(g) if g.platform != ChatPlatform::Mattermost => {
            return refused(StatusCode::UNAUTHORIZED, "the button's token is not valid");
        }
        Ok(g) => g,
        Err(LinkError::Expired) => {
            return ephemeral(
                "This button has expired: open the incident in onduty, or wait for its \
                 message to be updated.",
            );
        }
        Err(LinkError::Invalid) => {
            return refused(StatusCode::UNAUTHORIZED, "the button's token is not valid");
        }
    };
    let (Some(trigger), Some(mattermost_user)) =
        (click["trigger_id"].as_str(), click["user_id"].as_str())
    else {
        return refused(
            StatusCode::BAD_REQUEST,
            "expected a click with a trigger_id and a user_id",
        );
    };
    match replay::first_time(&state, Sender::Mattermost, trigger).await {
        Ok(true) => {}
        Ok(false) => {
            return refused(
                StatusCode::UNAUTHORIZED,
                "this request was already received",
            );
        }
        Err((status, why)) => return refused(status, why),
    }
    match who(&state, mattermost_user).await {
        Ok(Some(user)) => {
            let action = ReplyAction::from(grant.button);
            let said = act_for(
                &state,
                &user,
                IncidentRef::Id(grant.incident),
                action,
                Via::Mattermost,
            )
            .await;
            // Done is shown by the message itself, brought up to date by the engine.
            if said.starts_with(action.done()) {
                axum::Json(json!({})).into_response()
            } else {
                ephemeral(&said)
            }
        }
        Ok(None) => {
            let name = click["user_name"].as_str().unwrap_or_default();
            let link =
                crate::ui::chat_link_url(&state, ChatPlatform::Mattermost, mattermost_user, name)
                    .await;
            ephemeral(&not_linked(link.as_deref()))
        }
        Err(e) => ephemeral(&format!(
            "onduty could not tell who you are just now ({e}); try again"
        )),
    }
}

/// What an unlinked clicker is told: nothing changed, and how to link.
pub(crate) fn not_linked(link: Option<&str>) -> String {
    let mut text = "Your account is not linked to an onduty user, so nothing changed. onduty \
                    links it by its verified e-mail address when an active onduty user has it."
        .to_owned();
    if let Some(link) = link {
        text.push_str(&format!(
            " Or link it yourself: open {link} (valid 15 minutes) and log in to onduty."
        ));
    }
    text
}

/// The onduty user behind a Mattermost account, linking it by its verified e-mail.
async fn who(state: &SharedState, mattermost_user: &str) -> Result<Option<User>, String> {
    let app = &state.app;
    if let Some(user) = app
        .chat_user(ChatPlatform::Mattermost, mattermost_user, None)
        .await
        .map_err(|e| e.to_string())?
    {
        return Ok(Some(user));
    }
    let Some(mattermost) = state.providers.mattermost.as_ref() else {
        return Ok(None);
    };
    let email = mattermost
        .verified_email(mattermost_user)
        .await
        .map_err(|e| e.to_string())?;
    app.chat_user(ChatPlatform::Mattermost, mattermost_user, email.as_deref())
        .await
        .map_err(|e| e.to_string())
}
