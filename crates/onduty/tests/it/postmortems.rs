//! Postmortems: the database outage is over at 3:30 a.m., and by morning a draft is
//! waiting for Alice, its timeline already written from the incident's.

use onduty_testkit::{TestApp, trigger_event};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::paging::{ALICE, MINUTE, level, person, policy, service};

/// `action` on incident `number` through the API, as the holder of `token`.
pub(crate) async fn act(app: &TestApp, token: &str, number: i64, action: &str) {
    let (status, body) = app
        .api_as(
            token,
            Method::POST,
            &format!("/incidents/{number}/{action}"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{action}: {body}");
}

/// The value of the hidden field `name` in a page.
fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {body}"))
        + marker.len();
    body[start..].split('"').next().unwrap().to_owned()
}

async fn postmortems(app: &TestApp) -> Vec<Value> {
    let (status, list) = app.api(Method::GET, "/postmortems", None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    list["postmortems"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_high_urgency_outage_gets_a_draft_that_is_reviewed_published_and_exported() {
    let app = TestApp::start().await;
    let alice = person(&app, "Alice", ALICE).await;
    policy(
        &app,
        json!({"name": "Ops", "levels": [level(&["alice@example.com"], 30)]}),
    )
    .await;
    let key = service(&app, "Database", "Ops", json!({})).await;
    let web = service(&app, "Web", "Ops", json!({"urgency": "low"})).await;
    // The batch jobs' team writes no postmortems for its service.
    let batch = service(&app, "Batch", "Ops", json!({"draft_postmortems": false})).await;

    // 03:00 the database goes down; Alice acknowledges at 03:04 and resolves at 03:30.
    app.send_event(trigger_event(&key, "db01/down", "Database down on db01"))
        .await;
    app.tick().await;
    app.pass(4 * MINUTE).await;
    act(&app, &alice, 1, "acknowledge").await;
    app.pass(26 * MINUTE).await;
    act(&app, &alice, 1, "resolve").await;
    let resolved_at = app.now();
    // A low-urgency incident resolves too: it gets no draft.
    app.send_event(trigger_event(&web, "web/slow", "Web slow"))
        .await;
    app.tick().await;
    act(&app, &alice, 2, "resolve").await;
    // Nor does a high-urgency one of a service that drafts none.
    app.send_event(trigger_event(&batch, "nightly", "Nightly job failed"))
        .await;
    app.tick().await;
    act(&app, &alice, 3, "resolve").await;
    let (_, shown) = app.api(Method::GET, "/services/Batch", None).await;
    assert_eq!(shown["service"]["draft_postmortems"], false, "{shown}");

    // Not at once (the engine looks a minute behind), then exactly one draft.
    app.tick().await;
    assert!(postmortems(&app).await.is_empty());
    app.pass(2 * MINUTE).await;
    app.pass(MINUTE).await;
    let list = postmortems(&app).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let (_, found) = app
        .api(Method::GET, &format!("/postmortems/{id}"), None)
        .await;
    let pm = &found["postmortem"];
    assert_eq!(pm["status"], "draft");
    assert_eq!(pm["title"], "#1: Database down on db01");
    let her = app
        .store
        .user_by_email(&onduty_core::account::Email::parse("alice@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        pm["owner_id"],
        json!(her.id.to_string()),
        "she acknowledged it: hers"
    );
    let day = std::time::Duration::from_secs(24 * 3600);
    assert_eq!(
        pm["provisional_due"],
        json!(resolved_at.saturating_add(day).to_rfc3339())
    );
    assert_eq!(pm["incidents"][0]["number"], 1);
    assert_eq!(pm["impact"]["minutes_to_acknowledge"], 4);
    assert_eq!(pm["impact"]["minutes_to_resolve"], 30);
    assert_eq!(
        pm["pages"],
        json!([{"person": "Alice", "channel": "sms", "pages": 1}])
    );
    let marked: Vec<(&str, bool)> = pm["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["text"].as_str().unwrap(), l["marked"].as_bool().unwrap()))
        .collect();
    assert!(
        marked.iter().any(|(t, m)| t.contains("Acknowledged") && *m),
        "{marked:?}"
    );
    assert!(
        marked.iter().any(|(t, m)| t.contains("Resolved") && *m),
        "{marked:?}"
    );
    assert!(
        marked.iter().any(|(_, m)| !m),
        "pages start unmarked: {marked:?}"
    );

    // She writes it, adding a line of her own.
    let mut timeline = pm["timeline"].as_array().unwrap().clone();
    timeline.push(
        json!({"at": resolved_at.to_rfc3339(), "text": "Disk grown to 200 GB", "marked": true}),
    );
    let edit = |version: i64| {
        json!({
            "title": "Database outage", "owner": "alice@example.com",
            "summary": "db01 stopped: its disk was full of WAL.",
            "contributing_factors": "No alert below 100%.", "went_well": "Paged at once.",
            "went_badly": "Nobody knew the WAL cleanup.", "timeline": timeline, "version": version,
        })
    };
    let path = format!("/postmortems/{id}");
    let (status, edited) = app
        .api_as(
            &alice,
            Method::PUT,
            &path,
            Some(edit(pm["version"].as_i64().unwrap())),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    let (status, stale) = app
        .api_as(
            &alice,
            Method::PUT,
            &path,
            Some(edit(pm["version"].as_i64().unwrap())),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "an edit from the old version: {stale}"
    );

    // Draft → published skips review: refused. Review, then publish.
    let status_path = format!("{path}/status");
    for (to, expected) in [
        ("published", StatusCode::CONFLICT),
        ("finished", StatusCode::BAD_REQUEST),
        ("in_review", StatusCode::OK),
        ("published", StatusCode::OK),
        ("draft", StatusCode::CONFLICT),
    ] {
        let (status, body) = app
            .api_as(
                &alice,
                Method::POST,
                &status_path,
                Some(json!({"status": to})),
            )
            .await;
        assert_eq!(status, expected, "{to}: {body}");
    }
    // Published: its words are read-only, its action items are not.
    let (_, now) = app.api(Method::GET, &path, None).await;
    let version = now["postmortem"]["version"].as_i64().unwrap();
    let (status, _) = app
        .api_as(&alice, Method::PUT, &path, Some(edit(version)))
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, item) = app
        .api_as(
            &alice,
            Method::POST,
            &format!("{path}/action-items"),
            Some(
                json!({"text": "Alert at 80% disk", "owner": "alice@example.com",
                "due": "2026-12-31T17:00:00Z", "link": "https://issues.example/DB-42"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{item}");
    let item_id = item["action_item"]["id"].as_str().unwrap();
    let (status, done) = app
        .api_as(
            &alice,
            Method::PUT,
            &format!("{path}/action-items/{item_id}"),
            Some(
                json!({"text": "Alert at 80% disk", "owner": "alice@example.com",
                "link": "https://issues.example/DB-42", "done": true}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["action_item"]["done"], true);
    let (status, refused) = app
        .api_as(
            &alice,
            Method::POST,
            &format!("{path}/action-items"),
            Some(json!({"text": "x", "link": "javascript:alert(1)"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");

    // Its Markdown.
    let md = app
        .api_text(&format!("/postmortems/{id}.md"), "text/markdown")
        .await;
    for expected in [
        "# Database outage\n",
        "- Status: Published\n- Owner: Alice\n",
        "- Paged: Alice by sms (1 time)\n",
        "Disk grown to 200 GB\n",
        "## Contributing factors\n\nNo alert below 100%.\n",
        "- [x] Alert at 80% disk (Alice, <https://issues.example/DB-42>)\n",
    ] {
        assert!(md.contains(expected), "{expected:?} in {md}");
    }
}

#[tokio::test]
async fn a_postmortem_is_started_from_several_incidents_and_each_is_in_one_only() {
    let app = TestApp::start().await;
    let (_, key) = app.service("Web", "open").await;
    for n in 0..3 {
        app.send_event(trigger_event(
            &key,
            &format!("web/{n}"),
            &format!("Web error {n}"),
        ))
        .await;
        app.pass(MINUTE).await;
    }
    let (status, made) = app
        .api(
            Method::POST,
            "/postmortems",
            Some(json!({"incidents": ["2", "1"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let pm = &made["postmortem"];
    assert_eq!(pm["title"], "#1, #2: Web error 0");
    let numbers: Vec<i64> = pm["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["incident"].as_i64())
        .collect();
    assert_eq!(numbers, [1, 2], "both incidents' triggers, in order");
    assert_eq!(pm["impact"]["resolved_at"], Value::Null, "still open");
    for (body, expected) in [
        (json!({"incidents": ["2", "3"]}), StatusCode::CONFLICT),
        (json!({"incidents": []}), StatusCode::BAD_REQUEST),
        (json!({"incidents": ["99"]}), StatusCode::NOT_FOUND),
        (json!({"incidents": ["not-a-ref"]}), StatusCode::BAD_REQUEST),
    ] {
        let (status, answer) = app
            .api(Method::POST, "/postmortems", Some(body.clone()))
            .await;
        assert_eq!(status, expected, "{body}: {answer}");
    }
    let observer = app.user_token("Olivia", "observer").await;
    let (status, _) = app
        .api_as(
            &observer,
            Method::POST,
            "/postmortems",
            Some(json!({"incidents": ["3"]})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_postmortem_is_started_written_and_sent_for_review_in_the_web_ui() {
    let app = TestApp::start().await;
    let (_, key) = app.service("Web", "open").await;
    app.send_event(trigger_event(&key, "web/500", "Web answers 500"))
        .await;
    app.pass(MINUTE).await;
    let mut bob = crate::browser::logged_in_as(&app, "Bob", "responder").await;
    let incident = bob.get("/incidents/1").await;
    incident.shows("Start a postmortem");
    let csrf = incident.csrf();
    let started = bob
        .post("/incidents/1/postmortem", &[("csrf", &csrf)])
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.body);
    let at = started.location().to_owned();
    assert!(at.starts_with("/postmortems/"), "{at}");
    let page = bob.get(&at).await;
    page.shows("#1: Web answers 500");
    page.shows("Triggered");
    assert!(
        bob.get("/incidents/1")
            .await
            .body
            .contains(&format!("href=\"{at}\""))
    );

    // Bob writes it: a summary (with something nasty pasted in), the trigger unmarked, a
    // line of his own.
    let form_version = hidden(&page.body, "version");
    let first_at = hidden(&page.body, "line.0.at");
    let first_text = hidden(&page.body, "line.0.text");
    let saved = bob
        .post(
            &at,
            &[
                ("csrf", &csrf),
                ("version", &form_version),
                ("title", "Web 500s"),
                ("owner", "bob@example.com"),
                ("summary", "A **bad deploy**.<script>alert(1)</script>"),
                ("lines", "1"),
                ("line.0.at", &first_at),
                ("line.0.text", &first_text),
                ("line.0.incident", "1"),
                ("new.at", "2026-01-01T00:30"),
                ("new.text", "Rolled back"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let page = bob.get(&at).await;
    page.shows("Saved the postmortem.");
    page.shows("A <strong>bad deploy</strong>.");
    assert!(!page.body.contains("<script>alert(1)"), "{}", page.body);
    page.shows("<li class=\"unmarked\">");
    page.shows("Rolled back");

    let added = bob
        .post(
            &format!("{at}/action-items"),
            &[
                ("csrf", &csrf),
                ("text", "Canary deploys"),
                ("owner", "bob@example.com"),
                ("due", "2026-02-01T17:00"),
            ],
        )
        .await;
    assert_eq!(added.status, StatusCode::SEE_OTHER);
    let review = bob
        .post(
            &format!("{at}/status"),
            &[("csrf", &csrf), ("status", "in_review")],
        )
        .await;
    assert_eq!(review.status, StatusCode::SEE_OTHER);
    let page = bob.get(&at).await;
    page.shows("In review");
    page.shows("Canary deploys");
    page.shows("Publish");
    let list = bob.get("/postmortems").await;
    list.shows("Web 500s");
}

/// Notices sent to `phone` since the last look.
fn notices_to(app: &TestApp, phone: &str) -> Vec<String> {
    app.notifier
        .take()
        .into_iter()
        .filter(|m| m.to == phone)
        .filter_map(|m| match m.content {
            onduty_notify::Content::Notice { text } => Some(text),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn the_owner_is_reminded_as_due_dates_near_and_pass_and_of_overdue_action_items() {
    for backend in onduty_testkit::backends() {
        reminders_story(TestApp::start_with(backend, |_| {}).await).await;
    }
}

async fn reminders_story(app: TestApp) {
    let alice = person(&app, "Alice", ALICE).await;
    policy(
        &app,
        json!({"name": "Ops", "levels": [level(&["alice@example.com"], 30)]}),
    )
    .await;
    let key = service(&app, "Database", "Ops", json!({})).await;
    app.send_event(trigger_event(&key, "db01/down", "Database down on db01"))
        .await;
    app.tick().await;
    act(&app, &alice, 1, "acknowledge").await;
    act(&app, &alice, 1, "resolve").await;
    let resolved = app.now();
    app.pass(3 * MINUTE).await;
    let list = postmortems(&app).await;
    let id = list[0]["id"].as_str().unwrap().to_owned();
    let path = format!("/postmortems/{id}");
    let (status, item) = app
        .api_as(
            &alice,
            Method::POST,
            &format!("{path}/action-items"),
            Some(
                json!({"text": "Alert on replica lag", "owner": "alice@example.com",
                        "due": resolved.saturating_add(6 * 60 * MINUTE).to_rfc3339()}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{item}");
    app.notifier.take();

    // (A reminder is queued by one tick and sent by the next.)
    // Nothing until two hours before the provisional version is due (24 h after).
    let hour = 60 * MINUTE;
    app.clock.set(resolved.saturating_add(5 * hour));
    app.tick().await;
    app.tick().await;
    assert_eq!(notices_to(&app, ALICE), Vec::<String>::new());
    // The action item is overdue at 6 h: one reminder, however many ticks.
    app.clock.set(resolved.saturating_add(6 * hour + MINUTE));
    app.tick().await;
    app.tick().await;
    let told = notices_to(&app, ALICE);
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].starts_with("Action item \"Alert on replica lag\" of the postmortem \"#1: Database down on db01\" was due"),
        "{}",
        told[0]
    );
    assert!(
        told[0].ends_with(&format!("/postmortems/{id}")),
        "{}",
        told[0]
    );
    // 22 h: the provisional version is due in two hours.
    app.clock.set(resolved.saturating_add(22 * hour));
    app.tick().await;
    app.tick().await;
    let told = notices_to(&app, ALICE);
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].starts_with("The provisional postmortem \"#1: Database down on db01\" is due"),
        "{}",
        told[0]
    );
    // 24 h: past, still a draft.
    app.clock.set(resolved.saturating_add(24 * hour + MINUTE));
    app.tick().await;
    app.tick().await;
    let told = notices_to(&app, ALICE);
    assert_eq!(told.len(), 1, "{told:?}");
    assert!(
        told[0].contains("was due") && told[0].contains("still a draft"),
        "{}",
        told[0]
    );
    // Sent for review: no more about the provisional version; the final one is 5
    // business days away.
    let (status, body) = app
        .api_as(
            &alice,
            Method::POST,
            &format!("{path}/status"),
            Some(json!({"status": "in_review"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.clock.set(resolved.saturating_add(48 * hour));
    app.tick().await;
    app.tick().await;
    assert_eq!(notices_to(&app, ALICE), Vec::<String>::new());
}
