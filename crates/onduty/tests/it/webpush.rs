//! Web Push stories: Grace turns on notifications in her browser from her page, proves it
//! with the code pushed to it, and is paged there; the notification's Acknowledge acts
//! without opening a page, and the notification is then taken back. The push service is
//! local; what it receives is read as a browser would, and, when python3 has `http_ece`
//! and `cryptography` (`tests/peers/webpush_read.py`), also by that independent code,
//! which checks the VAPID signature too. That part is skipped without them unless
//! ONDUTY_REQUIRE_WEBPUSH_PEER=1 (CI installs them and sets it).

use std::sync::Arc;

use base64::Engine;
use onduty_notify::Providers;
use onduty_notify::outbound::OutboundPolicy;
use onduty_notify::webpush::WebPushNotifier;
use onduty_testkit::webpush::{Browser, PushService, Pushed};
use onduty_testkit::{Backend, TestApp, backends, trigger_event};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::browser::{Browser as WebBrowser, logged_in_as};
use crate::paging::{level, policy, service, timeline};

const PEER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/webpush_read.py");
const VAPID: [u8; 32] = [9; 32];

async fn onduty(backend: Backend) -> TestApp {
    let policy = OutboundPolicy::parse(&["127.0.0.1/32".to_owned()]).unwrap();
    TestApp::start_with_providers(
        backend,
        |_| {},
        move |url, fake| Providers {
            web_push: Some(Arc::new(
                WebPushNotifier::new(policy.clone(), &VAPID, url).unwrap(),
            )),
            outbound: policy,
            ..Providers::all(fake)
        },
    )
    .await
}

/// Grace, logged in, and the id of her person page.
async fn grace(app: &TestApp) -> (WebBrowser, String) {
    let grace = logged_in_as(app, "Grace", "responder").await;
    let email = onduty_core::account::Email::parse("grace@example.com").unwrap();
    let user = app.store.user_by_email(&email).await.unwrap().unwrap();
    (grace, user.id.to_string())
}

