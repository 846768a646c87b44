//! Opsgenie's alert API at `/v2/alerts`, for tools and scripts written for Opsgenie:
//! `Authorization: GenieKey <integration key>`, create (the `alias` is the dedup key),
//! acknowledge, close and add notes by `id` (the incident's id), `tiny` (its number) or
//! `alias`, with
//! Opsgenie's `202 {"result": "Request will be processed", "took", "requestId"}` answers
//! and error shapes. Requests are stored before the answer.

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use onduty_core::batch::{HandedIn, Inbound, Received};
use onduty_core::event::{AlertEvent, EventAction};
use onduty_core::incident::{Actor, parse_note};
use onduty_core::service::Integration;
use onduty_core::{EventId, IncidentId, IncidentNumber, IncidentRef, RoutingKey, opsgenie};
use onduty_store::StoreError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::{INGEST_BODY_LIMIT, SharedState};

pub(crate) fn routes() -> OpenApiRouter<SharedState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(act))
        .routes(routes!(request_status))
        .layer(axum::extract::DefaultBodyLimit::max(INGEST_BODY_LIMIT))
}

/// Opsgenie's answer to a request it takes: it is stored, and its outcome can be looked up
/// by `requestId`.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpsgenieAccepted {
    /// Always `Request will be processed`.
    pub result: &'static str,
    /// Seconds the request took.
    pub took: f64,
    #[serde(rename = "requestId")]
    pub request_id: String,
}

/// Opsgenie's answer to a request it refuses.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpsgenieError {
    pub message: String,
    /// Seconds the request took.
    pub took: f64,
    #[serde(rename = "requestId")]
    pub request_id: String,
    /// What is wrong, by field.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub errors: Option<Value>,
}

