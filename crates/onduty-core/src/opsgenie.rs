//! Opsgenie's alert API, for teams moving off Opsgenie: an alert create request becomes
//! the Events v2 trigger it means (the `alias` is the dedup key), and acknowledge and close
//! become the events that act on it, parsed by the same rules as `/v2/enqueue`.

use serde_json::{Map, Value, json};

use crate::event::{AlertEvent, EventAction, Parsed, Severity, parse_alert_event};
use crate::ids::DedupKey;
use crate::incident::TimelineKind;

/// Opsgenie's limits.
pub const MESSAGE_MAX_CHARS: usize = 130;
pub const DESCRIPTION_MAX_CHARS: usize = 15_000;
pub const ALIAS_MAX_CHARS: usize = 512;

/// A priority as an event severity: P1 critical, P2 error, P3 warning (Opsgenie's
/// default), P4 and P5 info. With the service's urgency set to follow severity, P1 and
/// P2 page at high urgency and the others at low.
pub fn severity_of(priority: Option<&str>) -> Option<Severity> {
    Some(match priority.unwrap_or("P3") {
        "P1" => Severity::Critical,
        "P2" => Severity::Error,
        "P3" => Severity::Warning,
        "P4" | "P5" => Severity::Info,
        _ => return None,
    })
}

fn text<'a>(body: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    body.get(key)?
        .as_str()
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The trigger an alert create request means, or Opsgenie-style field errors
/// (`("message", "Message can not be empty.")`). Without an `alias` the alert is new each
/// time: `generated_alias` is used.
pub fn create_event(
    body: &Value,
    routing_key: &str,
    generated_alias: &str,
) -> Result<Parsed<AlertEvent>, Vec<(String, String)>> {
    let Some(body) = body.as_object() else {
        return Err(vec![(
            "body".to_owned(),
            "Request body must be a JSON object.".to_owned(),
        )]);
    };
    let mut errors = Vec::new();
    let message = text(body, "message");
    match message {
        None => errors.push(("message".to_owned(), "Message can not be empty.".to_owned())),
        Some(m) if m.chars().count() > MESSAGE_MAX_CHARS => errors.push((
            "message".to_owned(),
            format!("Message can not be longer than {MESSAGE_MAX_CHARS} characters."),
        )),
        Some(_) => {}
    }
    let alias = text(body, "alias").unwrap_or(generated_alias);
    if alias.chars().count() > ALIAS_MAX_CHARS {
        errors.push((
            "alias".to_owned(),
            format!("Alias can not be longer than {ALIAS_MAX_CHARS} characters."),
        ));
    }
    if text(body, "description").is_some_and(|d| d.chars().count() > DESCRIPTION_MAX_CHARS) {
        errors.push((
            "description".to_owned(),
            format!("Description can not be longer than {DESCRIPTION_MAX_CHARS} characters."),
        ));
    }
    let priority = text(body, "priority");
    let severity = severity_of(priority);
    if severity.is_none() {
        errors.push((
            "priority".to_owned(),
            "Priority should be one of [P1, P2, P3, P4, P5].".to_owned(),
        ));
    }
    if let Some(details) = body.get("details")
        && !details.is_object()
        && !details.is_null()
    {
        errors.push((
            "details".to_owned(),
            "Details should be a map of strings.".to_owned(),
        ));
    }
    if let Some(tags) = body.get("tags")
        && !tags.is_array()
        && !tags.is_null()
    {
        errors.push((
            "tags".to_owned(),
            "Tags should be a list of strings.".to_owned(),
        ));
    }
    let (Some(message), Some(severity), true) = (message, severity, errors.is_empty()) else {
        return Err(errors);
    };
    let mut details = Map::new();
    for key in [
        "description",
        "details",
        "tags",
        "entity",
        "priority",
        "user",
        "note",
        "responders",
        "actions",
    ] {
        if let Some(v) = body.get(key).filter(|v| !v.is_null()) {
            details.insert(key.to_owned(), v.clone());
        }
    }
    if !details.contains_key("priority") {
        details.insert("priority".to_owned(), Value::from("P3"));
    }
    let mut payload = json!({
        "summary": message,
        "source": text(body, "source").or(text(body, "entity")).unwrap_or("Opsgenie API"),
        "severity": severity.as_str(),
        "custom_details": details,
    });
    if let Some(entity) = text(body, "entity") {
        payload["component"] = Value::from(entity);
    }
    let event = json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": DedupKey::fitted(alias),
        "payload": payload,
        "client": "Opsgenie API",
    });
    parse_alert_event(&event).map_err(|problems| {
        problems
            .into_iter()
            .map(|p| ("body".to_owned(), p))
            .collect()
    })
}

