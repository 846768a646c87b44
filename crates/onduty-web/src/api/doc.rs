//! The OpenAPI document (`/api/v1/openapi.json`): its head ([`ApiDoc`]), its security
//! schemes, and [`finish`], which gives every operation the answers all of them can give
//! (a missing token, a bad parameter, a body too large) and a description for each, so that
//! the document is valid OpenAPI and a client generated from it expects what the server says.

use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "onduty",
        description = "On-call and incident alerting. Events come in through the PagerDuty-compatible \
                       Events API v2 (`/v2/enqueue`), tools' webhooks, Opsgenie's Alert API \
                       (`/v2/alerts`) and heartbeat pings (`/ping`); people list and act on incidents \
                       through `/api/v1`, authenticated with `Authorization: Bearer <token>`. Errors \
                       under `/api/v1` are `{\"error\": {\"code\", \"message\"}}`."
    ),
    modifiers(&SecuritySchemes),
    security(("bearer" = [])),
    tags(
        (name = "events", description = "PagerDuty Events API v2 compatible ingest (authenticated by routing key)"),
        (name = "opsgenie", description = "Opsgenie's Alert API, for tools that speak it (authenticated by `Authorization: GenieKey <integration key>`)"),
        (name = "pings", description = "Heartbeat pings, healthchecks.io style (authenticated by the heartbeat's key in the path)"),
        (name = "incidents", description = "List, read and act on incidents"),
        (name = "services", description = "Services and their integrations"),
        (name = "users", description = "Users and API tokens"),
        (name = "teams", description = "Teams and their members"),
        (name = "escalation policies", description = "Who is paged, in what order, how long apart"),
        (name = "schedules", description = "On-call schedules, overrides, who is on call, calendar feeds"),
        (name = "heartbeats", description = "Jobs that must ping in time (dead man's switches)"),
        (name = "maintenance", description = "Services that page nobody for a while, and always end"),
    )
)]
pub(crate) struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "genieKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "Authorization",
                "`GenieKey <integration key>`",
            ))),
        );
    }
}

/// The largest request body under `/api/v1` ([`crate::API_BODY_LIMIT`]), for the document.
const API_BODY: &str = "Body over 1 MB";

/// Completes the document once every router's paths are in it. One handler serving two
/// methods (a ping by `GET` or `POST`) gives two operations; the second's id gets its
/// method, since ids must be unique.
pub(crate) fn finish(doc: &mut Document) {
    let mut ids = std::collections::HashSet::new();
    for (path, item) in doc.paths.paths.iter_mut() {
        for (method, operation) in operations(item) {
            complete(path, operation);
            if let Some(id) = &mut operation.operation_id
                && !ids.insert(id.clone())
            {
                id.push('_');
                id.push_str(method);
                ids.insert(id.clone());
            }
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = (&'static str, &mut Operation)> {
    [
        ("get", &mut item.get),
        ("put", &mut item.put),
        ("post", &mut item.post),
        ("delete", &mut item.delete),
        ("patch", &mut item.patch),
    ]
    .into_iter()
    .filter_map(|(method, operation)| operation.as_mut().map(|o| (method, o)))
}

/// What every `/api/v1` operation can answer, and a description for every answer.
fn complete(path: &str, operation: &mut Operation) {
    let responses = &mut operation.responses.responses;
    // Operations under the bearer token (those without a security of their own).
    if path.starts_with("/api/v1/") && operation.security.is_none() {
        let mut add = |status: &str, description: &str| {
            responses
                .entry(status.to_owned())
                .or_insert_with(|| error_response(description).into());
        };
        add(
            "401",
            "No valid API token: send `Authorization: Bearer <token>`",
        );
        let has_parameters = operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
        if has_parameters || operation.request_body.is_some() {
            add("400", "A parameter or the body cannot be read");
        }
        if path.contains('{') || has_parameters || operation.request_body.is_some() {
            add(
                "404",
                "Not found: what the path, a parameter or the body names does not exist",
            );
        }
        if operation.request_body.is_some() {
            add("413", API_BODY);
        }
    }
    for (status, response) in responses.iter_mut() {
        if let RefOr::T(response) = response
            && response.description.is_empty()
        {
            response.description = reason(status).to_owned();
        }
    }
}

fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(Ref::from_schema_name("ErrorBody"))),
        )
        .build()
}

/// The standard words for a status, as a response's description.
fn reason(status: &str) -> &'static str {
    status
        .parse::<u16>()
        .ok()
        .and_then(|code| axum::http::StatusCode::from_u16(code).ok())
        .and_then(|code| code.canonical_reason())
        .unwrap_or("Answer")
}