/// What became of a request, in Opsgenie's shape.
#[derive(Debug, Serialize, ToSchema)]
pub struct OpsgenieRequestStatus {
    pub data: RequestStatusData,
    /// Seconds the request took.
    pub took: f64,
    #[serde(rename = "requestId")]
    pub request_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RequestStatusData {
    pub success: bool,
    /// `Create`, `Acknowledge`, `Close` or `AddNote`.
    pub action: String,
    pub processed_at: String,
    pub integration_id: String,
    pub is_success: bool,
    /// `Created alert`, `Acknowledged alert`, …, or why it was not done.
    pub status: String,
    /// The incident's id, when the request reached one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

/// The note a request carries (`note`, prefixed with the `user` who wrote it if given):
/// `None` without one, an error for one that cannot be a note.
fn note_text(body: &Value) -> Option<Result<String, String>> {
    let note = body.get("note").filter(|v| !v.is_null())?;
    let text = match note.as_str().map(parse_note) {
        Some(Ok(text)) => text,
        Some(Err(why)) => return Some(Err(why)),
        None => return Some(Err("Note should be a string.".to_owned())),
    };
    Some(Ok(match body.get("user").and_then(Value::as_str) {
        Some(user) if !user.trim().is_empty() => {
            format!("{}: {text}", onduty_core::text::without_nul(user.trim()))
        }
        _ => text,
    }))
}

/// Puts `text` on an incident's timeline as a note from the integration, kept with the
/// request it came in.
async fn put_note(
    state: &SharedState,
    answer: &Answer,
    integration: &Integration,
    incident: IncidentId,
    text: &str,
    body: &Value,
) -> Result<(), StoreError> {
    let actor = Actor::Integration {
        id: integration.id,
        name: integration.name.to_string(),
    };
    state
        .store
        .add_note(
            IncidentRef::Id(incident),
            text,
            &actor,
            Some((answer.request, body)),
            state.clock.now(),
        )
        .await
        .map(|_| ())
}

/// The incident of this integration's service that `incident` names, or, by alias, the
/// newest with that key.
async fn find_incident(
    state: &SharedState,
    integration: &Integration,
    incident: Option<IncidentRef>,
    identifier: &str,
) -> Result<Option<IncidentId>, StoreError> {
    match incident {
        Some(r) => match state.store.incident(r).await {
            Ok(i) if i.service_id == integration.service_id => Ok(Some(i.id)),
            Ok(_) | Err(StoreError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        },
        None => {
            let key = onduty_core::DedupKey::fitted(identifier);
            state
                .store
                .newest_incident_with_key(integration.service_id, &key)
                .await
        }
    }
}

/// `POST /v2/alerts/{identifier}/notes`: a note on the incident (open or not) that the
/// identifier names, from the integration, with the `user` who wrote it if given.
async fn note(
    state: &SharedState,
    answer: &Answer,
    integration: &Integration,
    incident: Option<IncidentRef>,
    identifier: &str,
    body: &Value,
) -> Response {
    let text = match note_text(body) {
        Some(Ok(text)) => text,
        Some(Err(why)) => return answer.unprocessable_note(why),
        None => return answer.unprocessable_note("Note can not be empty.".to_owned()),
    };
    let id = match find_incident(state, integration, incident, identifier).await {
        Ok(Some(id)) => id,
        Ok(None) => return answer.missing(identifier),
        Err(e) => return answer.unavailable(e),
    };
    match put_note(state, answer, integration, id, &text, body).await {
        Ok(()) => answer.accepted(),
        Err(StoreError::NotFound(_)) => answer.missing(identifier),
        Err(e) => answer.unavailable(e),
    }
}

/// `GET /v2/alerts/requests/{requestId}`: what became of a request this integration's
/// service was sent, in Opsgenie's shape.
#[utoipa::path(
    get, path = "/v2/alerts/requests/{request}", tag = "opsgenie",
    security(("genieKey" = [])),
    params(("request" = String, Path, description = "The `requestId` a request's answer gave")),
    responses(
        (status = 200, description = "What became of the request", body = OpsgenieRequestStatus),
        (status = 401, description = "No GenieKey, or an unknown one", body = OpsgenieError),
        (status = 403, description = "The integration is not an Opsgenie one", body = OpsgenieError),
        (status = 404, description = "No such request for this integration's service", body = OpsgenieError),
        (status = 503, description = "Unavailable; retry", body = OpsgenieError),
    )
)]
async fn request_status(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path(request): Path<String>,
) -> Response {
    let answer = Answer::start(&state);
    let integration = match authorised(&state, &headers, &answer).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    let missing = || {
        answer.error(
            StatusCode::NOT_FOUND,
            "Request not found. It might not be processed, yet.",
            None,
        )
    };
    let Ok(id) = request.trim().parse::<EventId>() else {
        return missing();
    };
    let record = match state.store.request(id).await {
        Ok(Some(r)) if r.service_id == integration.service_id => r,
        Ok(_) => return missing(),
        Err(e) => return answer.unavailable(e),
    };
    let status = opsgenie::request_status(record.handled);
    let data = RequestStatusData {
        success: status.is_success,
        action: status.action.to_string(),
        processed_at: record.at.to_rfc3339(),
        integration_id: record.integration_id.unwrap_or(integration.id).to_string(),
        is_success: status.is_success,
        status: status.status.to_string(),
        alert_id: record.incident.map(|i| i.to_string()),
        alias: record.alias,
    };
    (
        StatusCode::OK,
        Json(OpsgenieRequestStatus {
            data,
            took: answer.took(),
            request_id: answer.request.to_string(),
        }),
    )
        .into_response()
}

/// One request's answer, timed and numbered as Opsgenie's are.
struct Answer {
    started: Instant,
    request: EventId,
}

impl Answer {
    /// A request's answer, from when it came in.
    fn start(state: &SharedState) -> Answer {
        Answer {
            started: Instant::now(),
            request: EventId::new(state.clock.now()),
        }
    }