/// The event that acknowledges or closes (resolves) the alert with `alias`.
pub fn follow_up_event(
    routing_key: &str,
    action: EventAction,
    alias: &str,
) -> Result<AlertEvent, Vec<String>> {
    let event = json!({"routing_key": routing_key, "event_action": action.as_str(),
                       "dedup_key": DedupKey::fitted(alias)});
    parse_alert_event(&event).map(|p| p.value)
}

/// What a request that was answered `202` did, as onduty recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handled {
    /// It made this first entry on an incident's timeline.
    OnIncident {
        kind: TimelineKind,
        /// The event's action; `None` for a note.
        action: Option<EventAction>,
    },
    /// It touched no incident: an acknowledge or close for an alias with no open alert,
    /// or a create while the service was in maintenance.
    Dropped {
        action: EventAction,
        in_maintenance: bool,
    },
}

/// A request's status in Opsgenie's words (`GET /v2/alerts/requests/{id}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestStatus {
    /// `Create`, `Acknowledge`, `Close` or `AddNote`.
    pub action: &'static str,
    pub is_success: bool,
    pub status: &'static str,
}

fn action_word(action: Option<EventAction>) -> &'static str {
    match action {
        Some(EventAction::Trigger) => "Create",
        Some(EventAction::Acknowledge) => "Acknowledge",
        Some(EventAction::Resolve) => "Close",
        None => "AddNote",
    }
}

