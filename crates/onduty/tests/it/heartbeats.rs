//! Stories of jobs that must report in: a nightly backup that goes quiet, fails and
//! recovers, on the manual clock (the engine decides lateness; nothing sleeps).

use std::time::Duration;

use onduty_testkit::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const MINUTE: Duration = Duration::from_secs(60);

async fn ping(url: &str, body: &str) -> (StatusCode, String) {
    let response = reqwest::Client::new()
        .post(url)
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

async fn heartbeat(app: &TestApp) -> Value {
    let (_, list) = app.api(Method::GET, "/heartbeats", None).await;
    list["heartbeats"][0].clone()
}

#[tokio::test]
async fn a_backup_that_goes_quiet_fails_and_recovers_opens_and_resolves_its_incidents() {
    let app = TestApp::start().await;
    let (service, _) = app.service("Backups", "open").await;
    let (status, made) = app
        .api(
            Method::POST,
            &format!("/services/{service}/heartbeats"),
            Some(json!({"name": "nightly-backup", "period_minutes": 60, "grace_minutes": 10})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let hb = &made["heartbeat"];
    assert_eq!(hb["state"], "new");
    let url = hb["ping_url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("{}/ping/", app.url)), "{url}");
    assert!(
        hb["crontab"]
            .as_str()
            .unwrap()
            .starts_with("0 * * * * /path/to/job && curl")
    );

    // It reports; an hour and nine minutes later all is well, at eleven minutes it is late.
    assert_eq!(
        ping(&url, "backed up 12 GB").await,
        (StatusCode::OK, "OK\n".to_owned())
    );
    assert_eq!(heartbeat(&app).await["state"], "up");
    assert_eq!(heartbeat(&app).await["last_body"], "backed up 12 GB");
    app.advance(69 * MINUTE);
    app.tick().await;
    assert!(app.all_incidents().await.is_empty());
    app.advance(2 * MINUTE);
    app.tick().await;
    let list = app.all_incidents().await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(
        list[0]["summary"],
        "nightly-backup has not reported for 1 h 11 min"
    );
    assert_eq!(list[0]["status"], "triggered");
    assert_eq!(heartbeat(&app).await["state"], "late");
    // Reported once, however long it stays quiet.
    app.advance(120 * MINUTE);
    app.tick().await;
    let list = app.all_incidents().await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["alert_count"], 1);

    // It reports again: resolved.
    ping(&url, "").await;
    assert_eq!(app.all_incidents().await[0]["status"], "resolved");
    assert_eq!(heartbeat(&app).await["state"], "up");

    // It starts, then fails with exit status 3: an incident with what it said.
    ping(&format!("{url}/start"), "").await;
    assert_eq!(
        app.all_incidents().await.len(),
        1,
        "a start is not a failure"
    );
    let (status, _) = ping(&format!("{url}/3"), "rsync: disk full").await;
    assert_eq!(status, StatusCode::OK);
    let failed = app.all_incidents().await;
    assert_eq!(failed.len(), 2);
    let open = failed.iter().find(|i| i["status"] == "triggered").unwrap();
    assert_eq!(open["summary"], "nightly-backup failed (exit status 3)");
    assert_eq!(open["custom_details"]["body"], "rsync: disk full");
    assert_eq!(heartbeat(&app).await["state"], "failing");
    assert_eq!(heartbeat(&app).await["last_ping"], "exit 3");
    // Failing, it is not also reported late.
    app.advance(300 * MINUTE);
    app.tick().await;
    assert_eq!(app.all_incidents().await.len(), 2);
    // Exit status 0 is a success.
    ping(&format!("{url}/0"), "").await;
    assert!(
        app.all_incidents()
            .await
            .iter()
            .all(|i| i["status"] == "resolved")
    );

    // What is not a heartbeat or a ping says so.
    let (status, _) = ping(&format!("{url}/log"), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = ping(
        &format!("{}/ping/0123456789abcdef0123456789abcdef", app.url),
        "",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Its key takes pings, not events: a sender can't forge or resolve its incidents.
    let key = url.rsplit('/').next().unwrap();
    let (status, body) = app
        .send_event(onduty_testkit::follow_up_event(key, "resolve", "heartbeat"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body.to_string().contains("belongs to a heartbeat"),
        "{body}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_cron_heartbeat_that_never_reports_is_late_after_its_first_run_and_grace() {
    let app = TestApp::start().await;
    let (service, _) = app.service("Reports", "open").await;
    // T0 is 03:00 UTC on Thursday 15 January 2026; the job runs at 06:00 New York time
    // (11:00 UTC) on weekdays.
    let (status, made) = app
        .api(
            Method::POST,
            &format!("/services/{service}/heartbeats"),
            Some(json!({"name": "daily-report", "cron": "0 6 * * 1-5",
                        "time_zone": "America/New_York", "grace_minutes": 30})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["heartbeat"]["due_at"], "2026-01-15T11:30:00.000Z");
    let next = app.pass(8 * 60 * MINUTE + 29 * MINUTE).await;
    assert!(app.all_incidents().await.is_empty());
    assert!(next.is_some());
    // The clock stops at the engine's deadline on the way: reported right at 11:30.
    app.pass(2 * MINUTE).await;
    let list = app.all_incidents().await;
    assert_eq!(list.len(), 1);
    assert_eq!(
        list[0]["summary"],
        "daily-report has never reported (8 h 30 min since it was set up)"
    );

    // A bad schedule is refused with the reason.
    let (status, refused) = app
        .api(
            Method::POST,
            &format!("/services/{service}/heartbeats"),
            Some(json!({"name": "x", "cron": "at dawn"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("cron"),
        "{refused}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_job_silent_through_maintenance_is_reported_when_maintenance_ends() {
    let app = TestApp::start().await;
    let (service, _) = app.service("Backups", "open").await;
    let (status, _) = app
        .api(
            Method::POST,
            &format!("/services/{service}/heartbeats"),
            Some(json!({"name": "nightly-backup", "period_minutes": 60, "grace_minutes": 10})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = app
        .api(
            Method::POST,
            "/maintenance",
            Some(json!({"services": ["Backups"], "minutes": 120, "reason": "storage move"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // Due at 70 minutes, inside the window: nothing opens, nobody is paged.
    app.pass(110 * MINUTE).await;
    assert!(app.all_incidents().await.is_empty());
    assert_eq!(heartbeat(&app).await["state"], "new");
    // The window ends at 120 minutes; the heartbeat is looked at again and reported.
    app.pass(20 * MINUTE).await;
    let list = app.all_incidents().await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert!(
        list[0]["summary"]
            .as_str()
            .unwrap()
            .starts_with("nightly-backup has never reported"),
        "{}",
        list[0]["summary"]
    );
    app.stop().await;
}
