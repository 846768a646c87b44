//! `/api/v1/services` and their integrations and change events.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onduty_app::{IntegrationInput, PagingInput, ServiceInput};
use onduty_core::IntegrationId;
use onduty_core::service::Service;
use onduty_core::webhook::Mapping;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::views::{ChangeView, IntegrationView, ServiceView};
use super::{Caller, decode_cursor, encode_cursor, page_limit};
use crate::SharedState;
use crate::error::{ApiError, ApiJson, ApiPath, ApiQuery, ErrorBody};

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_services, create_service))
        .routes(routes!(get_service, update_service))
        .routes(routes!(list_integrations, create_integration))
        .routes(routes!(get_integration, delete_integration))
        .routes(routes!(rotate_key))
        .routes(routes!(set_mapping))
        .routes(routes!(test_mapping))
        .routes(routes!(list_changes))
}

/// A service by id or by name.
pub(crate) async fn find_service(state: &SharedState, text: &str) -> Result<Service, ApiError> {
    Ok(state.app.find_service(text).await?)
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceList {
    pub services: Vec<ServiceView>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewServiceBody {
    /// 1 to 100 characters, unique.
    #[schema(format = "name")]
    pub name: String,
    #[serde(default)]
    #[schema(format = "description")]
    pub description: Option<String>,
    /// `open` (default) or `triggered`.
    #[serde(default)]
    #[schema(format = "dedup-mode")]
    pub dedup_mode: Option<String>,
    /// Whether a high-urgency incident resolving drafts a postmortem (default `true`).
    #[serde(default)]
    #[schema(nullable = false)]
    pub draft_postmortems: Option<bool>,
    #[serde(flatten)]
    pub paging: PagingBody,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ServicePatchBody {
    #[schema(format = "name", nullable = false)]
    pub name: Option<String>,
    #[schema(format = "description")]
    pub description: Option<String>,
    #[schema(format = "dedup-mode", nullable = false)]
    pub dedup_mode: Option<String>,
    /// Whether a high-urgency incident resolving drafts a postmortem.
    #[schema(nullable = false)]
    pub draft_postmortems: Option<bool>,
    #[serde(flatten)]
    pub paging: PagingBody,
}

/// How a service pages. In a change, a field left out stays as it is and `null` clears it.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct PagingBody {
    /// A team id or name.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub team: Option<Option<String>>,
    /// An escalation policy id or name. Without one, incidents page nobody.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub escalation_policy: Option<Option<String>>,
    /// `high` (default), `low`, or `severity` (critical and error events are high).
    #[schema(format = "service-urgency", nullable = false)]
    pub urgency: Option<String>,
    /// Minutes (1 to 10,080, a week) after which an acknowledged, unresolved incident is
    /// triggered again.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 10080)]
    pub ack_timeout_minutes: Option<Option<u32>>,
    /// Minutes (1 to 10,080, a week) without a new event after which an incident is
    /// resolved.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 10080)]
    pub auto_resolve_minutes: Option<Option<u32>>,
    /// Noise control: triggers with other dedup keys arriving within this many minutes
    /// (1–1440) of an incident opening join it as alerts; `null` is off.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1440)]
    pub group_window_minutes: Option<Option<u32>>,
    /// Noise control: a trigger arriving within this many minutes (1–1440) of its key's
    /// incident resolving re-opens it instead of opening and paging anew; `null` is off.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>, minimum = 1, maximum = 1440)]
    pub flap_window_minutes: Option<Option<u32>>,
}

/// For fields where `null` means "clear": present (even as `null`) is `Some`.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

impl From<PagingBody> for PagingInput {
    fn from(b: PagingBody) -> Self {
        PagingInput {
            team: b.team,
            escalation_policy: b.escalation_policy,
            urgency: b.urgency,
            ack_timeout_minutes: b.ack_timeout_minutes,
            auto_resolve_minutes: b.auto_resolve_minutes,
            group_window_minutes: b.group_window_minutes,
            flap_window_minutes: b.flap_window_minutes,
        }
    }
}

impl From<NewServiceBody> for ServiceInput {
    fn from(b: NewServiceBody) -> Self {
        ServiceInput {
            name: Some(b.name),
            description: b.description,
            dedup_mode: b.dedup_mode,
            paging: b.paging.into(),
            draft_postmortems: b.draft_postmortems,
        }
    }
}

impl From<ServicePatchBody> for ServiceInput {
    fn from(b: ServicePatchBody) -> Self {
        ServiceInput {
            name: b.name,
            description: b.description,
            dedup_mode: b.dedup_mode,
            paging: b.paging.into(),
            draft_postmortems: b.draft_postmortems,
        }
    }
}

impl From<NewIntegrationBody> for IntegrationInput {
    fn from(b: NewIntegrationBody) -> Self {
        IntegrationInput {
            name: b.name,
            kind: b.kind,
            group_by: b.group_by,
            mapping: b.mapping,
            mail: b.mail,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceBody {
    pub service: ServiceView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationList {
    pub integrations: Vec<IntegrationView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IntegrationBody {
    pub integration: IntegrationView,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewIntegrationBody {
    /// Default: what the type is called ("Events API v2", "Prometheus Alertmanager", …).
    #[serde(default)]
    #[schema(format = "name")]
    pub name: Option<String>,
    /// `events_v2` (default), `alertmanager`, `grafana`, `opsgenie`, `webhook` or `email`.
    #[serde(default, rename = "type")]
    #[schema(format = "integration-type")]
    pub kind: Option<String>,
    /// Alertmanager and Grafana: `alert` (default; one incident per alert, by its
    /// fingerprint) or `group` (one incident per notification group).
    #[serde(default)]
    #[schema(format = "group-by")]
    pub group_by: Option<String>,
    /// JSON webhooks (required for them): JSON Pointers to the `summary` and, optionally,
    /// `dedup_key`, `severity`, `source` and `action`, with `actions` mapping the action
    /// field's values to `trigger`, `acknowledge` or `resolve`.
    #[serde(default)]
    #[schema(schema_with = super::doc::webhook_mapping)]
    pub mapping: Option<Mapping>,
    /// E-mail: regular expressions for the `dedup_key` (first capture group, over the
    /// subject then the body) and the subjects that `resolve` or `acknowledge`. All
    /// optional; by default the subject names the incident and "RESOLVED:"/"OK" resolve.
    #[serde(default)]
    #[schema(schema_with = super::doc::mail_rules)]
    pub mail: Option<onduty_core::mail::MailRules>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeList {
    /// Newest first.
    pub changes: Vec<ChangeView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size, 1 to 100 (default 25).
    #[param(minimum = 1, maximum = 100)]
    limit: Option<u32>,
    cursor: Option<String>,
}

/// All services, by name.
#[utoipa::path(get, path = "/services", tag = "services", responses((status = 200, body = ServiceList)))]
async fn list_services(
    State(state): State<SharedState>,
    _caller: Caller,
) -> Result<Json<ServiceList>, ApiError> {
    let services = state.store.list_services().await?;
    Ok(Json(ServiceList {
        services: services.iter().map(ServiceView::from).collect(),
    }))
}

/// Create a service (admins).
#[utoipa::path(
    post, path = "/services", tag = "services",
    request_body = NewServiceBody,
    responses(
        (status = 201, body = ServiceBody),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 409, description = "Name taken", body = ErrorBody),
    )
)]
pub(crate) async fn create_service(
    State(state): State<SharedState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewServiceBody>,
) -> Result<(StatusCode, Json<ServiceBody>), ApiError> {
    let (service, _) = state
        .app
        .create_service(&caller.acting(), body.into(), Vec::new())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ServiceBody {
            service: ServiceView::from(&service),
        }),
    ))
}

/// One service, by id or name.
#[utoipa::path(
    get, path = "/services/{id}", tag = "services",
    params(("id" = String, Path, description = "Service id or name")),
    responses((status = 200, body = ServiceBody), (status = 404, body = ErrorBody))
)]
async fn get_service(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ServiceBody>, ApiError> {
    let service = find_service(&state, &id).await?;
    Ok(Json(ServiceBody {
        service: ServiceView::from(&service),
    }))
}

/// Change a service's name, description, dedup mode or paging settings (admins).
#[utoipa::path(
    patch, path = "/services/{id}", tag = "services",
    params(("id" = String, Path, description = "Service id or name")),
    request_body = ServicePatchBody,
    responses(
        (status = 200, body = ServiceBody),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
    )
)]
pub(crate) async fn update_service(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<ServicePatchBody>,
) -> Result<Json<ServiceBody>, ApiError> {
    let service = state
        .app
        .update_service(&caller.acting(), &id, body.into())
        .await?;
    Ok(Json(ServiceBody {
        service: ServiceView::from(&service),
    }))
}

