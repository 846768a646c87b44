//! `/api/v1/maintenance`: put services in maintenance for a while. Their events are
//! recorded but open no incident and page nobody; every window ends by itself, and its
//! creator is reminded shortly before.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onduty_app::{MaintenanceInput, Until};
use onduty_core::Timestamp;
use onduty_store::maintenance::MaintenanceWindow;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Caller;
use crate::SharedState;
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_maintenance, create_maintenance))
        .routes(routes!(end_maintenance))
        .routes(routes!(extend_maintenance))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MaintenanceService {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MaintenanceView {
    pub id: String,
    pub services: Vec<MaintenanceService>,
    #[schema(value_type = String, format = DateTime)]
    pub start: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub end: Timestamp,
    pub reason: String,
    /// The user who made it (reminded before the end).
    pub created_by: Option<String>,
    /// Whether it is on now.
    pub on: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MaintenanceList {
    /// On now or to come, soonest first.
    pub maintenance: Vec<MaintenanceView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MaintenanceEnvelope {
    pub maintenance: MaintenanceView,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewMaintenanceBody {
    /// Service ids or names.
    pub services: Vec<String>,
    /// RFC 3339; default now.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub start: Option<Timestamp>,
    /// RFC 3339; or give `minutes`.
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub end: Option<Timestamp>,
    /// How long from the start (1 to 44640, a month).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 44640)]
    pub minutes: Option<u32>,
    /// Why (shown on the services and in the reminder): 1 to 500 characters.
    #[schema(format = "reason")]
    pub reason: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ExtendBody {
    /// Minutes to add to the end (negative to shorten), within ±44640 (a month).
    #[schema(minimum = -44640, maximum = 44640)]
    pub minutes: i64,
}

pub(crate) async fn view(
    state: &SharedState,
    w: &MaintenanceWindow,
    now: Timestamp,
) -> MaintenanceView {
    let mut services = Vec::with_capacity(w.services.len());
    for id in &w.services {
        let name = match state.store.service(*id).await {
            Ok(s) => s.name.to_string(),
            Err(_) => "(deleted service)".to_owned(),
        };
        services.push(MaintenanceService {
            id: id.to_string(),
            name,
        });
    }
    MaintenanceView {
        id: w.id.to_string(),
        services,
        start: w.start,
        end: w.end,
        reason: w.reason.clone(),
        created_by: w.created_by.map(|u| u.to_string()),
        on: w.is_on(now),
    }
}

/// Maintenance windows on now or to come.
#[utoipa::path(get, path = "/maintenance", tag = "maintenance", responses((status = 200, body = MaintenanceList)))]
async fn list_maintenance(
    State(state): State<SharedState>,
    _caller: Caller,
) -> Result<Json<MaintenanceList>, ApiError> {
    let now = state.clock.now();
    let mut out = Vec::new();
    for w in state.store.list_maintenance(None, now).await? {
        out.push(view(&state, &w, now).await);
    }
    Ok(Json(MaintenanceList { maintenance: out }))
}

/// Put services in maintenance (responders and admins): from `start` (default now) until
/// `end`, or for `minutes`.
#[utoipa::path(
    post, path = "/maintenance", tag = "maintenance",
    request_body = NewMaintenanceBody,
    responses(
        (status = 201, body = MaintenanceEnvelope),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub(crate) async fn create_maintenance(
    State(state): State<SharedState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewMaintenanceBody>,
) -> Result<(StatusCode, Json<MaintenanceEnvelope>), ApiError> {
    let until = match (body.end, body.minutes) {
        (Some(t), None) => Some(Until::End(t)),
        (None, Some(m)) => Some(Until::Minutes(m)),
        _ => None,
    };
    let input = MaintenanceInput {
        services: body.services,
        start: body.start,
        until,
        reason: body.reason,
    };
    let made = state
        .app
        .create_maintenance(&caller.acting(), input)
        .await?;
    let now = state.clock.now();
    Ok((
        StatusCode::CREATED,
        Json(MaintenanceEnvelope {
            maintenance: view(&state, &made, now).await,
        }),
    ))
}

/// End a maintenance window now, or cancel one still to come (responders and admins).
#[utoipa::path(
    post, path = "/maintenance/{id}/end", tag = "maintenance",
    params(("id" = String, Path, description = "Maintenance window id")),
    responses((status = 200, body = MaintenanceEnvelope), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub(crate) async fn end_maintenance(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<MaintenanceEnvelope>, ApiError> {
    let ended = state.app.end_maintenance(&caller.acting(), &id).await?;
    let now = state.clock.now();
    Ok(Json(MaintenanceEnvelope {
        maintenance: view(&state, &ended, now).await,
    }))
}

/// Move a maintenance window's end by `minutes` (responders and admins).
#[utoipa::path(
    post, path = "/maintenance/{id}/extend", tag = "maintenance",
    params(("id" = String, Path, description = "Maintenance window id")),
    request_body = ExtendBody,
    responses((status = 200, body = MaintenanceEnvelope), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub(crate) async fn extend_maintenance(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ExtendBody>,
) -> Result<Json<MaintenanceEnvelope>, ApiError> {
    let moved = state
        .app
        .extend_maintenance(&caller.acting(), &id, body.minutes)
        .await?;
    let now = state.clock.now();
    Ok(Json(MaintenanceEnvelope {
        maintenance: view(&state, &moved, now).await,
    }))
}
