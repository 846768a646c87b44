//! Prometheus Alertmanager's webhook (payload version 4), and Grafana alerting's, which
//! extends it: each notification is turned into the PagerDuty Events v2 events it means
//! and parsed by the same rules as `/v2/enqueue`, so limits and warnings are one set.
//!
//! By default each alert is its own incident, keyed by its `fingerprint` (a hash of its
//! label set, stable while the alert lives): distinct alerts are never merged because
//! their summaries read alike. An integration can instead keep one incident per
//! notification group (`groupKey`), resolved when the whole group is.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::event::{AlertEvent, Parsed, Severity, parse_alert_event};

/// What one incident stands for.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// One incident per alert (its fingerprint).
    #[default]
    Alert,
    /// One incident per notification group (Alertmanager's `groupKey`).
    Group,
}

impl GroupBy {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Alert => "alert",
            GroupBy::Group => "group",
        }
    }

    pub fn parse(text: &str) -> Option<GroupBy> {
        match text {
            "alert" | "fingerprint" => Some(GroupBy::Alert),
            "group" | "group_key" => Some(GroupBy::Group),
            _ => None,
        }
    }
}

/// Which tool sent the notification (named as the events' `client`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    Alertmanager,
    Grafana,
}

impl Sender {
    fn name(self) -> &'static str {
        match self {
            Sender::Alertmanager => "Alertmanager",
            Sender::Grafana => "Grafana",
        }
    }
}

/// A severity label's value as an event severity: PagerDuty's four names, and the usual
/// others (`page`, `high`, `warn`, `low`, …); Alertmanager's own default is `error`.
pub fn severity_of(label: Option<&str>) -> Severity {
    let Some(text) = label else {
        return Severity::Error;
    };
    if let Some(s) = Severity::parse(text) {
        return s;
    }
    match text.to_ascii_lowercase().as_str() {
        "page" | "high" | "p1" | "p2" | "fatal" | "emergency" | "alert" | "disaster" => {
            Severity::Critical
        }
        "err" | "major" | "p3" | "average" => Severity::Error,
        "warn" | "minor" | "medium" | "p4" => Severity::Warning,
        "low" | "none" | "informational" | "information" | "notice" | "p5" | "ok" => Severity::Info,
        _ => Severity::Error,
    }
}

fn text<'a>(map: Option<&'a Map<String, Value>>, key: &str) -> Option<&'a str> {
    map?.get(key)?.as_str().filter(|s| !s.trim().is_empty())
}

/// A short stable key from any text: Alertmanager's group keys can be long.
fn digest(prefix: &str, text: &str) -> String {
    let hash = Sha256::digest(text.as_bytes());
    format!("{prefix}{}", hex::encode(&hash[..16]))
}

/// The first line of `text`.
fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text).trim()
}

/// A summary for alerts without a `summary` annotation: "InstanceDown on 10.0.0.1:9090".
fn summary_from(
    labels: Option<&Map<String, Value>>,
    annotations: Option<&Map<String, Value>>,
) -> String {
    if let Some(s) = text(annotations, "summary").or(text(annotations, "title")) {
        return first_line(s).to_owned();
    }
    if let Some(d) = text(annotations, "description").or(text(annotations, "message")) {
        return first_line(d).to_owned();
    }
    let name = text(labels, "alertname").unwrap_or("Alert");
    match text(labels, "instance").or(text(labels, "job")) {
        Some(on) => format!("{name} on {on}"),
        None => name.to_owned(),
    }
}

fn links(alert: &Map<String, Value>, annotations: Option<&Map<String, Value>>) -> Vec<Value> {
    let mut out = Vec::new();
    for (key, label) in [("runbook_url", "Runbook"), ("dashboard_url", "Dashboard")] {
        if let Some(url) = text(annotations, key) {
            out.push(json!({"href": url, "text": label}));
        }
    }
    for (key, label) in [
        ("generatorURL", "Source"),
        ("dashboardURL", "Dashboard"),
        ("panelURL", "Panel"),
        ("silenceURL", "Silence"),
    ] {
        if let Some(url) = text(Some(alert), key) {
            out.push(json!({"href": url, "text": label}));
        }
    }
    out
}

/// What a notification means: the events of the alerts that could be read, and why the
/// others could not (by position).
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    pub events: Vec<Parsed<AlertEvent>>,
    pub unreadable: Vec<String>,
}

/// The Events v2 events a notification means, parsed: one per alert (or one for the
/// group). An alert that cannot be read does not keep the others out; a notification that
/// cannot be read at all is an error.
pub fn events(
    body: &Value,
    routing_key: &str,
    by: GroupBy,
    sender: Sender,
) -> Result<Read, Vec<String>> {
    let Some(notification) = body.as_object() else {
        return Err(vec!["The notification must be a JSON object".to_owned()]);
    };
    let Some(alerts) = notification.get("alerts").and_then(Value::as_array) else {
        return Err(vec!["'alerts' is missing or not a list".to_owned()]);
    };
    let external = text(Some(notification), "externalURL");
    let mut out = Vec::new();
    let mut errors = Vec::new();
    match by {
        GroupBy::Alert => {
            for (i, alert) in alerts.iter().enumerate() {
                match alert_event(alert, routing_key, sender, external) {
                    Ok(e) => out.push(e),
                    Err(problems) => {
                        errors.extend(problems.into_iter().map(|p| format!("alerts[{i}]: {p}")))
                    }
                }
            }
        }
        GroupBy::Group => match group_event(notification, alerts, routing_key, sender, external) {
            Ok(e) => out.push(e),
            Err(problems) => return Err(problems),
        },
    }
    Ok(Read {
        events: out,
        unreadable: errors,
    })
}