    fn unprocessable_note(&self, why: String) -> Response {
        self.error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Request body is not processable. Please check the errors.",
            Some(json!({ "note": why })),
        )
    }

    fn missing(&self, identifier: &str) -> Response {
        self.error(
            StatusCode::NOT_FOUND,
            &format!("Alert with identifier [{identifier}] does not exist"),
            None,
        )
    }

    fn unavailable(&self, e: StoreError) -> Response {
        tracing::error!(error = %e, "cannot answer an Opsgenie request");
        self.error(StatusCode::SERVICE_UNAVAILABLE, "Unavailable; retry", None)
    }

    fn took(&self) -> f64 {
        (self.started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0
    }

    fn accepted(&self) -> Response {
        let body = OpsgenieAccepted {
            result: "Request will be processed",
            took: self.took(),
            request_id: self.request.to_string(),
        };
        (StatusCode::ACCEPTED, Json(body)).into_response()
    }

    fn error(&self, status: StatusCode, message: &str, errors: Option<Value>) -> Response {
        let body = OpsgenieError {
            message: message.to_owned(),
            took: self.took(),
            request_id: self.request.to_string(),
            errors,
        };
        (status, Json(body)).into_response()
    }
}

/// The integration key from `Authorization: GenieKey <key>`.
fn genie_key(headers: &HeaderMap) -> Option<RoutingKey> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, key) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("GenieKey") {
        return None;
    }
    RoutingKey::parse(key.trim()).ok()
}

/// The integration the GenieKey names, or the answer refusing it.
async fn authorised(
    state: &SharedState,
    headers: &HeaderMap,
    answer: &Answer,
) -> Result<Integration, Response> {
    let Some(key) = genie_key(headers) else {
        return Err(answer.error(
            StatusCode::UNAUTHORIZED,
            "Could not authenticate: send 'Authorization: GenieKey <integration key>'",
            None,
        ));
    };
    match state.store.integration_by_routing_key(&key).await {
        Ok(Some(integration)) => Ok(integration),
        Ok(None) => Err(answer.error(
            StatusCode::FORBIDDEN,
            "This key does not match any integration on this onduty server",
            None,
        )),
        Err(e) => {
            tracing::error!(error = %e, "cannot look an integration up");
            Err(answer.error(StatusCode::SERVICE_UNAVAILABLE, "Unavailable; retry", None))
        }
    }
}

/// Stores one event and answers `202`, or why not.
async fn store(state: &SharedState, answer: &Answer, event: AlertEvent) -> Response {
    let now = state.clock.now();
    if let Some(key) = &event.routing_key
        && crate::rate_limit::admit_event(state, key, now)
            .await
            .is_err()
    {
        return answer.error(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests; retry later",
            None,
        );
    }
    let received = Received {
        id: answer.request,
        received_at: now,
        event: Inbound::Alert(event),
        warnings: Vec::new(),
        from: HandedIn::BySender,
    };
    match state.writer.submit(received).await {
        Ok(Ok(_)) => {
            state.wake.notify_one();
            answer.accepted()
        }
        Ok(Err(rejected)) => answer.error(
            StatusCode::UNPROCESSABLE_ENTITY,
            &rejected.to_string(),
            None,
        ),
        Err(e @ (StoreError::WriterStopped | StoreError::Unavailable(_))) => {
            tracing::warn!(error = %e, "request not stored");
            answer.error(StatusCode::SERVICE_UNAVAILABLE, "Unavailable; retry", None)
        }
        Err(e) => {
            tracing::error!(error = %e, "request not stored");
            answer.error(StatusCode::SERVICE_UNAVAILABLE, "Not stored; retry", None)
        }
    }
}