/// The status Opsgenie would report for a request that was `handled` so.
pub fn request_status(handled: Handled) -> RequestStatus {
    let (action, is_success, status) = match handled {
        Handled::OnIncident { kind, action } => {
            let status = match (action, kind) {
                (None, _) => "Added note",
                (Some(EventAction::Trigger), TimelineKind::Triggered) => "Created alert",
                (Some(EventAction::Trigger), _) => "Alert already exists: its count went up",
                (Some(EventAction::Acknowledge), TimelineKind::Acknowledged) => {
                    "Acknowledged alert"
                }
                (Some(EventAction::Acknowledge), _) => "Alert is already acknowledged",
                (Some(EventAction::Resolve), _) => "Closed alert",
            };
            (action_word(action), true, status)
        }
        Handled::Dropped {
            action,
            in_maintenance: true,
        } => (
            action_word(Some(action)),
            true,
            "Service is in maintenance: no alert was created",
        ),
        Handled::Dropped { action, .. } => {
            (action_word(Some(action)), false, "Alert does not exist")
        }
    };
    RequestStatus {
        action,
        is_success,
        status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "abcdefabcdefabcdefabcdefabcdef12";

    #[test]
    fn an_alert_becomes_a_trigger_keyed_by_its_alias() {
        let body = json!({"message": "An example alert message", "alias": "Life is too short for no alias",
            "description": "Every alert needs a description", "tags": ["OverwriteQuietHours", "Critical"],
            "details": {"details1": "value1"}, "entity": "An example entity", "source": "Zabbix",
            "priority": "P1", "user": "Monitoring Script", "note": "Alert created", "someUnknownField": 1});
        let e = create_event(&body, KEY, "generated").unwrap().value;
        assert_eq!(e.action(), EventAction::Trigger);
        assert_eq!(
            e.dedup_key().unwrap().as_str(),
            "Life is too short for no alias"
        );
        let a = e.alert().unwrap();
        assert_eq!(a.summary, "An example alert message");
        assert_eq!(a.source, "Zabbix");
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.component.as_deref(), Some("An example entity"));
        let d = a.custom_details.clone().unwrap();
        assert_eq!(d["description"], "Every alert needs a description");
        assert_eq!(d["details"]["details1"], "value1");
        assert_eq!(d["tags"][1], "Critical");
        assert_eq!(d["priority"], "P1");
    }

    #[test]
    fn without_an_alias_each_request_is_a_new_alert_at_p3() {
        let e = create_event(&json!({"message": "Disk full"}), KEY, "gen-1")
            .unwrap()
            .value;
        assert_eq!(e.dedup_key().unwrap().as_str(), "gen-1");
        let a = e.alert().unwrap();
        assert_eq!(a.severity, Severity::Warning);
        assert_eq!(a.source, "Opsgenie API");
        assert_eq!(a.custom_details.clone().unwrap()["priority"], "P3");
    }

    #[test]
    fn bad_requests_name_each_field_as_opsgenie_does() {
        let long = "x".repeat(131);
        let errors = create_event(
            &json!({"message": long, "priority": "P9", "details": "nope"}),
            KEY,
            "g",
        )
        .unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["message", "priority", "details"]);
        assert_eq!(
            create_event(&json!({"alias": "a"}), KEY, "g").unwrap_err()[0].1,
            "Message can not be empty."
        );
        assert!(create_event(&json!([1]), KEY, "g").is_err());
    }

    #[test]
    fn priorities_read_as_severities() {
        assert_eq!(severity_of(Some("P1")), Some(Severity::Critical));
        assert_eq!(severity_of(Some("P2")), Some(Severity::Error));
        assert_eq!(severity_of(None), Some(Severity::Warning));
        assert_eq!(severity_of(Some("P5")), Some(Severity::Info));
        assert_eq!(severity_of(Some("high")), None);
    }

    #[test]
    fn follow_ups_act_on_the_alias() {
        let e = follow_up_event(KEY, EventAction::Resolve, "db01-disk").unwrap();
        assert_eq!(e.action(), EventAction::Resolve);
        assert_eq!(e.dedup_key().unwrap().as_str(), "db01-disk");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(crate::test_json::fuzz_cases(500)))]

        /// Whatever JSON arrives, the answer is an event or field errors, never a panic.
        #[test]
        fn any_json_gives_an_event_or_field_errors(
            body in crate::test_json::arbitrary_json(
                "(message|alias|priority|details|tags|entity|source|description|[a-z]{1,5})",
                "(P[0-9]|.{0,140})",
            )
        ) {
            let _ = create_event(&body, KEY, "generated");
        }
    }

    #[test]
    fn request_statuses_read_as_opsgenie_reports_them() {
        use EventAction::{Acknowledge, Resolve, Trigger};
        let on = |kind, action| Handled::OnIncident { kind, action };
        let cases = [
            (
                on(TimelineKind::Triggered, Some(Trigger)),
                "Create",
                true,
                "Created alert",
            ),
            (
                on(TimelineKind::Alert, Some(Trigger)),
                "Create",
                true,
                "Alert already exists: its count went up",
            ),
            (
                on(TimelineKind::Acknowledged, Some(Acknowledge)),
                "Acknowledge",
                true,
                "Acknowledged alert",
            ),
            (
                on(TimelineKind::Event, Some(Acknowledge)),
                "Acknowledge",
                true,
                "Alert is already acknowledged",
            ),
            (
                on(TimelineKind::Resolved, Some(Resolve)),
                "Close",
                true,
                "Closed alert",
            ),
            (on(TimelineKind::Note, None), "AddNote", true, "Added note"),
            (
                Handled::Dropped {
                    action: Resolve,
                    in_maintenance: false,
                },
                "Close",
                false,
                "Alert does not exist",
            ),
            (
                Handled::Dropped {
                    action: Trigger,
                    in_maintenance: true,
                },
                "Create",
                true,
                "Service is in maintenance: no alert was created",
            ),
        ];
        for (handled, action, is_success, status) in cases {
            assert_eq!(
                request_status(handled),
                RequestStatus {
                    action,
                    is_success,
                    status
                },
                "{handled:?}"
            );
        }
    }
}
