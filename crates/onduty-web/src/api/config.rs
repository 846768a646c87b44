//! `/api/v1/config`: configuration as code (admins). `GET` exports everything configured
//! as one YAML document; `POST /config/plan` says what applying a document would change
//! and `POST /config/apply` makes it so, in one transaction; `GET /config/schema` is the document's JSON Schema, for editors.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use onduty_core::config_doc::{self, Action};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Caller;
use crate::SharedState;
use crate::error::{ApiError, ApiQuery, ErrorBody};

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(export))
        .routes(routes!(plan))
        .routes(routes!(apply))
        .routes(routes!(schema))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// Include integration keys (anyone holding one can open incidents).
    #[serde(default)]
    pub with_secrets: bool,
}

/// Everything configured, as one YAML document (admins): people with their contact
/// methods and notification rules, teams, schedules, escalation policies, services and
/// their integrations. References are by name, people by e-mail; no passwords or tokens.
#[utoipa::path(
    get, path = "/config", tag = "config", params(ExportQuery),
    responses(
        (status = 200, description = "The document (see /api/v1/config/schema)", content_type = "application/yaml", body = Object),
        (status = 403, body = ErrorBody)
    )
)]
async fn export(
    State(state): State<SharedState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ExportQuery>,
) -> Result<Response, ApiError> {
    let doc = state
        .app
        .export_config(&caller.acting(), query.with_secrets)
        .await?;
    let yaml = config_doc::to_yaml(&doc).map_err(ApiError::Internal)?;
    Ok((
        [(header::CONTENT_TYPE, "application/yaml; charset=utf-8")],
        yaml,
    )
        .into_response())
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PlanQuery {
    /// Also delete what the document does not name.
    #[serde(default)]
    pub prune: bool,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ApplyQuery {
    /// Also delete what the document does not name (never services, status pages,
    /// heartbeats or components).
    #[serde(default)]
    pub prune: bool,
    /// Only say what would change, as `/config/plan` does.
    #[serde(default)]
    pub dry_run: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeView {
    /// `user`, `team`, `schedule`, `escalation_policy`, `service` or `status_page`.
    pub kind: String,
    /// Its name (a person's e-mail).
    pub name: String,
    /// `create`, `update` or `delete`.
    pub action: String,
    /// For an update, the fields that change.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    /// Creations and changes in the order they can be made, then deletions.
    pub changes: Vec<ChangeView>,
    /// What the document leaves out that stays all the same, and why.
    pub notes: Vec<String>,
    /// Whether the changes were made (`/config/apply` without `dry_run`).
    pub applied: bool,
    /// The plan as the CLI prints it.
    pub text: String,
}

/// What applying a document would change (admins). Nothing is changed. A document with
/// problems gets 400 naming every one, with its line and field.
#[utoipa::path(
    post, path = "/config/plan", tag = "config", params(PlanQuery),
    request_body(content = String, content_type = "application/yaml", description = "The document (YAML; JSON is YAML too)"),
    responses(
        (status = 200, body = PlanView),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)
    )
)]
async fn plan(
    State(state): State<SharedState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PlanQuery>,
    body: String,
) -> Result<Json<PlanView>, ApiError> {
    let planned = state
        .app
        .plan_config(&caller.acting(), &body, query.prune)
        .await?;
    Ok(Json(view(planned, false)))
}

/// Makes the configuration what a document says (admins), in one transaction: applying
/// the same document again changes nothing. Without `prune` nothing is deleted. A
/// document with problems gets 400 naming every one, with its line and field, and
/// nothing is changed.
#[utoipa::path(
    post, path = "/config/apply", tag = "config", params(ApplyQuery),
    request_body(content = String, content_type = "application/yaml", description = "The document (YAML; JSON is YAML too)"),
    responses(
        (status = 200, body = PlanView),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody)
    )
)]
async fn apply(
    State(state): State<SharedState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ApplyQuery>,
    body: String,
) -> Result<Json<PlanView>, ApiError> {
    let planned = state
        .app
        .apply_config(&caller.acting(), &body, query.prune, query.dry_run)
        .await?;
    Ok(Json(view(planned, !query.dry_run)))
}

fn view(planned: onduty_core::config_doc::Plan, applied: bool) -> PlanView {
    PlanView {
        text: planned.to_string(),
        applied: applied && !planned.is_empty(),
        notes: planned.notes,
        changes: planned
            .changes
            .into_iter()
            .map(|c| {
                let (action, fields) = match c.action {
                    Action::Create => ("create", Vec::new()),
                    Action::Update { fields } => ("update", fields),
                    Action::Delete => ("delete", Vec::new()),
                };
                ChangeView {
                    kind: c.kind.to_owned(),
                    name: c.name,
                    action: action.to_owned(),
                    fields,
                }
            })
            .collect(),
    }
}

/// The configuration document's JSON Schema (anyone; for editors).
#[utoipa::path(
    get, path = "/config/schema", tag = "config", security(()),
    responses((status = 200, description = "JSON Schema (draft 2020-12)", body = Object))
)]
async fn schema() -> Json<serde_json::Value> {
    Json(config_doc::json_schema())
}
