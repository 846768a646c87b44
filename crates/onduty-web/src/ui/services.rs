//! Services: the list, a new-service form, and each service's page with its paging
//! settings and its integrations (keys, a curl example, and the settings to paste into
//! Alertmanager and Grafana). Every change goes through the same code as the REST API.

use super::CsrfForm;
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Form, Router};
use onduty_core::escalation::Policy;
use serde::Deserialize;

use super::auth::forbidden;
use super::flash::{after, done, failed};
use super::{Choice, Viewer, page};
use crate::SharedState;
use crate::api::heartbeats::HeartbeatView;
use crate::api::views::IntegrationView;
use crate::error::ApiError;
use onduty_app::{
    HeartbeatInput, IntegrationInput, MaintenanceInput, PagingInput, ServiceInput, Until,
};
use onduty_core::service::IntegrationKind;

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/services", get(list).post(create))
        .route("/services/{id}", get(show).post(update))
        .route("/services/{id}/integrations", post(add_integration))
        .route("/services/{id}/heartbeats", post(add_heartbeat))
        .route(
            "/services/{id}/integrations/{integration}/try",
            post(try_mapping),
        )
        .route("/services/{id}/maintenance", post(start_maintenance))
        .route(
            "/services/{id}/maintenance/{window}/{action}",
            post(change_maintenance),
        )
}

struct ServiceRow {
    id: String,
    name: String,
    description: String,
    policy: Option<String>,
    in_maintenance: bool,
}

#[derive(Template)]
#[template(path = "services.html")]
struct ServicesPage {
    chrome: super::Chrome,
    services: Vec<ServiceRow>,
    policies: Vec<Choice>,
}

fn policy_name(policies: &[Policy], id: Option<onduty_core::PolicyId>) -> Option<String> {
    let id = id?;
    policies
        .iter()
        .find(|p| p.id == id)
        .map(|p| p.name.to_string())
}

async fn list(State(state): State<SharedState>, viewer: Viewer) -> Response {
    let now = state.clock.now();
    let (services, policies, windows) = match tokio::try_join!(
        state.store.list_services(),
        state.store.list_policies(),
        state.store.list_maintenance(None, now),
    ) {
        Ok(found) => found,
        Err(e) => return super::error_page(e),
    };
    let quiet: Vec<_> = windows
        .iter()
        .filter(|w| w.is_on(now))
        .flat_map(|w| w.services.iter().copied())
        .collect();
    page(ServicesPage {
        chrome: viewer.chrome(),
        services: services
            .iter()
            .map(|s| ServiceRow {
                id: s.id.to_string(),
                name: s.name.to_string(),
                description: s.description.clone(),
                policy: policy_name(&policies, s.settings.policy_id),
                in_maintenance: quiet.contains(&s.id),
            })
            .collect(),
        policies: Choice::list(
            policies.iter().map(|p| (p.id, &p.name)),
            Some(viewer.kept("escalation_policy")).filter(|p| !p.is_empty()),
        ),
    })
}

#[derive(Deserialize)]
struct NewServiceForm {
    csrf: String,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    escalation_policy: String,
}

/// An empty form field means "none".
fn given(text: &str) -> Option<String> {
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_owned())
}

/// Creates a service with an Events API v2 integration, then shows it.
async fn create(
    State(state): State<SharedState>,
    viewer: Viewer,
    Form(form): Form<NewServiceForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let input = ServiceInput {
        name: Some(form.name.trim().to_owned()),
        description: given(&form.description),
        dedup_mode: None,
        paging: PagingInput {
            escalation_policy: Some(given(&form.escalation_policy)),
            ..PagingInput::default()
        },
        draft_postmortems: None,
    };
    // The service and its first integration, in one transaction.
    let first = IntegrationInput::default();
    match state
        .app
        .create_service(&viewer.acting(), input, vec![first])
        .await
    {
        Ok((service, _)) => done(
            &state,
            &format!("/services/{}", service.id),
            format!(
                "Created {}. Send it a first event with the curl command below.",
                service.name
            ),
        ),
        Err(e) => super::flash::failed_keeping(
            &state,
            "/services#new-service",
            ApiError::from(e),
            &[
                ("name", &form.name),
                ("description", &form.description),
                ("escalation_policy", &form.escalation_policy),
            ],
        ),
    }
}

