//! Webhooks that monitoring tools send in their own shapes, at a URL holding the
//! integration's key: Prometheus Alertmanager (`POST /integrations/<key>/alertmanager`),
//! Grafana alerting (`POST /integrations/<key>/grafana`), and any JSON read through the
//! integration's mapping (`POST /integrations/<key>/webhook`). A notification becomes the
//! Events v2 events it means (`onduty_core::alertmanager`), all stored before the answer:
//! `200` once committed, `503` when the database is unavailable (the sender retries; a
//! retried notification folds into the same incidents), `400` when it cannot be read
//! (not retried).

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use onduty_core::alertmanager::{Read, Sender, events};
use onduty_core::batch::{HandedIn, Inbound, Received};
use onduty_core::webhook;
use onduty_core::{EventId, RoutingKey};
use onduty_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::ingest::{json_body, throttled};
use crate::{INGEST_BODY_LIMIT, SharedState};

pub(crate) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(notify))
        .layer(axum::extract::DefaultBodyLimit::max(INGEST_BODY_LIMIT))
}

/// The answer to a notification.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationAnswer {
    /// `success`, `invalid`, `throttled` or `unavailable`.
    pub status: &'static str,
    pub message: String,
    /// Events stored (one per alert, or one per group).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub events: Option<usize>,
    /// What could not be read, or what was adjusted to accept it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

fn answer(
    code: StatusCode,
    status: &'static str,
    message: impl Into<String>,
    errors: Vec<String>,
) -> Response {
    (
        code,
        Json(NotificationAnswer {
            status,
            message: message.into(),
            events: None,
            errors,
            warnings: Vec::new(),
        }),
    )
        .into_response()
}

/// Receive a notification from Alertmanager (webhook payload version 4), Grafana alerting
/// (webhook contact point), or any JSON for a JSON webhook integration.
#[utoipa::path(
    post, path = "/integrations/{key}/{tool}", tag = "events", security(()),
    params(
        ("key" = String, Path, description = "The integration's key"),
        ("tool" = String, Path, description = "`alertmanager`, `grafana`, or `webhook` (any JSON, read through the integration's mapping)"),
    ),
    request_body(content = Object, description = "The tool's webhook payload", content_type = "application/json"),
    responses(
        (status = 200, description = "Stored durably", body = NotificationAnswer),
        (status = 400, description = "Unreadable, or not a key of this server", body = NotificationAnswer),
        (status = 404, description = "Not a tool onduty reads", body = NotificationAnswer),
        (status = 413, description = "Body over 512 KB", body = NotificationAnswer),
        (status = 429, description = "Over the integration's rate limit; retry later", body = NotificationAnswer),
        (status = 503, description = "Not stored; retry", body = NotificationAnswer),
    )
)]
async fn notify(
    State(state): State<SharedState>,
    Path((key, tool)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let sender = match tool.as_str() {
        "alertmanager" => Some(Sender::Alertmanager),
        "grafana" => Some(Sender::Grafana),
        "webhook" => None,
        _ => {
            return answer(
                StatusCode::NOT_FOUND,
                "invalid",
                "onduty reads webhooks from alertmanager and grafana, and any JSON at /webhook",
                Vec::new(),
            );
        }
    };
    receive(&state, &key, body, sender).await
}

async fn receive(
    state: &SharedState,
    key: &str,
    body: Result<Bytes, BytesRejection>,
    // None: the generic JSON webhook, read through the integration's mapping.
    sender: Option<Sender>,
) -> Response {
    let now = state.clock.now();
    let unknown = || {
        answer(
            StatusCode::BAD_REQUEST,
            "invalid",
            "this URL's key does not match any integration on this onduty server",
            Vec::new(),
        )
    };
    let Ok(key) = RoutingKey::parse(key) else {
        return unknown();
    };
    let integration = match state.store.integration_by_routing_key(&key).await {
        Ok(Some(i)) => i,
        Ok(None) => return unknown(),
        Err(e) => {
            tracing::error!(error = %e, "cannot look an integration up");
            return answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "The database is unavailable; retry",
                Vec::new(),
            );
        }
    };
    let value = match json_body(body) {
        Ok(v) => v,
        Err(response) => return response,
    };
    let read = match sender {
        Some(sender) => events(&value, key.as_str(), integration.settings.group_by, sender),
        None => match &integration.settings.mapping {
            Some(mapping) => {
                let generated = format!("webhook-{}", EventId::new(now));
                webhook::event(&value, mapping, key.as_str(), &generated).map(|p| Read {
                    events: vec![p],
                    unreadable: Vec::new(),
                })
            }
            None => Err(vec![
                "this integration has no mapping: make it a JSON webhook integration".to_owned(),
            ]),
        },
    };
    // Unreadable alerts do not keep the readable ones out; with none readable, refuse.
    let (parsed, unreadable) = match read {
        Ok(r) if r.events.is_empty() && !r.unreadable.is_empty() => {
            return answer(
                StatusCode::BAD_REQUEST,
                "invalid",
                "The notification could not be read",
                r.unreadable,
            );
        }
        Ok(r) => (r.events, r.unreadable),
        Err(errors) => {
            return answer(
                StatusCode::BAD_REQUEST,
                "invalid",
                "The notification could not be read",
                errors,
            );
        }
    };
    for _ in &parsed {
        if let Err(wait) = crate::rate_limit::admit_event(state, &key, now).await {
            return throttled(wait);
        }
    }
    let mut warnings = Vec::new();
    let mut jobs = Vec::with_capacity(parsed.len());
    for p in parsed {
        warnings.extend(p.warnings.iter().cloned());
        let received = Received {
            id: EventId::new(now),
            received_at: now,
            event: Inbound::Alert(p.value),
            warnings: p.warnings,
            from: HandedIn::BySender,
        };
        jobs.push(state.writer.submit(received));
    }
    // All are handed to the writer at once: they commit together.
    let results = futures::future::join_all(jobs).await;
    let stored = results.len();
    for result in results {
        match result {
            Ok(Ok(_)) => {}
            Ok(Err(rejected)) => {
                return answer(
                    StatusCode::BAD_REQUEST,
                    "invalid",
                    rejected.to_string(),
                    Vec::new(),
                );
            }
            Err(e @ (StoreError::WriterStopped | StoreError::Unavailable(_))) => {
                tracing::warn!(error = %e, "notification not stored");
                return answer(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Not stored; retry",
                    Vec::new(),
                );
            }
            Err(e) => {
                tracing::error!(error = %e, "notification not stored");
                return answer(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Not stored; retry",
                    Vec::new(),
                );
            }
        }
    }
    state.wake.notify_one();
    (
        StatusCode::OK,
        Json(NotificationAnswer {
            status: "success",
            message: "Notification processed".to_owned(),
            events: Some(stored),
            errors: unreadable,
            warnings,
        }),
    )
        .into_response()
}
