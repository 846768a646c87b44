//! The OpenAPI document (`/api/v1/openapi.json`): its head ([`ApiDoc`]), its security
//! schemes, and [`finish`], which gives every operation the answers all of them can give
//! (a missing token, a bad parameter, a body too large) and a description for each, so that
//! the document is valid OpenAPI and a client generated from it expects what the server says.

use onduty_core::service::IntegrationKind;
use serde_json::{Value, json};
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
        (name = "runbooks", description = "What to do when a service's alerts fire: runbooks per service and per alert, with their history"),
        (name = "postmortems", description = "What was learnt from incidents: drafts on resolve, review, publishing, action items, Markdown"),
        (name = "config", description = "Configuration as code: everything configured as one YAML document, the plan a document would make, its JSON Schema"),
        (name = "settings", description = "Settings admins change while onduty runs: postmortem due dates, the weekly sleep-hour page budget"),
        (name = "reports", description = "Incidents, time to acknowledge and resolve, noise and on-call load over a period, as JSON or CSV"),
        (name = "heartbeats", description = "Jobs that must ping in time (dead man's switches)"),
        (name = "maintenance", description = "Services that page nobody for a while, and always end"),
        (name = "status pages", description = "Public status pages: components, public incidents and scheduled maintenance"),
        (name = "audit", description = "Who changed what, when, through which door and from where, before and after (admins; read only)"),
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
pub(crate) fn finish(mut doc: Document) -> Value {
    complete_operations(&mut doc);
    let mut doc = serde_json::to_value(doc).expect("an OpenAPI document is JSON");
    constrain(&mut doc);
    if let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        schemas.insert("TimeZone".to_owned(), time_zone_schema());
        schemas.insert("WebhookMapping".to_owned(), webhook_mapping_schema());
        schemas.insert("MailRules".to_owned(), mail_rules_schema());
        schemas.insert("ShiftLength".to_owned(), shift_length_schema());
        schemas.insert("Restriction".to_owned(), restriction_schema());
        let events: serde_json::Map<String, Value> =
            serde_json::from_str(include_str!("events.schema.json"))
                .expect("events.schema.json is a JSON object");
        schemas.extend(events);
    }
    for (path, method, schema) in BODIES_DESCRIBED_HERE {
        let pointer = format!(
            "/paths/{}/{method}/requestBody/content/application~1json/schema",
            path.replace('~', "~0").replace('/', "~1")
        );
        let body = doc
            .pointer_mut(&pointer)
            .unwrap_or_else(|| panic!("{method} {path} takes a JSON body"));
        *body = json!({"$ref": format!("#/components/schemas/{schema}")});
    }
    doc
}

/// Request bodies read by hand rather than into a Rust type, and the schema (in
/// `events.schema.json` or below) that describes each.
const BODIES_DESCRIBED_HERE: [(&str, &str, &str); 3] = [
    ("/v2/enqueue", "post", "AlertEvent"),
    ("/v2/change/enqueue", "post", "ChangeEvent"),
    ("/api/v1/integrations/{id}/mapping", "put", "WebhookMapping"),
];

