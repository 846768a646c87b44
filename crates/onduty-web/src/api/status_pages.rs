//! `/api/v1/status-pages`: public status pages, their components, and the public incidents
//! and scheduled maintenance shown on them. The pages themselves are served without
//! log-in at `/status/<slug>` (`crate::status`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onduty_app::{ComponentInput, StatusIncidentInput, StatusPageInput, StatusUpdateInput};
use onduty_core::Timestamp;
use onduty_store::status_pages::{AffectedComponent, Component, StatusIncident, StatusPage};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Caller;
use crate::SharedState;
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_pages, create_page))
        .routes(routes!(get_page, update_page))
        .routes(routes!(list_components, create_component))
        .routes(routes!(list_incidents, open_incident))
        .routes(routes!(post_update))
        .routes(routes!(keep_open))
        .routes(routes!(publish_draft))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusPageView {
    pub id: String,
    pub slug: String,
    pub name: String,
    /// A host name of its own, if any.
    pub host: Option<String>,
    pub time_zone: String,
    /// Drafts made for a linked service's incidents are published at once.
    pub auto_publish: bool,
    /// How often a public incident left open after its onduty incident is resolved is
    /// reminded of.
    pub remind_every_minutes: u32,
    /// Where the public sees it.
    pub url: String,
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: Timestamp,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentView {
    pub id: String,
    pub name: String,
    pub description: String,
    /// `operational`, `degraded_performance`, `partial_outage`, `major_outage` or
    /// `under_maintenance`.
    pub status: String,
    /// A group of components rather than one.
    pub group: bool,
    /// The group it is shown in.
    pub group_id: Option<String>,
    pub position: i64,
    pub only_show_if_degraded: bool,
    /// The onduty service it stands for.
    pub service_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UpdateView {
    pub id: String,
    pub status: String,
    pub body: String,
    #[schema(value_type = String, format = DateTime)]
    pub created_at: Timestamp,
    /// The states this update set: `code` (component id), `name`, `old_status`,
    /// `new_status`.
    #[schema(value_type = Vec<Object>)]
    pub affected_components: Vec<AffectedComponent>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicIncidentView {
    pub id: String,
    pub name: String,
    /// `incident` or `maintenance`.
    pub kind: String,
    /// Now: an incident's `investigating`, `identified`, `monitoring` or `resolved`; a
    /// maintenance's `scheduled`, `in_progress`, `verifying` or `completed`.
    pub status: String,
    /// `none`, `minor`, `major`, `critical` or `maintenance`.
    pub impact: String,
    #[schema(value_type = String, format = DateTime)]
    pub started_at: Timestamp,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub resolved_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_for: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_until: Option<Timestamp>,
    /// The onduty maintenance window quieting paging meanwhile, if any.
    pub maintenance_window_id: Option<String>,
    /// The onduty incident it tells of, if any.
    pub incident_id: Option<String>,
    /// Kept open on purpose after its onduty incident was resolved (no reminders).
    pub keep_open: bool,
    /// Drafted by onduty for a linked service's incident, not published: the public sees
    /// nothing of it until a person publishes it.
    pub draft: bool,
    /// The published postmortem shown with it, if any.
    pub postmortem_id: Option<String>,
    /// The components it concerns (ids).
    pub components: Vec<String>,
    /// Newest first.
    pub updates: Vec<UpdateView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusPageEnvelope {
    pub status_page: StatusPageView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatusPageList {
    pub status_pages: Vec<StatusPageView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentEnvelope {
    pub component: ComponentView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentList {
    pub components: Vec<ComponentView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicIncidentEnvelope {
    pub incident: PublicIncidentView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PublicIncidentList {
    pub incidents: Vec<PublicIncidentView>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewStatusPageBody {
    /// Its address: `/status/<slug>` (lower-case letters, digits, dashes).
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub host: Option<String>,
    /// IANA name; default UTC.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Publish the drafts made when a linked service's incident opens at once (default:
    /// they wait for a person).
    #[serde(default)]
    pub auto_publish: bool,
    /// How often a public incident left open after its onduty incident is resolved is
    /// reminded of: 5 to 1440 minutes (default 30).
    #[serde(default)]
    pub remind_every_minutes: Option<u32>,
}

/// What to change of a status page; what is left out stays.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusPagePatch {
    #[serde(default)]
    pub name: Option<String>,
    /// A host name of its own; `""` for none.
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub auto_publish: Option<bool>,
    #[serde(default)]
    pub remind_every_minutes: Option<u32>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewComponentBody {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// The group (id or name) it is shown in.
    #[serde(default)]
    pub group_id: Option<String>,
    /// Make a group rather than a component.
    #[serde(default)]
    pub group: bool,
    /// Default `operational`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub only_show_if_degraded: bool,
    /// The onduty service (id or name) it stands for.
    #[serde(default)]
    pub service: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewUpdateBody {
    /// The new status (default for a new incident: `investigating`; for a new
    /// maintenance: `scheduled`).
    #[serde(default)]
    pub status: String,
    /// What is known, for the public: 1 to 10,000 characters (or the template's).
    #[serde(default)]
    pub body: String,
    /// Components (id or name) and the state each takes now.
    #[serde(default)]
    pub components: BTreeMap<String, String>,
    /// A template (id or name) filling in the status, body and components left out.
    #[serde(default)]
    pub template: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewPublicIncidentBody {
    /// The title (or the template's).
    #[serde(default)]
    pub name: String,
    /// Default: the worst of the states it sets (`maintenance` for a maintenance).
    #[serde(default)]
    pub impact: Option<String>,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub components: BTreeMap<String, String>,
    /// A scheduled maintenance: from when (RFC 3339) …
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_for: Option<Timestamp>,
    /// … until when (a week at most).
    #[serde(default)]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub scheduled_until: Option<Timestamp>,
    /// A maintenance: the services behind its components page nobody meanwhile.
    #[serde(default)]
    pub quiet_paging: bool,
    /// The onduty incident it tells of (number or id): its timeline records what is
    /// published, and once it is resolved while this is not, reminders follow.
    #[serde(default)]
    pub incident: Option<String>,
    /// A template (id or name) filling in the title, status, body and components left out.
    #[serde(default)]
    pub template: Option<String>,
}

fn page_view(state: &SharedState, p: &StatusPage) -> StatusPageView {
    StatusPageView {
        id: p.id.to_string(),
        slug: p.slug.clone(),
        name: p.name.clone(),
        host: p.host.clone(),
        time_zone: p.time_zone.clone(),
        auto_publish: p.auto_publish,
        remind_every_minutes: p.remind_every_minutes,
        url: crate::status::public_address(state, p),
        updated_at: p.updated_at,
    }
}

fn component_view(c: &Component) -> ComponentView {
    ComponentView {
        id: c.id.to_string(),
        name: c.name.clone(),
        description: c.description.clone(),
        status: c.status.as_str().to_owned(),
        group: c.is_group,
        group_id: c.group.map(|g| g.to_string()),
        position: c.position,
        only_show_if_degraded: c.only_show_if_degraded,
        service_id: c.service.map(|s| s.to_string()),
    }
}

pub(super) fn incident_view(i: &StatusIncident, now: Timestamp) -> PublicIncidentView {
    PublicIncidentView {
        id: i.id.to_string(),
        name: i.name.clone(),
        kind: if i.is_maintenance() {
            "maintenance"
        } else {
            "incident"
        }
        .to_owned(),
        status: i.stage_at(now).as_str().to_owned(),
        impact: i.impact.as_str().to_owned(),
        started_at: i.started_at,
        resolved_at: i.resolved_at,
        scheduled_for: i.scheduled.map(|(from, _)| from),
        scheduled_until: i.scheduled.map(|(_, until)| until),
        maintenance_window_id: i.window.map(|w| w.to_string()),
        incident_id: i.incident.map(|w| w.to_string()),
        keep_open: i.keep_open,
        draft: i.draft,
        postmortem_id: i.postmortem.map(|p| p.to_string()),
        components: i.components.iter().map(ToString::to_string).collect(),
        updates: i
            .updates
            .iter()
            .map(|u| UpdateView {
                id: u.id.to_string(),
                status: u.stage.as_str().to_owned(),
                body: u.body.clone(),
                created_at: u.created_at,
                affected_components: u.affected.clone(),
            })
            .collect(),
    }
}

fn update_input(
    status: String,
    body: String,
    components: BTreeMap<String, String>,
    template: Option<String>,
) -> StatusUpdateInput {
    StatusUpdateInput {
        status,
        body,
        components: components.into_iter().collect(),
        template,
    }
}

/// Every status page.
#[utoipa::path(get, path = "/status-pages", tag = "status pages", responses((status = 200, body = StatusPageList)))]
async fn list_pages(
    State(state): State<SharedState>,
    _caller: Caller,
) -> Result<Json<StatusPageList>, ApiError> {
    let pages = state.store.status_pages().await?;
    Ok(Json(StatusPageList {
        status_pages: pages.iter().map(|p| page_view(&state, p)).collect(),
    }))
}

/// Make a public status page (admins).
#[utoipa::path(
    post, path = "/status-pages", tag = "status pages",
    request_body = NewStatusPageBody,
    responses((status = 201, body = StatusPageEnvelope), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody))
)]
async fn create_page(
    State(state): State<SharedState>,
    caller: Caller,
    ApiJson(body): ApiJson<NewStatusPageBody>,
) -> Result<(StatusCode, Json<StatusPageEnvelope>), ApiError> {
    let input = StatusPageInput {
        slug: body.slug,
        name: body.name,
        host: body.host,
        time_zone: body.time_zone,
        auto_publish: body.auto_publish,
        remind_every_minutes: body.remind_every_minutes,
    };
    let made = state
        .app
        .create_status_page(&caller.acting(), input)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(StatusPageEnvelope {
            status_page: page_view(&state, &made),
        }),
    ))
}

/// Change a status page's settings (admins); its slug stays.
#[utoipa::path(
    patch, path = "/status-pages/{page}", tag = "status pages",
    params(("page" = String, Path, description = "Status page id or slug")),
    request_body = StatusPagePatch,
    responses((status = 200, body = StatusPageEnvelope), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
async fn update_page(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(page): ApiPath<String>,
    ApiJson(patch): ApiJson<StatusPagePatch>,
) -> Result<Json<StatusPageEnvelope>, ApiError> {
    let found = state.app.find_status_page(&page).await?;
    let input = StatusPageInput {
        slug: found.slug.clone(),
        name: patch.name.unwrap_or(found.name),
        host: patch.host.or(found.host),
        time_zone: Some(patch.time_zone.unwrap_or(found.time_zone)),
        auto_publish: patch.auto_publish.unwrap_or(found.auto_publish),
        remind_every_minutes: Some(
            patch
                .remind_every_minutes
                .unwrap_or(found.remind_every_minutes),
        ),
    };
    let changed = state
        .app
        .update_status_page(&caller.acting(), &page, input)
        .await?;
    Ok(Json(StatusPageEnvelope {
        status_page: page_view(&state, &changed),
    }))
}

/// A status page, by id or slug.
#[utoipa::path(
    get, path = "/status-pages/{page}", tag = "status pages",
    params(("page" = String, Path, description = "Status page id or slug")),
    responses((status = 200, body = StatusPageEnvelope), (status = 404, body = ErrorBody))
)]
async fn get_page(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(page): ApiPath<String>,
) -> Result<Json<StatusPageEnvelope>, ApiError> {
    let found = state.app.find_status_page(&page).await?;
    Ok(Json(StatusPageEnvelope {
        status_page: page_view(&state, &found),
    }))
}

/// A page's components and groups, in order.
#[utoipa::path(
    get, path = "/status-pages/{page}/components", tag = "status pages",
    params(("page" = String, Path, description = "Status page id or slug")),
    responses((status = 200, body = ComponentList), (status = 404, body = ErrorBody))
)]
async fn list_components(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(page): ApiPath<String>,
) -> Result<Json<ComponentList>, ApiError> {
    let page = state.app.find_status_page(&page).await?;
    let components = state.store.components(page.id).await?;
    Ok(Json(ComponentList {
        components: components.iter().map(component_view).collect(),
    }))
}

/// Add a component, or a group (admins).
#[utoipa::path(
    post, path = "/status-pages/{page}/components", tag = "status pages",
    params(("page" = String, Path, description = "Status page id or slug")),
    request_body = NewComponentBody,
    responses((status = 201, body = ComponentEnvelope), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn create_component(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(page): ApiPath<String>,
    ApiJson(body): ApiJson<NewComponentBody>,
) -> Result<(StatusCode, Json<ComponentEnvelope>), ApiError> {
    let input = ComponentInput {
        name: body.name,
        description: body.description,
        group: body.group_id,
        is_group: body.group,
        status: body.status,
        only_show_if_degraded: body.only_show_if_degraded,
        service: body.service,
    };
    let made = state
        .app
        .create_component(&caller.acting(), &page, input)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ComponentEnvelope {
            component: component_view(&made),
        }),
    ))
}

/// A page's public incidents and maintenance of the last 90 days and any not over,
/// newest first.
#[utoipa::path(
    get, path = "/status-pages/{page}/incidents", tag = "status pages",
    params(("page" = String, Path, description = "Status page id or slug")),
    responses((status = 200, body = PublicIncidentList), (status = 404, body = ErrorBody))
)]
async fn list_incidents(
    State(state): State<SharedState>,
    _caller: Caller,
    ApiPath(page): ApiPath<String>,
) -> Result<Json<PublicIncidentList>, ApiError> {
    let page = state.app.find_status_page(&page).await?;
    let now = state.clock.now();
    let since = now.saturating_sub(std::time::Duration::from_secs(90 * 24 * 3600));
    let incidents = state.store.status_incidents(page.id, since).await?;
    Ok(Json(PublicIncidentList {
        incidents: incidents.iter().map(|i| incident_view(i, now)).collect(),
    }))
}

