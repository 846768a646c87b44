//! Heartbeat pings, as healthchecks.io takes them: `GET`, `POST` or `HEAD` of
//! `/ping/<key>` (success), `/ping/<key>/start`, `/ping/<key>/fail` and
//! `/ping/<key>/<exit status>`. The first 10 KB of a body is kept. A failure opens an
//! incident, the next success resolves it; both are stored before the `200`.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use onduty_core::batch::{HandedIn, Inbound, Received};
use onduty_core::heartbeat::{self, Ping, PingBody};
use onduty_core::{EventId, RoutingKey};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::SharedState;

/// Largest ping body read (the first 10 KB of it is kept).
const PING_BODY_LIMIT: usize = 100 * 1024;

pub(crate) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(success))
        .routes(routes!(other))
        .layer(axum::extract::DefaultBodyLimit::max(PING_BODY_LIMIT))
}

/// The job ran and succeeded. A `POST`'s body (the job's output; the first 10 KB is kept)
/// goes on the heartbeat's timeline.
#[utoipa::path(
    method(get, post), path = "/ping/{key}", tag = "pings", security(()),
    params(("key" = String, Path, description = "The heartbeat's key")),
    responses(
        (status = 200, description = "Recorded", body = String, content_type = "text/plain"),
        (status = 404, description = "No heartbeat has this key", body = String, content_type = "text/plain"),
        (status = 413, description = "Body over 100 KB", body = String, content_type = "text/plain"),
        (status = 429, description = "Too many pings; retry after the Retry-After seconds", body = String, content_type = "text/plain"),
        (status = 503, description = "Not recorded; retry", body = String, content_type = "text/plain"),
    )
)]
async fn success(
    State(state): State<SharedState>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    ping(&state, &key, Some(Ping::Success), &body).await
}

/// The job started (`start`), failed (`fail`) or ended with an exit status (`0` is a
/// success, `1` to `255` a failure).
#[utoipa::path(
    method(get, post), path = "/ping/{key}/{what}", tag = "pings", security(()),
    params(
        ("key" = String, Path, description = "The heartbeat's key"),
        ("what" = String, Path, description = "`start`, `fail`, or an exit status from 0 to 255", pattern = "^(start|fail|[0-9]{1,3})$"),
    ),
    responses(
        (status = 200, description = "Recorded", body = String, content_type = "text/plain"),
        (status = 404, description = "No heartbeat has this key, or `what` is none of the above", body = String, content_type = "text/plain"),
        (status = 413, description = "Body over 100 KB", body = String, content_type = "text/plain"),
        (status = 429, description = "Too many pings; retry after the Retry-After seconds", body = String, content_type = "text/plain"),
        (status = 503, description = "Not recorded; retry", body = String, content_type = "text/plain"),
    )
)]
async fn other(
    State(state): State<SharedState>,
    Path((key, what)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    ping(&state, &key, Ping::parse(Some(&what)), &body).await
}

fn text(code: StatusCode, message: &'static str) -> Response {
    (code, message).into_response()
}

async fn ping(state: &SharedState, key: &str, ping: Option<Ping>, body: &[u8]) -> Response {
    let Some(ping) = ping else {
        return text(
            StatusCode::NOT_FOUND,
            "not a ping: use /ping/<key>, /start, /fail or /<exit status 0-255>\n",
        );
    };
    let now = state.clock.now();
    let Ok(key) = RoutingKey::parse(key) else {
        return text(StatusCode::NOT_FOUND, "no heartbeat has this key\n");
    };
    if let Err(wait) = crate::rate_limit::admit_event(state, &key, now).await {
        let mut response = text(StatusCode::TOO_MANY_REQUESTS, "too many pings; slow down\n");
        if let Ok(v) = wait.as_secs().max(1).to_string().parse() {
            response.headers_mut().insert("retry-after", v);
        }
        return response;
    }
    let found = match state.store.heartbeat_by_key(&key).await {
        Ok(Some(h)) => h,
        Ok(None) => return text(StatusCode::NOT_FOUND, "no heartbeat has this key\n"),
        Err(e) => {
            tracing::error!(error = %e, "cannot look a heartbeat up");
            return text(StatusCode::SERVICE_UNAVAILABLE, "unavailable; retry\n");
        }
    };
    let body = PingBody::of_request(body);
    // The incident changes first, the ping is recorded after: a ping retried after a
    // failure here still resolves (or reports) what it should.
    let event = if ping.is_failure() {
        let details = serde_json::json!({"heartbeat": found.name, "ping": ping.as_str(), "body": body.as_str()});
        Some(heartbeat::trigger_event(
            key.as_str(),
            &heartbeat::failure_summary(&found.name, ping),
            details,
        ))
    } else if ping == Ping::Success && found.state.is_down() {
        Some(heartbeat::resolve_event(key.as_str()))
    } else {
        None
    };
    if let Some(event) = event {
        let received = Received {
            id: EventId::new(now),
            received_at: now,
            event: Inbound::Alert(event),
            warnings: Vec::new(),
            from: HandedIn::ByOnduty,
        };
        match state.writer.submit(received).await {
            Ok(Ok(_)) => state.wake.notify_one(),
            Ok(Err(rejected)) => {
                tracing::error!(error = %rejected, "a heartbeat's event was refused");
                return text(StatusCode::SERVICE_UNAVAILABLE, "unavailable; retry\n");
            }
            Err(e) => {
                tracing::error!(error = %e, "a heartbeat's event was not stored");
                return text(StatusCode::SERVICE_UNAVAILABLE, "unavailable; retry\n");
            }
        }
    }
    if let Err(e) = state.store.record_ping(found.id, ping, &body, now).await {
        tracing::error!(error = %e, "cannot record a ping");
        return text(StatusCode::SERVICE_UNAVAILABLE, "unavailable; retry\n");
    }
    text(StatusCode::OK, "OK\n")
}
