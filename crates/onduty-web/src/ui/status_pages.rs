//! Managing status pages in the web UI: the pages (admins make them), a page's components
//! (admins add them), and its public incidents and maintenance (responders publish and
//! update them). Every form calls the same use cases as `/api/v1/status-pages`.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use onduty_app::{ComponentInput, StatusIncidentInput, StatusPageInput, StatusUpdateInput};
use onduty_core::status_page::{ComponentStatus, IncidentStatus, MaintenanceStatus, Stage};

use super::auth::forbidden;
use super::flash::{done, failed};
use super::time::{exact, from_local_field, local_field, zone};
use super::{Choice, Viewer, page};
use crate::SharedState;
use crate::error::ApiError;

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/status-pages", get(list).post(create))
        .route("/status-pages/{slug}", get(show))
        .route("/status-pages/{slug}/components", post(add_component))
        .route("/status-pages/{slug}/incidents", post(open))
        .route("/status-pages/{slug}/incidents/{id}/update", post(update))
        .route("/status-pages/{slug}/incidents/{id}/publish", post(publish))
}

struct PageRow {
    slug: String,
    name: String,
    host: Option<String>,
}

#[derive(Template)]
#[template(path = "status_pages.html")]
struct ListPage {
    chrome: super::Chrome,
    pages: Vec<PageRow>,
}

struct ComponentRow {
    id: String,
    name: String,
    /// "Operational", or "group" for a group.
    state: String,
    group: Option<String>,
    service: Option<String>,
    /// Its state as a choice in an update: "unchanged" first.
    choices: Vec<Choice>,
}

struct PublicRow {
    id: String,
    name: String,
    /// Drafted by onduty, not published yet.
    draft: bool,
    stage: &'static str,
    /// A maintenance's span on the page's clock.
    scheduled: Option<String>,
    latest: String,
    statuses: Vec<Choice>,
}

#[derive(Template)]
#[template(path = "status_page_admin.html")]
struct ShowPage {
    chrome: super::Chrome,
    slug: String,
    name: String,
    time_zone: String,
    components: Vec<ComponentRow>,
    groups: Vec<Choice>,
    services: Vec<Choice>,
    open: Vec<PublicRow>,
    /// Default span of a new maintenance: tomorrow at this hour, for an hour.
    from: String,
    until: String,
    templates: Vec<TemplateRow>,
    /// The template chosen to fill in "Tell the public" (`?template=`): title and body.
    drafted: Option<(String, String)>,
    statuses: Vec<Choice>,
    /// For admins: who subscribed.
    subscribers: Vec<SubscriberRow>,
}

struct TemplateRow {
    id: String,
    name: String,
    title: String,
}

struct SubscriberRow {
    id: String,
    kind: &'static str,
    address: String,
    confirmed: bool,
}

async fn list(State(state): State<SharedState>, viewer: Viewer) -> Response {
    match state.store.status_pages().await {
        Ok(pages) => page(ListPage {
            chrome: viewer.chrome(),
            pages: pages
                .into_iter()
                .map(|p| PageRow {
                    slug: p.slug,
                    name: p.name,
                    host: p.host,
                })
                .collect(),
        }),
        Err(e) => super::error_page(e),
    }
}

/// A posted form's fields, with each `component.<id>` apart as (id, state); a component
/// left "unchanged" (empty) is not named.
pub(super) struct Posted {
    fields: Vec<(String, String)>,
    pub(super) components: Vec<(String, String)>,
}

impl Posted {
    /// The form, if its CSRF token is the viewer's.
    pub(super) fn checked(viewer: &Viewer, body: &Bytes) -> Option<Posted> {
        let mut posted = Posted {
            fields: Vec::new(),
            components: Vec::new(),
        };
        for (key, value) in form_urlencoded::parse(body) {
            match key.strip_prefix("component.") {
                // "unchanged"
                Some(_) if value.is_empty() => {}
                Some(id) => posted.components.push((id.to_owned(), value.into_owned())),
                None => posted.fields.push((key.into_owned(), value.into_owned())),
            }
        }
        viewer.csrf_ok(&posted.field("csrf")).then_some(posted)
    }

    pub(super) fn field(&self, name: &str) -> String {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    }

    fn ticked(&self, name: &str) -> bool {
        self.fields.iter().any(|(k, v)| k == name && v == "1")
    }
}

