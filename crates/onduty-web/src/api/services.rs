//! `/api/v1/services` and their integrations and change events.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onduty_core::account::Name;
use onduty_core::alertmanager::GroupBy;
use onduty_core::incident::DedupMode;
use onduty_core::noise;
use onduty_core::service::{
    IntegrationKind, IntegrationSettings, PagingSettings, Service, ServiceUrgency,
    parse_description, parse_timeout,
};
use onduty_core::webhook::Mapping;
use onduty_core::{IntegrationId, RoutingKey, ServiceId};
use onduty_store::services::{NewIntegration, NewService, ServicePatch};
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
        .routes(routes!(get_integration))
        .routes(routes!(set_mapping))
        .routes(routes!(test_mapping))
        .routes(routes!(list_changes))
}

/// A service by id or by name.
pub(crate) async fn find_service(state: &SharedState, text: &str) -> Result<Service, ApiError> {
    if let Ok(id) = text.parse::<ServiceId>() {
        return Ok(state.store.service(id).await?);
    }
    state
        .store
        .service_by_name(text)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no service with id or name '{text}'")))
}

fn parse_name(text: &str) -> Result<Name, ApiError> {
    Name::parse(text).map_err(|e| ApiError::BadRequest(format!("'name': {e}")))
}

fn parse_mode(text: &str) -> Result<DedupMode, ApiError> {
    DedupMode::parse(text).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "'dedup_mode' must be 'open' or 'triggered', not '{text}'"
        ))
    })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ServiceList {
    pub services: Vec<ServiceView>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewServiceBody {
    /// 1 to 100 characters, unique.
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// `open` (default) or `triggered`.
    #[serde(default)]
    pub dedup_mode: Option<String>,
    #[serde(flatten)]
    pub paging: PagingBody,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ServicePatchBody {
    pub name: Option<String>,
    pub description: Option<String>,
    pub dedup_mode: Option<String>,
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
    pub urgency: Option<String>,
    /// Minutes after which an acknowledged, unresolved incident is triggered again.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    pub ack_timeout_minutes: Option<Option<u32>>,
    /// Minutes without a new event after which an incident is resolved.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    pub auto_resolve_minutes: Option<Option<u32>>,
    /// Noise control: triggers with other dedup keys arriving within this many minutes
    /// (1–1440) of an incident opening join it as alerts; `null` is off.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
    pub group_window_minutes: Option<Option<u32>>,
    /// Noise control: a trigger arriving within this many minutes (1–1440) of its key's
    /// incident resolving re-opens it instead of opening and paging anew; `null` is off.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<u32>)]
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

/// Turns a paging body into the changes it asks for, looking names up.
async fn paging_patch(
    state: &SharedState,
    body: &PagingBody,
    patch: &mut ServicePatch,
) -> Result<(), ApiError> {
    if let Some(team) = &body.team {
        patch.team_id = Some(match team {
            None => None,
            Some(t) => Some(state.store.team(t).await?.id),
        });
    }
    if let Some(policy) = &body.escalation_policy {
        patch.policy_id = Some(match policy {
            None => None,
            Some(p) => Some(super::policies::find_policy(state, p).await?.id),
        });
    }
    if let Some(u) = &body.urgency {
        patch.urgency = Some(ServiceUrgency::parse(u).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "'urgency' must be high, low or severity, not '{u}'"
            ))
        })?);
    }
    let minutes = |name: &str, v: &Option<u32>| -> Result<Option<u32>, ApiError> {
        v.map(|m| parse_timeout(name, m))
            .transpose()
            .map_err(ApiError::BadRequest)
    };
    if let Some(v) = &body.ack_timeout_minutes {
        patch.ack_timeout_minutes = Some(minutes("ack_timeout_minutes", v)?);
    }
    if let Some(v) = &body.auto_resolve_minutes {
        patch.auto_resolve_minutes = Some(minutes("auto_resolve_minutes", v)?);
    }
    let window = |name: &str, v: &Option<u32>| -> Result<Option<u32>, ApiError> {
        v.map(|m| noise::parse_window(&format!("'{name}'"), m))
            .transpose()
            .map_err(ApiError::BadRequest)
    };
    if let Some(v) = &body.group_window_minutes {
        patch.group_window_minutes = Some(window("group_window_minutes", v)?);
    }
    if let Some(v) = &body.flap_window_minutes {
        patch.flap_window_minutes = Some(window("flap_window_minutes", v)?);
    }
    Ok(())
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
    pub name: Option<String>,
    /// `events_v2` (default), `alertmanager`, `grafana`, `opsgenie`, `webhook` or `email`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// Alertmanager and Grafana: `alert` (default; one incident per alert, by its
    /// fingerprint) or `group` (one incident per notification group).
    #[serde(default)]
    pub group_by: Option<String>,
    /// JSON webhooks (required for them): JSON Pointers to the `summary` and, optionally,
    /// `dedup_key`, `severity`, `source` and `action`, with `actions` mapping the action
    /// field's values to `trigger`, `acknowledge` or `resolve`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub mapping: Option<Mapping>,
    /// E-mail: regular expressions for the `dedup_key` (first capture group, over the
    /// subject then the body) and the subjects that `resolve` or `acknowledge`. All
    /// optional; by default the subject names the incident and "RESOLVED:"/"OK" resolve.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
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
    caller.require_admin()?;
    let mut paging = ServicePatch::default();
    paging_patch(&state, &body.paging, &mut paging).await?;
    let defaults = PagingSettings::default();
    let new = NewService {
        name: parse_name(&body.name)?,
        description: parse_description(body.description.as_deref().unwrap_or(""))
            .map_err(ApiError::BadRequest)?,
        dedup_mode: body
            .dedup_mode
            .as_deref()
            .map(parse_mode)
            .transpose()?
            .unwrap_or_default(),
        settings: PagingSettings {
            team_id: paging.team_id.unwrap_or(defaults.team_id),
            policy_id: paging.policy_id.unwrap_or(defaults.policy_id),
            urgency: paging.urgency.unwrap_or(defaults.urgency),
            ack_timeout_minutes: paging
                .ack_timeout_minutes
                .unwrap_or(defaults.ack_timeout_minutes),
            auto_resolve_minutes: paging
                .auto_resolve_minutes
                .unwrap_or(defaults.auto_resolve_minutes),
            group_window_minutes: paging
                .group_window_minutes
                .unwrap_or(defaults.group_window_minutes),
            flap_window_minutes: paging
                .flap_window_minutes
                .unwrap_or(defaults.flap_window_minutes),
        },
    };
    let service = state.store.create_service(new, state.clock.now()).await?;
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
    caller.require_admin()?;
    let service = find_service(&state, &id).await?;
    let mut patch = ServicePatch {
        name: body.name.as_deref().map(parse_name).transpose()?,
        description: body
            .description
            .as_deref()
            .map(parse_description)
            .transpose()
            .map_err(ApiError::BadRequest)?,
        dedup_mode: body.dedup_mode.as_deref().map(parse_mode).transpose()?,
        ..ServicePatch::default()
    };
    paging_patch(&state, &body.paging, &mut patch).await?;
    let service = state
        .store
        .update_service(service.id, patch, state.clock.now())
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
    caller.require_admin()?;
    let service = find_service(&state, &id).await?;
    let kind = match body.kind.as_deref() {
        None => IntegrationKind::EventsV2,
        Some(k) => IntegrationKind::parse(k).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "unknown integration type '{k}': use events_v2, alertmanager, grafana, opsgenie, webhook or email"
            ))
        })?,
    };
    if kind == IntegrationKind::Heartbeat {
        return Err(ApiError::BadRequest(
            "a heartbeat's integration comes with it: POST /api/v1/services/{id}/heartbeats"
                .to_owned(),
        ));
    }
    let group_by = match body.group_by.as_deref() {
        None => GroupBy::default(),
        Some(g) => GroupBy::parse(g).ok_or_else(|| {
            ApiError::BadRequest(format!("'group_by' must be alert or group, not '{g}'"))
        })?,
    };
    let name = parse_name(body.name.as_deref().unwrap_or(kind.label()))?;
    let new = NewIntegration {
        settings: IntegrationSettings {
            group_by,
            mapping: checked_mapping(kind, body.mapping)?,
            mail: match (kind, body.mail) {
                (IntegrationKind::Email, rules) => {
                    let rules = rules.unwrap_or_default();
                    rules
                        .check()
                        .map_err(|e| ApiError::BadRequest(e.join("; ")))?;
                    Some(rules)
                }
                (_, Some(_)) => {
                    return Err(ApiError::BadRequest(
                        "only e-mail integrations take 'mail' rules".to_owned(),
                    ));
                }
                (_, None) => None,
            },
        },
        service_id: service.id,
        name,
        kind,
        routing_key: new_routing_key(),
    };
    let integration = state
        .store
        .create_integration(new, state.clock.now())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(IntegrationBody {
            integration: view_of(&state, &caller, &integration),
        }),
    ))
}

