//! Data retention: once events and resolved incidents' timelines are older than the
//! retention, the engine deletes them; incidents, the timelines of incidents still open,
//! postmortems and report figures stay as they were.

use std::time::Duration;

use onduty_core::retention::Retention;
use onduty_testkit::{TestApp, backends, follow_up_event, trigger_event};
use reqwest::Method;
use serde_json::{Value, json};

use crate::reports::{PERIOD, fortnight, report};
use crate::watchdog::instance;

const DAY: Duration = Duration::from_secs(86_400);

/// How many rows `table` has (an update that changes nothing counts them).
async fn rows(app: &TestApp, table: &str, column: &str) -> u64 {
    app.db
        .execute(&format!("UPDATE {table} SET {column} = {column}"))
        .await
}

async fn timeline_of(app: &TestApp, number: i64) -> Vec<Value> {
    let (_, detail) = app
        .api(Method::GET, &format!("/incidents/{number}"), None)
        .await;
    detail["timeline"].as_array().cloned().unwrap_or_default()
}

/// A change event (a deploy) through `key`.
async fn change(app: &TestApp, key: &str, summary: &str) {
    let event = json!({"routing_key": key, "payload": {"summary": summary, "source": "ci"}});
    let (status, body, _) = app.post_raw("/v2/change/enqueue", event.to_string()).await;
    assert_eq!(status, reqwest::StatusCode::ACCEPTED, "{body}");
}

async fn get(app: &TestApp, path: &str) -> Value {
    app.api(Method::GET, path, None).await.1
}

#[tokio::test]
async fn past_the_retention_events_and_resolved_timelines_go_and_the_rest_stays() {
    for backend in backends() {
        let app = fortnight(backend).await;
        let incidents = app.all_incidents().await;
        let resolved = incidents
            .iter()
            .find(|i| i["status"] == "resolved")
            .expect("a resolved incident")["number"]
            .as_i64()
            .unwrap();
        // An incident left open: its timeline stays however old.
        let (_, key) = app.service("Legacy", "open").await;
        app.send_event(trigger_event(&key, "legacy/cron", "Legacy cron stopped"))
            .await;
        let open = app.all_incidents().await.len() as i64;
        let report_before = report(&app, PERIOD).await;
        let postmortems_before = get(&app, "/postmortems").await;
        let resolved_before = get(&app, &format!("/incidents/{resolved}")).await;
        assert!(!timeline_of(&app, resolved).await.is_empty());
        // Events that touched no incident are kept in the events log (those that did,
        // in their incident's timeline): a deploy, and an acknowledgement of nothing.
        change(&app, &key, "Deployed legacy 2.3").await;
        app.send_event(follow_up_event(&key, "acknowledge", "no/such/key"))
            .await;
        let events = rows(&app, "events", "kind").await;
        assert_eq!(events, 2, "({backend:?})");

        let (engine, _) = instance(&app, "retention", None, None, Retention::days(30).ok()).await;
        // Within the retention nothing goes.
        let next = engine.tick(app.now()).await.unwrap();
        assert!(next.is_some_and(|n| n <= app.now().saturating_add(Duration::from_secs(3600))));
        assert_eq!(rows(&app, "events", "kind").await, events, "{backend:?}");

        // A year on, with one fresh event.
        app.advance(365 * DAY);
        let (_, fresh) = app.service("Fresh", "open").await;
        app.send_event(trigger_event(&fresh, "fresh/1", "Fresh problem"))
            .await;
        change(&app, &fresh, "Deployed fresh 1.0").await;
        engine.tick(app.now()).await.unwrap();

        assert_eq!(
            rows(&app, "events", "kind").await,
            1,
            "only the fresh event ({backend:?})"
        );
        let (_, changes) = app.api(Method::GET, "/services/Legacy/changes", None).await;
        assert_eq!(
            changes["changes"].as_array().map(Vec::len),
            Some(0),
            "{changes}"
        );
        assert!(timeline_of(&app, resolved).await.is_empty(), "{backend:?}");
        assert!(
            !timeline_of(&app, open).await.is_empty(),
            "open: kept ({backend:?})"
        );
        assert!(!timeline_of(&app, open + 1).await.is_empty());
        let resolved_after = get(&app, &format!("/incidents/{resolved}")).await;
        assert_eq!(resolved_after["incident"], resolved_before["incident"]);
        assert_eq!(report(&app, PERIOD).await, report_before, "{backend:?}");
        assert_eq!(get(&app, "/postmortems").await, postmortems_before);
        app.stop().await;
    }
}
