//! The generic JSON webhook: any JSON body, read through a mapping of JSON Pointers
//! (RFC 6901) into the Events v2 event it means — where the summary, dedup key, severity
//! and source are, and which values of an action or state field acknowledge or resolve
//! (`"state": "ok"` → resolve). Parsed by the same rules as `/v2/enqueue`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::alertmanager::severity_of;
use crate::event::{AlertEvent, EventAction, Parsed, parse_alert_event};
use crate::ids::DedupKey;

/// Where an event's parts are in a body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The summary, e.g. `/title`. Required.
    pub summary: String,
    /// The dedup key: the same value is the same incident. Without it every trigger is a
    /// new incident (and nothing can resolve it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_key: Option<String>,
    /// A severity name (`critical`, `warning`, `P1`…; see Alertmanager's mapping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// A field whose value says what to do; its values are read through `actions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    /// Values of the action field (compared without case) and what they do: `trigger`,
    /// `acknowledge` or `resolve`. Other values trigger.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub actions: BTreeMap<String, String>,
}

/// Most pointers' length, and most action values.
const MAX_POINTER: usize = 256;
const MAX_ACTIONS: usize = 50;

impl Mapping {
    /// Checks a mapping: pointers start with `/` (or are empty, for the whole body) and
    /// action values name an action.
    pub fn check(&self) -> Result<(), Vec<String>> {
        let mut errors = Vec::new();
        let mut pointer = |name: &str, p: Option<&String>| {
            if let Some(p) = p
                && ((!p.is_empty() && !p.starts_with('/')) || p.len() > MAX_POINTER)
            {
                errors.push(format!(
                    "'{name}' must be a JSON Pointer like /alert/title, not '{p}'"
                ));
            }
        };
        pointer("summary", Some(&self.summary));
        pointer("dedup_key", self.dedup_key.as_ref());
        pointer("severity", self.severity.as_ref());
        pointer("source", self.source.as_ref());
        pointer("action", self.action.as_ref());
        if self.actions.len() > MAX_ACTIONS {
            errors.push(format!("at most {MAX_ACTIONS} action values"));
        }
        for (value, action) in &self.actions {
            if action_named(action).is_none() {
                errors.push(format!(
                    "action value '{value}' must map to trigger, acknowledge or resolve, not '{action}'"
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

fn action_named(text: &str) -> Option<EventAction> {
    match text.to_ascii_lowercase().as_str() {
        "trigger" => Some(EventAction::Trigger),
        "acknowledge" | "ack" => Some(EventAction::Acknowledge),
        "resolve" => Some(EventAction::Resolve),
        _ => None,
    }
}

/// A body's value at `pointer` as text: strings as they are, numbers and booleans
/// written out; nothing for objects, arrays, null or a missing place.
fn at(body: &Value, pointer: Option<&str>) -> Option<String> {
    match body.pointer(pointer?)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The event a body means under `mapping`. `generated_key` is the dedup key of a
/// trigger whose body has none.
pub fn event(
    body: &Value,
    mapping: &Mapping,
    routing_key: &str,
    generated_key: &str,
) -> Result<Parsed<AlertEvent>, Vec<String>> {
    let action = match at(body, mapping.action.as_deref()) {
        Some(value) => mapping
            .actions
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(&value))
            .and_then(|(_, a)| action_named(a))
            .unwrap_or(EventAction::Trigger),
        None => EventAction::Trigger,
    };
    let dedup = at(body, mapping.dedup_key.as_deref());
    let event = match action {
        EventAction::Trigger => {
            let Some(summary) = at(body, Some(&mapping.summary)) else {
                return Err(vec![format!(
                    "no summary: nothing readable at '{}' in the body",
                    mapping.summary
                )]);
            };
            let severity = severity_of(at(body, mapping.severity.as_deref()).as_deref());
            json!({
                "routing_key": routing_key,
                "event_action": "trigger",
                "dedup_key": DedupKey::fitted(dedup.as_deref().unwrap_or(generated_key)),
                "payload": {
                    "summary": summary,
                    "source": at(body, mapping.source.as_deref()).unwrap_or_else(|| "webhook".to_owned()),
                    "severity": severity.as_str(),
                    "custom_details": body,
                },
                "client": "JSON webhook",
            })
        }
        other => {
            let Some(key) = dedup else {
                return Err(vec![format!(
                    "cannot {} without a dedup key: nothing readable at '{}'",
                    other.as_str(),
                    mapping
                        .dedup_key
                        .as_deref()
                        .unwrap_or("(no dedup_key pointer)")
                )]);
            };
            json!({"routing_key": routing_key, "event_action": other.as_str(), "dedup_key": DedupKey::fitted(&key)})
        }
    };
    parse_alert_event(&event)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::event::Severity;

    const KEY: &str = "abcdefabcdefabcdefabcdefabcdef12";

    fn uptime_mapping() -> Mapping {
        Mapping {
            summary: "/check/name".to_owned(),
            dedup_key: Some("/check/id".to_owned()),
            severity: Some("/level".to_owned()),
            source: Some("/check/url".to_owned()),
            action: Some("/state".to_owned()),
            actions: [
                ("ok".to_owned(), "resolve".to_owned()),
                ("paused".to_owned(), "acknowledge".to_owned()),
            ]
            .into(),
        }
    }

    #[test]
    fn a_body_is_read_through_its_pointers() {
        let body = json!({"check": {"id": 4411, "name": "Homepage is down", "url": "https://example.com"},
                          "state": "down", "level": "critical"});
        let e = event(&body, &uptime_mapping(), KEY, "gen").unwrap().value;
        assert_eq!(e.action(), EventAction::Trigger);
        assert_eq!(e.dedup_key().unwrap().as_str(), "4411");
        let a = e.alert().unwrap();
        assert_eq!(a.summary, "Homepage is down");
        assert_eq!(a.severity, Severity::Critical);
        assert_eq!(a.source, "https://example.com");
        assert_eq!(a.custom_details.clone().unwrap()["state"], "down");
    }

    #[test]
    fn mapped_values_acknowledge_and_resolve_whatever_their_case() {
        let ok = json!({"check": {"id": "4411"}, "state": "OK"});
        let e = event(&ok, &uptime_mapping(), KEY, "gen").unwrap().value;
        assert_eq!(e.action(), EventAction::Resolve);
        assert_eq!(e.dedup_key().unwrap().as_str(), "4411");
        let paused = json!({"check": {"id": "4411"}, "state": "paused"});
        assert_eq!(
            event(&paused, &uptime_mapping(), KEY, "g")
                .unwrap()
                .value
                .action(),
            EventAction::Acknowledge
        );
    }

    #[test]
    fn what_cannot_be_read_is_said() {
        let no_summary = event(&json!({"state": "down"}), &uptime_mapping(), KEY, "g").unwrap_err();
        assert_eq!(
            no_summary,
            ["no summary: nothing readable at '/check/name' in the body"]
        );
        let no_key = event(&json!({"state": "ok"}), &uptime_mapping(), KEY, "g").unwrap_err();
        assert!(
            no_key[0].starts_with("cannot resolve without a dedup key"),
            "{no_key:?}"
        );
        // Without a dedup key pointer, each trigger is new.
        let simple = Mapping {
            summary: "/msg".to_owned(),
            dedup_key: None,
            severity: None,
            source: None,
            action: None,
            actions: BTreeMap::new(),
        };
        let e = event(&json!({"msg": "hi"}), &simple, KEY, "gen-7")
            .unwrap()
            .value;
        assert_eq!(e.dedup_key().unwrap().as_str(), "gen-7");
        assert_eq!(e.alert().unwrap().severity, Severity::Error);
    }

    #[test]
    fn mappings_are_checked() {
        assert!(uptime_mapping().check().is_ok());
        let bad = Mapping {
            summary: "title".to_owned(),
            actions: [("ok".to_owned(), "explode".to_owned())].into(),
            ..uptime_mapping()
        };
        let errors = bad.check().unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::test_json::fuzz_cases(500)))]

        /// Any body under any pointers gives an event or reasons, never a panic.
        #[test]
        fn any_body_and_pointers_give_an_event_or_reasons(
            body in crate::test_json::arbitrary_json("(check|id|name|state|level|msg|[a-z~/0-9]{1,5})", ".{0,60}"),
            summary in "(/[a-z~0-9]{0,6}){0,3}",
            dedup in proptest::option::of("(/[a-z~0-9]{0,6}){0,3}"),
            action in proptest::option::of("(/[a-z~0-9]{0,6}){0,3}"),
        ) {
            let mapping = Mapping {
                summary, dedup_key: dedup, severity: Some("/level".to_owned()), source: None,
                action, actions: [("ok".to_owned(), "resolve".to_owned())].into(),
            };
            let _ = mapping.check();
            let _ = event(&body, &mapping, KEY, "generated");
        }
    }
}