fn complete_operations(doc: &mut Document) {
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

/// A character that is not a control character (Unicode's Cc, which `char::is_control` is).
const NOT_CONTROL: &str = r"[^\x00-\x1f\x7f-\x9f]";

/// The constraints each of onduty's own formats stands for, written once here and named on a
/// field with `#[schema(format = "…")]`, so that a client (or a fuzzer) building values from
/// the document sends what the server takes. `onduty_core` checks them on the way in.
fn format_constraints(format: &str) -> Option<Value> {
    let name = format!(r"^{NOT_CONTROL}*[^\s\x00-\x1f\x7f-\x9f]{NOT_CONTROL}*$");
    Some(match format {
        // `Name::parse`: trimmed, 1 to 100 characters, no control characters.
        "name" => json!({"minLength": 1, "maxLength": 100, "pattern": name}),
        // `Email::parse`: one `@` with text on both sides, no spaces, at most 254 bytes.
        "email" => {
            json!({"maxLength": 254, "pattern": r"^[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f]+$"})
        }
        // `parse_note`: some text, at most 10,000 characters.
        "note" => json!({"maxLength": 10_000, "pattern": r"\S"}),
        // `parse_description`: at most 2,000 characters; new lines and tabs, no other
        // control characters.
        "description" => {
            json!({"maxLength": 2_000, "pattern": r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$"})
        }
        // `me`, for the caller, or a user's id.
        "me-or-id" => json!({"pattern": format!("^me$|^{UUID}$")}),
        // The words the core's parsers take, for fields that name a choice.
        "dedup-mode" => json!({"enum": ["open", "triggered"]}),
        "service-urgency" => json!({"enum": ["high", "low", "severity"]}),
        "group-by" => json!({"enum": ["alert", "group"]}),
        "integration-type" => json!({"enum": IntegrationKind::ALL.map(IntegrationKind::as_str)}),
        "target-type" => json!({"enum": ["user", "schedule", "policy"]}),
        "level-mode" => json!({"enum": ["all", "round_robin"]}),
        "role" => json!({"enum": ["admin", "responder", "observer"]}),
        "channel" => {
            json!({"enum": ["email", "sms", "voice", "webhook", "ntfy", "slack", "telegram", "mattermost", "web_push"]})
        }
        // `RepeatEvery`: none (0), or 30 to 3600 seconds.
        "repeat-seconds" => json!({"anyOf": [{"const": 0}, {"minimum": 30, "maximum": 3600}]}),
        "rule-urgency" => json!({"enum": ["high", "low", "both"]}),
        "chat-platform" => json!({"enum": ["slack", "telegram", "mattermost", "teams", "discord"]}),
        // A maintenance window's reason: some text, at most 500 characters.
        "reason" => json!({"maxLength": 500, "pattern": r"\S"}),
        // A date and time of day without an offset, read on a schedule's clock (a date the
        // calendar has: the pattern cannot tell 30 February from 30 January).
        "wall-clock" => {
            json!({"pattern": "^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"})
        }
        // `IncidentRef`: an incident's number (`42`, or `#42`) or its id.
        "incident-ref" => json!({"pattern": format!("^#?[0-9]{{1,18}}$|^{UUID}$")}),
        // A time zone name from the database built into onduty.
        "time-zone" => json!({"$ref": "#/components/schemas/TimeZone"}),
        _ => return None,
    })
}

/// A UUID in its usual spelling, as ids are written.
const UUID: &str = "[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}";

/// Adds the constraints of onduty's formats to every schema in the document that names one.
fn constrain(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            let constraints = fields
                .get("format")
                .and_then(Value::as_str)
                .and_then(format_constraints);
            if let Some(Value::Object(mut constraints)) = constraints {
                // A field that may be `null` keeps that choice.
                let nullable = fields
                    .get("type")
                    .and_then(Value::as_array)
                    .is_some_and(|types| types.iter().any(|t| t == "null"));
                if let (true, Some(Value::Array(choices))) = (nullable, constraints.get_mut("enum"))
                {
                    choices.push(Value::Null);
                }
                if constraints.contains_key("$ref") {
                    // A reference stands for the whole schema: keep only what describes it.
                    fields.retain(|k, _| k == "description");
                }
                fields.extend(constraints);
            }
            fields.values_mut().for_each(constrain);
        }
        Value::Array(items) => items.iter_mut().for_each(constrain),
        _ => {}
    }
}

/// `WebhookMapping`: `onduty_core::webhook::Mapping`, JSON Pointers into a tool's body.
fn webhook_mapping_schema() -> Value {
    let pointer = json!({"type": "string", "format": "json-pointer", "maxLength": 256});
    json!({
        "type": "object",
        "description": "Where a JSON webhook's fields are: JSON Pointers (`/alert/title`) to the \
                        summary and, optionally, the dedup key, severity, source and action, \
                        with `actions` mapping the action field's values to what they do.",
        "required": ["summary"],
        "additionalProperties": false,
        "properties": {
            "summary": pointer, "dedup_key": pointer, "severity": pointer,
            "source": pointer, "action": pointer,
            "actions": {
                "type": "object",
                "maxProperties": 50,
                "additionalProperties": {"enum": ["trigger", "acknowledge", "ack", "resolve"]},
            },
        },
    })
}

/// `MailRules`: `onduty_core::mail::MailRules`, regular expressions in Rust's `regex` syntax.
fn mail_rules_schema() -> Value {
    let regex = json!({"type": "string", "maxLength": 1000});
    json!({
        "type": "object",
        "description": "For e-mail integrations: regular expressions for the `dedup_key` (first \
                        capture group, over the subject then the body) and the subjects that \
                        `resolve` or `acknowledge`. All optional; by default the subject names \
                        the incident and \"RESOLVED:\"/\"OK\" resolve.",
        "additionalProperties": false,
        "properties": {"dedup_key": regex, "resolve": regex, "acknowledge": regex},
    })
}

/// `ShiftLength`: `onduty_core::schedule::ShiftLength`.
fn shift_length_schema() -> Value {
    json!({
        "type": "object",
        "description": "How long each turn lasts on the wall clock: `{\"unit\": \"weeks\", \"count\": 1}`.",
        "required": ["unit", "count"],
        "additionalProperties": false,
        "properties": {
            "unit": {"enum": ["hours", "days", "weeks"]},
            "count": {"type": "integer", "minimum": 1},
        },
    })
}

/// `Restriction`: `onduty_core::schedule::Restriction`, times as `HH:MM` on the schedule's
/// clock.
fn restriction_schema() -> Value {
    let time = json!({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"});
    let day = json!({"enum": ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]});
    json!({
        "description": "When a layer is in force: every day from `start` to `end` (through \
                        midnight when `end` is not after `start`), or every week from `start_day` \
                        at `start` to `end_day` at `end`. A layer without restrictions is always \
                        in force.",
        "oneOf": [
            {
                "type": "object",
                "required": ["type", "start", "end"],
                "additionalProperties": false,
                "properties": {"type": {"const": "daily"}, "start": time, "end": time},
            },
            {
                "type": "object",
                "required": ["type", "start_day", "start", "end_day", "end"],
                "additionalProperties": false,
                "properties": {
                    "type": {"const": "weekly"}, "start_day": day, "start": time,
                    "end_day": day, "end": time,
                },
            },
        ],
    })
}

/// For `#[schema(schema_with = …)]`: a field holding a value a schema above describes.
pub(crate) fn webhook_mapping() -> Ref {
    Ref::from_schema_name("WebhookMapping")
}

pub(crate) fn mail_rules() -> Ref {
    Ref::from_schema_name("MailRules")
}

pub(crate) fn shift_length() -> Ref {
    Ref::from_schema_name("ShiftLength")
}

/// At most 30.
pub(crate) fn restrictions() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(Ref::from_schema_name("Restriction"))
        .max_items(Some(30))
        .build()
}

/// `TimeZone`: every name the time zone database built into onduty knows.
fn time_zone_schema() -> Value {
    json!({
        "type": "string",
        "description": "An IANA time zone name (`Europe/London`); the server also takes one in another case",
        "enum": onduty_core::account::time_zone_names(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn choices(format: &str) -> Vec<String> {
        let constraints = format_constraints(format).expect("a known format");
        serde_json::from_value(constraints["enum"].clone()).expect("a list of words")
    }

    /// Every word the document offers is one the core's parser takes.
    #[test]
    fn the_documented_choices_are_the_words_the_server_takes() {
        use onduty_core::{account, alertmanager, chat, contact, incident, service};
        type Parses = fn(&str) -> bool;
        let cases: [(&str, Parses); 8] = [
            ("dedup-mode", |w| incident::DedupMode::parse(w).is_some()),
            ("service-urgency", |w| {
                service::ServiceUrgency::parse(w).is_some()
            }),
            ("group-by", |w| alertmanager::GroupBy::parse(w).is_some()),
            ("integration-type", |w| IntegrationKind::parse(w).is_some()),
            ("role", |w| account::Role::parse(w).is_some()),
            ("channel", |w| contact::Channel::parse(w).is_some()),
            ("rule-urgency", |w| contact::RuleUrgency::parse(w).is_some()),
            ("chat-platform", |w| chat::ChatPlatform::parse(w).is_some()),
        ];
        for (format, parses) in cases {
            for word in choices(format) {
                assert!(parses(&word), "{format}: the server refuses '{word}'");
            }
        }
    }

    /// A field naming a format gets its constraints; a nullable one keeps `null`.
    #[test]
    fn formats_become_constraints() {
        let mut doc = json!({"properties": {
            "name": {"type": "string", "format": "name", "description": "d"},
            "mode": {"type": ["string", "null"], "format": "dedup-mode"},
            "zone": {"type": "string", "format": "time-zone", "description": "z"},
            "other": {"type": "string", "format": "date-time"},
        }});
        constrain(&mut doc);
        let p = &doc["properties"];
        assert_eq!(p["name"]["maxLength"], 100);
        assert_eq!(p["name"]["description"], "d");
        assert_eq!(p["mode"]["enum"], json!(["open", "triggered", null]));
        assert_eq!(
            p["zone"],
            json!({"description": "z", "$ref": "#/components/schemas/TimeZone"})
        );
        assert_eq!(p["other"], json!({"type": "string", "format": "date-time"}));
    }

    /// What the name pattern allows, `Name::parse` takes (the document promises no more
    /// than the server keeps).
    #[test]
    fn the_name_pattern_allows_only_names_the_parser_takes() {
        let pattern = format_constraints("name").unwrap()["pattern"]
            .as_str()
            .unwrap()
            .to_owned();
        let pattern = regex::Regex::new(&pattern).unwrap();
        let cases = [
            ("Ada", true),
            (" Ada Lovelace ", true),
            ("é", true),
            ("a\u{a0}b", true),
            ("\u{a0}", false),
            (" ", false),
            ("", false),
            ("a\u{7}b", false),
            ("a\u{85}", false),
        ];
        for (text, allowed) in cases {
            assert_eq!(pattern.is_match(text), allowed, "{text:?}");
            if allowed {
                assert!(onduty_core::account::Name::parse(text).is_ok(), "{text:?}");
            }
        }
    }
}
