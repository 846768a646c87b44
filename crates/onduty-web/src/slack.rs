//! Slack's requests to onduty: clicks on an incident message's buttons
//! (`POST /slack/interactions`) and the `/onduty` slash command (`POST /slack/commands`).
//!
//! Every request is checked before anything is read from it: its `X-Slack-Signature` (the
//! app's signing secret over `v0:<timestamp>:<body>`), a timestamp within five minutes, and
//! a signature not received before, by any instance (`replay.rs`: a replay within the five
//! minutes is refused too). Refused requests get `401` and change nothing. The clicker acts as the
//! onduty user their Slack account is linked to (by the e-mail address Slack verified for
//! it, asking Slack for it takes at most 2 s, once per account; or by the link onduty
//! answers an unlinked account with), through the same
//! `act_for` as SMS replies and one-click links, and the answer leaves when that is done
//! (Slack wants one within 3 s); the incident's messages are brought up to date by the
//! engine.

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use onduty_core::account::User;
use onduty_core::chat::{COMMAND_HELP, ChatButton, ChatCommand, ChatPlatform, parse_command};
use onduty_core::incident::IncidentStatus;
use onduty_core::lifecycle::Via;
use onduty_core::reply::ReplyAction;
use onduty_core::signature::verify_slack_request;
use onduty_core::{IncidentId, IncidentRef, Timestamp};
use onduty_notify::slack::escape;
use onduty_store::incidents::IncidentFilter;
use serde_json::{Value, json};

use crate::SharedState;
use crate::replay::{self, Sender};
use crate::replies::act_for;

/// The largest request Slack sends here (a click carries the whole message).
const BODY_LIMIT: usize = 256 * 1024;

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/slack/interactions", post(interaction))
        .route("/slack/commands", post(command))
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
}

/// Why a request is refused before it is read.
struct Refusal(StatusCode, String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, self.1).into_response()
    }
}

fn refused(status: StatusCode, why: &str) -> Refusal {
    Refusal(status, why.to_owned())
}

/// The body of a request that proved it came from Slack, and has not come before, or the
/// answer refusing it.
async fn checked(
    state: &SharedState,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Bytes, Refusal> {
    let Some(secret) = state.config.slack_signing_secret.as_ref() else {
        return Err(refused(
            StatusCode::NOT_FOUND,
            "Slack is not configured on this server",
        ));
    };
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request is larger than Slack sends",
            )
        } else {
            refused(StatusCode::BAD_REQUEST, "the request could not be read")
        }
    })?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let signature = header("x-slack-signature");
    verify_slack_request(
        secret.expose(),
        header("x-slack-request-timestamp"),
        signature,
        &body,
        state.clock.now(),
    )
    .map_err(|e| refused(StatusCode::UNAUTHORIZED, &e.to_string()))?;
    match replay::first_time(state, Sender::Slack, signature.unwrap_or_default()).await {
        Ok(true) => Ok(body),
        Ok(false) => Err(refused(
            StatusCode::UNAUTHORIZED,
            "this request was already received",
        )),
        Err((status, why)) => Err(refused(status, why)),
    }
}

/// A refusal when onduty is pinned to one workspace and the request comes from another
/// (a shared channel's member from another organisation, say).
fn other_workspace(state: &SharedState, team: Option<&str>) -> Option<Refusal> {
    let pinned = state.config.slack_team_id.as_deref()?;
    (team != Some(pinned)).then(|| {
        refused(
            StatusCode::FORBIDDEN,
            "this Slack workspace is not the one onduty is set up for",
        )
    })
}

/// The onduty user behind a Slack account, linking it by its verified e-mail if need be.
async fn who(state: &SharedState, slack_user: &str) -> Result<Option<User>, String> {
    let app = &state.app;
    if let Some(user) = app
        .chat_user(ChatPlatform::Slack, slack_user, None)
        .await
        .map_err(|e| e.to_string())?
    {
        return Ok(Some(user));
    }
    let Some(slack) = state.providers.slack.as_ref() else {
        return Ok(None);
    };
    let email = slack
        .user_email(slack_user)
        .await
        .map_err(|e| e.to_string())?;
    app.chat_user(ChatPlatform::Slack, slack_user, email.as_deref())
        .await
        .map_err(|e| e.to_string())
}

/// What an unlinked Slack account (`slack_name` as Slack gave it) is told: nothing
/// changed, and how to link it.
async fn not_linked(state: &SharedState, slack_user: &str, slack_name: &str) -> String {
    let mut text = "Your Slack account is not linked to an onduty user, so nothing changed: \
                    onduty links it by the e-mail address on your Slack profile, and no active \
                    onduty user has it."
        .to_owned();
    match crate::ui::chat_link_url(state, ChatPlatform::Slack, slack_user, slack_name).await {
        Some(link) => text.push_str(&format!(
            " Or link it yourself: open <{link}|this link> (valid 15 minutes) and log in to \
             onduty."
        )),
        None => text.push_str(" Ask an admin to add you with that address."),
    }
    text
}

