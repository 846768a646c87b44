//! Stories of people answering a page: replying to the SMS, pressing a key in the call,
//! clicking a link in the e-mail; and Twilio's delivery reports. Twilio's webhooks are
//! signed with its algorithm; the real Twilio client talks to a local Twilio.

use std::sync::Arc;
use std::time::Duration;

use onduty_notify::twilio::{TwilioConfig, TwilioNotifier};
use onduty_notify::{Content, Notifier, Outgoing, Providers};
use onduty_testkit::twilio::{ACCOUNT_SID, AUTH_TOKEN, FROM, FakeTwilio};
use onduty_testkit::{TestApp, backends, trigger_event};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::paging::{ALICE, BOB, MINUTE, level, pages_to, person, policy, service, timeline};

/// Adds and verifies a contact method; returns its id.
async fn add_method(
    app: &TestApp,
    token: &str,
    user: &str,
    channel: &str,
    address: &str,
) -> String {
    let (status, created) = app
        .api_as(
            token,
            Method::POST,
            &format!("/users/{user}/contact-methods"),
            Some(json!({"channel": channel, "address": address})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let Some(Content::Verification { code }) =
        app.notifier.take().last().map(|m| m.content.clone())
    else {
        panic!("no code sent to {address}")
    };
    let id = created["contact_method"]["id"].as_str().unwrap().to_owned();
    let (status, _) = app
        .api_as(
            token,
            Method::POST,
            &format!("/users/{user}/contact-methods/{id}/verify"),
            Some(json!({ "code": code })),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    id
}

/// Alice then Bob, 30 minutes apart, for the Database service; returns its routing key.
async fn ops(app: &TestApp) -> String {
    policy(
        app,
        json!({"name": "Ops", "levels": [level(&["alice@example.com"], 30), level(&["bob@example.com"], 30)]}),
    )
    .await;
    service(app, "Database", "Ops", json!({})).await
}

async fn status_of(app: &TestApp, number: i64) -> Value {
    let (_, detail) = app
        .api(Method::GET, &format!("/incidents/{number}"), None)
        .await;
    detail["incident"]["status"].clone()
}

#[tokio::test]
async fn alice_acknowledges_by_replying_to_the_sms_and_bob_is_never_paged() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        person(&app, "Alice", ALICE).await;
        person(&app, "Bob", BOB).await;
        let key = ops(&app).await;
        app.send_event(trigger_event(&key, "db01/disk", "DISK at 99% on db01"))
            .await;
        app.tick().await;
        assert_eq!(pages_to(&app.notifier.take(), ALICE), [vec![1]]);

        app.pass(2 * MINUTE).await;
        let (status, answer) = app
            .twilio_webhook(
                "/twilio/sms",
                &[("From", ALICE), ("To", FROM), ("Body", "1a")],
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            answer.contains("<Message>Acknowledged #1</Message>"),
            "{answer}"
        );
        assert_eq!(status_of(&app, 1).await, "acknowledged", "{backend:?}");

        app.pass(60 * MINUTE).await;
        assert!(
            app.notifier.take().is_empty(),
            "no 5-minute repeat for Alice, no level 2 for Bob"
        );
        let lines = timeline(&app, 1).await;
        assert!(
            lines.contains(&"Acknowledged by Alice via SMS".to_owned()),
            "{lines:?}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_bare_reply_acts_on_the_last_page_sent_to_that_number() {
    let app = TestApp::start().await;
    person(&app, "Alice", ALICE).await;
    person(&app, "Bob", BOB).await;
    let key = ops(&app).await;
    app.send_event(trigger_event(&key, "a", "first")).await;
    app.tick().await;
    assert_eq!(pages_to(&app.notifier.take(), ALICE), [vec![1]]);
    app.pass(2 * MINUTE).await;
    app.send_event(trigger_event(&key, "b", "second")).await;
    app.tick().await;
    assert_eq!(pages_to(&app.notifier.take(), ALICE), [vec![2]]);

    let (_, answer) = app
        .twilio_webhook("/twilio/sms", &[("From", ALICE), ("Body", "e")])
        .await;
    assert!(answer.contains("Escalated #2"), "{answer}");
    app.tick().await;
    assert_eq!(
        pages_to(&app.notifier.take(), BOB),
        [vec![2]],
        "Bob paged at once"
    );
    assert_eq!(status_of(&app, 1).await, "triggered", "#1 untouched");

    let (_, answer) = app
        .twilio_webhook("/twilio/sms", &[("From", ALICE), ("Body", "resolve 1")])
        .await;
    assert!(answer.contains("Resolved #1"), "{answer}");
    let (_, answer) = app
        .twilio_webhook("/twilio/sms", &[("From", ALICE), ("Body", "1a")])
        .await;
    assert!(answer.contains("#1 is already resolved"), "{answer}");
    let (_, answer) = app
        .twilio_webhook("/twilio/sms", &[("From", ALICE), ("Body", "thanks!")])
        .await;
    assert!(answer.contains("did not understand"), "{answer}");
    let (_, answer) = app
        .twilio_webhook("/twilio/sms", &[("From", "+447700900999"), ("Body", "1a")])
        .await;
    assert!(answer.contains("not one of anyone"), "{answer}");
    app.stop().await;
}

#[tokio::test]
async fn unsigned_or_forged_twilio_webhooks_are_refused() {
    let app = TestApp::start().await;
    person(&app, "Alice", ALICE).await;
    person(&app, "Bob", BOB).await;
    let key = ops(&app).await;
    app.send_event(trigger_event(&key, "a", "first")).await;
    app.tick().await;
    let params = vec![
        ("From".to_owned(), ALICE.to_owned()),
        ("Body".to_owned(), "1a".to_owned()),
    ];
    let (status, _) = app.twilio_webhook_signed("/twilio/sms", &params, "").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "unsigned");
    // Signed for another URL (a replay to another endpoint) or with another token.
    for signature in [
        onduty_core::signature::twilio_signature(
            AUTH_TOKEN,
            &format!("{}/twilio/voice", app.url),
            &params,
        ),
        onduty_core::signature::twilio_signature(
            "not the token",
            &format!("{}/twilio/sms", app.url),
            &params,
        ),
    ] {
        let (status, _) = app
            .twilio_webhook_signed("/twilio/sms", &params, &signature)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    // A signed body with a field changed afterwards.
    let signature = onduty_core::signature::twilio_signature(
        AUTH_TOKEN,
        &format!("{}/twilio/sms", app.url),
        &params,
    );
    let tampered = vec![params[0].clone(), ("Body".to_owned(), "1r".to_owned())];
    let (status, _) = app
        .twilio_webhook_signed("/twilio/sms", &tampered, &signature)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(status_of(&app, 1).await, "triggered");
    app.stop().await;
}

#[tokio::test]
async fn stop_silences_a_number_until_start() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        person(&app, "Alice", ALICE).await;
        person(&app, "Bob", BOB).await;
        let key = ops(&app).await;
        let (_, answer) = app
            .twilio_webhook("/twilio/sms", &[("From", ALICE), ("Body", "STOP")])
            .await;
        assert!(!answer.contains("<Message>"), "Twilio itself answers STOP");
        app.send_event(trigger_event(&key, "a", "first")).await;
        app.tick().await;
        assert!(
            pages_to(&app.notifier.take(), ALICE).is_empty(),
            "{backend:?}"
        );
        let lines = timeline(&app, 1).await;
        assert!(
            lines.iter().any(|l| l.contains("skipped: it is failing")),
            "{lines:?}"
        );
        let (_, answer) = app
            .twilio_webhook("/twilio/sms", &[("From", ALICE), ("Body", "START")])
            .await;
        assert!(answer.contains("on again"), "{answer}");
        // Both are in the audit log, by SMS.
        let (_, log) = app
            .api(
                reqwest::Method::GET,
                "/audit-log?action=contact_method",
                None,
            )
            .await;
        let actions: Vec<&str> = log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["door"] == "sms")
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(
            actions,
            ["contact_method.sms_start", "contact_method.sms_stop"]
        );
        app.pass(5 * MINUTE).await;
        assert_eq!(
            pages_to(&app.notifier.take(), ALICE),
            [vec![1]],
            "her 5-minute rule reaches her again"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn alice_presses_4_during_the_call_to_acknowledge() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        let alice = app.user_token("Alice", "responder").await;
        let voice = add_method(&app, &alice, "alice@example.com", "voice", ALICE).await;
        let (status, _) = app
            .api_as(
                &alice,
                Method::POST,
                "/users/alice@example.com/notification-rules",
                Some(json!({"contact_method": voice, "delay_minutes": 0})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        person(&app, "Bob", BOB).await;
        let key = ops(&app).await;
        app.send_event(trigger_event(&key, "a", "Replication lag 300s"))
            .await;
        app.tick().await;
        let calls: Vec<Outgoing> = app
            .notifier
            .take()
            .into_iter()
            .filter(|m| m.to == ALICE)
            .collect();
        assert!(!calls.is_empty(), "Alice is called");

        let (_, twiml) = app
            .twilio_webhook(
                "/twilio/voice?incidents=1",
                &[("To", ALICE), ("From", FROM), ("Digits", "1")],
            )
            .await;
        assert!(twiml.contains("<Gather"), "1 repeats the message: {twiml}");
        assert!(twiml.contains("Replication lag 300s"), "{twiml}");
        assert!(
            twiml.contains("Incident 1 on Database: Replication lag 300s"),
            "the repeat names the service as the first call did: {twiml}"
        );
        let (status, twiml) = app
            .twilio_webhook(
                "/twilio/voice?incidents=1",
                &[("To", ALICE), ("From", FROM), ("Digits", "4")],
            )
            .await;
        assert_eq!(status, StatusCode::OK);
        assert!(twiml.contains("Acknowledged incident 1"), "{twiml}");
        assert_eq!(status_of(&app, 1).await, "acknowledged", "{backend:?}");
        let lines = timeline(&app, 1).await;
        assert!(
            lines.contains(&"Acknowledged by Alice via a phone call".to_owned()),
            "{lines:?}"
        );
        // The incident list in the URL is covered by the signature.
        let params = vec![
            ("To".to_owned(), ALICE.to_owned()),
            ("Digits".to_owned(), "6".to_owned()),
        ];
        let signature = onduty_core::signature::twilio_signature(
            AUTH_TOKEN,
            &format!("{}/twilio/voice?incidents=1", app.url),
            &params,
        );
        let (status, _) = app
            .twilio_webhook_signed("/twilio/voice?incidents=2", &params, &signature)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        app.stop().await;
    }
}

#[tokio::test]
async fn twilio_delivery_reports_reach_the_timeline() {
    let app = TestApp::start().await;
    person(&app, "Alice", ALICE).await;
    person(&app, "Bob", BOB).await;
    let key = ops(&app).await;
    app.send_event(trigger_event(&key, "a", "first")).await;
    app.tick().await;
    let sent = app.notifier.take();
    let sms = sent.iter().find(|m| m.to == ALICE).unwrap();
    // The fake notifier answers with "fake-<idempotency key>" as the provider's id.
    let sid = format!("fake-{}", sms.idempotency_key);
    for status in ["sent", "delivered"] {
        let (code, _) = app
            .twilio_webhook(
                "/twilio/status",
                &[("MessageSid", &sid), ("MessageStatus", status)],
            )
            .await;
        assert_eq!(code, StatusCode::NO_CONTENT);
    }
    let lines = timeline(&app, 1).await;
    assert!(
        lines.contains(&format!("SMS to Alice {ALICE}: delivered")),
        "{lines:?}"
    );
    assert!(
        !lines.iter().any(|l| l.ends_with(": sent")
            && l.contains("SMS to Alice")
            && l != &format!("SMS to Alice {ALICE}: sent")),
        "steps on the way are not lines: {lines:?}"
    );
    let (code, _) = app
        .twilio_webhook(
            "/twilio/status",
            &[
                ("MessageSid", &sid),
                ("MessageStatus", "undelivered"),
                ("ErrorCode", "30003"),
            ],
        )
        .await;
    assert_eq!(code, StatusCode::NO_CONTENT);
    let lines = timeline(&app, 1).await;
    assert!(
        lines.contains(&format!("SMS to Alice {ALICE}: undelivered (error 30003)")),
        "{lines:?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn the_email_links_acknowledge_without_logging_in_once_clicked() {
    for backend in backends() {
        let app = TestApp::start_with(backend, |_| {}).await;
        let alice = app.user_token("Alice", "responder").await;
        add_method(
            &app,
            &alice,
            "alice@example.com",
            "email",
            "alice@example.com",
        )
        .await;
        person(&app, "Bob", BOB).await;
        let key = ops(&app).await;
        let mut event = trigger_event(&key, "a", "Checkout errors");
        event["links"] = json!([{"href": "https://runbooks.example/checkout", "text": "Runbook"}]);
        event["payload"]["custom_details"] = json!({"error_rate": "12%"});
        app.send_event(event).await;
        app.tick().await;
        let sent = app.notifier.take();
        let mail = sent
            .iter()
            .find(|m| m.to == "alice@example.com")
            .expect("an e-mail to Alice");
        let Content::Page { items } = &mail.content else {
            panic!("a page")
        };
        assert_eq!(items[0].links[0].href, "https://runbooks.example/checkout");
        assert_eq!(items[0].details, Some(json!({"error_rate": "12%"})));
        let ack = items[0].ack_url.clone().unwrap();
        let resolve = items[0].resolve_url.clone().unwrap();
        assert!(ack.starts_with(&format!("{}/actions/", app.url)));

        // Opening the link (a mail scanner does) changes nothing: it shows a button.
        let page = app.http.get(&ack).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        has_security_headers(&page);
        let html = page.text().await.unwrap();
        assert!(html.contains("<form method=\"post\">"), "{html}");
        assert_eq!(status_of(&app, 1).await, "triggered");

        let forged = ack.replace("ack", "resolve");
        let refused = app.http.post(&forged).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::GONE);
        has_security_headers(&refused);

        let done = app.http.post(&ack).send().await.unwrap();
        assert_eq!(done.status(), StatusCode::OK);
        has_security_headers(&done);
        assert!(done.text().await.unwrap().contains("Acknowledged #1"));
        assert_eq!(status_of(&app, 1).await, "acknowledged", "{backend:?}");
        let lines = timeline(&app, 1).await;
        assert!(
            lines.contains(&"Acknowledged by Alice via a one-click link".to_owned()),
            "{lines:?}"
        );

        app.advance(Duration::from_secs(25 * 3600));
        let expired = app.http.post(&resolve).send().await.unwrap();
        assert_eq!(expired.status(), StatusCode::GONE);
        assert!(expired.text().await.unwrap().contains("expired"));
        assert_eq!(status_of(&app, 1).await, "acknowledged");
        app.stop().await;
    }
}

/// A page opened from an e-mail is as locked down as the web UI's pages.
fn has_security_headers(page: &reqwest::Response) {
    let headers = page.headers();
    let csp = headers
        .get("content-security-policy")
        .map(|v| v.to_str().unwrap())
        .unwrap_or_default();
    assert!(csp.contains("frame-ancestors 'none'"), "{headers:?}");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");
}

#[tokio::test]
async fn an_oversized_twilio_webhook_is_refused_in_ondutys_words() {
    let app = TestApp::start().await;
    let big = "x".repeat(100 * 1024);
    let (status, text) = app
        .twilio_webhook(
            "/twilio/sms",
            &[("To", ALICE), ("From", FROM), ("Body", &big)],
        )
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(text, "onduty takes Twilio webhooks of up to 64 KB");
    app.stop().await;
}

/// Sends through the real Twilio client to a local Twilio.
fn twilio_providers(
    twilio: &FakeTwilio,
) -> impl FnOnce(&str, Arc<onduty_notify::fake::FakeNotifier>) -> Providers {
    let api_base = twilio.url.clone();
    move |url, fake| {
        let client: Arc<dyn Notifier> = Arc::new(TwilioNotifier::new(
            reqwest::Client::new(),
            TwilioConfig {
                account_sid: ACCOUNT_SID.to_owned(),
                auth_token: AUTH_TOKEN.to_owned(),
                from: FROM.to_owned(),
                api_base,
                public_url: url.to_owned(),
            },
        ));
        let mut providers = Providers::all(fake);
        providers.sms = Some(client.clone());
        providers.voice = Some(client);
        providers
    }
}

#[tokio::test]
async fn pages_go_out_through_twilios_messages_and_calls_api() {
    for backend in backends() {
        let twilio = FakeTwilio::start().await;
        let app = TestApp::start_with_providers(backend, |_| {}, twilio_providers(&twilio)).await;
        let alice = app.user_token("Alice", "responder").await;
        // Verification codes go through Twilio too.
        let (status, created) = app
            .api_as(
                &alice,
                Method::POST,
                "/users/alice@example.com/contact-methods",
                Some(json!({"channel": "voice", "address": ALICE})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        let call = twilio.take().pop().expect("a verification call");
        assert_eq!(call.resource, "Calls");
        let twiml = call.field("Twiml");
        let code: String = twiml
            .split("code is ")
            .nth(1)
            .unwrap()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let id = created["contact_method"]["id"].as_str().unwrap();
        let (status, _) = app
            .api_as(
                &alice,
                Method::POST,
                &format!("/users/alice@example.com/contact-methods/{id}/verify"),
                Some(json!({ "code": code })),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "the code spoken in the call works");
        let bob = app.user_token("Bob", "responder").await;
        let (_, sms) = app
            .api_as(
                &bob,
                Method::POST,
                "/users/bob@example.com/contact-methods",
                Some(json!({"channel": "sms", "address": BOB})),
            )
            .await;
        let text = twilio.take().pop().unwrap();
        assert_eq!(text.resource, "Messages");
        let code: String = text
            .field("Body")
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let sms_id = sms["contact_method"]["id"].as_str().unwrap();
        app.api_as(
            &bob,
            Method::POST,
            &format!("/users/bob@example.com/contact-methods/{sms_id}/verify"),
            Some(json!({ "code": code })),
        )
        .await;
        policy(
            &app,
            json!({"name": "Ops", "levels": [level(&["bob@example.com", "alice@example.com"], 30)]}),
        )
        .await;
        let key = service(&app, "Database", "Ops", json!({})).await;
        app.send_event(trigger_event(&key, "a", "Replication lag 300s"))
            .await;
        app.tick().await;
        let sent = twilio.take();
        let sms = sent
            .iter()
            .find(|r| r.resource == "Messages")
            .expect("an SMS");
        assert_eq!(sms.field("To"), BOB);
        assert_eq!(sms.field("From"), FROM);
        assert!(sms.field("Body").contains("Replication lag 300s"));
        assert!(sms.field("Body").contains("Reply 1a to acknowledge"));
        assert_eq!(
            sms.field("StatusCallback"),
            format!("{}/twilio/status", app.url)
        );
        // Alice's first method got the default rules: called at once.
        let call = sent.iter().find(|r| r.resource == "Calls").expect("a call");
        assert_eq!(call.field("To"), ALICE);
        assert!(
            call.field("Twiml")
                .contains(&format!("action=\"{}/twilio/voice?incidents=1\"", app.url))
        );
        // Twilio's SID is kept: its delivery report finds the message.
        let (code, _) = app
            .twilio_webhook(
                "/twilio/status",
                &[("CallSid", &call.sid), ("CallStatus", "no-answer")],
            )
            .await;
        assert_eq!(code, StatusCode::NO_CONTENT);
        let lines = timeline(&app, 1).await;
        assert!(
            lines.contains(&format!("Call to Alice {ALICE}: no-answer")),
            "{backend:?}: {lines:?}"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn twilio_refusing_a_number_marks_it_failing_and_a_twilio_outage_is_retried() {
    let twilio = FakeTwilio::start().await;
    let app = TestApp::start_with_providers(
        onduty_testkit::Backend::Sqlite,
        |_| {},
        twilio_providers(&twilio),
    )
    .await;
    let alice = app.user_token("Alice", "responder").await;
    let (_, created) = app
        .api_as(
            &alice,
            Method::POST,
            "/users/alice@example.com/contact-methods",
            Some(json!({"channel": "sms", "address": ALICE})),
        )
        .await;
    let code: String = twilio
        .take()
        .pop()
        .unwrap()
        .field("Body")
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let id = created["contact_method"]["id"].as_str().unwrap();
    app.api_as(
        &alice,
        Method::POST,
        &format!("/users/alice@example.com/contact-methods/{id}/verify"),
        Some(json!({ "code": code })),
    )
    .await;
    policy(
        &app,
        json!({"name": "Ops", "levels": [level(&["alice@example.com"], 30)]}),
    )
    .await;
    let key = service(&app, "Database", "Ops", json!({})).await;

    twilio.fail_next(StatusCode::SERVICE_UNAVAILABLE);
    app.send_event(trigger_event(&key, "a", "first")).await;
    app.tick().await;
    assert!(twilio.take().is_empty(), "Twilio was down");
    app.pass(Duration::from_secs(30)).await;
    assert_eq!(twilio.take().len(), 1, "the retry 30 s later goes through");

    twilio.refuse_number(ALICE);
    app.pass(5 * MINUTE).await;
    assert!(twilio.take().is_empty());
    let (_, methods) = app
        .api_as(
            &alice,
            Method::GET,
            "/users/alice@example.com/contact-methods",
            None,
        )
        .await;
    let failing = methods["contact_methods"][0]["failing"]
        .as_str()
        .unwrap_or_default();
    assert!(failing.starts_with("21211 "), "{methods}");
    app.stop().await;
}