/// Grace turns on notifications in `browser` from her page, as `/static/push.js` does,
/// and enters the code pushed to it. Returns the contact method's id.
async fn subscribes(
    app: &TestApp,
    web: &mut WebBrowser,
    id: &str,
    push: &PushService,
    browser: &Browser,
) -> String {
    let page = web.get(&format!("/people/{id}")).await;
    let expected = WebPushNotifier::new(OutboundPolicy::default(), &VAPID, &app.url)
        .unwrap()
        .public_key();
    page.shows(&format!("data-vapid-key=\"{expected}\""));
    let added = web
        .post(
            &format!("/people/{id}/methods"),
            &[
                ("csrf", &page.csrf()),
                ("channel", "web_push"),
                ("address", &browser.endpoint),
                ("p256dh", &browser.p256dh),
                ("auth", &browser.auth),
                ("name", "Phone"),
            ],
        )
        .await;
    assert_eq!(added.location(), format!("/people/{id}"));
    let pushed = push.take(browser);
    assert_eq!(pushed.len(), 1, "the code is pushed");
    let notice = browser.read(&pushed[0]);
    let body = notice["notifications"][0]["body"].as_str().unwrap();
    let code: String = body.chars().filter(char::is_ascii_digit).collect();
    let methods = graces_methods(app).await;
    let method = methods["contact_methods"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(methods["contact_methods"][0]["channel"], "web_push");
    let page = web.get(&format!("/people/{id}")).await;
    let verified = web
        .post(
            &format!("/people/{id}/methods/{method}/verify"),
            &[("csrf", &page.csrf()), ("code", &code)],
        )
        .await;
    assert_eq!(verified.location(), format!("/people/{id}"));
    method
}

async fn graces_methods(app: &TestApp) -> Value {
    let (_, methods) = app
        .api(
            Method::GET,
            "/users/grace@example.com/contact-methods",
            None,
        )
        .await;
    methods
}

/// A policy paging Grace and a service "Database" using it; returns the routing key.
async fn database_paging_grace(app: &TestApp) -> String {
    policy(
        app,
        json!({"name": "Ops", "levels": [level(&["grace@example.com"], 30)]}),
    )
    .await;
    service(app, "Database", "Ops", json!({})).await
}

#[tokio::test]
async fn grace_acknowledges_from_the_notification_without_opening_a_page() {
    for backend in backends() {
        let push = PushService::start().await;
        let app = onduty(backend).await;
        let (mut web, id) = grace(&app).await;
        let phone = push.subscribe(1);
        subscribes(&app, &mut web, &id, &push, &phone).await;
        let key = database_paging_grace(&app).await;

        app.send_event(trigger_event(&key, "db01/disk", "DISK at 99% on db01"))
            .await;
        app.tick().await;
        let pushed = push.take(&phone);
        assert_eq!(pushed.len(), 1, "{pushed:?}");
        let headers = &pushed[0].headers;
        assert_eq!(headers["urgency"], "high");
        assert_eq!(headers["topic"], "onduty-incident-1");
        assert_eq!(headers["content-encoding"], "aes128gcm");
        let page = phone.read(&pushed[0]);
        assert_eq!(page["type"], "page");
        let shown = &page["notifications"][0];
        assert_eq!(shown["title"], "#1 DISK at 99% on db01");
        assert_eq!(shown["tag"], "onduty-incident-1");
        assert_eq!(shown["url"], format!("{}/incidents/1", app.url));
        read_by_the_peer(&phone, &pushed[0], &page);

        // The service worker POSTs the action's link, with no session.
        let ack = shown["actions"][0]["url"].as_str().unwrap();
        assert_eq!(shown["actions"][0]["action"], "acknowledge");
        let answer = reqwest::Client::new().post(ack).send().await.unwrap();
        assert_eq!(answer.status(), StatusCode::OK);
        let lines = timeline(&app, 1).await;
        assert!(
            lines.contains(&"Acknowledged by Grace via a one-click link".to_owned()),
            "{lines:?}"
        );

        // Acknowledged: the notification is taken back.
        app.tick().await;
        let pushed = push.take(&phone);
        assert_eq!(pushed.len(), 1, "{pushed:?}");
        assert_eq!(
            phone.read(&pushed[0]),
            json!({"type": "settled", "tags": ["onduty-incident-1"]})
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn a_withdrawn_subscription_is_marked_failing_and_said_so_on_the_timeline() {
    let push = PushService::start().await;
    let app = onduty(Backend::Sqlite).await;
    let (mut web, id) = grace(&app).await;
    let phone = push.subscribe(2);
    subscribes(&app, &mut web, &id, &push, &phone).await;
    let key = database_paging_grace(&app).await;
    push.withdraw(&phone);
    app.send_event(trigger_event(&key, "db01/disk", "DISK at 99% on db01"))
        .await;
    app.tick().await;
    let methods = graces_methods(&app).await;
    let failing = methods["contact_methods"][0]["failing"]
        .as_str()
        .unwrap_or("");
    assert!(failing.contains("subscribe again"), "{methods}");
    let lines = timeline(&app, 1).await;
    assert!(
        lines.iter().any(|l| l.contains("Web Push of Grace")),
        "{lines:?}"
    );
}

#[tokio::test]
async fn a_subscription_needs_the_browser_s_keys() {
    let app = onduty(Backend::Sqlite).await;
    let (_, created) = app
        .api(
            Method::POST,
            "/users/admin@example.com/contact-methods",
            Some(
                json!({"channel": "web_push", "address": "https://push.example/x",
                        "p256dh": "AAAA", "auth": "AAAA"}),
            ),
        )
        .await;
    let message = created["error"]["message"].as_str().unwrap();
    assert!(message.contains("'p256dh'"), "{created}");
    let (status, _) = app
        .api(
            Method::POST,
            "/users/admin@example.com/contact-methods",
            Some(
                json!({"channel": "web_push", "address": "http://10.0.0.1/push/x",
                        "p256dh": PushService::start().await.subscribe(3).p256dh,
                        "auth": "AAAAAAAAAAAAAAAAAAAAAA"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "an internal endpoint");
}

/// The page as `http_ece` and `cryptography` read it: the same JSON, and a VAPID
/// signature by onduty's key for the push service's origin.
fn read_by_the_peer(browser: &Browser, pushed: &Pushed, expected: &Value) {
    let installed = std::process::Command::new("python3")
        .args(["-c", "import http_ece, cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !installed {
        assert_ne!(
            std::env::var("ONDUTY_REQUIRE_WEBPUSH_PEER").as_deref(),
            Ok("1"),
            "ONDUTY_REQUIRE_WEBPUSH_PEER=1 but python3 cannot import http_ece and cryptography"
        );
        eprintln!("skipped: python3 cannot import http_ece (pip install http_ece cryptography)");
        return;
    }
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let endpoint = reqwest::Url::parse(&browser.endpoint).unwrap();
    let given = json!({
        "body": b64.encode(&pushed.body),
        "authorization": pushed.headers["authorization"],
        "audience": endpoint.origin().ascii_serialization(),
        "private_key": b64.encode(browser.private_key),
        "auth": browser.auth,
    });
    let mut child = std::process::Command::new("python3")
        .arg(PEER)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(given.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(&read["message"], expected);
    assert_eq!(
        read["claims"]["aud"],
        endpoint.origin().ascii_serialization()
    );
}