async fn create(State(state): State<SharedState>, viewer: Viewer, body: Bytes) -> Response {
    let Some(posted) = Posted::checked(&viewer, &body) else {
        return forbidden();
    };
    let input = StatusPageInput {
        slug: posted.field("slug"),
        name: posted.field("name"),
        host: Some(posted.field("host")),
        time_zone: Some(posted.field("time_zone")),
        auto_publish: posted.ticked("auto_publish"),
        remind_every_minutes: match posted.field("remind_every_minutes").trim() {
            "" => None,
            text => match text.parse() {
                Ok(minutes) => Some(minutes),
                Err(_) => {
                    return failed(
                        &state,
                        "/status-pages#new-page",
                        "Remind every: a number of minutes, such as 30.",
                    );
                }
            },
        },
    };
    match state.app.create_status_page(&viewer.acting(), input).await {
        Ok(made) => done(
            &state,
            &format!("/status-pages/{}", made.slug),
            format!(
                "Made the status page {}. Add its components below.",
                made.name
            ),
        ),
        Err(e) => failed(&state, "/status-pages#new-page", ApiError::from(e)),
    }
}

#[derive(serde::Deserialize)]
struct ShowQuery {
    /// A template (id) to fill in "Tell the public" with.
    #[serde(default)]
    template: Option<String>,
}

async fn show(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Query(query): Query<ShowQuery>,
) -> Response {
    let found = async {
        let p = state.app.find_status_page(&slug).await?;
        let components = state.store.components(p.id).await?;
        let services = state.store.list_services().await?;
        let now = state.clock.now();
        let since = now.saturating_sub(std::time::Duration::from_secs(24 * 3600));
        let incidents = state.store.status_incidents(p.id, since).await?;
        let templates = state.store.status_templates(p.id).await?;
        let subscribers = if viewer.chrome().is_admin {
            state.app.subscribers(&viewer.acting(), &p.slug).await?
        } else {
            Vec::new()
        };
        Ok::<_, ApiError>((
            p,
            components,
            services,
            incidents,
            now,
            templates,
            subscribers,
        ))
    };
    let (p, components, services, incidents, now, templates, subscribers) = match found.await {
        Ok(found) => found,
        Err(e) => return super::error_page(e),
    };
    let tz = zone(&p.time_zone);
    let name_of = |id| {
        components
            .iter()
            .find(|c| c.id == id)
            .map(|c| c.name.clone())
    };
    let chosen = query
        .template
        .as_deref()
        .and_then(|t| templates.iter().find(|x| x.id.to_string() == t));
    let unchanged = |c: &onduty_store::status_pages::Component| {
        let proposed = chosen
            .and_then(|t| t.components.iter().find(|(id, _)| *id == c.id))
            .map(|(_, s)| *s);
        let mut choices = vec![Choice::new(
            "",
            format!("unchanged ({})", c.status.label()),
            proposed.is_none(),
        )];
        choices.extend(
            ComponentStatus::ALL
                .iter()
                .map(|s| Choice::new(s.as_str(), s.label(), proposed == Some(*s))),
        );
        choices
    };
    let open = incidents
        .iter()
        .filter(|i| !i.stage_at(now).is_over())
        .map(|i| {
            let stage = i.stage_at(now);
            let statuses = match stage {
                Stage::Incident(_) => IncidentStatus::ALL
                    .iter()
                    .map(|s| Choice::new(s.as_str(), s.label(), Stage::Incident(*s) == stage))
                    .collect(),
                Stage::Maintenance(_) => MaintenanceStatus::ALL
                    .iter()
                    .map(|s| Choice::new(s.as_str(), s.label(), Stage::Maintenance(*s) == stage))
                    .collect(),
            };
            PublicRow {
                id: i.id.to_string(),
                name: i.name.clone(),
                draft: i.draft,
                stage: stage.label(),
                scheduled: i
                    .scheduled
                    .map(|(from, until)| format!("{} to {}", exact(from, &tz), exact(until, &tz))),
                latest: i
                    .updates
                    .first()
                    .map(|u| u.body.clone())
                    .unwrap_or_default(),
                statuses,
            }
        })
        .collect();
    let tomorrow = now.saturating_add(std::time::Duration::from_secs(24 * 3600));
    let rows = components
        .iter()
        .map(|c| ComponentRow {
            id: c.id.to_string(),
            name: c.name.clone(),
            state: if c.is_group {
                "group".to_owned()
            } else {
                c.status.label().to_owned()
            },
            group: c.group.and_then(name_of),
            service: c
                .service
                .and_then(|s| services.iter().find(|x| x.id == s))
                .map(|s| s.name.to_string()),
            choices: unchanged(c),
        })
        .collect::<Vec<_>>();
    page(ShowPage {
        chrome: viewer.chrome(),
        slug: p.slug.clone(),
        name: p.name.clone(),
        time_zone: p.time_zone.clone(),
        groups: components
            .iter()
            .filter(|c| c.is_group)
            .map(|c| Choice::new(c.id.to_string(), c.name.clone(), false))
            .collect(),
        services: services
            .iter()
            .map(|s| Choice::new(s.id.to_string(), s.name.to_string(), false))
            .collect(),
        components: rows,
        open,
        templates: templates
            .iter()
            .map(|t| TemplateRow {
                id: t.id.to_string(),
                name: t.name.clone(),
                title: t.title.clone(),
            })
            .collect(),
        drafted: chosen.map(|t| (t.title.clone(), t.body.clone())),
        statuses: IncidentStatus::ALL
            .iter()
            .map(|s| Choice::new(s.as_str(), s.label(), *s == IncidentStatus::Investigating))
            .collect(),
        subscribers: subscribers
            .iter()
            .map(|s| SubscriberRow {
                id: s.id.to_string(),
                kind: s.subscription.kind(),
                address: s.subscription.address().to_owned(),
                confirmed: s.confirmed_at.is_some(),
            })
            .collect(),
        from: local_field(tomorrow, &tz),
        until: local_field(
            tomorrow.saturating_add(std::time::Duration::from_secs(3600)),
            &tz,
        ),
    })
}

