//! The PagerDuty Events API v2, unchanged: `POST /v2/enqueue` and `/v2/change/enqueue`.
//!
//! Responses are PagerDuty's, not the REST API's error shape, so that tools configured
//! for PagerDuty work by changing only the URL. `202` is sent only after the event's
//! transaction has committed (the ingest writer answers after its group commit).

use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onduty_core::batch::{HandedIn, Inbound, Received, Rejected};
use onduty_core::event::{Parsed, parse_alert_event, parse_change_event};
use onduty_core::{EventId, RoutingKey};
use onduty_store::StoreError;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{INGEST_BODY_LIMIT, SharedState};

pub(crate) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(enqueue))
        .routes(routes!(change_enqueue))
        .layer(axum::extract::DefaultBodyLimit::max(INGEST_BODY_LIMIT))
}

/// PagerDuty's success response.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventAccepted {
    /// Always `success`.
    pub status: &'static str,
    /// `Event processed` (alert events) or `Change event processed`.
    pub message: &'static str,
    /// The event's dedup key; generated when a trigger came without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedup_key: Option<String>,
    /// onduty's addition, present only when something was adjusted to accept the event
    /// (for example a summary truncated to 1024 characters).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// PagerDuty's refusal response: one message per problem.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventRefused {
    /// `invalid event`, `throttle event`, `unavailable` or `error`.
    pub status: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
}

fn refused(code: StatusCode, status: &'static str, message: &str, errors: Vec<String>) -> Response {
    (
        code,
        Json(EventRefused {
            status,
            message: message.to_owned(),
            errors,
        }),
    )
        .into_response()
}

fn invalid(errors: Vec<String>) -> Response {
    refused(
        StatusCode::BAD_REQUEST,
        "invalid event",
        "Event object is invalid",
        errors,
    )
}

pub(crate) fn throttled(wait: Duration) -> Response {
    let mut response = refused(
        StatusCode::TOO_MANY_REQUESTS,
        "throttle event",
        "Too many events for this routing key; retry later",
        Vec::new(),
    );
    let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, v);
    }
    response
}

/// Reads the body as JSON, or answers as PagerDuty would.
#[allow(clippy::result_large_err)]
pub(crate) fn json_body(body: Result<Bytes, BytesRejection>) -> Result<Value, Response> {
    let bytes = match body {
        Ok(b) => b,
        Err(r) if r.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return Err(refused(
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid event",
                "Event object is invalid",
                vec![format!(
                    "The request body is larger than {} KB",
                    INGEST_BODY_LIMIT / 1024
                )],
            ));
        }
        Err(r) => {
            return Err(invalid(vec![format!(
                "The request body could not be read: {}",
                r.body_text()
            )]));
        }
    };
    serde_json::from_slice(&bytes).map_err(|e| invalid(vec![format!("Malformed JSON: {e}")]))
}

/// Hands the event to the ingest writer and answers once it is committed.
async fn submit(
    state: &SharedState,
    key: &RoutingKey,
    received: Received,
    message: &'static str,
) -> Response {
    let warnings = received.warnings.clone();
    match state.writer.submit(received).await {
        Ok(Ok(accepted)) => {
            state.wake.notify_one();
            (
                StatusCode::ACCEPTED,
                Json(EventAccepted {
                    status: "success",
                    message,
                    dedup_key: accepted.dedup_key.map(|k| k.as_str().to_owned()),
                    warnings,
                }),
            )
                .into_response()
        }
        Ok(Err(Rejected::UnknownRoutingKey)) => invalid(vec![format!(
            "'routing_key' {}… does not match any integration on this onduty server",
            &key.as_str()[..8]
        )]),
        Ok(Err(Rejected::HeartbeatKey)) => invalid(vec![format!(
            "'routing_key' {}… belongs to a heartbeat: it takes pings at /ping/<key>, not events",
            &key.as_str()[..8]
        )]),
        // The dedup rule routed the event where the lifecycle refuses it: a bug, and
        // nothing was stored, so the sender is told to retry.
        Ok(Err(e @ Rejected::Refused(_))) => {
            tracing::error!(error = %e, "event not applied");
            refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "onduty could not apply this event; retry",
                Vec::new(),
            )
        }
        Err(StoreError::WriterStopped) => refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "onduty is shutting down; retry",
            Vec::new(),
        ),
        Err(e @ StoreError::Unavailable(_)) => {
            tracing::error!(error = %e, "event not stored");
            refused(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "The database is unavailable; retry",
                Vec::new(),
            )
        }
        Err(e) => {
            tracing::error!(error = %e, "event not stored");
            refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                "error",
                "The event could not be stored; retry",
                Vec::new(),
            )
        }
    }
}

