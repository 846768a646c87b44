//! `/api/v1/services/{service}/runbooks`: what to do when a service's alerts fire, every
//! version kept; and `/api/v1/incidents/{id}/runbook`, the runbook an incident shows.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onduty_app::{IncidentRunbook, RunbookInput};
use onduty_core::Timestamp;
use onduty_store::runbooks::{Runbook, RunbookRevision};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Caller;
use super::incidents::parse_ref;
use crate::SharedState;
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};
use crate::markdown::to_safe_html;

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_runbooks, create_runbook))
        .routes(routes!(get_runbook, update_runbook, delete_runbook))
        .routes(routes!(runbook_history))
        .routes(routes!(incident_runbook))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunbookView {
    pub id: String,
    pub service_id: String,
    /// Which incidents it is for: `service` (any without a more specific runbook),
    /// `alertname`, `dedup_key` or `summary`.
    #[serde(rename = "match")]
    pub matching: String,
    /// The alert name, or the pattern over the dedup key or summary; empty for `service`.
    pub pattern: String,
    /// What its link says; empty for "Runbook".
    pub title: String,
    /// Where it is kept, for a link runbook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The runbook itself, for one kept in onduty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
    /// The Markdown as safe HTML (CommonMark, sanitized).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// 1 when made, one more for each edit.
    pub version: i64,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

impl From<&Runbook> for RunbookView {
    fn from(r: &Runbook) -> Self {
        RunbookView {
            id: r.id.to_string(),
            service_id: r.service.to_string(),
            matching: r.scope.kind().to_owned(),
            pattern: r.scope.pattern().to_owned(),
            title: r.title.clone(),
            url: r.body.url().map(str::to_owned),
            markdown: r.body.markdown().map(str::to_owned),
            html: r.body.markdown().map(|m| to_safe_html(m).into_string()),
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunbookList {
    pub runbooks: Vec<RunbookView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunbookEnvelope {
    pub runbook: RunbookView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RevisionView {
    pub version: i64,
    #[serde(rename = "match")]
    pub matching: String,
    pub pattern: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub markdown: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub changed_at: Timestamp,
    /// Who wrote this version.
    pub changed_by: String,
}

impl From<&RunbookRevision> for RevisionView {
    fn from(r: &RunbookRevision) -> Self {
        RevisionView {
            version: r.version,
            matching: r.scope.kind().to_owned(),
            pattern: r.scope.pattern().to_owned(),
            title: r.title.clone(),
            url: r.body.url().map(str::to_owned),
            markdown: r.body.markdown().map(str::to_owned),
            changed_at: r.changed_at,
            changed_by: r.changed_by.name().to_owned(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunbookHistory {
    pub runbook: RunbookView,
    /// Every version, newest first (the current one included).
    pub versions: Vec<RevisionView>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RunbookBody {
    /// `service` (default), `alertname`, `dedup_key` or `summary`.
    #[serde(default, rename = "match")]
    pub matching: String,
    /// The alert name (exactly), or a pattern: `*` any run of characters, `?` one, `[abc]`
    /// one of a set, letters in any case. At most 200 characters.
    #[serde(default)]
    pub pattern: String,
    /// What its link says (at most 200 characters).
    #[serde(default)]
    pub title: String,
    /// An http(s) link to where the runbook is kept, or
    #[serde(default)]
    pub url: Option<String>,
    /// the runbook in Markdown (at most 64 KiB). Exactly one of `url` and `markdown`.
    #[serde(default)]
    pub markdown: Option<String>,
    /// On an edit: the version it was made from; if the runbook has moved on since, the
    /// edit is refused with 409 instead of overwriting.
    #[serde(default)]
    pub version: Option<i64>,
}

impl From<RunbookBody> for RunbookInput {
    fn from(b: RunbookBody) -> Self {
        RunbookInput {
            matching: b.matching,
            pattern: b.pattern,
            title: b.title,
            url: b.url,
            markdown: b.markdown,
            version: b.version,
        }
    }
}

/// A service's runbooks, oldest first.
#[utoipa::path(
    get, path = "/services/{service}/runbooks", tag = "runbooks",
    params(("service" = String, Path, description = "Service id or name")),
    responses((status = 200, body = RunbookList), (status = 404, body = ErrorBody))
)]
async fn list_runbooks(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(service): ApiPath<String>,
) -> Result<Json<RunbookList>, ApiError> {
    let found = state.app.runbooks(&service).await?;
    Ok(Json(RunbookList {
        runbooks: found.iter().map(RunbookView::from).collect(),
    }))
}

/// Keep a runbook for some of a service's incidents (responders and admins). One runbook
/// per `match` and `pattern` on a service.
#[utoipa::path(
    post, path = "/services/{service}/runbooks", tag = "runbooks",
    params(("service" = String, Path, description = "Service id or name")),
    request_body = RunbookBody,
    responses(
        (status = 201, body = RunbookEnvelope), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)
    )
)]
async fn create_runbook(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(service): ApiPath<String>,
    ApiJson(body): ApiJson<RunbookBody>,
) -> Result<(StatusCode, Json<RunbookEnvelope>), ApiError> {
    let made = state
        .app
        .create_runbook(&caller.acting(), &service, &body.into())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(RunbookEnvelope {
            runbook: RunbookView::from(&made),
        }),
    ))
}

/// One runbook.
#[utoipa::path(
    get, path = "/services/{service}/runbooks/{runbook}", tag = "runbooks",
    params(
        ("service" = String, Path, description = "Service id or name"),
        ("runbook" = String, Path, description = "Runbook id"),
    ),
    responses((status = 200, body = RunbookEnvelope), (status = 404, body = ErrorBody))
)]
async fn get_runbook(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath((service, runbook)): ApiPath<(String, String)>,
) -> Result<Json<RunbookEnvelope>, ApiError> {
    let found = state.app.runbook_of(&service, &runbook).await?;
    Ok(Json(RunbookEnvelope {
        runbook: RunbookView::from(&found),
    }))
}

/// Write a new version of a runbook (responders and admins); the old one stays in its
/// history.
#[utoipa::path(
    put, path = "/services/{service}/runbooks/{runbook}", tag = "runbooks",
    params(
        ("service" = String, Path, description = "Service id or name"),
        ("runbook" = String, Path, description = "Runbook id"),
    ),
    request_body = RunbookBody,
    responses(
        (status = 200, body = RunbookEnvelope), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)
    )
)]
async fn update_runbook(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath((service, runbook)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<RunbookBody>,
) -> Result<Json<RunbookEnvelope>, ApiError> {
    let changed = state
        .app
        .update_runbook(&caller.acting(), &service, &runbook, &body.into())
        .await?;
    Ok(Json(RunbookEnvelope {
        runbook: RunbookView::from(&changed),
    }))
}

/// Remove a runbook and its history (responders and admins).
#[utoipa::path(
    delete, path = "/services/{service}/runbooks/{runbook}", tag = "runbooks",
    params(
        ("service" = String, Path, description = "Service id or name"),
        ("runbook" = String, Path, description = "Runbook id"),
    ),
    responses((status = 204, description = "Removed"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn delete_runbook(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath((service, runbook)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .delete_runbook(&caller.acting(), &service, &runbook)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A runbook with every version it had, newest first.
#[utoipa::path(
    get, path = "/services/{service}/runbooks/{runbook}/history", tag = "runbooks",
    params(
        ("service" = String, Path, description = "Service id or name"),
        ("runbook" = String, Path, description = "Runbook id"),
    ),
    responses((status = 200, body = RunbookHistory), (status = 404, body = ErrorBody))
)]
async fn runbook_history(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath((service, runbook)): ApiPath<(String, String)>,
) -> Result<Json<RunbookHistory>, ApiError> {
    let (found, versions) = state.app.runbook_history(&service, &runbook).await?;
    Ok(Json(RunbookHistory {
        runbook: RunbookView::from(&found),
        versions: versions.iter().map(RevisionView::from).collect(),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IncidentRunbookView {
    /// `event` (the alert's own runbook link, which wins) or `kept` (one kept in onduty
    /// for its service).
    pub source: String,
    /// What its link says.
    pub title: String,
    /// Where it is kept, when outside onduty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The runbook kept in onduty, when it is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runbook: Option<RunbookView>,
}

/// The runbook an incident shows: its alert's own runbook link, else the most specific
/// runbook of its service (by alert name, then dedup-key pattern, then summary pattern,
/// then the service's own). 404 when there is none.
#[utoipa::path(
    get, path = "/incidents/{id}/runbook", tag = "runbooks",
    params(("id" = String, Path, description = "Incident number (42) or id", format = "incident-ref")),
    responses((status = 200, body = IncidentRunbookView), (status = 404, body = ErrorBody))
)]
async fn incident_runbook(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<IncidentRunbookView>, ApiError> {
    let incident = state.store.incident(parse_ref(&id)?).await?;
    let Some(shown) = state.app.runbook_for(&incident).await? else {
        return Err(ApiError::NotFound(format!(
            "incident #{} has no runbook",
            incident.number.0
        )));
    };
    Ok(Json(IncidentRunbookView {
        source: match &shown {
            IncidentRunbook::FromEvent { .. } => "event",
            IncidentRunbook::Kept(_) => "kept",
        }
        .to_owned(),
        title: shown.title().to_owned(),
        url: shown.external_url().map(str::to_owned),
        runbook: match &shown {
            IncidentRunbook::Kept(r) => Some(RunbookView::from(r)),
            IncidentRunbook::FromEvent { .. } => None,
        },
    }))
}
