//! Events as monitoring tools send them (PagerDuty Events API v2), parsed once at the edge
//! into types that cannot be invalid. Parsing collects one precise message per problem.
//!
//! The rules follow PagerDuty's documentation; where it is silent, onduty prefers keeping
//! a page to refusing it: an over-long summary is truncated (as PagerDuty does) and an
//! unreadable `payload.timestamp` is ignored, each with a warning the caller can show.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ids::{DedupKey, KeyError, RoutingKey};
use crate::time::Timestamp;

/// PagerDuty's limit on `payload.summary`; longer summaries are truncated.
pub const SUMMARY_MAX_CHARS: usize = 1024;
/// onduty's limit on the other free-text fields (source, component, group, class, client, link text).
pub const TEXT_MAX_CHARS: usize = 1024;
/// onduty's limit on URLs (client_url, link href, image src and href).
pub const URL_MAX_CHARS: usize = 2048;
/// onduty's limit on the number of links, and of images, on one event.
pub const MAX_LINKS: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventAction {
    Trigger,
    Acknowledge,
    Resolve,
}

impl EventAction {
    pub fn as_str(self) -> &'static str {
        match self {
            EventAction::Trigger => "trigger",
            EventAction::Acknowledge => "acknowledge",
            EventAction::Resolve => "resolve",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Critical => "critical",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "info",
        }
    }

    pub fn parse(text: &str) -> Option<Severity> {
        match text.to_ascii_lowercase().as_str() {
            "critical" => Some(Severity::Critical),
            "error" => Some(Severity::Error),
            "warning" => Some(Severity::Warning),
            "info" => Some(Severity::Info),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub href: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// Whether a link sent by a monitoring tool may be shown as a clickable link: only
/// `http` and `https` (any case). Anything else (`javascript:`, `data:`, `file:`) is shown
/// as text, since a page or an e-mail would otherwise run or open it.
pub fn clickable(href: &str) -> bool {
    href.split_once("://").is_some_and(|(scheme, _)| {
        scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https")
    })
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Image {
    pub src: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub href: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alt: Option<String>,
}

/// What a trigger says about the problem (PagerDuty's `payload`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub summary: String,
    pub source: String,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_details: Option<Value>,
}

/// What an alert event asks. A trigger carries what the problem is and, if the sender
/// gave one, its dedup key; acknowledge and resolve name the key they act on.
#[derive(Debug, Clone, PartialEq)]
pub enum Act {
    Trigger {
        alert: Alert,
        /// Without one, the ingest batch keys the trigger by its event id, so it opens an
        /// incident of its own ([`DedupKey::of_event`]).
        dedup_key: Option<DedupKey>,
    },
    Acknowledge(DedupKey),
    Resolve(DedupKey),
}

impl Act {
    pub fn action(&self) -> EventAction {
        match self {
            Act::Trigger { .. } => EventAction::Trigger,
            Act::Acknowledge(_) => EventAction::Acknowledge,
            Act::Resolve(_) => EventAction::Resolve,
        }
    }

    /// The key the sender gave, if any.
    pub fn dedup_key(&self) -> Option<&DedupKey> {
        match self {
            Act::Trigger { dedup_key, .. } => dedup_key.as_ref(),
            Act::Acknowledge(key) | Act::Resolve(key) => Some(key),
        }
    }
}

/// A valid alert event. The routing key is kept out of serialization: it is a secret and
/// the stored event names its integration instead. Stored as PagerDuty's shape
/// (`action`, `dedup_key`, `alert`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "StoredAlertEvent", into = "StoredAlertEvent")]
pub struct AlertEvent {
    pub routing_key: Option<RoutingKey>,
    pub act: Act,
    pub client: Option<String>,
    pub client_url: Option<String>,
    pub links: Vec<Link>,
    pub images: Vec<Image>,
}

impl AlertEvent {
    pub fn action(&self) -> EventAction {
        self.act.action()
    }

    /// The key the sender gave, if any.
    pub fn dedup_key(&self) -> Option<&DedupKey> {
        self.act.dedup_key()
    }

    /// What the problem is, for a trigger.
    pub fn alert(&self) -> Option<&Alert> {
        match &self.act {
            Act::Trigger { alert, .. } => Some(alert),
            Act::Acknowledge(_) | Act::Resolve(_) => None,
        }
    }

    pub fn is_trigger(&self) -> bool {
        matches!(self.act, Act::Trigger { .. })
    }
}

/// An alert event as stored (and as every version of onduty stored it).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredAlertEvent {
    action: EventAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dedup_key: Option<DedupKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    alert: Option<Alert>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_url: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    links: Vec<Link>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    images: Vec<Image>,
}

impl TryFrom<StoredAlertEvent> for AlertEvent {
    type Error = &'static str;

    fn try_from(s: StoredAlertEvent) -> Result<Self, Self::Error> {
        let act = Act::from_parts(s.action, s.alert, s.dedup_key)?;
        Ok(AlertEvent {
            routing_key: None,
            act,
            client: s.client,
            client_url: s.client_url,
            links: s.links,
            images: s.images,
        })
    }
}

impl From<AlertEvent> for StoredAlertEvent {
    fn from(e: AlertEvent) -> Self {
        let action = e.action();
        let (alert, dedup_key) = match e.act {
            Act::Trigger { alert, dedup_key } => (Some(alert), dedup_key),
            Act::Acknowledge(key) | Act::Resolve(key) => (None, Some(key)),
        };
        StoredAlertEvent {
            action,
            dedup_key,
            alert,
            client: e.client,
            client_url: e.client_url,
            links: e.links,
            images: e.images,
        }
    }
}

impl Act {
    /// Puts together what the wire keeps apart, refusing the combinations that mean nothing.
    fn from_parts(
        action: EventAction,
        alert: Option<Alert>,
        dedup_key: Option<DedupKey>,
    ) -> Result<Act, &'static str> {
        Ok(match (action, alert, dedup_key) {
            (EventAction::Trigger, Some(alert), dedup_key) => Act::Trigger { alert, dedup_key },
            (EventAction::Trigger, None, _) => return Err("a trigger without its alert"),
            (EventAction::Acknowledge, _, Some(key)) => Act::Acknowledge(key),
            (EventAction::Resolve, _, Some(key)) => Act::Resolve(key),
            (EventAction::Acknowledge | EventAction::Resolve, _, None) => {
                return Err("an acknowledge or resolve without its dedup key");
            }
        })
    }
}

