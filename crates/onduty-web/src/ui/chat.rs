//! Chat on the web pages: on a service's page, attach a Slack channel or Telegram group
//! that gets every incident of the service, or stop posting to one (admins); on a
//! person's page, make the code that links their Telegram account. All go through the
//! application layer.

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use axum::{Form, Router};
use onduty_app::ChatChannelInput;
use onduty_core::chat::ChatScope;
use serde::Deserialize;

use super::CsrfForm;
use super::Viewer;
use super::auth::forbidden;
use super::flash::{after, failed};
use crate::SharedState;

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/services/{id}/chat-channels", post(add))
        .route(
            "/services/{id}/chat-channels/{channel}/delete",
            post(remove),
        )
        .route("/people/{id}/telegram-code", post(telegram_code))
}

#[derive(Deserialize)]
struct ChannelForm {
    csrf: String,
    #[serde(default = "slack")]
    platform: String,
    channel: String,
}

fn slack() -> String {
    "slack".to_owned()
}

async fn add(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<ChannelForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let to = format!("/services/{id}");
    let service = match state.app.find_service(&id).await {
        Ok(s) => s,
        Err(e) => return failed(&state, &to, crate::error::ApiError::from(e)),
    };
    let input = ChatChannelInput {
        platform: form.platform,
        channel: form.channel,
    };
    let made = state
        .app
        .add_chat_channel(&viewer.acting(), ChatScope::Service(service.id), input)
        .await;
    after(
        &state,
        &to,
        made,
        "Channel added: incidents opened from now on are posted there.",
    )
}

async fn remove(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path((id, channel)): Path<(String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let to = format!("/services/{id}");
    let removed = state
        .app
        .remove_chat_channel(&viewer.acting(), &channel)
        .await;
    after(
        &state,
        &to,
        removed,
        "Removed: nothing more is posted there.",
    )
}

/// A code that links the person's Telegram account, shown once.
async fn telegram_code(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let to = format!("/people/{id}");
    match state
        .app
        .chat_link_code(&viewer.acting(), &id, "telegram")
        .await
    {
        Ok((code, _)) => super::flash::done(
            &state,
            &to,
            format!("In Telegram, send /start {code} to onduty's bot within 15 minutes."),
        ),
        Err(e) => failed(&state, &to, crate::error::ApiError::from(e)),
    }
}
