//! `/api/v1/heartbeats` and `/api/v1/services/{id}/heartbeats`: jobs that must ping in
//! time, with their state, last ping, ping URL and a crontab line.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use onduty_core::Timestamp;
use onduty_store::heartbeats::Heartbeat;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Caller;
use super::services::find_service;
use crate::SharedState;
use crate::error::{ApiError, ApiJson, ApiPath, ErrorBody};
use onduty_app::HeartbeatInput;

pub(super) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(list_heartbeats))
        .routes(routes!(service_heartbeats, create_heartbeat))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HeartbeatView {
    pub id: String,
    pub name: String,
    pub service_id: String,
    /// `new` (never pinged), `up`, `late` or `failing` (an incident is open for the last two).
    pub state: String,
    /// `{"type": "period", "period_minutes", "grace_minutes"}` or `{"type": "cron",
    /// "cron", "time_zone", "grace_minutes"}`.
    #[schema(value_type = Object)]
    pub expect: Value,
    /// Ping this: `GET`/`POST`/`HEAD`; add `/start`, `/fail` or `/<exit status>`.
    /// Observers see the key's first characters only.
    pub ping_url: String,
    /// A crontab line that runs a job and reports how it went.
    pub crontab: String,
    /// Mail here is a success ping too, when onduty takes mail (`mail.domain`).
    pub email_address: Option<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub last_ping_at: Option<Timestamp>,
    /// `success`, `start`, `fail` or `exit N`.
    pub last_ping: Option<String>,
    /// The first 10 KB of the last ping's body.
    pub last_body: Option<String>,
    /// When it is overdue unless it pings (none while late or failing).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Timestamp>,
}

impl HeartbeatView {
    pub fn new(
        h: &Heartbeat,
        public_url: &str,
        mail_domain: Option<&str>,
        reveal_key: bool,
    ) -> Self {
        let key = if reveal_key {
            h.routing_key.as_str().to_owned()
        } else {
            format!("{}…", &h.routing_key.as_str()[..4])
        };
        let ping_url = format!("{}/ping/{key}", public_url.trim_end_matches('/'));
        HeartbeatView {
            id: h.id.to_string(),
            name: h.name.clone(),
            service_id: h.service_id.to_string(),
            state: h.state.as_str().to_owned(),
            expect: serde_json::to_value(&h.expect).unwrap_or(Value::Null),
            crontab: h.expect.crontab_line(&ping_url),
            email_address: mail_domain
                .filter(|_| reveal_key)
                .map(|d| format!("{}@{d}", h.routing_key)),
            ping_url,
            last_ping_at: h.last_ping_at,
            last_ping: h.last_ping.clone(),
            last_body: h.last_body.clone(),
            due_at: h.due_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HeartbeatList {
    pub heartbeats: Vec<HeartbeatView>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct HeartbeatEnvelope {
    pub heartbeat: HeartbeatView,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewHeartbeatBody {
    /// 1 to 100 characters: what the job is ("nightly-backup").
    #[schema(format = "name")]
    pub name: String,
    /// A ping at least this often (minutes, up to 527040: a year); or give `cron`.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 527040)]
    pub period_minutes: Option<u32>,
    /// A cron expression (5 fields, or 6 with seconds) of when the job runs.
    #[serde(default)]
    pub cron: Option<String>,
    /// The cron expression's clock (IANA; default UTC).
    #[serde(default)]
    #[schema(format = "time-zone")]
    pub time_zone: Option<String>,
    /// How late a ping may be (minutes, up to a year; default 5).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 527040)]
    pub grace_minutes: Option<u32>,
}

fn list(state: &SharedState, caller: &Caller, found: &[Heartbeat]) -> HeartbeatList {
    HeartbeatList {
        heartbeats: found
            .iter()
            .map(|h| {
                HeartbeatView::new(
                    h,
                    &state.config.public_url,
                    state.config.mail_domain.as_deref(),
                    caller.0.role.can_respond(),
                )
            })
            .collect(),
    }
}

/// Every heartbeat, by name.
#[utoipa::path(get, path = "/heartbeats", tag = "heartbeats", responses((status = 200, body = HeartbeatList)))]
async fn list_heartbeats(
    State(state): State<SharedState>,
    caller: Caller,
) -> Result<Json<HeartbeatList>, ApiError> {
    let found = state.store.list_heartbeats(None).await?;
    Ok(Json(list(&state, &caller, &found)))
}

/// A service's heartbeats.
#[utoipa::path(
    get, path = "/services/{id}/heartbeats", tag = "heartbeats",
    params(("id" = String, Path, description = "Service id or name")),
    responses((status = 200, body = HeartbeatList), (status = 404, body = ErrorBody))
)]
async fn service_heartbeats(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<HeartbeatList>, ApiError> {
    let service = find_service(&state, &id).await?;
    let found = state.store.list_heartbeats(Some(service.id)).await?;
    Ok(Json(list(&state, &caller, &found)))
}

/// Make a heartbeat on a service (admins): pinged every period, or on a cron schedule.
#[utoipa::path(
    post, path = "/services/{id}/heartbeats", tag = "heartbeats",
    params(("id" = String, Path, description = "Service id or name")),
    request_body = NewHeartbeatBody,
    responses(
        (status = 201, body = HeartbeatEnvelope),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    )
)]
pub(crate) async fn create_heartbeat(
    State(state): State<SharedState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<NewHeartbeatBody>,
) -> Result<(StatusCode, Json<HeartbeatEnvelope>), ApiError> {
    let input = HeartbeatInput {
        name: body.name,
        period_minutes: body.period_minutes,
        cron: body.cron,
        time_zone: body.time_zone,
        grace_minutes: body.grace_minutes,
    };
    let made = state
        .app
        .create_heartbeat(&caller.acting(), &id, input)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(HeartbeatEnvelope {
            heartbeat: HeartbeatView::new(
                &made,
                &state.config.public_url,
                state.config.mail_domain.as_deref(),
                caller.0.role.can_respond(),
            ),
        }),
    ))
}