/// A valid change event: something changed (a deploy, a config push); nobody is paged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangeEvent {
    #[serde(skip)]
    pub routing_key: Option<RoutingKey>,
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_details: Option<Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
}

/// A parsed value with the warnings about what was adjusted to accept it.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed<T> {
    pub value: T,
    pub warnings: Vec<String>,
}

/// Parses a PagerDuty Events API v2 alert event (`POST /v2/enqueue`).
pub fn parse_alert_event(body: &Value) -> Result<Parsed<AlertEvent>, Vec<String>> {
    let mut p = Parser::default();
    let Some(obj) = body.as_object() else {
        return Err(vec!["Event object must be a JSON object".to_owned()]);
    };
    let routing_key = p.routing_key(obj);
    let action = match p.string(obj, "", "event_action", true) {
        Some(text) => match text.to_ascii_lowercase().as_str() {
            "trigger" => Some(EventAction::Trigger),
            "acknowledge" => Some(EventAction::Acknowledge),
            "resolve" => Some(EventAction::Resolve),
            _ => {
                p.error("'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')");
                None
            }
        },
        None => None,
    };
    let needs_key = matches!(
        action,
        Some(EventAction::Acknowledge | EventAction::Resolve)
    );
    let dedup_key = match p.string(obj, "", "dedup_key", false) {
        Some(text) => {
            match DedupKey::parse(&text) {
                Ok(key) => Some(key),
                Err(KeyError::DedupKeyBlank) if !needs_key => None,
                Err(KeyError::DedupKeyBlank) => {
                    p.error("'dedup_key' is missing or blank (it is required to acknowledge or resolve)");
                    None
                }
                Err(e) => {
                    p.error(e.to_string());
                    None
                }
            }
        }
        None => {
            if needs_key && !p.has_error_for("dedup_key") {
                p.error(
                    "'dedup_key' is missing or blank (it is required to acknowledge or resolve)",
                );
            }
            None
        }
    };
    let alert = if action == Some(EventAction::Trigger) {
        p.alert(obj)
    } else {
        None
    };
    let client = p.text(obj, "", "client", false);
    let client_url = p.url(obj, "", "client_url", false);
    let links = p.links(obj);
    let images = p.images(obj);

    let (Some(routing_key), Some(action)) = (routing_key, action) else {
        return Err(p.into_errors());
    };
    let Ok(act) = Act::from_parts(action, alert, dedup_key) else {
        return Err(p.into_errors());
    };
    p.finish(AlertEvent {
        routing_key: Some(routing_key),
        act,
        client,
        client_url,
        links,
        images,
    })
}