/// A JSON webhook's mapping, checked; other kinds have none.
fn checked_mapping(
    kind: IntegrationKind,
    mapping: Option<Mapping>,
) -> Result<Option<Mapping>, ApiError> {
    match (kind, mapping) {
        (IntegrationKind::Webhook, None) => Err(ApiError::BadRequest(
            "a JSON webhook needs a 'mapping': at least {\"summary\": \"/pointer/to/title\"}"
                .to_owned(),
        )),
        (IntegrationKind::Webhook, Some(m)) => {
            m.check().map_err(|e| ApiError::BadRequest(e.join("; ")))?;
            Ok(Some(m))
        }
        (_, Some(_)) => Err(ApiError::BadRequest(
            "only JSON webhook integrations take a 'mapping'".to_owned(),
        )),
        (_, None) => Ok(None),
    }
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

/// A fresh routing key from the operating system's randomness.
pub fn new_routing_key() -> RoutingKey {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    RoutingKey::from_random(bytes)
}

/// One integration, with its routing key and a curl example.
#[utoipa::path(
    get, path = "/integrations/{id}", tag = "services",
    params(("id" = String, Path, description = "Integration id")),
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
    params(("id" = String, Path, description = "Integration id")),
    request_body(content = Object, description = "The mapping: JSON Pointers to summary, dedup_key, severity, source, action, and the action values"),
    responses((status = 200, body = IntegrationBody), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn set_mapping(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(mapping): ApiJson<Mapping>,
) -> Result<Json<IntegrationBody>, ApiError> {
    caller.require_admin()?;
    let integration = state.store.integration(integration_id(&id)?).await?;
    let settings = IntegrationSettings {
        mapping: checked_mapping(integration.kind, Some(mapping))?,
        ..integration.settings
    };
    let saved = state
        .store
        .set_integration_settings(integration.id, &settings)
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
    #[schema(value_type = Option<Object>)]
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
    params(("id" = String, Path, description = "Integration id")),
    request_body = TestMappingBody,
    responses((status = 200, body = TestMappingAnswer), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody))
)]
pub(crate) async fn test_mapping(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<TestMappingBody>,
) -> Result<Json<TestMappingAnswer>, ApiError> {
    let integration = state.store.integration(integration_id(&id)?).await?;
    let mapping = match body.mapping.or(integration.settings.mapping) {
        Some(m) => m,
        None => {
            return Err(ApiError::BadRequest(
                "this integration has no mapping; send one to try".to_owned(),
            ));
        }
    };
    if let Err(errors) = mapping.check() {
        return Ok(Json(TestMappingAnswer {
            event: None,
            errors,
            warnings: Vec::new(),
        }));
    }
    let answer = match onduty_core::webhook::event(
        &body.sample,
        &mapping,
        integration.routing_key.as_str(),
        "(generated for each event)",
    ) {
        Ok(parsed) => TestMappingAnswer {
            event: serde_json::to_value(&parsed.value).ok(),
            errors: Vec::new(),
            warnings: parsed.warnings,
        },
        Err(errors) => TestMappingAnswer {
            event: None,
            errors,
            warnings: Vec::new(),
        },
    };
    Ok(Json(answer))
}
