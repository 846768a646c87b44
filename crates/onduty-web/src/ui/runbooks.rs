//! Runbooks in the web UI: a service's runbooks written, edited and read with their
//! history (through the same use cases as `/api/v1/services/{service}/runbooks`), the
//! runbook an incident's page shows first, and `/r/{number}`, the short link an SMS
//! carries to it.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use onduty_app::{IncidentRunbook, RunbookInput};
use onduty_core::incident::Incident;
use onduty_core::{IncidentNumber, IncidentRef};
use onduty_store::runbooks::{Runbook, RunbookRevision};
use serde::Deserialize;

use super::auth::forbidden;
use super::flash::{Flash, done, failed};
use super::status_pages::Posted;
use super::{Viewer, page};
use crate::SharedState;
use crate::error::ApiError;
use crate::markdown::{SafeHtml, to_safe_html};

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/services/{id}/runbooks", post(create))
        .route("/services/{id}/runbooks/new", get(new))
        .route("/services/{id}/runbooks/{runbook}", get(show).post(update))
        .route("/services/{id}/runbooks/{runbook}/delete", post(delete))
        .route("/r/{number}", get(short_link))
}

/// The runbook an incident's page shows first.
pub(super) struct IncidentRunbookPart {
    pub title: String,
    /// Where it is kept, when outside onduty.
    pub href: Option<String>,
    /// The Markdown kept in onduty, as safe HTML.
    pub html: Option<SafeHtml>,
    /// Its page in onduty (history, editing), when kept in onduty.
    pub manage: Option<String>,
}

/// The runbook `incident` shows. A runbook that cannot be read is left out (and logged),
/// never the incident's page.
pub(super) async fn for_incident(
    state: &SharedState,
    incident: &Incident,
) -> Option<IncidentRunbookPart> {
    let shown = match state.app.runbook_for(incident).await {
        Ok(shown) => shown?,
        Err(e) => {
            tracing::warn!(error = %e, incident = %incident.id, "a runbook could not be read");
            return None;
        }
    };
    Some(IncidentRunbookPart {
        title: shown.title().to_owned(),
        href: shown.external_url().map(str::to_owned),
        html: match &shown {
            IncidentRunbook::Kept(r) => r.body.markdown().map(to_safe_html),
            IncidentRunbook::FromEvent { .. } => None,
        },
        manage: match &shown {
            IncidentRunbook::Kept(r) => Some(format!("/services/{}/runbooks/{}", r.service, r.id)),
            IncidentRunbook::FromEvent { .. } => None,
        },
    })
}

/// `/r/42`: straight to incident #42's runbook (its own page when it is a link, the
/// incident's page where the runbook is shown first otherwise).
async fn short_link(
    State(state): State<SharedState>,
    _viewer: Viewer,
    Path(number): Path<i64>,
) -> Response {
    let incident = match state
        .store
        .incident(IncidentRef::Number(IncidentNumber(number)))
        .await
    {
        Ok(found) => found,
        Err(e) => return super::error_page(e),
    };
    let to = match state.app.runbook_for(&incident).await {
        Ok(Some(shown)) => shown
            .external_url()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("/incidents/{number}#runbook")),
        Ok(None) => format!("/incidents/{number}"),
        Err(e) => return super::error_page(ApiError::from(e)),
    };
    Redirect::to(&to).into_response()
}

/// One version in the history table.
struct VersionRow {
    version: i64,
    at: String,
    by: String,
    title: String,
}

#[derive(Template)]
#[template(path = "runbook.html")]
struct RunbookPage {
    chrome: super::Chrome,
    service_id: String,
    service: String,
    /// None while a new one is written.
    id: Option<String>,
    /// What the form holds.
    matching: String,
    pattern: String,
    title: String,
    url: String,
    markdown: String,
    version: i64,
    /// The version shown above the form (the current one, or an older one asked for).
    shown: Option<ShownVersion>,
    history: Vec<VersionRow>,
    matchings: Vec<super::Choice>,
    /// The form starts open: for a new runbook, or one refused.
    open_form: bool,
}

struct ShownVersion {
    version: i64,
    current: bool,
    title: String,
    matched: String,
    url: Option<String>,
    html: Option<SafeHtml>,
}

/// What the match says, in words: "Alerts named DiskFull".
fn matched(kind: &str, pattern: &str) -> String {
    match kind {
        "alertname" => format!("Alerts named {pattern}"),
        "dedup_key" => format!("Dedup keys like {pattern}"),
        "summary" => format!("Summaries like {pattern}"),
        _ => "Any incident of the service without a more specific runbook".to_owned(),
    }
}

const MATCHINGS: [(&str, &str); 4] = [
    ("service", "Any incident of the service"),
    ("alertname", "Alerts named (Alertmanager's alertname)"),
    ("dedup_key", "Dedup keys like (pattern)"),
    ("summary", "Summaries like (pattern)"),
];

impl RunbookPage {
    fn blank(viewer: &Viewer, service: &onduty_core::service::Service) -> RunbookPage {
        RunbookPage {
            chrome: viewer.chrome(),
            service_id: service.id.to_string(),
            service: service.name.to_string(),
            id: None,
            matching: "service".to_owned(),
            pattern: String::new(),
            title: String::new(),
            url: String::new(),
            markdown: String::new(),
            version: 0,
            shown: None,
            history: Vec::new(),
            matchings: Vec::new(),
            open_form: true,
        }
    }

