use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::event::EventAction;

const KEY: &str = "abcdefabcdefabcdefabcdefabcdef12";

/// The example from Alertmanager's documentation, as the reference gives it.
fn instance_down() -> Value {
    json!({"version":"4","groupKey":"{}:{alertname=\"InstanceDown\"}","truncatedAlerts":0,"status":"firing",
     "receiver":"oncall","groupLabels":{"alertname":"InstanceDown"},
     "commonLabels":{"alertname":"InstanceDown","severity":"critical"},"commonAnnotations":{},
     "externalURL":"http://am:9093",
     "alerts":[{"status":"firing","labels":{"alertname":"InstanceDown","instance":"10.0.0.1:9090","severity":"critical"},
      "annotations":{"summary":"Instance 10.0.0.1:9090 down","runbook_url":"https://runbooks.example/instance-down"},
      "startsAt":"2020-08-08T14:32:08.326Z","endsAt":"0001-01-01T00:00:00Z",
      "generatorURL":"http://prom:9090/graph?g0.expr=up","fingerprint":"791cec13fcba0368"}]})
}

fn one(body: &Value, by: GroupBy) -> AlertEvent {
    let mut all = events(body, KEY, by, Sender::Alertmanager).unwrap().events;
    assert_eq!(all.len(), 1);
    all.remove(0).value
}

#[test]
fn a_firing_alert_triggers_by_its_fingerprint_with_labels_annotations_and_links() {
    let e = one(&instance_down(), GroupBy::Alert);
    assert_eq!(e.action(), EventAction::Trigger);
    assert_eq!(
        e.dedup_key().unwrap().as_str(),
        "fingerprint:791cec13fcba0368"
    );
    assert_eq!(e.routing_key.as_ref().unwrap().as_str(), KEY);
    let alert = e.alert().unwrap();
    assert_eq!(alert.summary, "Instance 10.0.0.1:9090 down");
    assert_eq!(alert.source, "10.0.0.1:9090");
    assert_eq!(alert.severity, Severity::Critical);
    assert_eq!(alert.class.as_deref(), Some("InstanceDown"));
    assert!(alert.timestamp.is_some());
    let details = alert.custom_details.clone().unwrap();
    assert_eq!(details["labels"]["instance"], "10.0.0.1:9090");
    assert_eq!(
        details["annotations"]["runbook_url"],
        "https://runbooks.example/instance-down"
    );
    assert_eq!(e.links[0].href, "https://runbooks.example/instance-down");
    assert_eq!(e.links[0].text.as_deref(), Some("Runbook"));
    assert_eq!(e.links[1].href, "http://prom:9090/graph?g0.expr=up");
    assert_eq!(e.client.as_deref(), Some("Alertmanager"));
    assert_eq!(e.client_url.as_deref(), Some("http://am:9093"));
}

#[test]
fn a_resolved_alert_resolves_the_same_key() {
    let mut body = instance_down();
    body["status"] = json!("resolved");
    body["alerts"][0]["status"] = json!("resolved");
    let e = one(&body, GroupBy::Alert);
    assert_eq!(e.action(), EventAction::Resolve);
    assert_eq!(
        e.dedup_key().unwrap().as_str(),
        "fingerprint:791cec13fcba0368"
    );
}

#[test]
fn alerts_that_read_alike_stay_apart_and_each_has_its_own_status() {
    let mut body = instance_down();
    let mut second = body["alerts"][0].clone();
    second["labels"]["instance"] = json!("10.0.0.2:9090");
    second["fingerprint"] = json!("0000000000000002");
    second["status"] = json!("resolved");
    body["alerts"].as_array_mut().unwrap().push(second);
    let all = events(&body, KEY, GroupBy::Alert, Sender::Alertmanager)
        .unwrap()
        .events;
    assert_eq!(all.len(), 2);
    assert_ne!(all[0].value.dedup_key(), all[1].value.dedup_key());
    assert_eq!(all[0].value.action(), EventAction::Trigger);
    assert_eq!(all[1].value.action(), EventAction::Resolve);
}

#[test]
fn a_group_is_one_incident_resolved_with_the_whole_group() {
    let mut body = instance_down();
    let mut second = body["alerts"][0].clone();
    second["fingerprint"] = json!("0000000000000002");
    second["labels"]["severity"] = json!("warning");
    body["alerts"].as_array_mut().unwrap().push(second);
    let e = one(&body, GroupBy::Group);
    let key = e.dedup_key().cloned().unwrap();
    assert!(key.as_str().starts_with("group:"), "{}", key.as_str());
    let alert = e.alert().unwrap();
    assert_eq!(alert.summary, "2 alerts firing: InstanceDown");
    assert_eq!(alert.severity, Severity::Critical, "the worst of the group");
    assert_eq!(alert.custom_details.clone().unwrap()["firing"], 2);

    // One alert resolving does not resolve the group; the group resolving does.
    body["alerts"][0]["status"] = json!("resolved");
    let still = one(&body, GroupBy::Group);
    assert_eq!(still.action(), EventAction::Trigger);
    assert_eq!(
        still.alert().unwrap().summary,
        "Instance 10.0.0.1:9090 down"
    );
    body["status"] = json!("resolved");
    let done = one(&body, GroupBy::Group);
    assert_eq!(done.action(), EventAction::Resolve);
    assert_eq!(done.dedup_key(), Some(&key));
}

