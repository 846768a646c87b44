//! Schedule stories: the Ops rota paged through a policy across a handoff, overrides,
//! the final schedule with its gaps, "who is on call", and calendar feeds.

use onduty_core::Timestamp;
use onduty_testkit::{TestApp, backends, trigger_event};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::paging::{ALICE, BOB, MINUTE, pages_to, person, policy, service, timeline};

/// `at` on the UTC wall clock, as a layer's start: `2026-11-22T09:10:00`.
fn wall_clock(at: Timestamp) -> String {
    at.to_rfc3339()
        .trim_end_matches('Z')
        .split('.')
        .next()
        .unwrap()
        .to_owned()
}

fn shifted(at: Timestamp, minutes: i64) -> Timestamp {
    Timestamp::from_millis(at.as_millis() + minutes * 60_000)
}

/// "Ops rota": Alice and Bob take daily turns, handing over 10 minutes from now (Alice's
/// turn ends then).
async fn ops_rota(app: &TestApp) -> Value {
    let start = shifted(app.now(), 10 - 24 * 60);
    let (status, created) = app
        .api(
            Method::POST,
            "/schedules",
            Some(json!({
                "name": "Ops rota",
                "time_zone": "UTC",
                "layers": [{
                    "name": "Primary",
                    "participants": ["alice@example.com", "bob@example.com"],
                    "start": wall_clock(start),
                    "shift": {"unit": "days", "count": 1}
                }]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

/// "Ops": one level paging whoever is on call in Ops rota, 30 minutes, repeated `repeat`
/// times.
async fn rota_policy(app: &TestApp, repeat: u32) {
    policy(
        app,
        json!({"name": "Ops", "repeat": repeat, "levels": [
            {"targets": [{"type": "schedule", "id": "Ops rota"}], "delay_minutes": 30}
        ]}),
    )
    .await;
}

#[tokio::test]
async fn the_ops_rota_pages_whoever_holds_it_before_and_after_a_handoff() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        person(&app, "Alice", ALICE).await;
        person(&app, "Bob", BOB).await;
        ops_rota(&app).await;
        rota_policy(&app, 1).await;
        let key = service(&app, "Checkout", "Ops", json!({})).await;

        // Alice holds the rota when Checkout breaks.
        app.send_event(trigger_event(&key, "checkout", "Checkout is down"))
            .await;
        app.tick().await;
        let sent = app.notifier.take();
        assert_eq!(pages_to(&sent, ALICE), [vec![1]], "{backend:?}");
        assert!(pages_to(&sent, BOB).is_empty());

        // Nobody acknowledges; the rota changes hands at 10 minutes; at 30 minutes the
        // policy runs again and pages Bob, who holds it now.
        app.pass(29 * MINUTE).await;
        app.notifier.take();
        app.pass(MINUTE).await;
        let sent = app.notifier.take();
        assert_eq!(pages_to(&sent, BOB), [vec![1]], "{backend:?}");
        assert!(pages_to(&sent, ALICE).is_empty());

        let lines = timeline(&app, 1).await;
        for line in [
            "Escalation policy Ops, level 1: paging Alice (on call in Ops rota)",
            "Escalation policy Ops, level 1, repeat 1: paging Bob (on call in Ops rota)",
        ] {
            assert!(lines.contains(&line.to_owned()), "{line}: {lines:?}");
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn an_override_is_paged_instead_and_a_gap_pages_nobody_with_a_warning() {
    let app = TestApp::start().await;
    person(&app, "Alice", ALICE).await;
    person(&app, "Bob", BOB).await;
    ops_rota(&app).await;
    // Bob covers Alice for the next 5 minutes.
    let now = app.now();
    let (status, created) = app
        .api(
            Method::POST,
            "/schedules/Ops rota/overrides",
            Some(json!({
                "user": "bob@example.com",
                "start": now.to_rfc3339(),
                "end": shifted(now, 5).to_rfc3339()
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["override"]["user"]["name"], "Bob");
    rota_policy(&app, 0).await;
    let key = service(&app, "Checkout", "Ops", json!({})).await;
    app.send_event(trigger_event(&key, "checkout", "Checkout is down"))
        .await;
    app.tick().await;
    let sent = app.notifier.take();
    assert_eq!(pages_to(&sent, BOB), [vec![1]]);
    assert!(pages_to(&sent, ALICE).is_empty());

    // A business-hours-only schedule has nobody on call at night: the policy warns, and a
    // level that pages it pages nobody and says so.
    let (status, created) = app
        .api(
            Method::POST,
            "/schedules",
            Some(json!({
                "name": "Day desk",
                "time_zone": "UTC",
                "layers": [{
                    "name": "Days",
                    "participants": ["alice@example.com"],
                    "start": "2020-01-01T00:00",
                    "shift": {"unit": "weeks", "count": 1},
                    "restrictions": [{"type": "daily", "start": "09:00", "end": "17:00"}]
                }]
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    // Every night of the next 14 days is a gap: 17:00 to 09:00 (or the window's edges).
    let gaps = created["schedule"]["gaps_next_14_days"].as_array().unwrap();
    assert!(gaps.len() >= 14, "{gaps:?}");
    let edges = [app.now(), shifted(app.now(), 14 * 24 * 60)];
    for g in gaps {
        let (start, end) = (
            Timestamp::parse(g["start"].as_str().unwrap()).unwrap(),
            Timestamp::parse(g["end"].as_str().unwrap()).unwrap(),
        );
        assert!(
            edges.contains(&start) || start.to_rfc3339().contains("T17:00:00"),
            "{g}"
        );
        assert!(
            edges.contains(&end) || end.to_rfc3339().contains("T09:00:00"),
            "{g}"
        );
    }
    let (status, created) = app
        .api(
            Method::POST,
            "/escalation-policies",
            Some(json!({"name": "Desk", "levels": [
                {"targets": [{"type": "schedule", "id": "Day desk"}], "delay_minutes": 30}
            ]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let warning = created["warnings"][0].as_str().unwrap();
    assert!(
        warning.contains("schedule 'Day desk' has nobody on call"),
        "{warning}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_final_schedule_overrides_and_who_is_on_call() {
    let app = TestApp::start().await;
    person(&app, "Alice", ALICE).await;
    person(&app, "Bob", BOB).await;
    ops_rota(&app).await;
    let now = app.now();

    // Two weeks: alternating days, the first (Alice's) cut at the window's start.
    let (status, f) = app
        .api(Method::GET, "/schedules/Ops rota/final?days=14", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{f}");
    let shifts = f["shifts"].as_array().unwrap();
    assert_eq!(shifts.len(), 15);
    assert_eq!(shifts[0]["user"]["name"], "Alice");
    assert_eq!(shifts[0]["from"], "Primary");
    assert_eq!(shifts[1]["user"]["name"], "Bob");
    assert_eq!(shifts[1]["start"], json!(shifted(now, 10)));
    assert!(f["gaps"].as_array().unwrap().is_empty());

    // Bob covers part of Alice's next turn; the override shows, and can be removed.
    let (_, created) = app
        .api(
            Method::POST,
            "/schedules/Ops rota/overrides",
            Some(json!({
                "user": "bob@example.com",
                "start": shifted(now, 24 * 60 + 60).to_rfc3339(),
                "end": shifted(now, 24 * 60 + 120).to_rfc3339()
            })),
        )
        .await;
    let id = created["override"]["id"].as_str().unwrap().to_owned();
    let (_, f) = app
        .api(Method::GET, "/schedules/Ops rota/final?days=3", None)
        .await;
    let froms: Vec<&str> = f["shifts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["from"].as_str().unwrap())
        .collect();
    assert_eq!(
        froms,
        [
            "Primary", "Primary", "Primary", "override", "Primary", "Primary"
        ]
    );

    // Who is on call: the overview, the schedule, and "when am I next on call?".
    let (_, overview) = app.api(Method::GET, "/oncall", None).await;
    assert_eq!(overview["schedules"][0]["on_call"][0]["name"], "Alice");
    assert_eq!(overview["schedules"][0]["until"], json!(shifted(now, 10)));
    let later = shifted(now, 12 * 60).to_rfc3339();
    let (_, overview) = app
        .api(Method::GET, &format!("/oncall?at={later}"), None)
        .await;
    assert_eq!(overview["schedules"][0]["on_call"][0]["name"], "Bob");
    let (_, bob) = app
        .api(Method::GET, "/users/bob@example.com/oncall?days=3", None)
        .await;
    assert_eq!(bob["on_call_now"], false);
    assert_eq!(bob["next"]["start"], json!(shifted(now, 10)));
    assert_eq!(bob["next"]["schedule"], "Ops rota");
    // Alice is on call: her shift began a day ago (less 10 minutes), not when she asked.
    let (_, alice) = app
        .api(Method::GET, "/users/alice@example.com/oncall", None)
        .await;
    assert_eq!(alice["on_call_now"], true);
    assert_eq!(alice["next"]["start"], json!(shifted(now, 10 - 24 * 60)));
    assert_eq!(alice["next"]["end"], json!(shifted(now, 10)));
    assert_eq!(alice["shifts"][0]["start"], alice["next"]["start"]);
    let (status, _) = app
        .api(
            Method::DELETE,
            &format!("/schedules/Ops rota/overrides/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, f) = app
        .api(Method::GET, "/schedules/Ops rota/final?days=3", None)
        .await;
    assert_eq!(f["shifts"].as_array().unwrap().len(), 4);

    // Bad input is refused clearly.
    for (body, expected) in [
        (
            json!({"name": "X", "time_zone": "Mars/Olympus", "layers": []}),
            "time_zone",
        ),
        (
            json!({"name": "X", "time_zone": "localtime", "layers": []}),
            "time_zone",
        ),
        (
            json!({"name": "X", "time_zone": "UTC", "layers": [{"name": "L", "participants": [], "start": "2026-01-01T00:00", "shift": {"unit": "days", "count": 1}}]}),
            "participants",
        ),
        (
            json!({"name": "X", "time_zone": "UTC", "layers": [{"name": "L", "participants": ["nobody@example.com"], "start": "2026-01-01T00:00", "shift": {"unit": "days", "count": 1}}]}),
            "no user",
        ),
        (
            json!({"name": "X", "time_zone": "UTC", "layers": [{"name": "L", "participants": ["alice@example.com"], "start": "2026-01-01T00:00", "shift": {"unit": "days", "count": 0}}]}),
            "shift",
        ),
    ] {
        let (status, answer) = app.api(Method::POST, "/schedules", Some(body)).await;
        // A participant who does not exist is not found; the rest cannot be read.
        let refused = if expected == "no user" {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::BAD_REQUEST
        };
        assert_eq!(status, refused, "{answer}");
        assert!(answer.to_string().contains(expected), "{answer}");
    }
    let (status, answer) = app
        .api(
            Method::POST,
            "/schedules/Ops rota/overrides",
            Some(json!({"user": "bob@example.com", "start": now.to_rfc3339(), "end": now.to_rfc3339()})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    // A time zone is kept as the time zone database spells it.
    let (status, created) = app
        .api(
            Method::POST,
            "/schedules",
            Some(
                json!({"name": "London rota", "time_zone": "europe/london", "layers": [{
                "name": "L", "participants": ["alice@example.com"],
                "start": "2026-01-01T00:00", "shift": {"unit": "days", "count": 1}}]}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["schedule"]["time_zone"], "Europe/London");
    app.stop().await;
}

/// Two overrides over the same span made in the same millisecond (the clock stands still):
/// the second one made wins, every time.
#[tokio::test]
async fn of_two_overrides_made_at_once_the_second_wins() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        person(&app, "Alice", ALICE).await;
        person(&app, "Bob", BOB).await;
        ops_rota(&app).await;
        let now = app.now();
        for day in 1..=8 {
            let (start, end) = (
                shifted(now, day * 24 * 60),
                shifted(now, day * 24 * 60 + 60),
            );
            for who in ["alice@example.com", "bob@example.com"] {
                let (status, body) = app
                    .api(
                        Method::POST,
                        "/schedules/Ops rota/overrides",
                        Some(json!({"user": who, "start": start.to_rfc3339(), "end": end.to_rfc3339()})),
                    )
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{body}");
            }
            let (_, overview) = app
                .api(
                    Method::GET,
                    &format!("/oncall?at={}", start.to_rfc3339()),
                    None,
                )
                .await;
            assert_eq!(
                overview["schedules"][0]["on_call"][0]["name"], "Bob",
                "day {day} on {backend:?}"
            );
        }
        app.stop().await;
    }
}

#[tokio::test]
async fn calendars_subscribe_to_a_secret_url_with_stable_event_ids() {
    let app = TestApp::start().await;
    person(&app, "Alice", ALICE).await;
    person(&app, "Bob", BOB).await;
    let rota = ops_rota(&app).await;
    let began = shifted(app.now(), 10 - 24 * 60);
    let (status, feed) = app
        .api(Method::GET, "/schedules/Ops rota/calendar", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let url = feed["calendar_url"].as_str().unwrap().to_owned();
    let fetch = |url: String| async move {
        let response = reqwest::get(&url).await.unwrap();
        let status = response.status();
        let kind = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, kind, response.text().await.unwrap())
    };
    let (status, kind, first) = fetch(url.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kind, "text/calendar; charset=utf-8");
    assert!(first.starts_with("BEGIN:VCALENDAR"), "{first}");
    assert!(
        first.contains("SUMMARY:On call: Alice (Ops rota)"),
        "{first}"
    );
    // Long lines are folded (RFC 5545 3.1): a line starting with a space continues the last.
    let uids = |text: &str| -> Vec<String> {
        text.replace("\r\n ", "")
            .lines()
            .filter(|l| l.starts_with("UID:"))
            .map(str::to_owned)
            .collect()
    };
    // From midnight 30 days back to the midnight after 180 days ahead, but the schedule
    // began a day ago (less 10 minutes): its first turn and the 181 that start before the
    // feed's end.
    assert_eq!(uids(&first).len(), 182);

    // An hour later the same shifts have the same UIDs; a day later one more has come
    // into view and the others keep theirs.
    app.advance(60 * MINUTE);
    let (_, _, again) = fetch(url.clone()).await;
    let (before, after) = (uids(&first), uids(&again));
    assert!(after == before, "UIDs changed within the day");
    // A shift is named by the schedule, the person and its start.
    assert_eq!(
        before[0],
        format!(
            "UID:{}-{}-{}@onduty",
            rota["schedule"]["id"].as_str().unwrap(),
            rota["schedule"]["layers"][0]["participants"][0]
                .as_str()
                .unwrap(),
            began.as_millis()
        )
    );
    app.advance(24 * 60 * MINUTE);
    let (_, _, next_day) = fetch(url.clone()).await;
    let next_day = uids(&next_day);
    assert_eq!(next_day.len(), before.len() + 1);
    assert!(next_day.starts_with(&before), "UIDs changed the next day");

    // A person's own feed holds only their shifts.
    let (_, mine) = app
        .api(Method::GET, "/users/bob@example.com/calendar", None)
        .await;
    let (status, _, bobs) = fetch(mine["calendar_url"].as_str().unwrap().to_owned()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(bobs.contains("SUMMARY:On call: Bob (Ops rota)"));
    assert!(!bobs.contains("Alice"));
    let bob_uids = uids(&bobs);
    assert!(!bob_uids.is_empty());
    assert!(
        bob_uids.iter().all(|u| after.contains(u)),
        "Bob's UIDs differ"
    );

    // Bob covers an hour in the middle of Alice's turn three days on: her turn becomes two
    // events and his hour a third. Moving the override's start and end changes no UID.
    let alices_turn = shifted(began, 4 * 24 * 60);
    let cover = |from: i64, to: i64| {
        json!({
            "user": "bob@example.com",
            "start": shifted(alices_turn, from).to_rfc3339(),
            "end": shifted(alices_turn, to).to_rfc3339()
        })
    };
    let (status, created) = app
        .api(
            Method::POST,
            "/schedules/Ops rota/overrides",
            Some(cover(60, 120)),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let (_, _, covered) = fetch(url.clone()).await;
    let covered = uids(&covered);
    assert_eq!(covered.len(), next_day.len() + 2);
    let (status, moved) = app
        .api(
            Method::PUT,
            &format!(
                "/schedules/Ops rota/overrides/{}",
                created["override"]["id"].as_str().unwrap()
            ),
            Some(cover(90, 180)),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    let (_, _, moved) = fetch(url.clone()).await;
    let moved = uids(&moved);
    let changed: Vec<&String> = moved.iter().filter(|u| !covered.contains(u)).collect();
    assert!(
        changed.is_empty() && moved.len() == covered.len(),
        "UIDs changed when the override moved: {changed:?}"
    );

    // Rotating the secret retires the old URL.
    let (status, rotated) = app
        .api(Method::POST, "/schedules/Ops rota/calendar", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_ne!(rotated["calendar_url"].as_str().unwrap(), url);
    let (status, _, _) = fetch(url).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    app.stop().await;
}

/// Notices sent to `phone` since the last look.
fn notices_to(sent: &[onduty_notify::Outgoing], phone: &str) -> Vec<String> {
    sent.iter()
        .filter(|m| m.to == phone)
        .filter_map(|m| match &m.content {
            onduty_notify::Content::Notice { text } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn people_are_told_before_their_shift_starts_and_when_it_ends() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        person(&app, "Alice", ALICE).await;
        person(&app, "Bob", BOB).await;
        ops_rota(&app).await;
        for email in ["alice@example.com", "bob@example.com"] {
            let (status, body) = app
                .api(
                    Method::PUT,
                    &format!("/users/{email}/handoff-notifications"),
                    Some(json!({"enabled": true, "lead_minutes": 5})),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{body}");
        }
        app.tick().await;
        assert!(
            app.notifier.take().is_empty(),
            "nothing due yet ({backend:?})"
        );

        // Bob's turn starts at 10 minutes: he is told at 5.
        app.pass(5 * MINUTE).await;
        let sent = app.notifier.take();
        let bob = notices_to(&sent, BOB);
        assert_eq!(bob.len(), 1, "{sent:?}");
        assert!(
            bob[0].starts_with("Your on-call shift in Ops rota starts"),
            "{}",
            bob[0]
        );
        assert!(notices_to(&sent, ALICE).is_empty());

        // At 10 minutes Alice's turn ends, and she is told.
        app.pass(5 * MINUTE).await;
        let sent = app.notifier.take();
        let alice = notices_to(&sent, ALICE);
        assert_eq!(alice.len(), 1, "{sent:?}");
        assert!(alice[0].starts_with("Your on-call shift in Ops rota ended"));
        assert!(notices_to(&sent, BOB).is_empty());

        // Each is sent once.
        app.pass(60 * MINUTE).await;
        assert!(app.notifier.take().is_empty());
        let (_, settings) = app
            .api(
                Method::GET,
                "/users/bob@example.com/handoff-notifications",
                None,
            )
            .await;
        assert_eq!(settings, json!({"enabled": true, "lead_minutes": 5}));
        app.stop().await;
    }
}

const DAVE: &str = "+447700900004";

/// The rota a team really runs: weekly handoff on Monday 09:00 in London, a night layer on
/// top, and an override for the Easter holiday — across the spring clock change on
/// 29 March 2026. The final schedule, the calendar and the pages agree at every moment.
#[tokio::test]
async fn a_london_rota_with_nights_and_a_holiday_across_the_clock_change() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        person(&app, "Alice", ALICE).await;
        person(&app, "Bob", BOB).await;
        person(&app, "Carol", crate::paging::CAROL).await;
        person(&app, "Dave", DAVE).await;
        let (status, created) = app
            .api(
                Method::POST,
                "/schedules",
                Some(json!({
                    "name": "Ops rota",
                    "time_zone": "Europe/London",
                    "layers": [
                        {"name": "Weekly", "participants": ["alice@example.com", "bob@example.com"],
                         "start": "2026-01-12T09:00", "shift": {"unit": "weeks", "count": 1}},
                        {"name": "Nights", "participants": ["carol@example.com"],
                         "start": "2026-01-12T00:00", "shift": {"unit": "weeks", "count": 1},
                         "restrictions": [{"type": "daily", "start": "22:00", "end": "07:00"}]}
                    ]
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        // Dave covers Easter: Good Friday 00:00 to Easter Monday 09:00, London time (BST).
        let (status, _) = app
            .api(
                Method::POST,
                "/schedules/Ops rota/overrides",
                Some(json!({"user": "dave@example.com",
                    "start": "2026-04-03T00:00:00+01:00", "end": "2026-04-06T09:00:00+01:00"})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);

        let (_, f) = app
            .api(
                Method::GET,
                "/schedules/Ops rota/final?since=2026-03-28T12:00:00Z&until=2026-04-07T00:00:00Z",
                None,
            )
            .await;
        let shifts: Vec<(String, String, String)> = f["shifts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["user"]["name"].as_str().unwrap().to_owned(),
                    s["start"].as_str().unwrap().to_owned(),
                    s["end"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let expect = |who: &str, start: &str, end: &str| {
            assert!(
                shifts.contains(&(who.to_owned(), start.to_owned(), end.to_owned())),
                "{backend:?}: no {who} {start} → {end} in {shifts:#?}"
            );
        };
        // Saturday night is still GMT at 22:00 and ends at 07:00 BST (06:00Z).
        expect(
            "Carol",
            "2026-03-28T22:00:00.000Z",
            "2026-03-29T06:00:00.000Z",
        );
        // Sunday night is BST throughout.
        expect(
            "Carol",
            "2026-03-29T21:00:00.000Z",
            "2026-03-30T06:00:00.000Z",
        );
        // Monday 09:00 BST is 08:00Z: Alice hands over to Bob.
        expect(
            "Alice",
            "2026-03-30T06:00:00.000Z",
            "2026-03-30T08:00:00.000Z",
        );
        expect(
            "Bob",
            "2026-03-30T08:00:00.000Z",
            "2026-03-30T21:00:00.000Z",
        );
        // Easter belongs to Dave, nights included.
        expect(
            "Dave",
            "2026-04-02T23:00:00.000Z",
            "2026-04-06T08:00:00.000Z",
        );
        assert!(f["gaps"].as_array().unwrap().is_empty(), "{f}");

        // The calendar has Bob's week from 08:00Z on Monday.
        let (_, feed) = app
            .api(Method::GET, "/schedules/Ops rota/calendar", None)
            .await;
        app.advance(
            Timestamp::parse("2026-03-25T12:00:00Z")
                .unwrap()
                .since(app.now()),
        );
        let ics = reqwest::get(feed["calendar_url"].as_str().unwrap())
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .replace("\r\n ", "");
        // Bob's stretch runs until Sunday night's 22:00 BST (Carol's nights sit on top).
        let bobs_monday = ics
            .split("BEGIN:VEVENT")
            .find(|e| e.contains("DTSTART:20260330T080000Z"))
            .unwrap_or_else(|| panic!("{backend:?}: Bob's Monday shift is not in the feed"));
        assert!(bobs_monday.contains("SUMMARY:On call: Bob (Ops rota)"));
        assert!(
            bobs_monday.contains("DTEND:20260330T210000Z"),
            "{bobs_monday}"
        );

        // Escalations page whoever holds the rota at that moment.
        rota_policy(&app, 0).await;
        let key = service(&app, "Checkout", "Ops", json!({})).await;
        let moments = [
            ("2026-03-29T05:30:00Z", crate::paging::CAROL),
            ("2026-03-30T07:30:00Z", ALICE),
            ("2026-03-30T08:30:00Z", BOB),
            ("2026-04-04T12:00:00Z", DAVE),
            // The holiday is over and a new week has begun: Alice's.
            ("2026-04-06T08:30:00Z", ALICE),
        ];
        for (i, (at, phone)) in moments.iter().enumerate() {
            app.advance(Timestamp::parse(at).unwrap().since(app.now()));
            app.send_event(trigger_event(&key, &format!("k{i}"), "Checkout is down"))
                .await;
            app.tick().await;
            let sent = app.notifier.take();
            let number = i as i64 + 1;
            let paged: Vec<&str> = sent
                .iter()
                .filter(|m| match &m.content {
                    onduty_notify::Content::Page { items } => {
                        items.iter().any(|p| p.number == number)
                    }
                    _ => false,
                })
                .map(|m| m.to.as_str())
                .collect();
            assert_eq!(paged, [*phone], "{backend:?} at {at}");
            let (status, _) = app
                .api(Method::POST, &format!("/incidents/{number}/resolve"), None)
                .await;
            assert_eq!(status, StatusCode::OK);
        }
        app.stop().await;
    }
}