#[derive(Template)]
#[template(path = "service.html")]
struct ServicePage {
    chrome: super::Chrome,
    id: String,
    name: String,
    description: String,
    policy: Option<(String, String)>,
    policies: Vec<Choice>,
    teams: Vec<Choice>,
    urgencies: Vec<Choice>,
    dedup_modes: Vec<Choice>,
    ack_timeout: String,
    auto_resolve: String,
    group_window: String,
    flap_window: String,
    draft_postmortems: bool,
    integrations: Vec<IntegrationView>,
    heartbeats: Vec<HeartbeatRow>,
    time_zone: String,
    maintenance: Vec<MaintenanceRow>,
    /// Integrations over their rate limit: name, events refused, since, latest.
    throttled: Vec<(String, u64, String, String)>,
    /// The newest change events (deploys, and onduty's notes of refused events): when,
    /// summary, source.
    changes: Vec<(String, String, String)>,
    /// Chat channels that get the service's incidents: id, "Slack C0123", why it fails.
    chat_channels: Vec<(String, String, Option<String>)>,
    runbooks: Vec<RunbookRow>,
}

/// A runbook of the service, as its page lists it.
struct RunbookRow {
    id: String,
    title: String,
    /// `service`, `alertname`, `dedup_key` or `summary`.
    matching: &'static str,
    pattern: String,
    version: i64,
}

/// Change events shown on a service's page.
const CHANGES_SHOWN: u32 = 5;

/// A maintenance window of the service, on the viewer's clock.
struct MaintenanceRow {
    id: String,
    on: bool,
    start: String,
    end: String,
    reason: String,
    /// The other services in it.
    others: Vec<String>,
}

/// A heartbeat, with its times on the viewer's clock.
struct HeartbeatRow {
    view: HeartbeatView,
    last: Option<String>,
    due: Option<String>,
}