/// Publish an incident, or with `scheduled_for` and `scheduled_until` a maintenance, with
/// its first update (responders and admins). The components named take their states as
/// it posts.
#[utoipa::path(
    post, path = "/status-pages/{page}/incidents", tag = "status pages",
    params(("page" = String, Path, description = "Status page id or slug")),
    request_body = NewPublicIncidentBody,
    responses((status = 201, body = PublicIncidentEnvelope), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn open_incident(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(page): ApiPath<String>,
    ApiJson(body): ApiJson<NewPublicIncidentBody>,
) -> Result<(StatusCode, Json<PublicIncidentEnvelope>), ApiError> {
    let scheduled = match (body.scheduled_for, body.scheduled_until) {
        (Some(from), Some(until)) => Some((from, until)),
        (None, None) => None,
        _ => {
            return Err(ApiError::BadRequest(
                "a maintenance needs both 'scheduled_for' and 'scheduled_until'".to_owned(),
            ));
        }
    };
    let input = StatusIncidentInput {
        name: body.name,
        impact: body.impact,
        scheduled,
        quiet_paging: body.quiet_paging,
        incident: body.incident,
        first: update_input(body.status, body.body, body.components, body.template),
    };
    let made = state
        .app
        .open_status_incident(&caller.acting(), &page, input)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(PublicIncidentEnvelope {
            incident: incident_view(&made, state.clock.now()),
        }),
    ))
}