/// A service's integrations, with their routing keys and a curl example each.
#[utoipa::path(
    get, path = "/services/{id}/integrations", tag = "services",
    params(("id" = String, Path, description = "Service id or name")),
    responses((status = 200, body = IntegrationList), (status = 404, body = ErrorBody))
)]
async fn list_integrations(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<IntegrationList>, ApiError> {
    let service = find_service(&state, &id).await?;
    let list = state.store.list_integrations(service.id).await?;
    Ok(Json(IntegrationList {
        integrations: list.iter().map(|i| view_of(&state, &caller, i)).collect(),
    }))
}

/// Add an integration to a service (admins): a new 32-character key, and how it is
/// reached (Events API v2, or an Alertmanager or Grafana webhook).
#[utoipa::path(
    post, path = "/services/{id}/integrations", tag = "services",
    params(("id" = String, Path, description = "Service id or name")),
    request_body = NewIntegrationBody,
    responses(
        (status = 201, body = IntegrationBody),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub(crate) async fn create_integration(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NewIntegrationBody>,
) -> Result<(StatusCode, Json<IntegrationBody>), ApiError> {
    let integration = state
        .app
        .create_integration(&caller.acting(), &id, body.into())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(IntegrationBody {
            integration: view_of(&state, &caller, &integration),
        }),
    ))
}