fn is_resolved(status: Option<&str>) -> Result<bool, String> {
    match status {
        Some("firing") => Ok(false),
        Some("resolved") => Ok(true),
        Some(other) => Err(format!(
            "'status' must be firing or resolved, not '{other}'"
        )),
        None => Err("'status' is missing".to_owned()),
    }
}

fn alert_event(
    alert: &Value,
    routing_key: &str,
    sender: Sender,
    external: Option<&str>,
) -> Result<Parsed<AlertEvent>, Vec<String>> {
    let Some(alert) = alert.as_object() else {
        return Err(vec!["an alert must be a JSON object".to_owned()]);
    };
    let resolved = is_resolved(text(Some(alert), "status")).map_err(|e| vec![e])?;
    let labels = alert.get("labels").and_then(Value::as_object);
    let annotations = alert.get("annotations").and_then(Value::as_object);
    let key = match text(Some(alert), "fingerprint") {
        Some(f) => format!("fingerprint:{f}"),
        // Before Alertmanager 0.19 alerts had no fingerprint: the label set is what it hashes.
        None => digest(
            "labels:",
            &serde_json::to_string(&labels.cloned().unwrap_or_default()).unwrap_or_default(),
        ),
    };
    let event = if resolved {
        json!({"routing_key": routing_key, "event_action": "resolve", "dedup_key": key})
    } else {
        let mut details = Map::new();
        details.insert(
            "labels".to_owned(),
            Value::Object(labels.cloned().unwrap_or_default()),
        );
        details.insert(
            "annotations".to_owned(),
            Value::Object(annotations.cloned().unwrap_or_default()),
        );
        if let Some(v) = text(Some(alert), "valueString") {
            details.insert("values".to_owned(), Value::String(v.to_owned()));
        }
        let mut payload = json!({
            "summary": summary_from(labels, annotations),
            "source": text(labels, "instance").or(text(labels, "job")).unwrap_or(sender.name()),
            "severity": severity_of(text(labels, "severity")).as_str(),
            "custom_details": details,
        });
        if let Some(at) = text(Some(alert), "startsAt") {
            payload["timestamp"] = Value::String(at.to_owned());
        }
        for (field, label) in [
            ("class", "alertname"),
            ("component", "job"),
            ("group", "cluster"),
        ] {
            if let Some(v) = text(labels, label) {
                payload[field] = Value::String(v.to_owned());
            }
        }
        let mut event = json!({
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": key,
            "payload": payload,
            "client": sender.name(),
            "links": links(alert, annotations),
        });
        if let Some(url) = external {
            event["client_url"] = Value::String(url.to_owned());
        }
        event
    };
    parse_alert_event(&event)
}

fn group_event(
    notification: &Map<String, Value>,
    alerts: &[Value],
    routing_key: &str,
    sender: Sender,
    external: Option<&str>,
) -> Result<Parsed<AlertEvent>, Vec<String>> {
    let group = text(Some(notification), "groupKey")
        .ok_or_else(|| vec!["'groupKey' is missing".to_owned()])?;
    let key = digest("group:", group);
    let resolved = is_resolved(text(Some(notification), "status")).map_err(|e| vec![e])?;
    let event = if resolved {
        json!({"routing_key": routing_key, "event_action": "resolve", "dedup_key": key})
    } else {
        let labels = notification.get("commonLabels").and_then(Value::as_object);
        let annotations = notification
            .get("commonAnnotations")
            .and_then(Value::as_object);
        let firing: Vec<&Value> = alerts
            .iter()
            .filter(|a| a["status"].as_str() == Some("firing"))
            .collect();
        let summary = match (text(Some(notification), "title"), firing.len()) {
            (Some(title), _) => first_line(title).to_owned(),
            (None, 1) => summary_from(
                firing[0]["labels"].as_object(),
                firing[0]["annotations"].as_object(),
            ),
            (None, n) => format!("{n} alerts firing: {}", summary_from(labels, annotations)),
        };
        let worst = alerts
            .iter()
            .map(|a| severity_of(a["labels"]["severity"].as_str()))
            .max()
            .unwrap_or_else(|| severity_of(text(labels, "severity")));
        let mut event = json!({
            "routing_key": routing_key,
            "event_action": "trigger",
            "dedup_key": key,
            "payload": {
                "summary": summary,
                "source": text(labels, "instance").or(text(labels, "job")).unwrap_or(sender.name()),
                "severity": worst.as_str(),
                "class": text(labels, "alertname"),
                "custom_details": {
                    "groupLabels": notification.get("groupLabels").cloned().unwrap_or(Value::Null),
                    "commonLabels": labels.cloned().map(Value::Object).unwrap_or(Value::Null),
                    "commonAnnotations": annotations.cloned().map(Value::Object).unwrap_or(Value::Null),
                    "alerts": alerts.len(),
                    "firing": firing.len(),
                },
            },
            "client": sender.name(),
            "links": firing.first().and_then(|a| a.as_object()).map(|a| links(a, a.get("annotations").and_then(Value::as_object))).unwrap_or_default(),
        });
        if event["payload"]["class"].is_null() {
            event["payload"].as_object_mut().map(|p| p.remove("class"));
        }
        if let Some(url) = external {
            event["client_url"] = Value::String(url.to_owned());
        }
        event
    };
    parse_alert_event(&event)
}

#[cfg(test)]
mod tests;
