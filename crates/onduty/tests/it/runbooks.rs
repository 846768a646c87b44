//! Runbooks: the disk fills at 3 a.m., and the page Alice gets says what to do.

use onduty_notify::{Content, PageItem};
use onduty_testkit::TestApp;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::browser::logged_in_as;
use crate::paging::{ALICE, MINUTE, level, person, policy, service};

/// Incident `number` as the pages sent to `phone` since the last look carry it.
fn paged(app: &TestApp, phone: &str, number: i64) -> PageItem {
    paged_items(app, phone)
        .into_iter()
        .find(|i| i.number == number)
        .unwrap_or_else(|| panic!("#{number} was not paged"))
}

/// The page items sent to `phone` since the last look.
fn paged_items(app: &TestApp, phone: &str) -> Vec<PageItem> {
    app.notifier
        .take()
        .into_iter()
        .filter(|m| m.to == phone)
        .flat_map(|m| match m.content {
            Content::Page { items } => items,
            _ => Vec::new(),
        })
        .collect()
}

async fn keep(app: &TestApp, body: Value) -> Value {
    let (status, made) = app
        .api(Method::POST, "/services/Database/runbooks", Some(body))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    made["runbook"].clone()
}

fn event(key: &str, dedup_key: &str, summary: &str, extra: Value) -> Value {
    let mut e = json!({
        "routing_key": key, "event_action": "trigger", "dedup_key": dedup_key,
        "payload": {"summary": summary, "source": "db01", "severity": "critical"},
    });
    if let (Some(e), Some(extra)) = (e.as_object_mut(), extra.as_object()) {
        e.extend(extra.clone());
    }
    e
}

#[tokio::test]
async fn the_page_carries_the_most_specific_runbook_and_the_incident_shows_it_first() {
    let app = TestApp::start().await;
    person(&app, "Alice", ALICE).await;
    policy(
        &app,
        json!({"name": "Ops", "levels": [level(&["alice@example.com"], 30)]}),
    )
    .await;
    let key = service(&app, "Database", "Ops", json!({})).await;

    // A runbook for the whole service, kept in the team's wiki; and one for full disks,
    // written in onduty (with something nasty pasted into it).
    keep(
        &app,
        json!({"url": "https://wiki.example/database", "title": "Database on-call guide"}),
    )
    .await;
    let disk = keep(
        &app,
        json!({
            "match": "alertname", "pattern": "DiskFull", "title": "Disk full",
            "markdown": "# Disk full\n\n1. Run `df -h /var/lib/postgresql`\n2. Rotate the logs\n\n<script>alert('pwned')</script><img src=x onerror=alert(1)>",
        }),
    )
    .await;
    assert_eq!(disk["version"], 1);
    assert!(
        disk["html"]
            .as_str()
            .unwrap()
            .contains("<h3>Disk full</h3>"),
        "{disk}"
    );
    assert!(!disk["html"].as_str().unwrap().contains("script"), "{disk}");

    // DiskFull fires (as Alertmanager's labels arrive): Alice's SMS carries the short link.
    app.send_event(event(
        &key,
        "db01/disk",
        "Disk 99% full on db01",
        json!({"payload": {"summary": "Disk 99% full on db01", "source": "db01", "severity": "critical",
            "custom_details": {"labels": {"alertname": "DiskFull", "instance": "db01"}}}}),
    ))
    .await;
    app.tick().await;
    let items = paged_items(&app, ALICE);
    assert_eq!(items.len(), 1);
    let runbook = items[0]
        .runbook
        .clone()
        .expect("the page carries a runbook");
    assert_eq!(runbook.text.as_deref(), Some("Disk full"));
    assert_eq!(runbook.href, format!("{}/incidents/1#runbook", app.url));
    let sms = onduty_notify::render::sms(&Content::Page {
        items: items.clone(),
    });
    assert!(
        sms.contains(&format!("Runbook: {}/r/1\n", app.url)),
        "{sms}"
    );

    // Another alert of the service: the service's guide.
    app.send_event(event(&key, "db01/cpu", "CPU at 100% on db01", json!({})))
        .await;
    app.pass(MINUTE).await;
    assert_eq!(
        paged(&app, ALICE, 2)
            .runbook
            .as_ref()
            .map(|r| r.href.as_str()),
        Some("https://wiki.example/database")
    );

    // An alert that names its own runbook: it wins.
    app.send_event(event(
        &key,
        "db01/replication",
        "Replication lag on db01",
        json!({"links": [{"href": "https://runbooks.example/replication", "text": "Runbook"}]}),
    ))
    .await;
    app.pass(MINUTE).await;
    assert_eq!(
        paged(&app, ALICE, 3)
            .runbook
            .as_ref()
            .map(|r| r.href.as_str()),
        Some("https://runbooks.example/replication")
    );
    let (status, shown) = app.api(Method::GET, "/incidents/3/runbook", None).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["source"], "event");

    // Bob, called in to help, opens #1: the runbook first, its script inert.
    let mut bob = logged_in_as(&app, "Bob", "responder").await;
    let page = bob.get("/incidents/1").await;
    assert_eq!(page.status, StatusCode::OK);
    let runbook_at = page.body.find("id=\"runbook\"").expect("the runbook");
    let actions_at = page.body.find("id=\"actions\"").expect("the actions");
    assert!(runbook_at < actions_at, "the runbook comes first");
    page.shows("<li>Run <code>df -h /var/lib/postgresql</code></li>");
    assert!(!page.body.contains("alert('pwned')"), "{}", page.body);
    assert!(!page.body.contains("onerror"), "{}", page.body);
    // The SMS's short link leads to it, or to the alert's own runbook.
    assert_eq!(bob.get("/r/1").await.location(), "/incidents/1#runbook");
    assert_eq!(
        bob.get("/r/3").await.location(),
        "https://runbooks.example/replication"
    );

    // He improves it; an edit made from the old version meanwhile is refused, not lost.
    let path = format!(
        "/services/Database/runbooks/{}",
        disk["id"].as_str().unwrap()
    );
    let edit = |version: i64, step: &str| {
        json!({"match": "alertname", "pattern": "DiskFull", "title": "Disk full",
            "markdown": format!("# Disk full\n\n1. Run `df -h`\n2. {step}"), "version": version})
    };
    let (status, second) = app
        .api(Method::PUT, &path, Some(edit(1, "Drop old WAL archives")))
        .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["runbook"]["version"], 2);
    let (status, stale) = app
        .api(Method::PUT, &path, Some(edit(1, "Something else")))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{stale}");
    let (_, history) = app.api(Method::GET, &format!("{path}/history"), None).await;
    let versions: Vec<(i64, bool)> = history["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["version"].as_i64().unwrap(),
                v["markdown"].as_str().unwrap().contains("WAL"),
            )
        })
        .collect();
    assert_eq!(versions, [(2, true), (1, false)]);
    // The UI shows the history, and an earlier version read-only.
    let disk_id = disk["id"].as_str().unwrap();
    let (_, database) = app.api(Method::GET, "/services/Database", None).await;
    let service_id = database["service"]["id"].as_str().unwrap();
    let page = bob
        .get(&format!(
            "/services/{service_id}/runbooks/{disk_id}?version=1"
        ))
        .await;
    page.shows("an earlier version");
    page.shows("Rotate the logs");
    page.shows("History");
}