async fn add_component(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    let Some(posted) = Posted::checked(&viewer, &body) else {
        return forbidden();
    };
    let input = ComponentInput {
        name: posted.field("name"),
        description: Some(posted.field("description")),
        group: Some(posted.field("group")),
        is_group: posted.ticked("is_group"),
        status: None,
        only_show_if_degraded: false,
        service: Some(posted.field("service")),
    };
    let to = format!("/status-pages/{slug}");
    match state
        .app
        .create_component(&viewer.acting(), &slug, input)
        .await
    {
        Ok(c) => done(&state, &to, format!("Added {}.", c.name)),
        Err(e) => failed(&state, &format!("{to}#add-component"), ApiError::from(e)),
    }
}

async fn open(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    body: Bytes,
) -> Response {
    let Some(posted) = Posted::checked(&viewer, &body) else {
        return forbidden();
    };
    let to = format!("/status-pages/{slug}");
    let opened = async {
        let scheduled = if posted.ticked("maintenance") {
            let p = state.app.find_status_page(&slug).await?;
            let tz = zone(&p.time_zone);
            Some((
                from_local_field("The start", &posted.field("from"), &tz)?,
                from_local_field("The end", &posted.field("until"), &tz)?,
            ))
        } else {
            None
        };
        let input = StatusIncidentInput {
            name: posted.field("name"),
            scheduled,
            quiet_paging: posted.ticked("quiet_paging"),
            first: StatusUpdateInput {
                status: String::new(),
                body: posted.field("body"),
                components: posted.components.clone(),
                template: Some(posted.field("template")),
            },
            ..StatusIncidentInput::default()
        };
        Ok::<_, ApiError>(
            state
                .app
                .open_status_incident(&viewer.acting(), &slug, input)
                .await?,
        )
    };
    match opened.await {
        Ok(i) => done(&state, &to, format!("Published \"{}\".", i.name)),
        Err(e) => failed(&state, &to, e),
    }
}

async fn update(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path((slug, id)): Path<(String, String)>,
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
    let to = format!("/status-pages/{slug}");
    match state
        .app
        .post_status_update(&viewer.acting(), &slug, &id, input)
        .await
    {
        Ok(i) => done(
            &state,
            &to,
            format!(
                "Posted: \"{}\" is {}.",
                i.name,
                i.stage.label().to_lowercase()
            ),
        ),
        Err(e) => failed(&state, &to, ApiError::from(e)),
    }
}

async fn publish(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path((slug, id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some(_) = Posted::checked(&viewer, &body) else {
        return forbidden();
    };
    let to = format!("/status-pages/{slug}");
    match state
        .app
        .publish_status_draft(&viewer.acting(), &slug, &id)
        .await
    {
        Ok(i) => done(&state, &to, format!("Published \"{}\".", i.name)),
        Err(e) => failed(&state, &to, ApiError::from(e)),
    }
}