    fn of(
        viewer: &Viewer,
        service: &onduty_core::service::Service,
        runbook: &Runbook,
        history: &[RunbookRevision],
        asked: Option<i64>,
    ) -> RunbookPage {
        let tz = viewer.zone();
        let shown = history
            .iter()
            .find(|r| Some(r.version) == asked)
            .map(|r| ShownVersion {
                version: r.version,
                current: r.version == runbook.version,
                title: r.title.clone(),
                matched: matched(r.scope.kind(), r.scope.pattern()),
                url: r.body.url().map(str::to_owned),
                html: r.body.markdown().map(to_safe_html),
            })
            .unwrap_or_else(|| ShownVersion {
                version: runbook.version,
                current: true,
                title: runbook.title.clone(),
                matched: matched(runbook.scope.kind(), runbook.scope.pattern()),
                url: runbook.body.url().map(str::to_owned),
                html: runbook.body.markdown().map(to_safe_html),
            });
        RunbookPage {
            id: Some(runbook.id.to_string()),
            matching: runbook.scope.kind().to_owned(),
            pattern: runbook.scope.pattern().to_owned(),
            title: runbook.title.clone(),
            url: runbook.body.url().unwrap_or_default().to_owned(),
            markdown: runbook.body.markdown().unwrap_or_default().to_owned(),
            version: runbook.version,
            shown: Some(shown),
            history: history
                .iter()
                .map(|r| VersionRow {
                    version: r.version,
                    at: super::time::when(r.changed_at, &tz),
                    by: r.changed_by.name().to_owned(),
                    title: r.title.clone(),
                })
                .collect(),
            open_form: false,
            ..RunbookPage::blank(viewer, service)
        }
    }

    /// The form holds what was posted, with why it was refused.
    fn refused(mut self, posted: &RunbookInput, error: ApiError) -> Response {
        self.matching = posted.matching.clone();
        self.pattern = posted.pattern.clone();
        self.title = posted.title.clone();
        self.url = posted.url.clone().unwrap_or_default();
        self.markdown = posted.markdown.clone().unwrap_or_default();
        self.open_form = true;
        let (status, _) = error.status_and_code();
        self.chrome.flash = Some(Flash {
            error: true,
            text: super::flash::in_plain_words(&error.to_string()),
            kept: Vec::new(),
        });
        let mut response = self.finish();
        *response.status_mut() = if status == StatusCode::CONFLICT {
            status
        } else {
            StatusCode::BAD_REQUEST
        };
        response
    }

    fn finish(mut self) -> Response {
        self.chrome.section = "services".to_owned();
        self.matchings = super::Choice::list(MATCHINGS, Some(self.matching.clone()));
        page(self)
    }
}

fn posted_input(posted: &Posted) -> RunbookInput {
    let text = |name: &str| Some(posted.field(name)).filter(|v| !v.trim().is_empty());
    RunbookInput {
        matching: posted.field("match"),
        pattern: posted.field("pattern"),
        title: posted.field("title"),
        url: text("url"),
        markdown: text("markdown"),
        version: posted.field("version").parse().ok(),
    }
}

async fn new(State(state): State<SharedState>, viewer: Viewer, Path(id): Path<String>) -> Response {
    match state.app.find_service(&id).await {
        Ok(service) => RunbookPage::blank(&viewer, &service).finish(),
        Err(e) => super::error_page(ApiError::from(e)),
    }
}

async fn create(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(posted) = Posted::checked(&viewer, &body) else {
        return forbidden();
    };
    let service = match state.app.find_service(&id).await {
        Ok(service) => service,
        Err(e) => return super::error_page(ApiError::from(e)),
    };
    let input = posted_input(&posted);
    match state
        .app
        .create_runbook(&viewer.acting(), &id, &input)
        .await
    {
        Ok(made) => done(
            &state,
            &format!("/services/{}/runbooks/{}", service.id, made.id),
            "Kept the runbook.",
        ),
        Err(e) => RunbookPage::blank(&viewer, &service).refused(&input, e.into()),
    }
}

#[derive(Deserialize)]
struct Asked {
    version: Option<i64>,
}

async fn show(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path((id, runbook)): Path<(String, String)>,
    Query(asked): Query<Asked>,
) -> Response {
    let found = tokio::try_join!(
        state.app.find_service(&id),
        state.app.runbook_history(&id, &runbook)
    );
    match found {
        Ok((service, (runbook, history))) => {
            RunbookPage::of(&viewer, &service, &runbook, &history, asked.version).finish()
        }
        Err(e) => super::error_page(ApiError::from(e)),
    }
}

async fn update(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path((id, runbook)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some(posted) = Posted::checked(&viewer, &body) else {
        return forbidden();
    };
    let input = posted_input(&posted);
    let to = format!("/services/{id}/runbooks/{runbook}");
    match state
        .app
        .update_runbook(&viewer.acting(), &id, &runbook, &input)
        .await
    {
        Ok(changed) => done(
            &state,
            &to,
            format!("Saved version {} of the runbook.", changed.version),
        ),
        Err(e) => {
            let found = tokio::try_join!(
                state.app.find_service(&id),
                state.app.runbook_history(&id, &runbook)
            );
            match found {
                Ok((service, (kept, history))) => {
                    RunbookPage::of(&viewer, &service, &kept, &history, None)
                        .refused(&input, e.into())
                }
                Err(_) => failed(&state, &to, ApiError::from(e)),
            }
        }
    }
}

async fn delete(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path((id, runbook)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if Posted::checked(&viewer, &body).is_none() {
        return forbidden();
    }
    let to = format!("/services/{id}#runbooks");
    match state
        .app
        .delete_runbook(&viewer.acting(), &id, &runbook)
        .await
    {
        Ok(()) => done(&state, &to, "Removed the runbook and its history."),
        Err(e) => failed(&state, &to, ApiError::from(e)),
    }
}
