//! An incident's page, its status page part: the public incidents that tell of it (with a
//! form to post an update, and a warning when the incident is resolved and the public one
//! is not), and, when its service stands behind a component of a status page, a form to
//! tell the public. Every form calls the same use cases as `/api/v1/status-pages`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::post;
use onduty_app::{StatusIncidentInput, StatusUpdateInput};
use onduty_core::incident::{Incident, IncidentStatus};
use onduty_core::status_page::{ComponentStatus, IncidentStatus as PublicStatus};
use onduty_store::StoreError;

use super::Viewer;
use super::auth::forbidden;
use super::status_pages::Posted;
use crate::SharedState;
use crate::error::ApiError;

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/incidents/{number}/publish", post(publish))
        .route(
            "/incidents/{number}/public/{page}/{id}/publish",
            post(publish_draft),
        )
        .route(
            "/incidents/{number}/public/{page}/{id}/update",
            post(update),
        )
        .route(
            "/incidents/{number}/public/{page}/{id}/keep-open",
            post(keep_open),
        )
}

/// A component of a page, with a `<select>` of states.
pub(super) struct ComponentField {
    pub id: String,
    pub name: String,
    pub states: Vec<super::Choice>,
}

/// A public incident that tells of this one.
pub(super) struct Told {
    pub id: String,
    pub slug: String,
    pub page: String,
    pub name: String,
    pub stage: &'static str,
    pub over: bool,
    /// Drafted by onduty, not published yet.
    pub draft: bool,
    /// The incident is resolved, the public one is not, and nobody chose to keep it open.
    pub forgotten: bool,
    pub statuses: Vec<super::Choice>,
    pub components: Vec<ComponentField>,
}

/// A page this incident's service stands behind, to publish on.
pub(super) struct Offer {
    pub slug: String,
    pub page: String,
    pub components: Vec<ComponentField>,
}

#[derive(Default)]
pub(super) struct PublicPart {
    pub told: Vec<Told>,
    pub offers: Vec<Offer>,
    /// Open the publishing form at first: acknowledged, and its components all
    /// operational.
    pub offer_open: bool,
}

impl PublicPart {
    pub(super) fn shown(&self) -> bool {
        !self.told.is_empty() || !self.offers.is_empty()
    }
}

fn states(selected: ComponentStatus) -> Vec<super::Choice> {
    ComponentStatus::ALL
        .iter()
        .map(|s| super::Choice::new(s.as_str(), s.label(), *s == selected))
        .collect()
}

pub(super) async fn load(
    state: &SharedState,
    incident: &Incident,
) -> Result<PublicPart, StoreError> {
    let store = &state.store;
    let linked = store.status_incidents_of(incident.id).await?;
    let mut part = PublicPart::default();
    let resolved = incident.status == IncidentStatus::Resolved;
    for public in linked {
        let page = store.status_page(public.page).await?;
        let stage = public.stage_at(state.clock.now());
        let components = store.components(public.page).await?;
        part.told.push(Told {
            id: public.id.to_string(),
            slug: page.slug,
            page: page.name,
            name: public.name.clone(),
            stage: stage.label(),
            over: stage.is_over(),
            draft: public.draft,
            forgotten: resolved
                && !stage.is_over()
                && !public.keep_open
                && !public.draft
                && !public.is_maintenance(),
            statuses: PublicStatus::ALL
                .iter()
                .map(|s| {
                    let next = if resolved {
                        PublicStatus::Resolved
                    } else {
                        PublicStatus::Identified
                    };
                    super::Choice::new(s.as_str(), s.label(), *s == next)
                })
                .collect(),
            components: components
                .iter()
                .filter(|c| public.components.contains(&c.id))
                .map(|c| ComponentField {
                    id: c.id.to_string(),
                    name: c.name.clone(),
                    states: states(if resolved {
                        ComponentStatus::Operational
                    } else {
                        c.status
                    }),
                })
                .collect(),
        });
    }
    let open_already = part.told.iter().any(|t| !t.over);
    if !open_already && !resolved {
        let behind = store.components_of_service(incident.service_id).await?;
        let mut all_operational = true;
        for c in &behind {
            all_operational &= c.status == ComponentStatus::Operational;
            let slug_and_name = {
                let page = store.status_page(c.page).await?;
                (page.slug, page.name)
            };
            let field = ComponentField {
                id: c.id.to_string(),
                name: c.name.clone(),
                states: states(ComponentStatus::PartialOutage),
            };
            match part.offers.iter_mut().find(|o| o.slug == slug_and_name.0) {
                Some(offer) => offer.components.push(field),
                None => part.offers.push(Offer {
                    slug: slug_and_name.0,
                    page: slug_and_name.1,
                    components: vec![field],
                }),
            }
        }
        part.offer_open = incident.status == IncidentStatus::Acknowledged && all_operational;
    }
    Ok(part)
}

fn back(state: &SharedState, number: i64, result: Result<String, ApiError>) -> Response {
    let to = format!("/incidents/{number}#status-page");
    match result {
        Err(e @ ApiError::Forbidden(_)) => super::error_page(e),
        Err(e) => super::flash::failed(state, &to, e),
        Ok(notice) => super::flash::done(state, &to, notice),
    }
}

async fn publish(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(number): Path<i64>,
    body: Bytes,
) -> Response {
    let Some(posted) = Posted::checked(&viewer, &body) else {
        return forbidden();
    };
    let input = StatusIncidentInput {
        name: posted.field("name"),
        incident: Some(number.to_string()),
        first: StatusUpdateInput {
            status: posted.field("status"),
            body: posted.field("body"),
            components: posted.components.clone(),
            template: Some(posted.field("template")),
        },
        ..StatusIncidentInput::default()
    };
    let page = posted.field("page");
    let done = state
        .app
        .open_status_incident(&viewer.acting(), &page, input)
        .await
        .map(|made| format!("Published \"{}\" on the status page.", made.name))
        .map_err(ApiError::from);
    back(&state, number, done)
}

async fn update(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path((number, page, id)): Path<(i64, String, String)>,
    body: Bytes,
) -> Response {
    let Some(posted) = Posted::checked(&viewer, &body) else {
        return forbidden();
    };
    let input = StatusUpdateInput {
        status: posted.field("status"),
        body: posted.field("body"),
        template: Some(posted.field("template")),
        components: posted.components,
    };
    let done = state
        .app
        .post_status_update(&viewer.acting(), &page, &id, input)
        .await
        .map(|i| {
            format!(
                "Posted: \"{}\" is {} on the status page.",
                i.name,
                i.stage.label().to_lowercase()
            )
        })
        .map_err(ApiError::from);
    back(&state, number, done)
}

async fn keep_open(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path((number, page, id)): Path<(i64, String, String)>,
    body: Bytes,
) -> Response {
    let Some(_) = Posted::checked(&viewer, &body) else {
        return forbidden();
    };
    let done = state
        .app
        .keep_status_incident_open(&viewer.acting(), &page, &id)
        .await
        .map(|i| {
            format!(
                "\"{}\" stays open on the status page; no more reminders.",
                i.name
            )
        })
        .map_err(ApiError::from);
    back(&state, number, done)
}

async fn publish_draft(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path((number, page, id)): Path<(i64, String, String)>,
    body: Bytes,
) -> Response {
    let Some(_) = Posted::checked(&viewer, &body) else {
        return forbidden();
    };
    let done = state
        .app
        .publish_status_draft(&viewer.acting(), &page, &id)
        .await
        .map(|i| format!("Published \"{}\" on the status page.", i.name))
        .map_err(ApiError::from);
    back(&state, number, done)
}