/// Send an alert event (trigger, acknowledge or resolve), as PagerDuty's Events API v2.
#[utoipa::path(
    post,
    path = "/v2/enqueue",
    tag = "events",
    security(()),
    request_body(content = Object, description = "A PagerDuty Events API v2 event", content_type = "application/json"),
    responses(
        (status = 202, description = "Stored durably", body = EventAccepted),
        (status = 400, description = "Invalid event, or unknown routing key", body = EventRefused),
        (status = 413, description = "Body over 512 KB", body = EventRefused),
        (status = 429, description = "Routing key over its rate limit; retry after the Retry-After seconds", body = EventRefused),
        (status = 500, description = "Not stored; retry", body = EventRefused),
        (status = 503, description = "Shutting down; retry", body = EventRefused),
    )
)]
async fn enqueue(
    State(state): State<SharedState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    accept(
        &state,
        body,
        parse_alert_event,
        "Event processed",
        |event| {
            let key = event
                .routing_key
                .clone()
                .expect("a parsed event has a routing key");
            (key, Inbound::Alert(event))
        },
    )
    .await
}

/// The common path of both endpoints: read, parse, rate-limit, submit, answer.
async fn accept<T>(
    state: &SharedState,
    body: Result<Bytes, BytesRejection>,
    parse: impl FnOnce(&Value) -> Result<Parsed<T>, Vec<String>>,
    message: &'static str,
    prepare: impl FnOnce(T) -> (RoutingKey, Inbound),
) -> Response {
    let now = state.clock.now();
    let value = match json_body(body) {
        Ok(v) => v,
        Err(response) => return response,
    };
    let parsed = match parse(&value) {
        Ok(p) => p,
        Err(errors) => return invalid(errors),
    };
    let (key, event) = prepare(parsed.value);
    if let Err(wait) = crate::rate_limit::admit_event(state, &key, now).await {
        return throttled(wait);
    }
    let received = Received {
        id: EventId::new(now),
        received_at: now,
        event,
        warnings: parsed.warnings,
        from: HandedIn::BySender,
    };
    submit(state, &key, received, message).await
}

/// Send a change event (a deploy, a configuration change): recorded on the service's
/// timeline; nobody is paged.
#[utoipa::path(
    post,
    path = "/v2/change/enqueue",
    tag = "events",
    security(()),
    request_body(content = Object, description = "A PagerDuty Events API v2 change event", content_type = "application/json"),
    responses(
        (status = 202, description = "Stored durably", body = EventAccepted),
        (status = 400, description = "Invalid event, or unknown routing key", body = EventRefused),
        (status = 413, description = "Body over 512 KB", body = EventRefused),
        (status = 429, description = "Routing key over its rate limit", body = EventRefused),
    )
)]
async fn change_enqueue(
    State(state): State<SharedState>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    accept(
        &state,
        body,
        parse_change_event,
        "Change event processed",
        |change| {
            let key = change
                .routing_key
                .clone()
                .expect("a parsed event has a routing key");
            (key, Inbound::Change(change))
        },
    )
    .await
}
