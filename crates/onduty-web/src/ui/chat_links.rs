//! The pages behind chat's signed links, for people logged in (anyone else logs in first
//! and comes back):
//!
//! - `/chat/act/<token>`: a button on a Teams or Discord card, which cannot call onduty
//!   back. The page shows the incident and the action; the form acts as the viewer,
//!   through the same `act_for` as every other chat door. Opening the link changes
//!   nothing, so a link preview or a scanner acknowledges nothing.
//! - `/chat/link/<token>`: the link onduty sends a chat account it does not know (Slack,
//!   Mattermost, Telegram). The page names the account; the form links it to the viewer.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Form, Router};
use onduty_core::IncidentRef;
use onduty_core::chat::ChatPlatform;
use onduty_core::lifecycle::Via;
use onduty_core::reply::ReplyAction;
use onduty_core::signature::{
    ButtonGrant, ChatLinkGrant, LINK_KEY, LinkError, chat_link_token, verify_button_token,
    verify_chat_link_token,
};

use super::auth::forbidden;
use super::flash::{after, done};
use super::{Chrome, CsrfForm, Viewer, page};
use crate::SharedState;

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/chat/act/{token}", get(act_page).post(act))
        .route("/chat/link/{token}", get(link_page).post(link))
}

/// How long the link that links a chat account works.
const CHAT_LINK_VALID_FOR: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The link that lets a chat account's person link it to themselves, sent only to that
/// account (an answer only its clicker sees); `None` if it cannot be made just now.
pub(crate) async fn chat_link_url(
    state: &SharedState,
    platform: ChatPlatform,
    chat_user: &str,
    chat_name: &str,
) -> Option<String> {
    let key = state
        .store
        .server_key(LINK_KEY)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "cannot read the link key"))
        .ok()?;
    let grant = ChatLinkGrant {
        platform,
        chat_user: chat_user.to_owned(),
        chat_name: chat_name.to_owned(),
        expires: state.clock.now().saturating_add(CHAT_LINK_VALID_FOR),
    };
    let token = chat_link_token(&key, &grant)?;
    Some(format!(
        "{}/chat/link/{token}",
        state.config.public_url.trim_end_matches('/')
    ))
}

#[derive(Template)]
#[template(path = "chat_confirm.html")]
struct ConfirmPage<'a> {
    chrome: Chrome,
    title: &'a str,
    incident: Option<(&'a str, &'a str)>,
    text: &'a str,
    button: Option<&'a str>,
}

/// A page that says why a link does not work.
fn not_working(viewer: &Viewer, status: StatusCode, text: &str) -> Response {
    let mut response = page(ConfirmPage {
        chrome: viewer.chrome(),
        title: "This link does not work",
        incident: None,
        text,
        button: None,
    });
    *response.status_mut() = status;
    response
}

/// The server's key for signed links, or the page saying to try again.
async fn link_key(state: &SharedState, viewer: &Viewer) -> Result<Vec<u8>, Response> {
    state.store.server_key(LINK_KEY).await.map_err(|e| {
        tracing::error!(error = %e, "cannot read the link key");
        not_working(
            viewer,
            StatusCode::SERVICE_UNAVAILABLE,
            "onduty cannot check this link just now; try again.",
        )
    })
}

fn refused(viewer: &Viewer, error: LinkError, what: &str) -> Response {
    not_working(viewer, StatusCode::GONE, &format!("{error}. {what}"))
}

/// What a card's link grants, or the page saying why it does not work.
async fn button_grant(
    state: &SharedState,
    viewer: &Viewer,
    token: &str,
) -> Result<ButtonGrant, Response> {
    let key = link_key(state, viewer).await?;
    let why = |e| refused(viewer, e, "Open the incident in onduty to act on it.");
    match verify_button_token(&key, token, state.clock.now()) {
        // Only a card's link: a Mattermost button's token is for Mattermost's door.
        Ok(grant) if grant.platform.by_webhook() => Ok(grant),
        Ok(_) => Err(why(LinkError::Invalid)),
        Err(e) => Err(why(e)),
    }
}

/// What an account-linking link grants, or the page saying why it does not work.
async fn account_grant(
    state: &SharedState,
    viewer: &Viewer,
    token: &str,
) -> Result<ChatLinkGrant, Response> {
    let key = link_key(state, viewer).await?;
    verify_chat_link_token(&key, token, state.clock.now())
        .map_err(|e| refused(viewer, e, "Press a button in chat again for a new one."))
}

async fn act_page(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(token): Path<String>,
) -> Response {
    let grant = match button_grant(&state, &viewer, &token).await {
        Ok(g) => g,
        Err(page) => return page,
    };
    let Ok(incident) = state.store.incident(IncidentRef::Id(grant.incident)).await else {
        return not_working(
            &viewer,
            StatusCode::NOT_FOUND,
            "Its incident does not exist.",
        );
    };
    let verb = grant.button.label();
    page(ConfirmPage {
        chrome: viewer.chrome(),
        title: &format!("{verb} incident #{}", incident.number),
        incident: Some((&incident.summary, incident.status.as_str())),
        text: "",
        button: Some(verb),
    })
}

async fn act(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(token): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let grant = match button_grant(&state, &viewer, &token).await {
        Ok(g) => g,
        Err(page) => return page,
    };
    let action = ReplyAction::from(grant.button);
    let via = match grant.platform {
        ChatPlatform::Discord => Via::Discord,
        _ => Via::Teams,
    };
    let said = crate::replies::act_for(
        &state,
        &viewer.user,
        IncidentRef::Id(grant.incident),
        action,
        via,
    )
    .await;
    let to = match state.store.incident(IncidentRef::Id(grant.incident)).await {
        Ok(incident) => format!("/incidents/{}", incident.number),
        Err(_) => "/incidents".to_owned(),
    };
    done(&state, &to, said)
}

async fn link_page(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(token): Path<String>,
) -> Response {
    let grant = match account_grant(&state, &viewer, &token).await {
        Ok(g) => g,
        Err(page) => return page,
    };
    let platform = grant.platform.label();
    page(ConfirmPage {
        chrome: viewer.chrome(),
        title: &format!("Link your {platform} account"),
        incident: None,
        text: &format!(
            "The {platform} account {} will act as you, {}, when it presses onduty's buttons \
             or types its commands. Link it only if you asked for this link from {platform} \
             yourself just now.",
            match grant.chat_name.as_str() {
                "" => grant.chat_user.clone(),
                name => format!("@{name} ({})", grant.chat_user),
            },
            viewer.name()
        ),
        button: Some("Link my account"),
    })
}

async fn link(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(token): Path<String>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let grant = match account_grant(&state, &viewer, &token).await {
        Ok(g) => g,
        Err(page) => return page,
    };
    let linked = state
        .app
        .link_chat_account(&viewer.acting(), grant.platform, &grant.chat_user)
        .await;
    after(
        &state,
        "/profile",
        linked,
        &format!(
            "Your {} account is linked: its buttons and commands act as you.",
            grant.platform.label()
        ),
    )
}