/// Post an update to a public incident or maintenance (responders and admins).
#[utoipa::path(
    post, path = "/status-pages/{page}/incidents/{id}/updates", tag = "status pages",
    params(
        ("page" = String, Path, description = "Status page id or slug"),
        ("id" = String, Path, description = "Public incident id"),
    ),
    request_body = NewUpdateBody,
    responses((status = 200, body = PublicIncidentEnvelope), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn post_update(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath((page, id)): ApiPath<(String, String)>,
    ApiJson(body): ApiJson<NewUpdateBody>,
) -> Result<Json<PublicIncidentEnvelope>, ApiError> {
    let input = update_input(body.status, body.body, body.components, body.template);
    let posted = state
        .app
        .post_status_update(&caller.acting(), &page, &id, input)
        .await?;
    Ok(Json(PublicIncidentEnvelope {
        incident: incident_view(&posted, state.clock.now()),
    }))
}

/// Keep a public incident open on purpose though its onduty incident is resolved
/// (responders and admins): the reminders stop.
#[utoipa::path(
    post, path = "/status-pages/{page}/incidents/{id}/keep-open", tag = "status pages",
    params(
        ("page" = String, Path, description = "Status page id or slug"),
        ("id" = String, Path, description = "Public incident id"),
    ),
    responses((status = 200, body = PublicIncidentEnvelope), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody))
)]
async fn keep_open(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath((page, id)): ApiPath<(String, String)>,
) -> Result<Json<PublicIncidentEnvelope>, ApiError> {
    let kept = state
        .app
        .keep_status_incident_open(&caller.acting(), &page, &id)
        .await?;
    Ok(Json(PublicIncidentEnvelope {
        incident: incident_view(&kept, state.clock.now()),
    }))
}

/// Publish a draft (responders and admins): the public sees it from now on, and its
/// components take the states it proposed.
#[utoipa::path(
    post, path = "/status-pages/{page}/incidents/{id}/publish", tag = "status pages",
    params(
        ("page" = String, Path, description = "Status page id or slug"),
        ("id" = String, Path, description = "Public incident id"),
    ),
    responses((status = 200, body = PublicIncidentEnvelope), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody))
)]
async fn publish_draft(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath((page, id)): ApiPath<(String, String)>,
) -> Result<Json<PublicIncidentEnvelope>, ApiError> {
    let published = state
        .app
        .publish_status_draft(&caller.acting(), &page, &id)
        .await?;
    Ok(Json(PublicIncidentEnvelope {
        incident: incident_view(&published, state.clock.now()),
    }))
}
