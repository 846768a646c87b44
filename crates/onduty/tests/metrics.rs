//! `/metrics`, scraped as Prometheus would, while onduty takes events and pages. Its own
//! test process: the recorder is the process's, so no other story moves these counters.

use std::collections::BTreeMap;
use std::time::Duration;

use onduty_notify::NotifyError;
use onduty_testkit::story::{level, pages_to, person, policy, service};
use onduty_testkit::{Backend, TestApp, trigger_event};
use reqwest::StatusCode;
use serde_json::json;

const TOKEN: &str = "scrape-token-0123456789";
const ALICE: &str = "+447700900001";

/// One scrape: each sample by its name and sorted labels, e.g.
/// `onduty_pages_total{channel="sms",outcome="sent"}`.
struct Scrape {
    text: String,
    samples: BTreeMap<String, f64>,
}

impl Scrape {
    fn get(&self, sample: &str) -> f64 {
        self.samples.get(sample).copied().unwrap_or(0.0)
    }
}

fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut samples = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').expect("a sample and its value");
        let key = match series.split_once('{') {
            None => series.to_owned(),
            Some((name, labels)) => {
                let mut pairs: Vec<&str> = labels.trim_end_matches('}').split(',').collect();
                pairs.sort_unstable();
                format!("{name}{{{}}}", pairs.join(","))
            }
        };
        samples.insert(key, value.parse().expect("a number"));
    }
    samples
}