#[tokio::test]
async fn bad_runbooks_get_a_clear_400_and_observers_read_only() {
    let app = TestApp::start().await;
    app.service("Database", "open").await;
    for (body, says) in [
        (json!({"url": "javascript:alert(1)"}), "'url' must be"),
        (
            json!({"url": "https://a.example", "markdown": "# both"}),
            "one of the two",
        ),
        (json!({"title": "nothing"}), "one of the two"),
        (
            json!({"match": "label", "pattern": "x", "url": "https://a.example"}),
            "'match' must be",
        ),
        (
            json!({"match": "summary", "pattern": "[oops", "url": "https://a.example"}),
            "not a pattern",
        ),
        (
            json!({"match": "alertname", "url": "https://a.example"}),
            "needs a 'pattern'",
        ),
        (
            json!({"markdown": "x".repeat(64 * 1024 + 1)}),
            "longer than 65536 bytes",
        ),
    ] {
        let (status, answer) = app
            .api(Method::POST, "/services/Database/runbooks", Some(body))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
        assert!(answer.to_string().contains(says), "{says}: {answer}");
    }
    let (status, _) = app.api(Method::GET, "/services/Nope/runbooks", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = app.api(Method::GET, "/incidents/1/runbook", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let observer = app.user_token("Olivia", "observer").await;
    let (status, _) = app
        .api_as(
            &observer,
            Method::POST,
            "/services/Database/runbooks",
            Some(json!({"url": "https://a.example"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, list) = app
        .api_as(&observer, Method::GET, "/services/Database/runbooks", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{list}");
}

#[tokio::test]
async fn a_runbook_is_written_and_edited_in_the_web_ui() {
    let app = TestApp::start().await;
    app.service("Database", "open").await;
    let mut alice = logged_in_as(&app, "Alice", "responder").await;
    let (_, service) = app.api(Method::GET, "/services/Database", None).await;
    let id = service["service"]["id"].as_str().unwrap().to_owned();
    let form = alice.get(&format!("/services/{id}/runbooks/new")).await;
    assert_eq!(form.status, StatusCode::OK);
    let csrf = form.csrf();

    // A pattern that is not one: refused with what was typed kept in the form.
    let refused = alice
        .post(
            &format!("/services/{id}/runbooks"),
            &[
                ("csrf", &csrf),
                ("match", "summary"),
                ("pattern", "[disk"),
                ("markdown", "Long careful steps"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    refused.shows("not a pattern");
    refused.shows("Long careful steps");

    let made = alice
        .post(
            &format!("/services/{id}/runbooks"),
            &[
                ("csrf", &csrf),
                ("match", "summary"),
                ("pattern", "*disk*"),
                ("title", "Disks"),
                ("markdown", "Check **free space**."),
            ],
        )
        .await;
    assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
    let at = made.location().to_owned();
    let page = alice.get(&at).await;
    page.shows("<strong>free space</strong>");
    page.shows("Summaries like *disk*");
    let service_page = alice.get(&format!("/services/{id}")).await;
    service_page.shows("Disks</a> · summaries like <code>*disk*</code> · version 1");

    let saved = alice
        .post(
            &at,
            &[
                ("csrf", &csrf),
                ("version", "1"),
                ("match", "summary"),
                ("pattern", "*disk*"),
                ("title", "Disks"),
                ("markdown", "Check **free space** and inodes."),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let page = alice.get(&at).await;
    page.shows("and inodes");
    page.shows("version 2");

    let gone = alice
        .post(&format!("{at}/delete"), &[("csrf", &csrf)])
        .await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    let (_, list) = app
        .api(Method::GET, "/services/Database/runbooks", None)
        .await;
    assert_eq!(list["runbooks"], json!([]));
}