/// An integration as `caller` may see it: the key (and e-mail address) only for those
/// who may send events.
fn view_of(
    state: &SharedState,
    caller: &Caller,
    i: &onduty_core::service::Integration,
) -> IntegrationView {
    let reveal = caller.0.role.can_respond();
    IntegrationView::new(i, &state.config.public_url, reveal)
        .with_mail_domain(state.config.mail_domain.as_deref(), reveal)
}

/// One integration, with its routing key and a curl example.
#[utoipa::path(
    get, path = "/integrations/{id}", tag = "services",
    params(("id" = String, Path, description = "Integration id", format = Uuid)),
    responses((status = 200, body = IntegrationBody), (status = 404, body = ErrorBody))
)]
async fn get_integration(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<IntegrationBody>, ApiError> {
    let integration = state.store.integration(integration_id(&id)?).await?;
    Ok(Json(IntegrationBody {
        integration: view_of(&state, &caller, &integration),
    }))
}

/// Delete an integration (admins): its key is refused from now on.
#[utoipa::path(
    delete, path = "/integrations/{id}", tag = "services",
    params(("id" = String, Path, description = "Integration id", format = Uuid)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
async fn delete_integration(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    state.app.delete_integration(&caller.acting(), &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Give an integration a new key (admins): the old key is refused from now on.
#[utoipa::path(
    post, path = "/integrations/{id}/rotate-key", tag = "services",
    params(("id" = String, Path, description = "Integration id", format = Uuid)),
    responses(
        (status = 200, body = IntegrationBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
async fn rotate_key(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<IntegrationBody>, ApiError> {
    let rotated = state.app.rotate_key(&caller.acting(), &id).await?;
    Ok(Json(IntegrationBody {
        integration: view_of(&state, &caller, &rotated),
    }))
}

/// The service's change events (deploys, configuration changes), newest first.
#[utoipa::path(
    get, path = "/services/{id}/changes", tag = "services",
    params(("id" = String, Path, description = "Service id or name"), PageQuery),
    responses((status = 200, body = ChangeList), (status = 404, body = ErrorBody))
)]
async fn list_changes(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<ChangeList>, ApiError> {
    let service = find_service(&state, &id).await?;
    let before = q
        .cursor
        .as_deref()
        .map(|c| decode_cursor('c', c))
        .transpose()?;
    let (changes, next) = state
        .store
        .list_changes(service.id, before, page_limit(q.limit)?)
        .await?;
    Ok(Json(ChangeList {
        changes: changes.iter().map(ChangeView::from).collect(),
        next_cursor: next.map(|n| encode_cursor('c', n)),
    }))
}

fn integration_id(text: &str) -> Result<IntegrationId, ApiError> {
    text.parse()
        .map_err(|e: onduty_core::ids::IdError| ApiError::BadRequest(e.to_string()))
}

/// Replace a JSON webhook's mapping (admins).
#[utoipa::path(
    put, path = "/integrations/{id}/mapping", tag = "services",
    params(("id" = String, Path, description = "Integration id", format = Uuid)),
    request_body(content = Object, description = "The mapping: JSON Pointers to summary, dedup_key, severity, source, action, and the action values"),
    responses((status = 200, body = IntegrationBody), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn set_mapping(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(mapping): ApiJson<Mapping>,
) -> Result<Json<IntegrationBody>, ApiError> {
    let saved = state
        .app
        .set_mapping(&caller.acting(), integration_id(&id)?, mapping)
        .await?;
    Ok(Json(IntegrationBody {
        integration: view_of(&state, &caller, &saved),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TestMappingBody {
    /// A body as the tool would send it.
    #[schema(value_type = Object)]
    pub sample: serde_json::Value,
    /// A mapping to try instead of the integration's own.
    #[serde(default)]
    #[schema(schema_with = super::doc::webhook_mapping)]
    pub mapping: Option<Mapping>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TestMappingAnswer {
    /// The event the sample would be (`event_action`, `dedup_key`, `payload`), when it
    /// can be read.
    #[schema(value_type = Option<Object>)]
    pub event: Option<serde_json::Value>,
    /// Why it cannot be read, or what was adjusted.
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

/// What a sample body would produce under a JSON webhook's mapping (or one to try);
/// nothing is stored.
#[utoipa::path(
    post, path = "/integrations/{id}/test-mapping", tag = "services",
    params(("id" = String, Path, description = "Integration id", format = Uuid)),
    request_body = TestMappingBody,
    responses((status = 200, body = TestMappingAnswer), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub(crate) async fn test_mapping(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<TestMappingBody>,
) -> Result<Json<TestMappingAnswer>, ApiError> {
    let tried = state
        .app
        .try_mapping(integration_id(&id)?, &body.sample, body.mapping)
        .await?;
    Ok(Json(TestMappingAnswer {
        event: tried.event,
        errors: tried.errors,
        warnings: tried.warnings,
    }))
}