async fn show(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Response {
    let service = match state.app.find_service(&id).await {
        Ok(s) => s,
        Err(e) => return super::error_page(e),
    };
    let found = tokio::try_join!(
        state.store.list_policies(),
        state.store.list_teams(),
        state.store.list_integrations(service.id),
        state.store.list_heartbeats(Some(service.id)),
        state
            .store
            .list_maintenance(Some(service.id), state.clock.now()),
        state.store.list_changes(service.id, None, CHANGES_SHOWN),
        state
            .store
            .chat_channels(onduty_core::chat::ChatScope::Service(service.id)),
        state.store.runbooks(service.id),
    );
    let (policies, teams, integrations, heartbeats, windows, (changes, _), chat, runbooks) =
        match found {
            Ok(found) => found,
            Err(e) => return super::error_page(e),
        };
    let settings = &service.settings;
    let urgency = settings.urgency.as_str();
    let minutes = |m: Option<u32>| m.map(|m| m.to_string()).unwrap_or_default();
    let reveal = viewer.user.role.can_respond();
    let tz = viewer.zone();
    let changes = changes
        .iter()
        .map(|c| {
            (
                super::time::when(c.received_at, &tz),
                c.change.summary.clone(),
                c.change.source.clone().unwrap_or_default(),
            )
        })
        .collect();
    page(ServicePage {
        changes,
        runbooks: runbooks
            .iter()
            .map(|r| RunbookRow {
                id: r.id.to_string(),
                title: if r.title.is_empty() {
                    "Runbook".to_owned()
                } else {
                    r.title.clone()
                },
                matching: r.scope.kind(),
                pattern: r.scope.pattern().to_owned(),
                version: r.version,
            })
            .collect(),
        chat_channels: chat
            .iter()
            .map(|c| {
                let place = format!(
                    "{} {}",
                    c.platform.label(),
                    onduty_core::chat::channel_shown(c.platform, &c.channel)
                );
                (c.id.to_string(), place, c.failing.clone())
            })
            .collect(),
        chrome: viewer.chrome(),
        id: service.id.to_string(),
        name: service.name.to_string(),
        description: service.description.clone(),
        policy: settings
            .policy_id
            .and_then(|id| policy_name(&policies, Some(id)).map(|name| (id.to_string(), name))),
        policies: Choice::list(
            policies.iter().map(|p| (p.id, &p.name)),
            settings.policy_id.map(|id| id.to_string()),
        ),
        teams: Choice::list(
            teams.iter().map(|t| (t.id, &t.name)),
            settings.team_id.map(|id| id.to_string()),
        ),
        urgencies: Choice::list(
            [
                ("high", "High: page at once"),
                ("low", "Low: page through low-urgency rules"),
                (
                    "severity",
                    "From the event's severity (critical and error are high)",
                ),
            ],
            Some(urgency.to_owned()),
        ),
        dedup_modes: Choice::list(
            [
                ("open", "Repeats fold into any open incident"),
                (
                    "triggered",
                    "A repeat after acknowledgement opens a new incident",
                ),
            ],
            Some(service.dedup_mode.as_str().to_owned()),
        ),
        ack_timeout: minutes(settings.ack_timeout_minutes),
        auto_resolve: minutes(settings.auto_resolve_minutes),
        group_window: minutes(settings.group_window_minutes),
        flap_window: minutes(settings.flap_window_minutes),
        draft_postmortems: service.draft_postmortems,
        // A heartbeat's integration is shown with its heartbeat.
        integrations: integrations
            .iter()
            .filter(|i| i.kind != IntegrationKind::Heartbeat)
            .map(|i| {
                IntegrationView::new(i, &state.config.public_url, reveal)
                    .with_mail_domain(state.config.mail_domain.as_deref(), reveal)
            })
            .collect(),
        heartbeats: heartbeats
            .iter()
            .map(|h| HeartbeatRow {
                view: HeartbeatView::new(
                    h,
                    &state.config.public_url,
                    state.config.mail_domain.as_deref(),
                    reveal,
                ),
                last: h.last_ping_at.map(|t| super::time::when(t, &tz)),
                due: h.due_at.map(|t| super::time::when(t, &tz)),
            })
            .collect(),
        time_zone: viewer.user.time_zone.to_string(),
        throttled: integrations
            .iter()
            .filter_map(|i| {
                let r = state.limiter.refused(i.routing_key.as_str())?;
                Some((
                    i.name.to_string(),
                    r.count,
                    super::time::when(r.since, &tz),
                    super::time::when(r.last, &tz),
                ))
            })
            .collect(),
        maintenance: {
            let now = state.clock.now();
            let mut rows = Vec::with_capacity(windows.len());
            for w in &windows {
                let view = crate::api::maintenance::view(&state, w, now).await;
                rows.push(MaintenanceRow {
                    id: view.id,
                    on: view.on,
                    start: super::time::when(w.start, &tz),
                    end: super::time::when(w.end, &tz),
                    reason: view.reason,
                    others: view
                        .services
                        .into_iter()
                        .filter(|s| s.id != service.id.to_string())
                        .map(|s| s.name)
                        .collect(),
                });
            }
            rows
        },
    })
}

#[derive(Deserialize)]
struct ServiceForm {
    csrf: String,
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    escalation_policy: String,
    #[serde(default)]
    team: String,
    urgency: String,
    dedup_mode: String,
    #[serde(default)]
    ack_timeout_minutes: String,
    #[serde(default)]
    auto_resolve_minutes: String,
    #[serde(default)]
    group_window_minutes: String,
    #[serde(default)]
    flap_window_minutes: String,
    /// A ticked box sends "1"; an unticked one sends nothing.
    #[serde(default)]
    draft_postmortems: String,
}

/// A minutes field: empty is "never".
fn minutes_field(label: &str, text: &str) -> Result<Option<u32>, ApiError> {
    match given(text) {
        None => Ok(None),
        Some(t) => t.parse().map(Some).map_err(|_| {
            ApiError::BadRequest(format!(
                "{label} is a whole number of minutes, or empty for never"
            ))
        }),
    }
}

async fn update(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<ServiceForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let to = format!("/services/{id}");
    let timeouts = minutes_field("The acknowledgement timeout", &form.ack_timeout_minutes)
        .and_then(|ack| {
            Ok((
                ack,
                minutes_field("The auto-resolve time", &form.auto_resolve_minutes)?,
                minutes_field("The grouping window", &form.group_window_minutes)?,
                minutes_field("The flap window", &form.flap_window_minutes)?,
            ))
        });
    let (ack, auto_resolve, group_window, flap_window) = match timeouts {
        Ok(t) => t,
        Err(e) => return failed(&state, &to, e),
    };
    let input = ServiceInput {
        name: Some(form.name.trim().to_owned()),
        description: Some(form.description.trim().to_owned()),
        dedup_mode: Some(form.dedup_mode),
        paging: PagingInput {
            team: Some(given(&form.team)),
            escalation_policy: Some(given(&form.escalation_policy)),
            urgency: Some(form.urgency),
            ack_timeout_minutes: Some(ack),
            auto_resolve_minutes: Some(auto_resolve),
            group_window_minutes: Some(group_window),
            flap_window_minutes: Some(flap_window),
        },
        draft_postmortems: Some(!form.draft_postmortems.is_empty()),
    };
    let updated = state.app.update_service(&viewer.acting(), &id, input).await;
    after(&state, &to, updated, "Saved.")
}

#[derive(Deserialize)]
struct IntegrationForm {
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    group_by: String,
    /// JSON webhooks: the mapping, as JSON.
    #[serde(default)]
    mapping: String,
}

/// A mapping typed into a form, if the form is for a JSON webhook.
fn mapping_field(
    kind: &str,
    text: &str,
) -> Result<Option<onduty_core::webhook::Mapping>, ApiError> {
    if kind != "webhook" {
        return Ok(None);
    }
    serde_json::from_str(text.trim()).map(Some).map_err(|e| {
        ApiError::BadRequest(format!(
            "the mapping is JSON like {{\"summary\": \"/title\", \"dedup_key\": \"/id\"}}: {e}"
        ))
    })
}

async fn add_integration(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<IntegrationForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let to = format!("/services/{id}");
    let mapping = match mapping_field(&form.kind, &form.mapping) {
        Ok(m) => m,
        Err(e) => return failed(&state, &to, e),
    };
    let input = IntegrationInput {
        name: given(&form.name),
        kind: given(&form.kind),
        group_by: given(&form.group_by),
        mapping,
        mail: None,
    };
    let made = state
        .app
        .create_integration(&viewer.acting(), &id, input)
        .await;
    after(&state, &to, made, "Integration added.")
}

#[derive(Deserialize)]
struct HeartbeatForm {
    csrf: String,
    name: String,
    /// `period` or `cron`.
    every: String,
    #[serde(default)]
    period_minutes: String,
    #[serde(default)]
    cron: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    grace_minutes: String,
}

async fn add_heartbeat(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<HeartbeatForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let to = format!("/services/{id}");
    let read = || -> Result<HeartbeatInput, ApiError> {
        let grace = minutes_field("The grace period", &form.grace_minutes)?;
        let by_period = form.every != "cron";
        Ok(HeartbeatInput {
            name: form.name.trim().to_owned(),
            period_minutes: if by_period {
                Some(
                    minutes_field("The period", &form.period_minutes)?.ok_or_else(|| {
                        ApiError::BadRequest("give the period in minutes".to_owned())
                    })?,
                )
            } else {
                None
            },
            cron: (!by_period).then(|| form.cron.trim().to_owned()),
            time_zone: given(&form.time_zone),
            grace_minutes: grace,
        })
    };
    let body = match read() {
        Ok(b) => b,
        Err(e) => return failed(&state, &to, e),
    };
    let made = state
        .app
        .create_heartbeat(&viewer.acting(), &id, body)
        .await;
    after(
        &state,
        &to,
        made,
        "Heartbeat added: point the job at its ping URL below.",
    )
}

#[derive(Deserialize)]
struct MaintenanceForm {
    csrf: String,
    minutes: String,
    reason: String,
}

/// Puts this service in maintenance from now for a while.
async fn start_maintenance(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<MaintenanceForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let to = format!("/services/{id}");
    let minutes = match minutes_field("The length", &form.minutes) {
        Ok(m) => m,
        Err(e) => return failed(&state, &to, e),
    };
    let input = MaintenanceInput {
        services: vec![id.clone()],
        start: None,
        until: minutes.map(Until::Minutes),
        reason: form.reason,
    };
    let made = state.app.create_maintenance(&viewer.acting(), input).await;
    after(
        &state,
        &to,
        made,
        "In maintenance: its events open no incident and page nobody until the end.",
    )
}

/// Ends a window now (`end`) or gives it 30 more minutes (`extend`).
async fn change_maintenance(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path((id, window, action)): Path<(String, String, String)>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let to = format!("/services/{id}");
    match action.as_str() {
        "end" => {
            let ended = state.app.end_maintenance(&viewer.acting(), &window).await;
            after(&state, &to, ended, "Maintenance ended: paging is back.")
        }
        "extend" => {
            let moved = state
                .app
                .extend_maintenance(&viewer.acting(), &window, 30)
                .await;
            after(&state, &to, moved, "Maintenance extended by 30 minutes.")
        }
        other => failed(&state, &to, format!("unknown action '{other}'")),
    }
}

#[derive(Deserialize)]
struct SampleForm {
    csrf: String,
    sample: String,
}

/// Says what a sample body would make under a JSON webhook's mapping; nothing is stored.
async fn try_mapping(
    State(state): State<SharedState>,
    viewer: Viewer,
    Path((id, integration)): Path<(String, String)>,
    Form(form): Form<SampleForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let to = format!("/services/{id}");
    let sample: serde_json::Value = match serde_json::from_str(form.sample.trim()) {
        Ok(v) => v,
        Err(e) => return failed(&state, &to, format!("The sample is not JSON: {e}")),
    };
    let Ok(integration) = integration.parse() else {
        return failed(&state, &to, format!("no integration '{integration}'"));
    };
    let answer = match state.app.try_mapping(integration, &sample, None).await {
        Ok(a) => a,
        Err(e) => return failed(&state, &to, ApiError::from(e)),
    };
    let Some(e) = answer.event else {
        return failed(
            &state,
            &to,
            format!("The sample cannot be read: {}", answer.errors.join("; ")),
        );
    };
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
    let key = text(&e["dedup_key"]);
    let what = if e["alert"].is_object() {
        let a = &e["alert"];
        format!(
            "The sample would trigger '{key}': {} ({}, from {}).",
            text(&a["summary"]),
            text(&a["severity"]),
            text(&a["source"])
        )
    } else {
        format!("The sample would {} '{key}'.", text(&e["action"]))
    };
    done(&state, &to, what)
}
