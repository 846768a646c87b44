//! `/api/v1/status-pages/{page}/templates`: incident templates, ready to publish with
//! `"template": "<name>"` on a new public incident or an update.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onduty_app::{StatusTemplateInput, StatusUpdateInput};
use onduty_core::Timestamp;
use onduty_store::status_templates::StatusTemplate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Caller;
use crate::SharedState;
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_templates, create_template))
        .routes(routes!(delete_template))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateView {
    pub id: String,
    /// What people call it.
    pub name: String,
    /// The public incident's title.
    pub title: String,
    /// `investigating`, `identified`, `monitoring` or `resolved`.
    pub status: String,
    pub body: String,
    /// Component id → the state it takes.
    pub components: BTreeMap<String, String>,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateList {
    pub templates: Vec<TemplateView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateEnvelope {
    pub template: TemplateView,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTemplateBody {
    /// What people call it ("Database degraded"); unique on its page.
    pub name: String,
    /// The public incident's title.
    pub title: String,
    /// Default `investigating`.
    #[serde(default)]
    pub status: String,
    /// What the public reads: 1 to 10,000 characters.
    pub body: String,
    /// Components (id or name) and the state each takes.
    #[serde(default)]
    pub components: BTreeMap<String, String>,
}

fn view(t: &StatusTemplate) -> TemplateView {
    TemplateView {
        id: t.id.to_string(),
        name: t.name.clone(),
        title: t.title.clone(),
        status: t.status.as_str().to_owned(),
        body: t.body.clone(),
        components: t
            .components
            .iter()
            .map(|(c, s)| (c.to_string(), s.as_str().to_owned()))
            .collect(),
        created_at: t.created_at,
    }
}

/// A status page's incident templates, by name.
#[utoipa::path(
    get, path = "/status-pages/{page}/templates", tag = "status pages",
    params(("page" = String, Path, description = "Status page id or slug")),
    responses((status = 200, body = TemplateList), (status = 404, body = ErrorBody))
)]
async fn list_templates(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(page): ApiPath<String>,
) -> Result<Json<TemplateList>, ApiError> {
    let found = state.app.status_templates(&page).await?;
    Ok(Json(TemplateList {
        templates: found.iter().map(view).collect(),
    }))
}

/// Keep an incident template (responders and admins).
#[utoipa::path(
    post, path = "/status-pages/{page}/templates", tag = "status pages",
    params(("page" = String, Path, description = "Status page id or slug")),
    request_body = NewTemplateBody,
    responses(
        (status = 201, body = TemplateEnvelope), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)
    )
)]
async fn create_template(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(page): ApiPath<String>,
    ApiJson(body): ApiJson<NewTemplateBody>,
) -> Result<(StatusCode, Json<TemplateEnvelope>), ApiError> {
    let input = StatusTemplateInput {
        name: body.name,
        title: body.title,
        update: StatusUpdateInput {
            status: body.status,
            body: body.body,
            components: body.components.into_iter().collect(),
            template: None,
        },
    };
    let made = state
        .app
        .create_status_template(&caller.acting(), &page, input)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TemplateEnvelope {
            template: view(&made),
        }),
    ))
}

/// Remove an incident template (responders and admins).
#[utoipa::path(
    delete, path = "/status-pages/{page}/templates/{template}", tag = "status pages",
    params(
        ("page" = String, Path, description = "Status page id or slug"),
        ("template" = String, Path, description = "Template id or name"),
    ),
    responses((status = 204, description = "Removed"), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn delete_template(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath((page, template)): ApiPath<(String, String)>,
) -> Result<StatusCode, ApiError> {
    state
        .app
        .delete_status_template(&caller.acting(), &page, &template)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
