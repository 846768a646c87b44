//! Subscribers of a status page: Ann subscribes from the page, confirms by the link in
//! her mail, hears of an outage, and leaves in one click from her mail client; a webhook
//! receives Statuspage's payloads, signed; the form is rate-limited, and nobody's
//! address shows on a public page.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::HeaderMap;
use onduty_notify::outbound::OutboundPolicy;
use onduty_notify::{Bulletin, Content, Outgoing, Providers};
use onduty_testkit::{Backend, TestApp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::paging::MINUTE;
use crate::status_page::{acme, public};

/// onduty's Checkout service and the page "acme" (see `status_page::acme`).
async fn acme_page(app: &TestApp) -> String {
    app.service("Checkout", "open").await;
    acme(app).await
}

/// Posts a form to a public path, from no particular client; status and body.
async fn post_form(app: &TestApp, path: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let response = app
        .http
        .post(format!("{}{path}", app.url))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}

/// The status-page news sent to `to` since the last look.
fn news_to(app: &TestApp, to: &str) -> Vec<Bulletin> {
    app.notifier
        .take()
        .into_iter()
        .filter(|m: &Outgoing| m.to == to)
        .filter_map(|m| match m.content {
            Content::Bulletin(b) => Some(b),
            _ => None,
        })
        .collect()
}

/// The first link in `text` under the app's URL that contains `part`.
fn link(app: &TestApp, text: &str, part: &str) -> String {
    text.split_whitespace()
        .find(|w| w.starts_with(&app.url) && w.contains(part))
        .unwrap_or_else(|| panic!("no {part} link in {text}"))
        .trim_start_matches(&app.url)
        .to_owned()
}

async fn open_outage(app: &TestApp, name: &str) -> String {
    let (status, made) = app
        .api(
            Method::POST,
            "/status-pages/acme/incidents",
            Some(json!({
                "name": name,
                "body": "Some requests fail.",
                "components": {"API": "partial_outage"},
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    made["incident"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn ann_subscribes_confirms_hears_of_an_outage_and_leaves_in_one_click() {
    let app = TestApp::start().await;
    acme_page(&app).await;

    // The page offers the form; Ann gives her address.
    let (_, _, page) = public(&app, "/status/acme").await;
    assert!(page.contains("action=\"/status/acme/subscribe\""), "{page}");
    let (status, answer) = post_form(
        &app,
        "/status/acme/subscribe",
        &[("email", "Ann@Example.com")],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert!(answer.contains("Check your inbox"), "{answer}");

    // She is sent one mail asking her to confirm, and nothing else yet.
    app.tick().await;
    let mails = news_to(&app, "ann@example.com");
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(
        mails[0].subject,
        "Confirm your subscription to Acme's status"
    );
    assert_eq!(mails[0].unsubscribe, None);
    let confirm = link(&app, &mails[0].text, "/subscriptions/");
    assert!(
        confirm.starts_with("/status/acme/subscriptions/"),
        "{confirm}"
    );

    // Until she confirms, an outage reaches her not.
    let first = open_outage(&app, "API errors").await;
    app.tick().await;
    assert!(news_to(&app, "ann@example.com").is_empty());

    // Opening the link changes nothing (mail scanners open links); the button confirms.
    let (status, _, shown) = public(&app, &confirm).await;
    assert_eq!(status, StatusCode::OK);
    assert!(shown.contains(">Confirm</button>"), "{shown}");
    assert!(!shown.contains("ann@example.com"), "{shown}");
    let (status, confirmed) = post_form(&app, &confirm, &[]).await;
    assert_eq!(status, StatusCode::OK, "{confirmed}");
    assert!(confirmed.contains("You are subscribed"), "{confirmed}");
    assert!(
        confirmed.contains("You hear of everything on Acme"),
        "{confirmed}"
    );

    // Asking again once subscribed takes the same path: she is sent her links (at most
    // once an hour), and the form says what it always says.
    app.pass(61 * MINUTE).await;
    let (status, again) = post_form(
        &app,
        "/status/acme/subscribe",
        &[("email", "ann@example.com")],
    )
    .await;
    assert_eq!((status, again), (StatusCode::OK, answer.clone()));
    app.tick().await;
    let mails = news_to(&app, "ann@example.com");
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].subject, "Your subscription to Acme's status");
    assert!(
        mails[0].text.contains(&format!("{}{confirm}", app.url)),
        "{}",
        mails[0].text
    );

    // The next update reaches her, with what is known and a one-click unsubscribe.
    let (status, _) = app
        .api(
            Method::POST,
            &format!("/status-pages/acme/incidents/{first}/updates"),
            Some(json!({"status": "identified", "body": "A bad deploy; rolling back."})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    app.tick().await;
    let mails = news_to(&app, "ann@example.com");
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert_eq!(mails[0].subject, "[Acme] API errors: Identified");
    assert!(
        mails[0]
            .text
            .starts_with("Identified: A bad deploy; rolling back.\n"),
        "{}",
        mails[0].text
    );
    assert!(mails[0].text.contains("Affects: API"), "{}", mails[0].text);
    assert_eq!(mails[0].payload, None);
    let unsubscribe = mails[0].unsubscribe.clone().expect("an unsubscribe link");
    let unsubscribe = unsubscribe.trim_start_matches(&app.url).to_owned();
    assert!(unsubscribe.starts_with("/status/acme/unsubscribe/"));

    // Her address is on no public page, document or feed.
    for path in [
        "/status/acme",
        "/status/acme/api/v2/summary.json",
        "/status/acme/history.atom",
        "/status/acme/subscribe",
    ] {
        let (_, _, body) = public(&app, path).await;
        assert!(!body.to_lowercase().contains("ann@example.com"), "{path}");
    }

    // Her mail client's one click (RFC 8058) ends it; nothing more reaches her.
    let (status, done) = post_form(&app, &unsubscribe, &[("List-Unsubscribe", "One-Click")]).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert!(done.contains("Unsubscribed"), "{done}");
    open_outage(&app, "Website slow").await;
    app.pass(MINUTE).await;
    assert!(news_to(&app, "ann@example.com").is_empty());
    // Clicking again is no error; the confirm link now names nothing.
    let (status, _) = post_form(&app, &unsubscribe, &[]).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = public(&app, &confirm).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_form_answers_alike_refuses_bad_input_and_is_rate_limited() {
    let app = TestApp::start().await;
    acme_page(&app).await;

    // Subscribed or not, the answer is the same: the form tells nobody who subscribed.
    let (_, new) = post_form(
        &app,
        "/status/acme/subscribe",
        &[("email", "bo@example.com")],
    )
    .await;
    let (_, again) = post_form(
        &app,
        "/status/acme/subscribe",
        &[("email", "bo@example.com")],
    )
    .await;
    assert_eq!(new, again);

    // A bad address or an unknown component: 400, the form again with what was typed.
    let (status, bad) = post_form(
        &app,
        "/status/acme/subscribe",
        &[("email", "not-an-address")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(bad.contains("value=\"not-an-address\""), "{bad}");
    assert!(bad.contains("role=\"alert\""), "{bad}");
    let (status, bad) = post_form(
        &app,
        "/status/acme/subscribe",
        &[("email", "cy@example.com"), ("component", "Billing")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        bad.contains("no component &#39;Billing&#39;") || bad.contains("no component"),
        "{bad}"
    );

    // Five a minute from one client; the sixth waits.
    let (status, _) = post_form(
        &app,
        "/status/acme/subscribe",
        &[("email", "di@example.com")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, limited) = post_form(
        &app,
        "/status/acme/subscribe",
        &[("email", "ed@example.com")],
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{limited}");
    assert!(limited.contains("value=\"ed@example.com\""), "{limited}");

    // The admin sees who subscribed; a responder may not.
    let (status, list) = app
        .api(Method::GET, "/status-pages/acme/subscribers", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let addresses: Vec<&str> = list["subscribers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["address"].as_str().unwrap())
        .collect();
    assert_eq!(addresses.len(), 2, "{list}");
    assert!(addresses.contains(&"bo@example.com"));
    assert!(
        list["subscribers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["confirmed"] == false)
    );
    let responder = app.user_token("Rita", "responder").await;
    let (status, _) = app
        .api_as(
            &responder,
            Method::GET,
            "/status-pages/acme/subscribers",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// A local receiver noting each request's headers and body.
type Received = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

async fn receiver() -> (String, Received) {
    let got: Received = Arc::default();
    let kept = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let kept = kept.clone();
            async move {
                kept.lock().unwrap().push((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

#[tokio::test]
async fn a_webhook_subscriber_receives_statuspage_payloads_signed() {
    let app = TestApp::start_with_providers(
        Backend::Sqlite,
        |_| {},
        |_, fake| {
            let loopback = OutboundPolicy::parse(&["127.0.0.1/32".to_owned()]).unwrap();
            Providers {
                email: Some(fake),
                ..Providers::new(loopback)
            }
        },
    )
    .await;
    let api_id = acme_page(&app).await;
    let (url, got) = receiver().await;
    let (status, added) = app
        .api(
            Method::POST,
            "/status-pages/acme/subscribers",
            Some(json!({"webhook_url": url, "components": ["API"]})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let secret = added["secret"].as_str().unwrap().to_owned();
    assert_eq!(added["subscriber"]["confirmed"], true);
    // The same URL twice is refused.
    let (status, _) = app
        .api(
            Method::POST,
            "/status-pages/acme/subscribers",
            Some(json!({"webhook_url": url})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    open_outage(&app, "API errors").await;
    app.tick().await;
    let received = got.lock().unwrap().clone();
    assert_eq!(received.len(), 2, "an incident and a component update");
    let mut kinds = Vec::new();
    for (headers, body) in &received {
        let signature = headers["x-onduty-signature"].to_str().unwrap();
        assert!(
            onduty_core::signature::verify_webhook_signature(&secret, signature, body).is_some(),
            "{signature}"
        );
        assert!(
            onduty_core::signature::verify_webhook_signature("whsec_wrong", signature, body)
                .is_none()
        );
        assert!(headers.contains_key("x-onduty-delivery"));
        let payload: Value = serde_json::from_slice(body).unwrap();
        assert!(
            payload["meta"]["unsubscribe"]
                .as_str()
                .unwrap()
                .contains("/status/acme/unsubscribe/"),
            "{payload}"
        );
        assert!(payload["meta"]["generated_at"].is_string());
        assert_eq!(payload["page"]["status_indicator"], "major");
        assert_eq!(
            payload["page"]["status_description"],
            "Partial System Outage"
        );
        if let Some(incident) = payload.get("incident") {
            kinds.push("incident");
            assert_eq!(incident["name"], "API errors");
            assert_eq!(incident["status"], "investigating");
            assert_eq!(incident["impact"], "major");
            assert_eq!(
                incident["incident_updates"][0]["body"],
                "Some requests fail."
            );
            assert_eq!(incident["components"][0]["id"], api_id.as_str());
        } else {
            kinds.push("component");
            assert_eq!(payload["component_update"]["old_status"], "operational");
            assert_eq!(payload["component_update"]["new_status"], "partial_outage");
            assert_eq!(payload["component_update"]["component_id"], api_id.as_str());
            assert_eq!(payload["component"]["name"], "API");
            assert_eq!(payload["component"]["status"], "partial_outage");
        }
    }
    kinds.sort();
    assert_eq!(kinds, ["component", "incident"]);

    // Removed by the admin: nothing more.
    let id = added["subscriber"]["id"].as_str().unwrap();
    let (status, _) = app
        .api(
            Method::DELETE,
            &format!("/status-pages/acme/subscribers/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    open_outage(&app, "More errors").await;
    app.pass(MINUTE).await;
    assert_eq!(got.lock().unwrap().len(), 2);
}

/// The mail in what aiosmtpd printed: between its MESSAGE FOLLOWS and END MESSAGE lines.
fn mail_of(printed: &str) -> String {
    printed
        .lines()
        .skip_while(|l| !l.contains("MESSAGE FOLLOWS"))
        .skip(1)
        .take_while(|l| !l.contains("END MESSAGE"))
        .collect::<Vec<_>>()
        .join("\r\n")
}

#[tokio::test]
async fn an_email_subscription_in_a_real_smtp_exchange() {
    let Some(mut smtp) = onduty_testkit::smtp_peer::SmtpPeer::for_test() else {
        return;
    };
    let port = smtp.port;
    let app = TestApp::start_with_providers(
        Backend::Sqlite,
        |_| {},
        move |_, fake| {
            let email =
                onduty_notify::email::EmailNotifier::new(&onduty_notify::email::SmtpConfig {
                    host: "127.0.0.1".to_owned(),
                    port,
                    security: onduty_notify::email::SmtpSecurity::Plain,
                    username: None,
                    password: None,
                    from: "Acme status <status@acme.test>".to_owned(),
                })
                .unwrap();
            Providers {
                email: Some(Arc::new(email)),
                ..Providers::all(fake)
            }
        },
    )
    .await;
    acme_page(&app).await;
    let (status, _) = post_form(
        &app,
        "/status/acme/subscribe",
        &[("email", "ann@example.com"), ("component", "API")],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    app.tick().await;

    // The confirmation crosses a real SMTP exchange; its link confirms.
    let raw = mail_of(&smtp.next_message().await);
    let mail = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a mail");
    assert_eq!(
        mail.subject(),
        Some("Confirm your subscription to Acme's status")
    );
    assert_eq!(
        mail.to().and_then(|t| t.first()).and_then(|a| a.address()),
        Some("ann@example.com")
    );
    let text = mail.body_text(0).unwrap().into_owned();
    let confirm = link(&app, &text, "/subscriptions/");
    let (status, _) = post_form(&app, &confirm, &[]).await;
    assert_eq!(status, StatusCode::OK);

    // An outage on the API reaches her, with List-Unsubscribe for one click.
    open_outage(&app, "API errors").await;
    app.tick().await;
    let raw = mail_of(&smtp.next_message().await);
    let mail = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .expect("a mail");
    assert_eq!(mail.subject(), Some("[Acme] API errors: Investigating"));
    let text = mail.body_text(0).unwrap().into_owned();
    assert!(
        text.contains("Investigating: Some requests fail."),
        "{text}"
    );
    let html = mail.body_html(0).unwrap().into_owned();
    assert!(html.contains(">Unsubscribe</a>"), "{html}");
    let header = |name: &str| {
        mail.header_raw(name)
            .map(|v| v.trim().to_owned())
            .unwrap_or_else(|| panic!("no {name} in {raw}"))
    };
    assert_eq!(
        header("List-Unsubscribe-Post"),
        "List-Unsubscribe=One-Click"
    );
    let list_unsubscribe = header("List-Unsubscribe");
    let url = list_unsubscribe
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned();
    assert!(
        url.starts_with(&format!("{}/status/acme/unsubscribe/", app.url)),
        "{url}"
    );
    let response = app
        .http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (status, list) = app
        .api(Method::GET, "/status-pages/acme/subscribers", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["subscribers"], json!([]));
}