/// Parses a PagerDuty Events API v2 change event (`POST /v2/change/enqueue`).
pub fn parse_change_event(body: &Value) -> Result<Parsed<ChangeEvent>, Vec<String>> {
    let mut p = Parser::default();
    let Some(obj) = body.as_object() else {
        return Err(vec!["Event object must be a JSON object".to_owned()]);
    };
    let routing_key = p.routing_key(obj);
    let payload = p.object(obj, "", "payload", true);
    let (summary, source, timestamp, custom_details) = match payload {
        Some(payload) => (
            p.summary(payload),
            p.text(payload, "payload.", "source", false),
            p.timestamp(payload),
            payload
                .get("custom_details")
                .filter(|v| !v.is_null())
                .cloned(),
        ),
        None => (None, None, None, None),
    };
    let links = p.links(obj);
    let (Some(routing_key), Some(summary)) = (routing_key, summary) else {
        return Err(p.into_errors());
    };
    p.finish(ChangeEvent {
        routing_key: Some(routing_key),
        summary,
        source,
        timestamp,
        custom_details,
        links,
    })
}

/// Collects errors and warnings while reading a JSON object field by field.
#[derive(Default)]
struct Parser {
    errors: Vec<String>,
    warnings: Vec<String>,
}

impl Parser {
    fn error(&mut self, message: impl Into<String>) {
        self.errors.push(message.into());
    }

    fn has_error_for(&self, field: &str) -> bool {
        let quoted = format!("'{field}'");
        self.errors.iter().any(|e| e.contains(&quoted))
    }

    fn into_errors(self) -> Vec<String> {
        self.errors
    }

    fn finish<T>(self, value: T) -> Result<Parsed<T>, Vec<String>> {
        if self.errors.is_empty() {
            Ok(Parsed {
                value,
                warnings: self.warnings,
            })
        } else {
            Err(self.errors)
        }
    }

