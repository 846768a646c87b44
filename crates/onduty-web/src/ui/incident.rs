//! One incident's page: what it is, its details and links, its whole timeline, and the
//! buttons (plain forms) to acknowledge, resolve, escalate, snooze and add a note.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use onduty_core::incident::{Action, Actor};
use onduty_core::{IncidentNumber, IncidentRef};
use onduty_store::reshape::Reshape;
use serde::Deserialize;

use super::auth::forbidden;
use super::{Viewer, page};
use crate::SharedState;
use crate::error::ApiError;

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/incidents/{number}", get(show))
        .route("/incidents/{number}/act", post(act))
        .route("/incidents/{number}/note", post(note))
}

/// Most timeline entries the page shows.
const TIMELINE_SHOWN: u32 = 500;

struct LinkRow {
    href: String,
    text: String,
    /// Only http(s) links are made clickable.
    safe: bool,
}

struct EntryRow {
    at: String,
    message: String,
}

#[derive(Template)]
#[template(path = "incident.html")]
struct IncidentPage {
    chrome: super::Chrome,
    live_since: String,
    can_act: bool,
    number: i64,
    summary: String,
    status: &'static str,
    severity: String,
    urgency: String,
    service: String,
    opened: String,
    alert_count: i64,
    links: Vec<LinkRow>,
    details: Option<String>,
    timeline: Vec<EntryRow>,
}

fn incident_ref(number: i64) -> IncidentRef {
    IncidentRef::Number(IncidentNumber(number))
}

/// An error page for a failed read, as the API would word it.
fn failed(e: onduty_store::StoreError) -> Response {
    ApiError::from(e).into_response()
}

async fn show(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(number): Path<i64>,
) -> Response {
    let live_since = super::live::since(&state).await;
    let incident = match state.store.incident(incident_ref(number)).await {
        Ok(i) => i,
        Err(e) => return failed(e),
    };
    let (timeline, service) = match tokio::try_join!(
        state.store.timeline(incident.id, None, TIMELINE_SHOWN),
        state.store.service(incident.service_id),
    ) {
        Ok(found) => found,
        Err(e) => return failed(e),
    };
    let details = incident
        .details
        .alert
        .as_ref()
        .and_then(|a| a.custom_details.as_ref())
        .and_then(|d| serde_json::to_string_pretty(d).ok());
    let links = incident
        .details
        .links
        .iter()
        .map(|l| LinkRow {
            safe: l.href.starts_with("https://") || l.href.starts_with("http://"),
            text: l.text.clone().unwrap_or_else(|| l.href.clone()),
            href: l.href.clone(),
        })
        .collect();
    page(IncidentPage {
        chrome: viewer.chrome(),
        live_since,
        can_act: viewer.user.role.can_respond(),
        number,
        summary: incident.summary.clone(),
        status: incident.status.as_str(),
        severity: incident.severity.as_str().to_owned(),
        urgency: incident.urgency.as_str().to_owned(),
        service: service.name.to_string(),
        opened: incident.created_at.to_rfc3339(),
        alert_count: incident.alert_count,
        links,
        details,
        timeline: timeline
            .entries
            .iter()
            .map(|e| EntryRow {
                at: e.at.to_rfc3339(),
                // A note's words are kept beside its line.
                message: match e.data.as_ref().and_then(|d| d["text"].as_str()) {
                    Some(text) => format!("{}: {text}", e.message),
                    None => e.message.clone(),
                },
            })
            .collect(),
    })
}

#[derive(Deserialize)]
struct ActForm {
    csrf: String,
    action: String,
    minutes: Option<u32>,
}

fn actor(viewer: &Viewer) -> Actor {
    Actor::User {
        id: viewer.user.id,
        name: viewer.user.name.to_string(),
    }
}

/// Back to the incident's page, with the error to show if there is one.
fn back(state: &SharedState, number: i64, result: Result<(), ApiError>) -> Response {
    super::flash::back(state, &format!("/incidents/{number}"), result)
}

async fn act(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(number): Path<i64>,
    Form(form): Form<ActForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) || !viewer.user.role.can_respond() {
        return forbidden();
    }
    let now = state.clock.now();
    let r = incident_ref(number);
    let who = actor(&viewer);
    let via = "the web UI";
    let done = match form.action.as_str() {
        "acknowledge" | "resolve" | "unacknowledge" => {
            let action = match form.action.as_str() {
                "acknowledge" => Action::Acknowledge,
                "resolve" => Action::Resolve,
                _ => Action::Unacknowledge,
            };
            state
                .store
                .act_on_incident(r, action, &who, via, now)
                .await
                .map(|_| ())
        }
        "escalate" => state
            .store
            .reshape_incident(r, &Reshape::Escalate { level: None }, &who, via, now)
            .await
            .map(|_| ()),
        "snooze" => {
            let minutes = form.minutes.unwrap_or(60).clamp(1, 7 * 24 * 60);
            let until = now.saturating_add(std::time::Duration::from_secs(u64::from(minutes) * 60));
            state
                .store
                .reshape_incident(r, &Reshape::Snooze { until }, &who, via, now)
                .await
                .map(|_| ())
        }
        other => {
            return back(
                &state,
                number,
                Err(ApiError::BadRequest(format!("unknown action '{other}'"))),
            );
        }
    };
    state.wake.notify_one();
    back(&state, number, done.map_err(ApiError::from))
}

#[derive(Deserialize)]
struct NoteForm {
    csrf: String,
    text: String,
}

async fn note(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(number): Path<i64>,
    Form(form): Form<NoteForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) || !viewer.user.role.can_respond() {
        return forbidden();
    }
    let text = form.text.trim();
    if text.is_empty() || text.chars().count() > onduty_core::incident::NOTE_MAX_CHARS {
        return back(
            &state,
            number,
            Err(ApiError::BadRequest(
                "a note is 1 to 10,000 characters".to_owned(),
            )),
        );
    }
    let added = state
        .store
        .add_note(
            incident_ref(number),
            text,
            &actor(&viewer),
            state.clock.now(),
        )
        .await
        .map(|_| ());
    back(&state, number, added.map_err(ApiError::from))
}
