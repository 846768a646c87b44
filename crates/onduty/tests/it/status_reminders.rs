//! The forgotten public incident: Alice acknowledges an outage, tells the public, fixes
//! it, resolves it in onduty and forgets the status page. onduty reminds her until the
//! public incident is resolved — on the manual clock.

use onduty_notify::Content;
use onduty_testkit::{TestApp, trigger_event};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::paging::{ALICE, MINUTE, level, person, policy, service};

/// The notices sent to `phone` since the last look.
fn notices_to(app: &TestApp, phone: &str) -> Vec<String> {
    app.notifier
        .take()
        .into_iter()
        .filter(|m| m.to == phone)
        .filter_map(|m| match m.content {
            Content::Notice { text } => Some(text),
            _ => None,
        })
        .collect()
}

/// Alice on call for Checkout, acknowledging incident #1, and a page "acme" with an API
/// component; returns Alice's token.
pub(crate) async fn acknowledged_outage(app: &TestApp) -> String {
    let alice = person(app, "Alice", ALICE).await;
    policy(
        app,
        json!({"name": "Checkout", "levels": [level(&["alice@example.com"], 30)]}),
    )
    .await;
    let key = service(app, "Checkout", "Checkout", json!({})).await;
    crate::status_page::acme(app).await;
    app.send_event(trigger_event(&key, "pay/errors", "Payment errors 12%"))
        .await;
    app.tick().await;
    let (status, _) = app
        .api_as(&alice, Method::POST, "/incidents/1/acknowledge", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    app.notifier.take();
    alice
}

pub(crate) async fn publish(app: &TestApp, alice: &str) -> String {
    let (status, made) = app
        .api_as(
            alice,
            Method::POST,
            "/status-pages/acme/incidents",
            Some(json!({
                "name": "Checkout errors",
                "body": "Some payments fail.",
                "components": {"API": "partial_outage"},
                "incident": "1",
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert!(made["incident"]["incident_id"].is_string());
    made["incident"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_forgotten_public_incident_gets_reminders_until_it_is_resolved() {
    let app = TestApp::start().await;
    let alice = acknowledged_outage(&app).await;
    let public = publish(&app, &alice).await;

    // What was published is on the onduty incident's timeline.
    let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
    let published: Vec<&Value> = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "published")
        .collect();
    assert_eq!(published.len(), 1, "{detail}");
    assert_eq!(
        published[0]["message"],
        "Status page Acme: \"Checkout errors\" investigating"
    );
    assert_eq!(published[0]["data"]["text"], "Some payments fail.");

    // Fixed; resolved in onduty; the status page forgotten. Nothing while the public
    // incident's onduty incident is open, nor in the first 10 minutes after.
    app.pass(20 * MINUTE).await;
    assert!(notices_to(&app, ALICE).is_empty());
    let (status, _) = app
        .api_as(&alice, Method::POST, "/incidents/1/resolve", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    app.pass(9 * MINUTE).await;
    assert!(notices_to(&app, ALICE).is_empty());
    app.pass(MINUTE).await;
    let said = notices_to(&app, ALICE);
    assert_eq!(
        said,
        [
            "Incident #1 is resolved, but \"Checkout errors\" on the status page Acme still says \
          investigating. Resolve it there, or keep it open on purpose."
        ]
    );
    // Again every half hour, once each time.
    app.pass(29 * MINUTE).await;
    assert!(notices_to(&app, ALICE).is_empty());
    app.pass(MINUTE).await;
    assert_eq!(notices_to(&app, ALICE).len(), 1);

    // Resolved on the page: the reminders stop, and the timeline says so.
    let (status, _) = app
        .api_as(
            &alice,
            Method::POST,
            &format!("/status-pages/acme/incidents/{public}/updates"),
            Some(json!({"status": "resolved", "body": "Payments work again.", "components": {"API": "operational"}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.pass(120 * MINUTE).await;
    assert!(notices_to(&app, ALICE).is_empty());
    let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
    let last = detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|e| e["kind"] == "published")
        .unwrap()
        .clone();
    assert_eq!(
        last["message"],
        "Status page Acme: \"Checkout errors\" resolved"
    );
}

#[tokio::test]
async fn a_page_says_how_often_its_forgotten_incidents_are_reminded_of() {
    let app = TestApp::start().await;
    let alice = acknowledged_outage(&app).await;
    let (status, changed) = app
        .api(
            Method::PATCH,
            "/status-pages/acme",
            Some(json!({"remind_every_minutes": 60})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{changed}");
    assert_eq!(changed["status_page"]["remind_every_minutes"], 60);
    assert_eq!(changed["status_page"]["name"], "Acme", "the rest stays");
    for bad in [json!({"remind_every_minutes": 1}), json!({"slug": "other"})] {
        let (status, _) = app
            .api(Method::PATCH, "/status-pages/acme", Some(bad))
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
    }
    publish(&app, &alice).await;
    app.api_as(&alice, Method::POST, "/incidents/1/resolve", None)
        .await;
    app.pass(10 * MINUTE).await;
    assert_eq!(notices_to(&app, ALICE).len(), 1);
    app.pass(59 * MINUTE).await;
    assert!(notices_to(&app, ALICE).is_empty());
    app.pass(MINUTE).await;
    assert_eq!(notices_to(&app, ALICE).len(), 1);
}

#[tokio::test]
async fn keeping_a_public_incident_open_on_purpose_stops_the_reminders() {
    let app = TestApp::start().await;
    let alice = acknowledged_outage(&app).await;
    let public = publish(&app, &alice).await;
    app.api_as(&alice, Method::POST, "/incidents/1/resolve", None)
        .await;
    app.pass(10 * MINUTE).await;
    assert_eq!(notices_to(&app, ALICE).len(), 1);
    // The customers still see slow payments: Alice keeps it open.
    let (status, kept) = app
        .api_as(
            &alice,
            Method::POST,
            &format!("/status-pages/acme/incidents/{public}/keep-open"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!(kept["incident"]["keep_open"], true);
    app.pass(180 * MINUTE).await;
    assert!(notices_to(&app, ALICE).is_empty());
    // A public incident of another page is not found through this one.
    let (status, _) = app
        .api_as(
            &alice,
            Method::POST,
            "/status-pages/other/incidents/x/keep-open",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // An incident that does not exist cannot be linked.
    let (status, answer) = app
        .api_as(
            &alice,
            Method::POST,
            "/status-pages/acme/incidents",
            Some(json!({"name": "x", "body": "y", "incident": "99"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
}

#[tokio::test]
async fn the_incident_page_offers_to_tell_the_public_and_warns_when_it_is_forgotten() {
    let app = TestApp::start().await;
    let (_, key) = app.service("Checkout", "open").await;
    let api = crate::status_page::acme(&app).await;
    app.send_event(trigger_event(
        &key,
        "pay/errors",
        "Payment errors 12% on pay-db-7",
    ))
    .await;
    let mut browser = crate::browser::administrator(&app).await;
    let page = browser.get("/incidents/1").await;
    let csrf = page.csrf();
    page.shows("Post to the status page Acme</summary>");
    assert!(
        !page.body.contains("<details class=\"offer\" open>"),
        "open only once acknowledged"
    );
    browser
        .post(
            "/incidents/1/act",
            &[("csrf", &csrf), ("action", "acknowledge")],
        )
        .await;
    let page = browser.get("/incidents/1").await;
    page.shows("<details class=\"offer\" open>");

    // Ada tells the public, in her own words.
    let component = format!("component.{api}");
    let published = browser
        .post(
            "/incidents/1/publish",
            &[
                ("csrf", csrf.as_str()),
                ("page", "acme"),
                ("status", "investigating"),
                ("name", "Checkout errors"),
                ("body", "Some payments fail."),
                (component.as_str(), "partial_outage"),
            ],
        )
        .await;
    assert_eq!(published.location(), "/incidents/1#status-page");
    let summary = crate::status_page::document(&app, "/status/acme/api/v2/summary.json").await;
    assert_eq!(summary["incidents"][0]["name"], "Checkout errors");
    assert_eq!(summary["components"][0]["status"], "partial_outage");
    assert!(
        !summary.to_string().contains("pay-db-7"),
        "the internal summary stays internal"
    );
    let page = browser.get("/incidents/1").await;
    page.shows("Published &#34;Checkout errors&#34; on the status page.");
    page.shows("On <a href=\"/status/acme\">Acme</a>: \"Checkout errors\", investigating.");
    assert!(
        !page.body.contains("Post to the status page"),
        "one public incident at a time"
    );

    // Resolved here, still open there: the page says so.
    browser
        .post(
            "/incidents/1/act",
            &[("csrf", &csrf), ("action", "resolve")],
        )
        .await;
    let page = browser.get("/incidents/1").await;
    page.shows(
        "This incident is resolved, but \"Checkout errors\" on the status page Acme still says investigating.",
    );
    // Every page carries a banner until it is resolved there.
    let banner = "The public incident “Checkout errors” on the status page Acme is still open, \
                  though <a href=\"/incidents/1#status-page\">#1</a> is resolved.";
    browser.get("/").await.shows(banner);
    browser.get("/incidents").await.shows(banner);
    let public = summary["incidents"][0]["id"].as_str().unwrap();
    let posted = browser
        .post(
            &format!("/incidents/1/public/acme/{public}/update"),
            &[
                ("csrf", csrf.as_str()),
                ("status", "resolved"),
                ("body", "Payments work again."),
                (component.as_str(), "operational"),
            ],
        )
        .await;
    assert_eq!(posted.location(), "/incidents/1#status-page");
    let page = browser.get("/incidents/1").await;
    assert!(!page.body.contains("still says"), "{}", page.body);
    assert!(!browser.get("/").await.body.contains("is still open"));
    page.shows("\"Checkout errors\", resolved.");
    let summary = crate::status_page::document(&app, "/status/acme/api/v2/summary.json").await;
    assert_eq!(summary["status"]["indicator"], "none");
    // A form without its token does nothing.
    let forged = browser
        .post(
            "/incidents/1/publish",
            &[("csrf", "nope"), ("page", "acme")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_incident_behind_a_component_drafts_a_public_incident_nobody_sees_until_published() {
    let app = TestApp::start().await;
    let (_, key) = app.service("Checkout", "open").await;
    crate::status_page::acme(&app).await;
    app.send_event(trigger_event(
        &key,
        "pay/errors",
        "Payment errors 12% on pay-db-7",
    ))
    .await;
    app.tick().await;
    app.tick().await;
    let (_, listed) = app
        .api(Method::GET, "/status-pages/acme/incidents", None)
        .await;
    let drafts = listed["incidents"].as_array().unwrap();
    assert_eq!(
        drafts.len(),
        1,
        "one draft, however often the engine runs: {listed}"
    );
    let draft = &drafts[0];
    assert_eq!(draft["draft"], true);
    assert_eq!(draft["name"], "Problems with API");
    assert_eq!(
        draft["updates"][0]["body"],
        "We are investigating problems with API."
    );
    assert!(
        !listed.to_string().contains("pay-db-7"),
        "nothing of the incident is copied"
    );
    let summary = crate::status_page::document(&app, "/status/acme/api/v2/summary.json").await;
    assert!(
        summary["incidents"].as_array().unwrap().is_empty(),
        "a draft is not public"
    );
    assert_eq!(summary["components"][0]["status"], "operational");

    // Published by a person: shown, the proposed state set, the timeline told.
    let id = draft["id"].as_str().unwrap();
    let path = format!("/status-pages/acme/incidents/{id}/publish");
    let (status, published) = app.api(Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{published}");
    assert_eq!(published["incident"]["draft"], false);
    let summary = crate::status_page::document(&app, "/status/acme/api/v2/summary.json").await;
    assert_eq!(summary["incidents"][0]["name"], "Problems with API");
    assert_eq!(summary["components"][0]["status"], "partial_outage");
    let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
    assert!(
        detail["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "published"),
        "{detail}"
    );
    let (status, _) = app.api(Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "published once");

    // A page that publishes by itself shows the next one at once.
    let (status, _) = app
        .api(
            Method::POST,
            "/status-pages",
            Some(json!({"slug": "shop", "name": "Shop", "auto_publish": true})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    app.api(
        Method::POST,
        "/status-pages/shop/components",
        Some(json!({"name": "Payments", "service": "Checkout"})),
    )
    .await;
    app.send_event(trigger_event(&key, "pay/latency", "Payment latency 9 s"))
        .await;
    app.tick().await;
    app.advance(MINUTE);
    let summary = crate::status_page::document(&app, "/status/shop/api/v2/summary.json").await;
    assert_eq!(
        summary["incidents"][0]["name"], "Problems with Payments",
        "{summary}"
    );
    assert_eq!(summary["components"][0]["status"], "partial_outage");

    // That incident ends by an event, nobody having acknowledged it; its public incident,
    // published by onduty, has nobody to remind: noted, and not due again at once.
    app.send_event(onduty_testkit::follow_up_event(
        &key,
        "resolve",
        "pay/latency",
    ))
    .await;
    app.pass(11 * MINUTE).await;
    let next = app.tick().await.expect("a next deadline");
    assert!(
        next > app.now(),
        "the engine would spin: next {next:?} at {:?}",
        app.now()
    );
}

#[tokio::test]
async fn the_services_chat_channel_hears_the_reminders_too() {
    use onduty_testkit::telegram::{BOT_TOKEN, TelegramServer};
    const GROUP: &str = "-1009876543210";
    let telegram = TelegramServer::start().await;
    let api_base = telegram.api_base.clone();
    let app = TestApp::start_with_providers(
        onduty_testkit::Backend::Sqlite,
        |_| {},
        move |_, fake| {
            let client = onduty_notify::telegram::TelegramClient::new(onduty_notify::BotConfig {
                bot_token: BOT_TOKEN.to_owned(),
                api_base,
            });
            onduty_notify::Providers {
                telegram: Some(std::sync::Arc::new(client)),
                ..onduty_notify::Providers::all(fake)
            }
        },
    )
    .await;
    telegram.join(GROUP);
    let alice = acknowledged_outage(&app).await;
    let (status, body) = app
        .api(
            Method::POST,
            "/services/Checkout/chat-channels",
            Some(json!({"platform": "telegram", "channel": GROUP})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    publish(&app, &alice).await;
    app.api_as(&alice, Method::POST, "/incidents/1/resolve", None)
        .await;
    app.pass(10 * MINUTE).await;
    let reminders: Vec<String> = telegram
        .take()
        .into_iter()
        .filter(|c| c.method == "sendMessage" && c.body["parse_mode"].is_null())
        .map(|c| {
            assert_eq!(c.body["chat_id"], GROUP);
            c.body["text"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(
        reminders,
        [
            "Incident #1 is resolved, but \"Checkout errors\" on the status page Acme still says \
             investigating. Resolve it there, or keep it open on purpose."
        ]
    );
    assert_eq!(notices_to(&app, ALICE).len(), 1, "and Alice herself");
}