/// A field of a form-encoded body.
fn field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A click on a button of an incident's message.
async fn interaction(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match checked(&state, &headers, body).await {
        Ok(b) => b,
        Err(refusal) => return refusal.into_response(),
    };
    let Some(payload) = field(&body, "payload") else {
        return refused(StatusCode::BAD_REQUEST, "expected a form with a 'payload'")
            .into_response();
    };
    let Ok(payload) = serde_json::from_str::<Value>(&payload) else {
        return refused(StatusCode::BAD_REQUEST, "the 'payload' is not JSON").into_response();
    };
    if let Some(refusal) = other_workspace(&state, payload["team"]["id"].as_str()) {
        return refusal.into_response();
    }
    let action = &payload["actions"][0];
    let (Some(button), Some(incident), Some(slack_user)) = (
        action["action_id"].as_str().and_then(ChatButton::parse),
        action["value"]
            .as_str()
            .and_then(|v| v.parse::<IncidentId>().ok()),
        payload["user"]["id"].as_str(),
    ) else {
        // Something onduty did not put there: nothing to do.
        return StatusCode::OK.into_response();
    };
    let said = match who(&state, slack_user).await {
        Ok(Some(user)) => {
            let action = ReplyAction::from(button);
            let said = act_for(&state, &user, IncidentRef::Id(incident), action, Via::Slack).await;
            // Done is shown by the message itself, brought up to date by the engine.
            (!said.starts_with(action.done())).then_some(said)
        }
        Ok(None) => {
            let name = payload["user"]["username"].as_str().unwrap_or_default();
            Some(not_linked(&state, slack_user, name).await)
        }
        Err(e) => Some(format!(
            "onduty could not tell who you are just now ({e}); try again"
        )),
    };
    if let (Some(text), Some(url), Some(slack)) = (
        said,
        payload["response_url"].as_str(),
        state.providers.slack.clone(),
    ) {
        let url = url.to_owned();
        tokio::spawn(async move {
            if let Err(e) = slack.respond(&url, &text).await {
                tracing::warn!(error = %e, "a Slack answer was not delivered");
            }
        });
    }
    StatusCode::OK.into_response()
}

/// `/onduty …`: answered at once, to the person who typed it only.
async fn command(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let body = match checked(&state, &headers, body).await {
        Ok(b) => b,
        Err(refusal) => return refusal.into_response(),
    };
    if let Some(refusal) = other_workspace(&state, field(&body, "team_id").as_deref()) {
        return refusal.into_response();
    }
    let Some(slack_user) = field(&body, "user_id") else {
        return refused(StatusCode::BAD_REQUEST, "expected a slash command's form").into_response();
    };
    let typed = field(&body, "text").unwrap_or_default();
    let text = match who(&state, &slack_user).await {
        Ok(Some(user)) => answer(&state, &user, parse_command(&typed)).await,
        Ok(None) => {
            let name = field(&body, "user_name").unwrap_or_default();
            not_linked(&state, &slack_user, &name).await
        }
        Err(e) => format!("onduty could not tell who you are just now ({e}); try again"),
    };
    axum::Json(json!({"response_type": "ephemeral", "text": text})).into_response()
}

async fn answer(state: &SharedState, user: &User, command: ChatCommand) -> String {
    let act = |n, action| act_for(state, user, IncidentRef::Number(n), action, Via::Slack);
    match command {
        ChatCommand::Acknowledge(n) => act(n, ReplyAction::Acknowledge).await,
        ChatCommand::Resolve(n) => act(n, ReplyAction::Resolve).await,
        ChatCommand::Incidents => open_incidents(state).await,
        ChatCommand::OnCall => on_call(state).await,
        ChatCommand::Help => COMMAND_HELP.to_owned(),
    }
}

async fn open_incidents(state: &SharedState) -> String {
    let filter = IncidentFilter {
        statuses: vec![IncidentStatus::Triggered, IncidentStatus::Acknowledged],
        ..Default::default()
    };
    match state.store.list_incidents(&filter, None, 10).await {
        Ok(page) if page.incidents.is_empty() => "No open incidents.".to_owned(),
        Ok(page) => {
            let base = state.config.public_url.trim_end_matches('/');
            let lines: Vec<String> = page
                .incidents
                .iter()
                .map(|i| {
                    format!(
                        "<{base}/incidents/{n}|#{n}> [{}] {} — {}",
                        i.severity.as_str(),
                        escape(&i.summary.chars().take(200).collect::<String>()),
                        i.status.as_str(),
                        n = i.number.0
                    )
                })
                .collect();
            lines.join("\n")
        }
        Err(e) => format!("onduty could not list incidents just now ({e})"),
    }
}

async fn on_call(state: &SharedState) -> String {
    let now: Timestamp = state.clock.now();
    match crate::api::schedules::on_call_overview(state, now).await {
        Ok(overview) if overview.schedules.is_empty() => "No schedules yet.".to_owned(),
        Ok(overview) => overview
            .schedules
            .iter()
            .map(|s| {
                let who: Vec<&str> = s.on_call.iter().map(|p| p.name.as_str()).collect();
                let who = if who.is_empty() {
                    "nobody".to_owned()
                } else {
                    who.join(", ")
                };
                format!("{}: {}", escape(&s.name), escape(&who))
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Err(e) => format!("onduty could not work out who is on call just now ({e:?})"),
    }
}