async fn scrape(app: &TestApp) -> Scrape {
    let answer = app
        .http
        .get(format!("{}/metrics", app.url))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(
        answer.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let text = answer.text().await.unwrap();
    Scrape {
        samples: parse(&text),
        text,
    }
}

#[tokio::test]
async fn a_scrape_sees_events_pages_and_the_engine_move() {
    let app = TestApp::start_with(Backend::Sqlite, |c| {
        c.metrics_token = Some(onduty_web::Secret::new(TOKEN.to_owned()));
    })
    .await;

    // Without the token, or with another, nothing is shown.
    let bare = app.http.get(format!("{}/metrics", app.url)).send().await;
    assert_eq!(bare.unwrap().status(), StatusCode::UNAUTHORIZED);
    let wrong = app
        .http
        .get(format!("{}/metrics", app.url))
        .bearer_auth("scrape-token-9876543210")
        .send()
        .await;
    assert_eq!(wrong.unwrap().status(), StatusCode::UNAUTHORIZED);

    person(&app, "Alice", ALICE).await;
    policy(
        &app,
        json!({"name": "Ops", "levels": [level(&["alice@example.com"], 30)]}),
    )
    .await;
    let key = service(&app, "Database", "Ops", json!({})).await;
    let before = scrape(&app).await;

    // Two triggers (one folds into the other's incident) and one event refused.
    for _ in 0..2 {
        let (status, _) = app
            .send_event(trigger_event(&key, "db01/disk", "DISK at 99% on db01"))
            .await;
        assert_eq!(status, StatusCode::ACCEPTED);
    }
    let (status, _) = app.send_event(json!({"routing_key": key})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Alice's phone is down for the first try: the page waits in the outbox.
    app.notifier
        .fail_next([NotifyError::Transient("503 from the carrier".to_owned())]);
    app.tick().await;
    let waiting = scrape(&app).await;
    app.advance(Duration::from_secs(30));
    app.tick().await;
    assert_eq!(pages_to(&app.notifier.take(), ALICE), [vec![1]]);
    let after = scrape(&app).await;

    let moved = |sample: &str| after.get(sample) - before.get(sample);
    assert_eq!(
        moved(r#"onduty_ingest_requests_total{outcome="accepted",source="events_v2"}"#),
        2.0
    );
    assert_eq!(
        moved(r#"onduty_ingest_requests_total{outcome="invalid",source="events_v2"}"#),
        1.0
    );
    assert_eq!(
        moved(r#"onduty_ingest_events_total{outcome="opened"}"#),
        1.0
    );
    assert_eq!(
        moved(r#"onduty_ingest_events_total{outcome="appended"}"#),
        1.0
    );
    assert_eq!(moved("onduty_ingest_batch_size_count"), 2.0);
    assert_eq!(moved("onduty_ingest_commit_seconds_count"), 2.0);
    assert_eq!(
        moved(r#"onduty_http_requests_total{method="POST",route="/v2/enqueue",status="202"}"#),
        2.0
    );
    assert_eq!(
        moved(r#"onduty_pages_total{channel="sms",outcome="retrying"}"#),
        1.0
    );
    assert_eq!(
        moved(r#"onduty_pages_total{channel="sms",outcome="sent"}"#),
        1.0
    );
    assert_eq!(
        moved(r#"onduty_provider_errors_total{channel="sms",kind="transient"}"#),
        1.0
    );
    assert_eq!(moved("onduty_escalation_lateness_seconds_count"), 1.0);
    assert_eq!(after.get(r#"onduty_incidents{state="triggered"}"#), 1.0);
    assert_eq!(after.get(r#"onduty_incidents{state="resolved"}"#), 0.0);

    // While the page waited: one message in the outbox, made at the first tick.
    assert_eq!(waiting.get("onduty_outbox_backlog"), 1.0);
    assert_eq!(after.get("onduty_outbox_backlog"), 0.0);

    // The stories drive the engine by hand, without its lease: no engine is running.
    assert_eq!(after.get("onduty_engine_running"), 0.0);
    let now = app.now();
    assert!(
        app.store
            .acquire_lease(
                "metrics-story",
                now,
                now.saturating_add(Duration::from_secs(15))
            )
            .await
            .unwrap()
    );
    assert_eq!(scrape(&app).await.get("onduty_engine_running"), 1.0);
    app.advance(Duration::from_secs(75));
    let stopped = scrape(&app).await;
    assert_eq!(stopped.get("onduty_engine_running"), 0.0);
    assert_eq!(stopped.get("onduty_engine_lease_expired_seconds"), 60.0);

    // Each metric is described for Prometheus, with its kind.
    for line in [
        "# TYPE onduty_pages_total counter",
        "# TYPE onduty_ingest_commit_seconds histogram",
        "# TYPE onduty_incidents gauge",
        "# HELP onduty_outbox_backlog Messages waiting in the outbox.",
    ] {
        assert!(after.text.contains(line), "{line} in\n{}", after.text);
    }
    // A route's pattern is shown, never a path with its key in it.
    let alertmanager = app
        .http
        .post(format!("{}/integrations/{key}/alertmanager", app.url))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(alertmanager.status(), StatusCode::BAD_REQUEST);
    let shown = scrape(&app).await;
    assert!(!shown.text.contains(&key), "{}", shown.text);
    assert_eq!(
        shown.get(r#"onduty_ingest_requests_total{outcome="invalid",source="alertmanager"}"#),
        1.0
    );
    assert_eq!(
        shown.get(
            r#"onduty_http_requests_total{method="POST",route="/integrations/{key}/{tool}",status="400"}"#
        ),
        1.0
    );
    // Counters alerts read are there from the start, at zero.
    assert_eq!(
        shown.samples.get("onduty_engine_takeovers_total"),
        Some(&0.0)
    );
    assert_eq!(
        shown
            .samples
            .get(r#"onduty_pages_total{channel="voice",outcome="gave_up"}"#),
        Some(&0.0)
    );
    assert_eq!(shown.get("onduty_database_up"), 1.0);
    app.stop().await;
}

#[tokio::test]
async fn without_a_token_the_main_address_does_not_serve_metrics() {
    let app = TestApp::start().await;
    let answer = app
        .http
        .get(format!("{}/metrics", app.url))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    assert!(answer.text().await.unwrap().contains("metrics.listen"));
    app.stop().await;
}