    /// A string field; `null` counts as absent. Wrong types are errors.
    fn string(
        &mut self,
        obj: &Map<String, Value>,
        prefix: &str,
        name: &str,
        required: bool,
    ) -> Option<String> {
        match obj.get(name) {
            None | Some(Value::Null) => {
                if required {
                    self.error(format!("'{prefix}{name}' is missing or blank"));
                }
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                if required {
                    self.error(format!("'{prefix}{name}' is missing or blank"));
                }
                None
            }
            // NUL cannot be stored in a PostgreSQL text column; keep the rest of the text.
            Some(Value::String(s)) if s.contains('\0') => {
                self.warnings.push(format!(
                    "'{prefix}{name}' held a NUL character, stored as U+FFFD"
                ));
                Some(crate::text::without_nul(s).into_owned())
            }
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                self.error(format!(
                    "'{prefix}{name}' must be a string, not {}",
                    json_type(other)
                ));
                None
            }
        }
    }

    /// A free-text field, truncated with a warning past `TEXT_MAX_CHARS`.
    fn text(
        &mut self,
        obj: &Map<String, Value>,
        prefix: &str,
        name: &str,
        required: bool,
    ) -> Option<String> {
        let text = self.string(obj, prefix, name, required)?;
        Some(self.truncate(text, prefix, name, TEXT_MAX_CHARS))
    }

    fn truncate(&mut self, text: String, prefix: &str, name: &str, max: usize) -> String {
        match text.char_indices().nth(max) {
            None => text,
            Some((cut, _)) => {
                self.warnings.push(format!(
                    "'{prefix}{name}' was longer than {max} characters ({}) and was truncated",
                    text.chars().count()
                ));
                text[..cut].to_owned()
            }
        }
    }

    fn url(
        &mut self,
        obj: &Map<String, Value>,
        prefix: &str,
        name: &str,
        required: bool,
    ) -> Option<String> {
        let url = self.string(obj, prefix, name, required)?;
        if url.chars().count() > URL_MAX_CHARS {
            self.error(format!(
                "'{prefix}{name}' is too long (maximum is {URL_MAX_CHARS} characters)"
            ));
            return None;
        }
        Some(url)
    }

    fn object<'v>(
        &mut self,
        obj: &'v Map<String, Value>,
        prefix: &str,
        name: &str,
        required: bool,
    ) -> Option<&'v Map<String, Value>> {
        match obj.get(name) {
            None | Some(Value::Null) => {
                if required {
                    self.error(format!("'{prefix}{name}' is missing or blank"));
                }
                None
            }
            Some(Value::Object(o)) => Some(o),
            Some(other) => {
                self.error(format!(
                    "'{prefix}{name}' must be an object, not {}",
                    json_type(other)
                ));
                None
            }
        }
    }

    fn routing_key(&mut self, obj: &Map<String, Value>) -> Option<RoutingKey> {
        let text = self.string(obj, "", "routing_key", true)?;
        match RoutingKey::parse(&text) {
            Ok(key) => Some(key),
            Err(e) => {
                self.error(e.to_string());
                None
            }
        }
    }

    fn summary(&mut self, payload: &Map<String, Value>) -> Option<String> {
        let summary = self.string(payload, "payload.", "summary", true)?;
        Some(self.truncate(summary, "payload.", "summary", SUMMARY_MAX_CHARS))
    }

    fn timestamp(&mut self, payload: &Map<String, Value>) -> Option<Timestamp> {
        match payload.get("timestamp") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.trim().is_empty() => None,
            Some(Value::String(s)) => match Timestamp::parse(s) {
                Ok(ts) => Some(ts),
                Err(e) => {
                    self.warnings
                        .push(format!("'payload.timestamp' was ignored: {e}"));
                    None
                }
            },
            Some(other) => {
                self.warnings.push(format!(
                    "'payload.timestamp' was ignored: it must be an ISO 8601 string, not {}",
                    json_type(other)
                ));
                None
            }
        }
    }

    fn alert(&mut self, obj: &Map<String, Value>) -> Option<Alert> {
        let payload = self.object(obj, "", "payload", true)?;
        let summary = self.summary(payload);
        let source = self.text(payload, "payload.", "source", true);
        let severity = match self.string(payload, "payload.", "severity", true) {
            Some(text) => match Severity::parse(&text) {
                Some(s) => Some(s),
                None => {
                    self.error("'payload.severity' is invalid (must be one of the following: 'critical', 'error', 'warning' or 'info')");
                    None
                }
            },
            None => None,
        };
        let timestamp = self.timestamp(payload);
        let component = self.text(payload, "payload.", "component", false);
        let group = self.text(payload, "payload.", "group", false);
        let class = self.text(payload, "payload.", "class", false);
        let custom_details = payload
            .get("custom_details")
            .filter(|v| !v.is_null())
            .cloned();
        Some(Alert {
            summary: summary?,
            source: source?,
            severity: severity?,
            timestamp,
            component,
            group,
            class,
            custom_details,
        })
    }

    /// An optional array; returns its items with their index, in order.
    fn array<'v>(&mut self, obj: &'v Map<String, Value>, name: &str) -> Vec<(usize, &'v Value)> {
        let items = match obj.get(name) {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Array(items)) => items,
            Some(other) => {
                self.error(format!(
                    "'{name}' must be an array, not {}",
                    json_type(other)
                ));
                return Vec::new();
            }
        };
        if items.len() > MAX_LINKS {
            self.error(format!(
                "'{name}' has {} entries (maximum is {MAX_LINKS})",
                items.len()
            ));
            return Vec::new();
        }
        items.iter().enumerate().collect()
    }

    fn item_object<'v>(
        &mut self,
        name: &str,
        i: usize,
        item: &'v Value,
    ) -> Option<&'v Map<String, Value>> {
        match item {
            Value::Object(o) => Some(o),
            other => {
                self.error(format!(
                    "'{name}[{i}]' must be an object, not {}",
                    json_type(other)
                ));
                None
            }
        }
    }

    fn links(&mut self, obj: &Map<String, Value>) -> Vec<Link> {
        let mut links = Vec::new();
        for (i, item) in self.array(obj, "links") {
            let Some(o) = self.item_object("links", i, item) else {
                continue;
            };
            let prefix = format!("links[{i}].");
            let href = self.url(o, &prefix, "href", true);
            let text = self.text(o, &prefix, "text", false);
            if let Some(href) = href {
                links.push(Link { href, text });
            }
        }
        links
    }

    fn images(&mut self, obj: &Map<String, Value>) -> Vec<Image> {
        let mut images = Vec::new();
        for (i, item) in self.array(obj, "images") {
            let Some(o) = self.item_object("images", i, item) else {
                continue;
            };
            let prefix = format!("images[{i}].");
            let src = self.url(o, &prefix, "src", true);
            let href = self.url(o, &prefix, "href", false);
            let alt = self.text(o, &prefix, "alt", false);
            if let Some(src) = src {
                images.push(Image { src, href, alt });
            }
        }
        images
    }
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_web_links_are_clickable() {
        for (href, expected) in [
            ("https://runbooks.example/a", true),
            ("HTTP://grafana.example", true),
            ("javascript:alert(1)", false),
            ("JavaScript://%0aalert(1)", false),
            ("data:text/html,<script>alert(1)</script>", false),
            (" https://leading.space", false),
            ("file:///etc/passwd", false),
            ("/relative", false),
        ] {
            assert_eq!(super::clickable(href), expected, "{href}");
        }
    }

    use super::*;
    use serde_json::json;

    const KEY: &str = "e93facc04764012d7bfb002500d5d1a6";

    fn errors(body: Value) -> Vec<String> {
        parse_alert_event(&body).expect_err("should be refused")
    }

    #[test]
    fn accepts_pagerduty_documented_example() {
        let body = json!({"routing_key":KEY,"event_action":"trigger","dedup_key":"srv01/mysql",
            "payload":{"summary":"DISK at 99% on prod-datapipe03","source":"prod-datapipe03.example.com",
            "severity":"critical","timestamp":"2015-07-17T08:42:58.315+0000","component":"mysql",
            "group":"prod-datapipe","class":"disk","custom_details":{"free space":"1%"}},
            "links":[{"href":"https://example.com/","text":"Link text"}],
            "images":[{"src":"https://example.com/g.png","href":"https://example.com/","alt":"graph"}],
            "client":"Sample Monitoring Service","client_url":"https://monitoring.example.com",
            "unknown_field": {"is": "ignored"}});
        let parsed = parse_alert_event(&body).unwrap();
        assert!(parsed.warnings.is_empty());
        let e = parsed.value;
        assert_eq!(e.action(), EventAction::Trigger);
        assert_eq!(e.dedup_key().unwrap().as_str(), "srv01/mysql");
        let alert = e.alert().unwrap();
        assert_eq!(alert.severity, Severity::Critical);
        assert_eq!(alert.timestamp.unwrap().as_millis(), 1_437_122_578_315);
        assert_eq!(alert.component.as_deref(), Some("mysql"));
        assert_eq!(alert.custom_details, Some(json!({"free space":"1%"})));
        assert_eq!(e.links.len(), 1);
        assert_eq!(e.images[0].alt.as_deref(), Some("graph"));
        assert_eq!(e.client.as_deref(), Some("Sample Monitoring Service"));
    }

    #[test]
    fn acknowledge_and_resolve_need_only_key_and_dedup_key() {
        for action in ["acknowledge", "resolve"] {
            let e = parse_alert_event(
                &json!({"routing_key":KEY,"event_action":action,"dedup_key":"k"}),
            )
            .unwrap()
            .value;
            assert_eq!(e.action().as_str(), action);
            assert!(e.alert().is_none());
        }
    }

    #[test]
    fn each_problem_gets_its_own_precise_message() {
        let cases: Vec<(Value, Vec<&str>)> = vec![
            (json!([]), vec!["Event object must be a JSON object"]),
            (
                json!({}),
                vec![
                    "'routing_key' is missing or blank",
                    "'event_action' is missing or blank",
                ],
            ),
            (
                json!({"routing_key":"abc","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"critical"}}),
                vec!["Length of 'routing_key' is incorrect (should be 32 characters)"],
            ),
            (
                json!({"routing_key":KEY,"event_action":"explode"}),
                vec![
                    "'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')",
                ],
            ),
            (
                json!({"routing_key":KEY,"event_action":"trigger"}),
                vec!["'payload' is missing or blank"],
            ),
            (
                json!({"routing_key":KEY,"event_action":"trigger","payload":{}}),
                vec![
                    "'payload.summary' is missing or blank",
                    "'payload.source' is missing or blank",
                    "'payload.severity' is missing or blank",
                ],
            ),
            (
                json!({"routing_key":KEY,"event_action":"trigger","payload":{"summary":"s","source":"h","severity":"bad"}}),
                vec![
                    "'payload.severity' is invalid (must be one of the following: 'critical', 'error', 'warning' or 'info')",
                ],
            ),
            (
                json!({"routing_key":KEY,"event_action":"trigger","payload":{"summary":5,"source":"h","severity":"info"}}),
                vec!["'payload.summary' must be a string, not a number"],
            ),
            (
                json!({"routing_key":KEY,"event_action":"resolve"}),
                vec!["'dedup_key' is missing or blank (it is required to acknowledge or resolve)"],
            ),
            (
                json!({"routing_key":KEY,"event_action":"resolve","dedup_key":"k".repeat(256)}),
                vec!["Length of 'dedup_key' is too long (maximum is 255 characters)"],
            ),
            (
                json!({"routing_key":KEY,"event_action":"acknowledge","dedup_key":7}),
                vec!["'dedup_key' must be a string, not a number"],
            ),
            (
                json!({"routing_key":KEY,"event_action":"resolve","dedup_key":"k","links":[{"text":"x"}, 3],"images":{}}),
                vec![
                    "'links[0].href' is missing or blank",
                    "'links[1]' must be an object, not a number",
                    "'images' must be an array, not an object",
                ],
            ),
            (
                json!({"routing_key":KEY,"event_action":"resolve","dedup_key":"k","client_url":"h".repeat(URL_MAX_CHARS + 1)}),
                vec!["'client_url' is too long (maximum is 2048 characters)"],
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(errors(body.clone()), expected, "for {body}");
        }
    }

    #[test]
    fn long_summary_is_truncated_to_1024_characters_with_a_warning() {
        let long = "é".repeat(1500);
        let body = json!({"routing_key":KEY,"event_action":"trigger",
            "payload":{"summary":long,"source":"h","severity":"warning"}});
        let parsed = parse_alert_event(&body).unwrap();
        assert_eq!(parsed.value.alert().unwrap().summary.chars().count(), 1024);
        assert_eq!(
            parsed.warnings,
            vec!["'payload.summary' was longer than 1024 characters (1500) and was truncated"]
        );
    }

    #[test]
    fn unreadable_timestamp_is_ignored_with_a_warning_rather_than_losing_the_page() {
        let body = json!({"routing_key":KEY,"event_action":"trigger",
            "payload":{"summary":"s","source":"h","severity":"info","timestamp":"last tuesday"}});
        let parsed = parse_alert_event(&body).unwrap();
        assert_eq!(parsed.value.alert().unwrap().timestamp, None);
        assert_eq!(parsed.warnings.len(), 1);
        assert!(parsed.warnings[0].starts_with("'payload.timestamp' was ignored"));
    }

    #[test]
    fn nul_characters_are_replaced_not_refused() {
        let body = json!({"routing_key":KEY,"event_action":"trigger","dedup_key":"a\u{0}b",
            "payload":{"summary":"x\u{0}y","source":"h","severity":"info"}});
        let e = parse_alert_event(&body).unwrap().value;
        assert_eq!(e.dedup_key().unwrap().as_str(), "a\u{FFFD}b");
        assert_eq!(e.alert().unwrap().summary, "x\u{FFFD}y");
    }

    #[test]
    fn blank_dedup_key_on_a_trigger_means_none() {
        let body = json!({"routing_key":KEY,"event_action":"trigger","dedup_key":"",
            "payload":{"summary":"s","source":"h","severity":"INFO"}});
        let e = parse_alert_event(&body).unwrap().value;
        assert_eq!(e.dedup_key(), None);
        assert_eq!(e.alert().unwrap().severity, Severity::Info);
    }

    #[test]
    fn stored_form_never_contains_the_routing_key() {
        let body = json!({"routing_key":KEY,"event_action":"resolve","dedup_key":"k"});
        let e = parse_alert_event(&body).unwrap().value;
        let stored = serde_json::to_string(&e).unwrap();
        assert!(!stored.contains(KEY));
        let back: AlertEvent = serde_json::from_str(&stored).unwrap();
        assert_eq!(back.dedup_key(), e.dedup_key());
    }

    #[test]
    fn stored_form_keeps_the_wire_shape_and_refuses_what_means_nothing() {
        let body = json!({"routing_key":KEY,"event_action":"trigger","dedup_key":"k",
            "payload":{"summary":"s","source":"h","severity":"info"}});
        let e = parse_alert_event(&body).unwrap().value;
        let stored = serde_json::to_value(&e).unwrap();
        assert_eq!(stored["action"], "trigger");
        assert_eq!(stored["dedup_key"], "k");
        assert_eq!(stored["alert"]["summary"], "s");
        let back: AlertEvent = serde_json::from_value(stored).unwrap();
        assert_eq!(back.act, e.act);

        let no_alert = json!({"action":"trigger","dedup_key":"k"});
        assert!(serde_json::from_value::<AlertEvent>(no_alert).is_err());
        let no_key = json!({"action":"acknowledge"});
        assert!(serde_json::from_value::<AlertEvent>(no_key).is_err());
    }

    #[test]
    fn change_events_need_a_summary() {
        let ok = json!({"routing_key":KEY,"payload":{"summary":"Deployed v2","source":"ci",
            "timestamp":"2020-07-17T08:42:58.315+0000","custom_details":{"build":"2"}},
            "links":[{"href":"https://ci.example/2"}]});
        let e = parse_change_event(&ok).unwrap().value;
        assert_eq!(e.summary, "Deployed v2");
        assert_eq!(e.links[0].href, "https://ci.example/2");
        let bad = json!({"routing_key":KEY,"payload":{"source":"ci"}});
        assert_eq!(
            parse_change_event(&bad).unwrap_err(),
            vec!["'payload.summary' is missing or blank"]
        );
        assert_eq!(
            parse_change_event(&json!({"routing_key":KEY})).unwrap_err(),
            vec!["'payload' is missing or blank"]
        );
    }
}
