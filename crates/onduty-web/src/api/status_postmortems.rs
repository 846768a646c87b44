//! `/api/v1/status-pages/{page}/incidents/{id}/postmortem`: a published postmortem shown
//! with a resolved public incident, or no longer shown.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Caller;
use super::status_pages::{PublicIncidentEnvelope, incident_view};
use crate::SharedState;
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new().routes(routes!(show_postmortem, hide_postmortem))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShowPostmortemBody {
    /// The postmortem's id: a published one.
    #[schema(min_length = 1, max_length = 64, pattern = "^[^\\s]+$")]
    pub postmortem: String,
}

/// Show a published postmortem with a resolved public incident (responders and admins):
/// the public reads its summary, contributing factors and action items on the page, and
/// the incident's status reads `postmortem`. Who was paged, owners and the internal
/// timeline are not shown.
#[utoipa::path(
    put, path = "/status-pages/{page}/incidents/{id}/postmortem", tag = "status pages",
    params(
        ("page" = String, Path, description = "Status page id or slug"),
        ("id" = String, Path, description = "Public incident id"),
    ),
    request_body = ShowPostmortemBody,
    responses(
        (status = 200, body = PublicIncidentEnvelope), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)
    )
)]
async fn show_postmortem(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath((page, id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<ShowPostmortemBody>,
) -> Result<Json<PublicIncidentEnvelope>, ApiError> {
    if body.postmortem.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "'postmortem' names the postmortem to show".to_owned(),
        ));
    }
    let shown = state
        .app
        .show_postmortem_on_status_page(&caller.acting(), &page, &id, Some(&body.postmortem))
        .await?;
    Ok(Json(PublicIncidentEnvelope {
        incident: incident_view(&shown, state.clock.now()),
    }))
}

/// Stop showing a postmortem with a public incident (responders and admins).
#[utoipa::path(
    delete, path = "/status-pages/{page}/incidents/{id}/postmortem", tag = "status pages",
    params(
        ("page" = String, Path, description = "Status page id or slug"),
        ("id" = String, Path, description = "Public incident id"),
    ),
    responses(
        (status = 200, body = PublicIncidentEnvelope), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)
    )
)]
async fn hide_postmortem(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath((page, id)): ApiPath<(String, String)>,
) -> Result<Json<PublicIncidentEnvelope>, ApiError> {
    let hidden = state
        .app
        .show_postmortem_on_status_page(&caller.acting(), &page, &id, None)
        .await?;
    Ok(Json(PublicIncidentEnvelope {
        incident: incident_view(&hidden, state.clock.now()),
    }))
}