// The error is the answer itself, sent at once; it is not passed along.
#[allow(clippy::result_large_err)]
fn read_json(
    body: Result<Bytes, BytesRejection>,
    answer: &Answer,
    empty_ok: bool,
) -> Result<Value, Response> {
    let bytes = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            answer.error(
                StatusCode::PAYLOAD_TOO_LARGE,
                "Request body is too large",
                None,
            )
        } else {
            answer.error(
                StatusCode::BAD_REQUEST,
                "Request body could not be read",
                None,
            )
        }
    })?;
    if empty_ok && bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(&bytes).map_err(|e| {
        answer.error(
            StatusCode::BAD_REQUEST,
            &format!("Request body is not valid JSON: {e}"),
            None,
        )
    })
}

/// Create an alert: it becomes an event on the integration's service, its `alias` the
/// dedup key.
#[utoipa::path(
    post, path = "/v2/alerts", tag = "opsgenie",
    security(("genieKey" = [])),
    request_body(content = Object, description = "Opsgenie's create-alert request: `message` (required), `alias`, `description`, `priority` (P1 to P5), `source`, `tags`, `details`, `entity`, `note`, `user`", content_type = "application/json"),
    responses(
        (status = 202, description = "Stored", body = OpsgenieAccepted),
        (status = 400, description = "The body is not JSON", body = OpsgenieError),
        (status = 401, description = "No GenieKey, or an unknown one", body = OpsgenieError),
        (status = 403, description = "The integration is not an Opsgenie one", body = OpsgenieError),
        (status = 413, description = "Body over 512 KB", body = OpsgenieError),
        (status = 422, description = "A field is missing or wrong", body = OpsgenieError),
        (status = 429, description = "Over the integration's rate limit", body = OpsgenieError),
        (status = 503, description = "Not stored; retry", body = OpsgenieError),
    )
)]
async fn create(
    State(state): State<SharedState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let answer = Answer::start(&state);
    let integration = match authorised(&state, &headers, &answer).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    let key = integration.routing_key.clone();
    let value = match read_json(body, &answer, false) {
        Ok(v) => v,
        Err(r) => return r,
    };
    // Without an alias every request is a new alert, as in Opsgenie.
    let generated = format!("opsgenie-{}", answer.request);
    match opsgenie::create_event(&value, key.as_str(), &generated) {
        Ok(parsed) => store(&state, &answer, parsed.value).await,
        Err(errors) => {
            let map: serde_json::Map<String, Value> = errors
                .into_iter()
                .map(|(f, m)| (f, Value::from(m)))
                .collect();
            answer.error(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Request body is not processable. Please check the errors.",
                Some(Value::Object(map)),
            )
        }
    }
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct IdentifierQuery {
    /// `id` (default), `tiny` or `alias`.
    #[serde(default, rename = "identifierType")]
    identifier_type: Option<String>,
}

/// Acknowledge or close an alert, or add a note to it.
#[utoipa::path(
    post, path = "/v2/alerts/{identifier}/{action}", tag = "opsgenie",
    security(("genieKey" = [])),
    params(
        ("identifier" = String, Path, description = "The alert's id, tiny id or alias (see `identifierType`)"),
        ("action" = String, Path, description = "`acknowledge`, `close` or `notes`", pattern = "^(acknowledge|close|notes)$"),
        IdentifierQuery,
    ),
    request_body(content = Object, description = "Optional for acknowledge and close: `note`, `user`, `source`; `note` is required for notes", content_type = "application/json"),
    responses(
        (status = 202, description = "Stored", body = OpsgenieAccepted),
        (status = 400, description = "The body is not JSON", body = OpsgenieError),
        (status = 401, description = "No GenieKey, or an unknown one", body = OpsgenieError),
        (status = 403, description = "The integration is not an Opsgenie one", body = OpsgenieError),
        (status = 404, description = "No such alert, or no such action", body = OpsgenieError),
        (status = 413, description = "Body over 512 KB", body = OpsgenieError),
        (status = 422, description = "A field is wrong", body = OpsgenieError),
        (status = 429, description = "Over the integration's rate limit", body = OpsgenieError),
        (status = 503, description = "Not stored; retry", body = OpsgenieError),
    )
)]
async fn act(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Path((identifier, action)): Path<(String, String)>,
    query: Result<Query<IdentifierQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let answer = Answer::start(&state);
    let Ok(Query(q)) = query else {
        return answer.error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "The query string cannot be read: identifierType should be one of [id, tiny, alias]",
            None,
        );
    };
    // `None`: add a note.
    let action = match action.as_str() {
        "acknowledge" => Some(EventAction::Acknowledge),
        "close" => Some(EventAction::Resolve),
        "notes" => None,
        other => {
            return answer.error(
                StatusCode::NOT_FOUND,
                &format!("onduty takes acknowledge, close and notes, not '{other}'"),
                None,
            );
        }
    };
    let integration = match authorised(&state, &headers, &answer).await {
        Ok(i) => i,
        Err(r) => return r,
    };
    let key = integration.routing_key.clone();
    let body = match read_json(body, &answer, action.is_some()) {
        Ok(v) => v,
        Err(r) => return r,
    };
    // The alias is the dedup key; an id or tiny id names an incident, whose key it is.
    let incident = match q.identifier_type.as_deref().unwrap_or("id") {
        "alias" => None,
        "id" => match identifier.parse() {
            Ok(id) => Some(IncidentRef::Id(id)),
            Err(_) => {
                return answer.error(
                    StatusCode::NOT_FOUND,
                    &format!("Alert with id [{identifier}] does not exist"),
                    None,
                );
            }
        },
        "tiny" => match identifier.parse::<i64>() {
            Ok(n) => Some(IncidentRef::Number(IncidentNumber(n))),
            Err(_) => {
                return answer.error(
                    StatusCode::NOT_FOUND,
                    &format!("Alert with tiny id [{identifier}] does not exist"),
                    None,
                );
            }
        },
        other => {
            return answer.error(
                StatusCode::UNPROCESSABLE_ENTITY,
                &format!("identifierType should be one of [id, tiny, alias], not '{other}'"),
                None,
            );
        }
    };
    let Some(action) = action else {
        return note(&state, &answer, &integration, incident, &identifier, &body).await;
    };
    // A note sent with the action goes on the incident's timeline once the action is in.
    let note = match note_text(&body) {
        Some(Ok(text)) => Some(text),
        Some(Err(why)) => return answer.unprocessable_note(why),
        None => None,
    };
    let (alias, open) = match incident {
        None => (identifier.clone(), true),
        Some(r) => match state.store.incident(r).await {
            // Only this integration's service's incidents, and only open ones: closing a
            // closed alert changes nothing, as in Opsgenie.
            Ok(i) if i.service_id != integration.service_id => {
                return answer.missing(&identifier);
            }
            Ok(i) => (i.dedup_key.as_str().to_owned(), i.status.is_open()),
            Err(StoreError::NotFound(_)) => return answer.missing(&identifier),
            Err(e) => return answer.unavailable(e),
        },
    };
    if alias.trim().is_empty() {
        return answer.error(StatusCode::UNPROCESSABLE_ENTITY, "The alias is empty", None);
    }
    if open {
        let stored = match opsgenie::follow_up_event(key.as_str(), action, &alias) {
            Ok(event) => store(&state, &answer, event).await,
            Err(problems) => {
                return answer.error(StatusCode::UNPROCESSABLE_ENTITY, &problems.join("; "), None);
            }
        };
        if stored.status() != StatusCode::ACCEPTED {
            return stored;
        }
    }
    if let Some(text) = note {
        match find_incident(&state, &integration, incident, &identifier).await {
            Ok(Some(id)) => {
                if let Err(e) = put_note(&state, &answer, &integration, id, &text, &body).await {
                    return answer.unavailable(e);
                }
            }
            // Nothing to note on: the action was dropped, as it is without a note.
            Ok(None) => {}
            Err(e) => return answer.unavailable(e),
        }
    }
    answer.accepted()
}
