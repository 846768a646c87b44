//! Reports: two weeks of March 2026 for the Ops team, every figure worked out by hand
//! below from the story, not by the code under test. Alice (UTC) is first on call, Bob
//! (Berlin) second; Berlin moves its clocks forward in the night of 28–29 March.

use onduty_testkit::{Backend, TestApp, backends, follow_up_event, trigger_event};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::paging::{ALICE, BOB, level, person, policy, service, verified_method};
use crate::postmortems::act;

/// Ada's phone.
const ADA: &str = "+447700900009";

fn at(text: &str) -> onduty_core::Timestamp {
    onduty_core::Timestamp::parse(text).unwrap()
}

/// Moves the clock to `time`, stopping at every deadline on the way.
async fn until(app: &TestApp, time: &str) {
    let target = at(time);
    let gap = target.since(app.now());
    app.pass(gap).await;
    assert_eq!(app.now(), target);
}

pub(crate) async fn report(app: &TestApp, query: &str) -> Value {
    let (status, body) = app
        .api(Method::GET, &format!("/reports?{query}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{query}: {body}");
    body
}

pub(crate) const PERIOD: &str = "from=2026-03-23T00:00:00Z&to=2026-04-06T00:00:00Z";

/// The story; returns the app with the fixture's incidents in it.
pub(crate) async fn fortnight(backend: Backend) -> TestApp {
    let app = TestApp::start_with(backend, |_| {}).await;
    app.clock.set(at("2026-03-20T00:00:00Z"));
    let alice = person(&app, "Alice", ALICE).await;
    let bob = person(&app, "Bob", BOB).await;
    let (status, body) = app
        .api(
            Method::PATCH,
            "/users/bob@example.com",
            Some(json!({"time_zone": "Europe/Berlin"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    policy(
        &app,
        json!({"name": "Ops", "levels": [
            level(&["alice@example.com"], 10),
            level(&["bob@example.com"], 10),
        ]}),
    )
    .await;
    let (status, body) = app
        .api(Method::POST, "/teams", Some(json!({"name": "Platform"})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Ada, an admin of Alice's team, hears when Alice is woken too often.
    let ada = app.user_token("Ada", "admin").await;
    verified_method(&app, &ada, "ada@example.com", "sms", ADA).await;
    for who in ["alice", "ada"] {
        let (status, body) = app
            .api(
                Method::PUT,
                &format!("/teams/Platform/members/{who}@example.com"),
                None,
            )
            .await;
        assert!(status.is_success(), "{body}");
    }
    let db = service(&app, "Database", "Ops", json!({"team": "Platform"})).await;
    let web = service(
        &app,
        "Web",
        "Ops",
        json!({"urgency": "low", "flap_window_minutes": 10}),
    )
    .await;
    // Alice is on call around the clock, in a rota of one.
    let (status, body) = app
        .api(
            Method::POST,
            "/schedules",
            Some(json!({"name": "Primary", "time_zone": "UTC", "layers": [{
                "name": "Everyone", "participants": ["alice@example.com"],
                "start": "2026-03-01T00:00", "shift": {"unit": "weeks", "count": 1}
            }]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // #1 Wednesday 25 March, 10:00 UTC: Alice, in office hours, acknowledges in 3
    // minutes and resolves at 10:30.
    until(&app, "2026-03-25T10:00:00Z").await;
    app.send_event(trigger_event(&db, "db/1", "Replica lag"))
        .await;
    app.tick().await;
    until(&app, "2026-03-25T10:03:00Z").await;
    act(&app, &alice, 1, "acknowledge").await;
    until(&app, "2026-03-25T10:30:00Z").await;
    act(&app, &alice, 1, "resolve").await;

    // #2 Thursday 26 March, 03:00 UTC: Alice, asleep, acknowledges in 2 minutes and
    // resolves at 03:08.
    until(&app, "2026-03-26T03:00:00Z").await;
    app.send_event(trigger_event(&db, "db/2", "Disk full"))
        .await;
    app.tick().await;
    until(&app, "2026-03-26T03:02:00Z").await;
    act(&app, &alice, 2, "acknowledge").await;
    until(&app, "2026-03-26T03:08:00Z").await;
    act(&app, &alice, 2, "resolve").await;

    // #3 Saturday 28 March, 23:00 UTC (midnight in Berlin): Alice sleeps through two
    // texts; at 23:10 it escalates to Bob, who acknowledges by SMS at 23:12, hands it
    // back at 23:14, and Alice acknowledges at 23:16. The tool resolves it at 23:50.
    until(&app, "2026-03-28T23:00:00Z").await;
    app.send_event(trigger_event(&db, "db/3", "Primary down"))
        .await;
    app.tick().await;
    until(&app, "2026-03-28T23:12:00Z").await;
    let (status, twiml) = app
        .twilio_webhook("/twilio/sms", &[("From", BOB), ("Body", "3a")])
        .await;
    assert_eq!(status, StatusCode::OK, "{twiml}");
    until(&app, "2026-03-28T23:14:00Z").await;
    act(&app, &bob, 3, "unacknowledge").await;
    until(&app, "2026-03-28T23:16:00Z").await;
    act(&app, &alice, 3, "acknowledge").await;
    until(&app, "2026-03-28T23:50:00Z").await;
    app.send_event(follow_up_event(&db, "resolve", "db/3"))
        .await;

    // #4 Sunday 29 March, 06:30 UTC: 07:30 for Alice's sleep... and 08:30 in Berlin,
    // where the clocks went forward at 01:00 UTC. Escalated to Bob at 06:40 (08:40 on a
    // Sunday there: off hours, not sleep), who acknowledges at 06:41 and resolves at 07:00.
    until(&app, "2026-03-29T06:30:00Z").await;
    app.send_event(trigger_event(&db, "db/4", "Backups failing"))
        .await;
    app.tick().await;
    until(&app, "2026-03-29T06:41:00Z").await;
    act(&app, &bob, 4, "acknowledge").await;
    until(&app, "2026-03-29T07:00:00Z").await;
    act(&app, &bob, 4, "resolve").await;

    // #5 Monday 30 March, 14:00 UTC, low urgency: the web check flaps. Resolved by the
    // tool at 14:05, triggered again at 14:08 (within the 10-minute flap window: the
    // same incident re-opens, a second alert), resolved again at 14:20.
    until(&app, "2026-03-30T14:00:00Z").await;
    app.send_event(trigger_event(&web, "web/slow", "Web slow"))
        .await;
    app.tick().await;
    until(&app, "2026-03-30T14:05:00Z").await;
    app.send_event(follow_up_event(&web, "resolve", "web/slow"))
        .await;
    until(&app, "2026-03-30T14:08:00Z").await;
    app.send_event(trigger_event(&web, "web/slow", "Web slow"))
        .await;
    app.tick().await;
    until(&app, "2026-03-30T14:20:00Z").await;
    app.send_event(follow_up_event(&web, "resolve", "web/slow"))
        .await;
    until(&app, "2026-04-07T00:00:00Z").await;
    assert_eq!(app.all_incidents().await.len(), 5, "the flap re-opened #5");
    app
}

fn responder<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["responders"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {report}"))
}

#[tokio::test]
async fn a_fortnight_of_incidents_adds_up_to_the_figures_worked_out_by_hand() {
    for backend in backends() {
        let app = fortnight(backend).await;
        let r = report(&app, PERIOD).await;
        fortnight_figures(&r);
        // Alice's third sleep-hour page that week went over the budget of 2: Ada, her
        // team's admin, was told once, with the incidents.
        let told: Vec<String> = app
            .notifier
            .take()
            .into_iter()
            .filter(|m| m.to == ADA)
            .filter_map(|m| match m.content {
                onduty_notify::Content::Notice { text } => Some(text),
                _ => None,
            })
            .collect();
        assert_eq!(
            told,
            [
                "On-call health: Alice was paged 3 times in sleep hours (22:00–08:00 their time) \
              in the week of 23 March 2026, over the budget of 2: #2 Disk full; \
              #3 Primary down; #4 Backups failing."
            ]
        );

        // The same incidents through a period cut mid-day at both ends: #1 and #5 are
        // counted from the facts, #2 to #4 from the whole days' roll-ups.
        let mixed = report(&app, "from=2026-03-25T09:00:00Z&to=2026-03-30T15:00:00Z").await;
        for figure in [
            "incidents",
            "alerts",
            "time_to_acknowledge",
            "time_to_resolve",
            "escalated",
            "auto_resolved",
            "flaps",
            "acknowledgements_by_channel",
            "noisiest_services",
            "noisiest_alert_keys",
        ] {
            assert_eq!(mixed[figure], r[figure], "{figure}");
        }
        for (a, b) in mixed["responders"]
            .as_array()
            .unwrap()
            .iter()
            .zip(r["responders"].as_array().unwrap())
        {
            assert_eq!(
                (
                    &a["name"],
                    &a["pages"],
                    &a["sleep_hours_pages"],
                    &a["off_hours_pages"]
                ),
                (
                    &b["name"],
                    &b["pages"],
                    &b["sleep_hours_pages"],
                    &b["off_hours_pages"]
                )
            );
        }

        // Pages the engine has not sorted yet are sorted by the report itself, the same.
        assert!(
            app.db
                .execute("UPDATE responder_facts SET page_class = NULL, page_week = NULL")
                .await
                > 0
        );
        let unsorted = report(&app, PERIOD).await;
        assert_eq!(unsorted["responders"], r["responders"]);
        // And the engine sorts them again.
        app.tick().await;
        let still_unsorted = app
            .db
            .execute("UPDATE responder_facts SET page_week = page_week WHERE page_class IS NULL")
            .await;
        assert_eq!(still_unsorted, 0);
        assert_eq!(report(&app, PERIOD).await["responders"], r["responders"]);
    }
}

fn fortnight_figures(r: &Value) {
    assert_eq!(r["incidents"], 5);
    // One alert each, and two for the flapping #5.
    assert_eq!(r["alerts"], 6);
    // First acknowledgements: #1 180 s, #2 120 s, #3 720 s (Bob's, not Alice's later
    // one), #4 660 s. Sorted 120, 180, 660, 720: mean 420, median (180 + 660) / 2,
    // 90th percentile the 4th of 4 (rank ⌈3.6⌉).
    assert_eq!(
        r["time_to_acknowledge"],
        json!({"count": 4, "mean_seconds": 420.0, "median_seconds": 420.0, "p90_seconds": 720.0})
    );
    // Resolutions: #1 1800, #2 480, #3 3000, #4 1800, #5 1200 (its last). Sorted 480,
    // 1200, 1800, 1800, 3000: mean 8280 / 5, median the 3rd, 90th percentile the 5th.
    assert_eq!(
        r["time_to_resolve"],
        json!({"count": 5, "mean_seconds": 1656.0, "median_seconds": 1800.0, "p90_seconds": 3000.0})
    );
    // Escalated: #3 and #4 reached Bob. Auto-resolved: #3 and #5, by the tool.
    assert_eq!(
        (r["escalated"].clone(), r["escalated_share"].clone()),
        (json!(2), json!(0.4))
    );
    assert_eq!(
        (r["auto_resolved"].clone(), r["auto_resolved_share"].clone()),
        (json!(2), json!(0.4))
    );
    assert_eq!(r["flaps"], 1);
    let by_channel: Vec<(String, u64)> = r["acknowledgements_by_channel"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["count"] != 0)
        .map(|c| {
            (
                c["channel"].as_str().unwrap().to_owned(),
                c["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_channel,
        [("sms".to_owned(), 1), ("api".to_owned(), 3)],
        "#3 first by SMS; #1, #2 and #4 through the API"
    );
    // The noisiest: Database has 4 incidents; of the keys, web/slow has the most
    // alerts among those with one incident each.
    assert_eq!(
        r["noisiest_services"][0],
        json!({"service": "Database", "dedup_key": null, "incidents": 4, "alerts": 4, "flaps": 0})
    );
    assert_eq!(
        r["noisiest_alert_keys"][0],
        json!({"service": "Web", "dedup_key": "web/slow", "incidents": 1, "alerts": 2, "flaps": 1})
    );
    // Two weeks: 23 March (#1–#4) and 30 March (#5).
    let weeks: Vec<(String, u64)> = r["weeks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["start"].as_str().unwrap()[..10].to_owned(),
                w["incidents"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        weeks,
        [("2026-03-23".to_owned(), 4), ("2026-03-30".to_owned(), 1)]
    );
    assert_eq!(r["weeks"][0]["mean_seconds_to_acknowledge"], 420.0);
    assert_eq!(r["weeks"][1]["mean_seconds_to_resolve"], 1200.0);

    // Alice: paged about every incident, once each though #3 texted her twice.
    // UTC: #1 Wed 10:00 business, #2 Thu 03:00 sleep, #3 Sat 23:00 sleep, #4 Sun 06:30
    // sleep, #5 Mon 14:00 business. Three sleep pages in the week of 23 March: over the
    // budget of 2. On call the whole fortnight: 336 hours.
    let alice = responder(r, "Alice");
    assert_eq!(
        [
            &alice["pages"],
            &alice["business_hours_pages"],
            &alice["off_hours_pages"],
            &alice["sleep_hours_pages"],
            &alice["acknowledged"],
            &alice["resolved"],
            &alice["weeks_over_budget"],
        ],
        [
            &json!(5),
            &json!(2),
            &json!(0),
            &json!(3),
            &json!(3),
            &json!(2),
            &json!(1)
        ],
        "{alice}"
    );
    assert_eq!(alice["hours_on_call"], 336.0);
    assert_eq!(
        alice["sleep_pages_by_week"],
        json!([{"week_of": "2026-03-23", "pages": 3}])
    );
    // Bob, in Berlin: #3 at 00:10 on Sunday (sleep) and #4 at 08:40 on Sunday, summer
    // time (off hours; 07:40 and sleep had the clocks not moved).
    let bob = responder(r, "Bob");
    assert_eq!(
        [
            &bob["pages"],
            &bob["business_hours_pages"],
            &bob["off_hours_pages"],
            &bob["sleep_hours_pages"],
            &bob["acknowledged"],
            &bob["resolved"],
            &bob["hours_on_call"],
        ],
        [
            &json!(2),
            &json!(0),
            &json!(1),
            &json!(1),
            &json!(2),
            &json!(1),
            &json!(0.0)
        ],
        "{bob}"
    );
    assert_eq!(r["responders"][0]["name"], "Alice", "the most paged first");
}

#[tokio::test]
async fn filters_narrow_a_report_and_bad_ones_are_refused() {
    let app = fortnight(Backend::Sqlite).await;
    let low = report(&app, &format!("{PERIOD}&urgency=low")).await;
    assert_eq!(
        (low["incidents"].clone(), low["flaps"].clone()),
        (json!(1), json!(1))
    );
    let web = report(&app, &format!("{PERIOD}&service=Web")).await;
    assert_eq!(web["incidents"], 1);
    assert_eq!(responder(&web, "Alice")["pages"], 1);
    let team = report(&app, &format!("{PERIOD}&team=Platform")).await;
    assert_eq!(team["incidents"], 4);
    assert_eq!(team["filter"]["team"], "Platform");
    let policy = report(&app, &format!("{PERIOD}&policy=Ops&urgency=high")).await;
    assert_eq!(policy["incidents"], 4);
    // Only the second week.
    let late = report(&app, "from=2026-03-30T00:00:00Z&to=2026-04-06T00:00:00Z").await;
    assert_eq!(late["incidents"], 1);
    assert_eq!(late["weeks"].as_array().unwrap().len(), 1);

    for (query, says) in [
        (
            "from=2026-04-06T00:00:00Z&to=2026-03-23T00:00:00Z",
            "ends before it starts",
        ),
        (
            "from=2024-01-01T00:00:00Z&to=2026-04-06T00:00:00Z",
            "at most 2 years",
        ),
        (&format!("{PERIOD}&team=Nobody") as &str, "Nobody"),
        (&format!("{PERIOD}&service=Nothing") as &str, "Nothing"),
        (&format!("{PERIOD}&urgency=urgent") as &str, "high or low"),
        ("from=yesterday", "2026-03-01T00:00:00Z"),
        (&format!("{PERIOD}&format=xml") as &str, "json or csv"),
    ] {
        let (status, body) = app
            .api(Method::GET, &format!("/reports?{query}"), None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert!(body.to_string().contains(says), "{query}: {body}");
    }
}

#[tokio::test]
async fn the_report_as_csv_reads_back_with_a_csv_reader() {
    let app = fortnight(Backend::Sqlite).await;
    let text = app
        .api_text(&format!("/reports.csv?{PERIOD}"), "text/csv")
        .await;
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap(),
        vec!["section", "name", "week", "metric", "value"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let value = |section: &str, name: &str, week: &str, metric: &str| -> String {
        rows.iter()
            .find(|r| r[0] == *section && r[1] == *name && r[2] == *week && r[3] == *metric)
            .unwrap_or_else(|| panic!("no {section},{name},{week},{metric} in {text}"))[4]
            .to_owned()
    };
    assert_eq!(value("summary", "", "", "incidents"), "5");
    assert_eq!(
        value("summary", "", "", "median_seconds_to_acknowledge"),
        "420"
    );
    assert_eq!(value("week", "", "2026-03-30", "flaps"), "1");
    assert_eq!(
        value("noisy_alert_key", "Web / web/slow", "", "alerts"),
        "2"
    );
    assert_eq!(value("responder", "Alice", "", "sleep_hours_pages"), "3");
    assert_eq!(value("responder", "Bob", "", "off_hours_pages"), "1");
    // The same through the main endpoint.
    let (status, _) = app
        .api(Method::GET, &format!("/reports?{PERIOD}&format=csv"), None)
        .await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn an_observer_reads_the_fortnight_in_the_web_ui_with_charts_and_their_tables() {
    let app = fortnight(Backend::Sqlite).await;
    // A service name a monitoring tool could have made up: shown as text.
    let (status, body) = app
        .api(
            Method::PATCH,
            "/services/Web",
            Some(json!({"name": "Web <script>alert(1)</script>"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut carol = crate::browser::logged_in_as(&app, "Carol", "observer").await;
    let page = carol.get("/reports?from=2026-03-23&to=2026-04-05").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    for shown in [
        "<dd>5</dd>",
        "2 (40%)",
        "7m 0s",
        "<svg class=\"chart\"",
        "Pages per person",
        "<th scope=\"row\">Alice</th>",
        "Europe/Berlin",
        "Web &#60;script&#62;",
        "href=\"/reports.csv?from=2026-03-23&#38;to=2026-04-05",
    ] {
        assert!(page.body.contains(shown), "{shown} in {}", page.body);
    }
    assert!(!page.body.contains("<script>alert"), "{}", page.body);
    // A day's end is the viewer's midnight: the last day is included.
    let late = carol.get("/reports?from=2026-03-30&to=2026-03-30").await;
    assert!(late.body.contains("<dd>1</dd>"), "{}", late.body);
    let csv = carol
        .get("/reports.csv?from=2026-03-23&to=2026-04-05&urgency=low")
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.body.contains("summary,,,incidents,1"), "{}", csv.body);
    let bad = carol.get("/reports?from=2026-04-05&to=2026-03-23").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("ends before it starts"), "{}", bad.body);
}

#[tokio::test]
async fn admins_set_the_sleep_budget_and_the_postmortem_deadlines_within_their_ranges() {
    let app = TestApp::start().await;
    let (status, settings) = app.api(Method::GET, "/settings", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        settings,
        json!({"postmortem_provisional_hours": 24, "postmortem_final_business_days": 5,
               "sleep_page_budget": 2})
    );
    let (status, changed) = app
        .api(
            Method::PATCH,
            "/settings",
            Some(json!({"sleep_page_budget": 5})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["sleep_page_budget"], 5);
    assert_eq!(changed["postmortem_provisional_hours"], 24);
    for (body, says) in [
        (
            json!({"sleep_page_budget": 101}),
            "sleep_page_budget must be from 0 to 100",
        ),
        (
            json!({"postmortem_provisional_hours": 0, "sleep_page_budget": 1}),
            "from 1 to 720",
        ),
        (json!({"sleep_budget": 1}), "sleep_budget"),
    ] {
        let (status, refused) = app.api(Method::PATCH, "/settings", Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
        assert!(refused.to_string().contains(says), "{refused}");
    }
    let (_, kept) = app.api(Method::GET, "/settings", None).await;
    assert_eq!(
        kept["sleep_page_budget"], 5,
        "nothing of a refused change is kept"
    );
    let responder = app.user_token("Rex", "responder").await;
    let (status, _) = app
        .api_as(
            &responder,
            Method::PATCH,
            "/settings",
            Some(json!({"sleep_page_budget": 9})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Reports use it.
    let (_, report) = app.api(Method::GET, "/reports", None).await;
    assert_eq!(report["sleep_page_budget"], 5);

    // The same on the settings page: an admin changes them, a responder only reads them.
    let mut admin = crate::browser::logged_in_as(&app, "Ida", "admin").await;
    let form = admin.get("/settings").await;
    assert!(
        form.body
            .contains("name=\"sleep_page_budget\" min=\"0\" max=\"100\" required value=\"5\""),
        "{}",
        form.body
    );
    let csrf = form.csrf();
    let fields = |budget: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("postmortem_provisional_hours", "48".to_owned()),
            ("postmortem_final_business_days", "10".to_owned()),
            ("sleep_page_budget", budget.to_owned()),
        ]
    };
    admin.post_form("/settings", &fields("3")).await;
    assert!(admin.get("/settings").await.body.contains("Settings saved"));
    let (_, kept) = app.api(Method::GET, "/settings", None).await;
    assert_eq!(
        kept,
        json!({"postmortem_provisional_hours": 48, "postmortem_final_business_days": 10,
               "sleep_page_budget": 3})
    );
    admin.post_form("/settings", &fields("many")).await;
    assert!(
        admin
            .get("/settings")
            .await
            .body
            .contains("must be a whole number")
    );
    let mut rex = crate::browser::logged_in_as(&app, "Rexa", "responder").await;
    let read = rex.get("/settings").await;
    assert!(read.body.contains("Only admins change these") && read.body.contains(" disabled"));
    let csrf = read.csrf();
    rex.post_form(
        "/settings",
        &[
            ("csrf", csrf.as_str()),
            ("postmortem_provisional_hours", "1"),
            ("postmortem_final_business_days", "1"),
            ("sleep_page_budget", "0"),
        ],
    )
    .await;
    assert!(rex.get("/settings").await.body.contains("only admins"));
    let (_, kept) = app.api(Method::GET, "/settings", None).await;
    assert_eq!(kept["sleep_page_budget"], 3, "a responder changes nothing");
}