#[test]
fn without_a_summary_the_alert_names_itself_and_without_a_fingerprint_its_labels_key_it() {
    let body = json!({"status": "firing", "alerts": [
        {"status": "firing", "labels": {"alertname": "HighLatency", "job": "api"}},
        {"status": "firing", "labels": {"alertname": "HighLatency", "job": "web"}}]});
    let all = events(&body, KEY, GroupBy::Alert, Sender::Alertmanager)
        .unwrap()
        .events;
    let a = all[0].value.alert().unwrap();
    assert_eq!(a.summary, "HighLatency on api");
    assert_eq!(a.source, "api");
    assert_eq!(a.severity, Severity::Error, "Alertmanager's default");
    let keys: Vec<_> = all
        .iter()
        .map(|e| e.value.dedup_key().cloned().unwrap())
        .collect();
    assert!(keys[0].as_str().starts_with("labels:"));
    assert_ne!(keys[0], keys[1]);
}

#[test]
fn grafanas_payload_brings_its_title_dashboard_panel_and_values() {
    let body = json!({
        "receiver": "onduty", "status": "firing", "orgId": 1, "title": "[FIRING:1] DiskFull (db01)",
        "state": "alerting", "message": "…", "groupKey": "{}/{}:{alertname=\"DiskFull\"}",
        "alerts": [{"status": "firing", "labels": {"alertname": "DiskFull", "instance": "db01", "severity": "warning"},
            "annotations": {"summary": "Disk 95% full on db01"},
            "startsAt": "2026-11-22T08:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://grafana:3000/alerting/grafana/abc/view",
            "fingerprint": "a1b2c3", "silenceURL": "http://grafana:3000/alerting/silence/new",
            "dashboardURL": "http://grafana:3000/d/xyz", "panelURL": "http://grafana:3000/d/xyz?viewPanel=2",
            "valueString": "[ var='A' labels={instance=db01} value=95 ]"}]});
    let all = events(&body, KEY, GroupBy::Alert, Sender::Grafana)
        .unwrap()
        .events;
    let e = &all[0].value;
    assert_eq!(e.client.as_deref(), Some("Grafana"));
    let alert = e.alert().unwrap();
    assert_eq!(alert.summary, "Disk 95% full on db01");
    assert_eq!(alert.severity, Severity::Warning);
    assert_eq!(
        alert.custom_details.as_ref().unwrap()["values"],
        "[ var='A' labels={instance=db01} value=95 ]"
    );
    let texts: Vec<_> = e.links.iter().filter_map(|l| l.text.as_deref()).collect();
    assert_eq!(texts, ["Source", "Dashboard", "Panel", "Silence"]);
    // The group's title names it when grouped.
    let grouped = one_grafana(&body);
    assert_eq!(
        grouped.alert().unwrap().summary,
        "[FIRING:1] DiskFull (db01)"
    );
}

fn one_grafana(body: &Value) -> AlertEvent {
    events(body, KEY, GroupBy::Group, Sender::Grafana)
        .unwrap()
        .events
        .remove(0)
        .value
}

#[test]
fn bad_notifications_say_what_is_wrong_and_where() {
    assert!(events(&json!([]), KEY, GroupBy::Alert, Sender::Alertmanager).is_err());
    let no_alerts = events(
        &json!({"status": "firing"}),
        KEY,
        GroupBy::Alert,
        Sender::Alertmanager,
    );
    assert_eq!(
        no_alerts.unwrap_err(),
        ["'alerts' is missing or not a list"]
    );
    let body = json!({"alerts": [{"status": "firing", "labels": {"alertname": "A"}}, {"status": "exploded"}, 7]});
    let read = events(&body, KEY, GroupBy::Alert, Sender::Alertmanager).unwrap();
    // The readable alert is kept; the others are named.
    assert_eq!(read.events.len(), 1);
    let errors = read.unreadable;
    assert_eq!(
        errors,
        [
            "alerts[1]: 'status' must be firing or resolved, not 'exploded'",
            "alerts[2]: an alert must be a JSON object"
        ]
    );
    let nothing = events(
        &json!({"alerts": []}),
        KEY,
        GroupBy::Alert,
        Sender::Alertmanager,
    );
    assert!(nothing.unwrap().events.is_empty());
}

#[test]
fn severities_read_the_usual_names() {
    for (label, expected) in [
        (Some("critical"), Severity::Critical),
        (Some("page"), Severity::Critical),
        (Some("P1"), Severity::Critical),
        (Some("error"), Severity::Error),
        (Some("warning"), Severity::Warning),
        (Some("warn"), Severity::Warning),
        (Some("info"), Severity::Info),
        (Some("low"), Severity::Info),
        (Some("whatever"), Severity::Error),
        (None, Severity::Error),
    ] {
        assert_eq!(severity_of(label), expected, "{label:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(crate::test_json::fuzz_cases(500)))]

    /// Whatever arrives, the answer is events or reasons, never a panic.
    #[test]
    fn any_json_gives_events_or_reasons(body in crate::test_json::arbitrary_json("(alerts|status|labels|annotations|fingerprint|groupKey|startsAt|title|[a-z]{1,6})", "(firing|resolved|[a-z]{0,8}|.{0,40})"), group in any::<bool>()) {
        let by = if group { GroupBy::Group } else { GroupBy::Alert };
        let _ = events(&body, KEY, by, Sender::Grafana);
        let wrapped = json!({"status": "firing", "groupKey": "g", "alerts": [body]});
        let _ = events(&wrapped, KEY, by, Sender::Alertmanager);
    }

    #[test]
    fn any_bytes_that_parse_give_events_or_reasons(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(body) = serde_json::from_slice::<Value>(&bytes) {
            let _ = events(&body, KEY, GroupBy::Alert, Sender::Alertmanager);
        }
    }
}
