//! Slack stories: a service posts its incidents to a channel; people act with the
//! message's buttons and the `/onduty` command, as the onduty user their Slack account is
//! linked to; the message follows the incident whichever door changed it.

use std::sync::Arc;

use std::time::Duration;

use onduty_notify::BotConfig;
use onduty_notify::Providers;
use onduty_notify::slack::SlackClient;
use onduty_testkit::slack::{
    BOT_TOKEN, SIGNING_SECRET, SlackServer, TEAM_ID, click_body, command_body, signed_headers,
};
use onduty_testkit::{Backend, TestApp, backends, trigger_event};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::paging::{
    ALICE, code_in, database_posting_to, enter_code, level, policy, service, timeline,
};

/// onduty with Slack pointed at `slack`.
async fn onduty_with_slack(backend: Backend, slack: &SlackServer) -> TestApp {
    let api_base = slack.api_base.clone();
    TestApp::start_with_providers(
        backend,
        |config| {
            config.slack_signing_secret = Some(onduty_web::Secret::new(SIGNING_SECRET.to_owned()));
            config.slack_team_id = Some(TEAM_ID.to_owned());
        },
        move |_, fake| {
            let client = SlackClient::new(BotConfig {
                bot_token: BOT_TOKEN.to_owned(),
                api_base,
            });
            Providers {
                slack: Some(Arc::new(client)),
                ..Providers::all(fake)
            }
        },
    )
    .await
}

/// Alice (SMS), a policy paging her, and a service "Database" posting to channel
/// C0OPS; returns the routing key.
async fn database_in_slack(app: &TestApp, slack: &SlackServer) -> String {
    slack.join("C0OPS");
    slack.member("U0ALICE", "alice@example.com");
    database_posting_to(app, "slack", "C0OPS").await.0
}

/// Incident #1 of "Database" opens and its message is posted.
async fn incident_posted(app: &TestApp, key: &str) {
    app.send_event(trigger_event(key, "db01/disk", "DISK at 99% on db01"))
        .await;
    app.tick().await;
}

/// Sends `body` to `path` signed as Slack would at `timestamp` (with `signature` instead,
/// if given); returns the status and the answer's text.
async fn from_slack(
    app: &TestApp,
    path: &str,
    body: &str,
    timestamp: i64,
    signature: Option<&str>,
) -> (StatusCode, String) {
    let mut request = reqwest::Client::new().post(format!("{}{path}", app.url));
    for (name, value) in signed_headers(timestamp, body) {
        let value = match (name, signature) {
            ("x-slack-signature", Some(forged)) => forged.to_owned(),
            _ => value,
        };
        request = request.header(name, value);
    }
    let response = request.body(body.to_owned()).send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

fn now_seconds(app: &TestApp) -> i64 {
    app.now().as_millis() / 1000
}

/// The status the incident's last Slack message (post or update) shows, and its buttons.
fn shown(call: &onduty_testkit::slack::Call) -> (String, Vec<String>) {
    let blocks = call.body["blocks"].as_array().unwrap();
    let status = blocks[1]["elements"][0]["text"].as_str().unwrap();
    let status = status.rsplit('*').nth(1).unwrap().to_owned();
    let buttons = blocks
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().unwrap().clone())
        .map(|e| e["action_id"].as_str().unwrap().to_owned())
        .collect();
    (status, buttons)
}

async fn incident_id(app: &TestApp, number: i64) -> String {
    let (_, detail) = app
        .api(Method::GET, &format!("/incidents/{number}"), None)
        .await;
    detail["incident"]["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn alice_acknowledges_from_the_channel_and_the_message_follows() {
    for backend in backends() {
        let slack = SlackServer::start().await;
        let app = onduty_with_slack(backend, &slack).await;
        let key = database_in_slack(&app, &slack).await;

        app.send_event(trigger_event(&key, "db01/disk", "DISK at 99% <on> db01"))
            .await;
        app.tick().await;
        let calls = slack.take();
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert_eq!(calls[0].method, "chat.postMessage");
        assert_eq!(calls[0].body["channel"], "C0OPS");
        let section = calls[0].body["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(section.contains("DISK at 99% &lt;on&gt; db01"), "{section}");
        assert_eq!(
            shown(&calls[0]),
            (
                "Triggered".to_owned(),
                vec!["acknowledge".into(), "resolve".into(), "escalate".into()]
            )
        );

        // Alice clicks Acknowledge: her Slack account is linked by its e-mail.
        let id = incident_id(&app, 1).await;
        let click = click_body("U0ALICE", "acknowledge", &id, &slack.response_url(1));
        let (status, _) =
            from_slack(&app, "/slack/interactions", &click, now_seconds(&app), None).await;
        assert_eq!(status, StatusCode::OK);
        let lines = timeline(&app, 1).await;
        assert!(
            lines.contains(&"Acknowledged by Alice via Slack".to_owned()),
            "{lines:?}"
        );
        app.tick().await;
        let calls = slack.take();
        let update = calls
            .iter()
            .find(|c| c.method == "chat.update")
            .unwrap_or_else(|| panic!("no update: {calls:?}"));
        assert_eq!(update.body["ts"], "1700000000.000001");
        assert_eq!(
            shown(update),
            (
                "Acknowledged".to_owned(),
                vec!["resolve".into(), "escalate".into()]
            )
        );
        assert!(
            calls.iter().all(|c| c.method != "chat.postMessage"),
            "updated in place, not posted again"
        );
        app.stop().await;
    }
}

#[tokio::test]
async fn resolved_by_sms_the_slack_message_says_so() {
    let slack = SlackServer::start().await;
    let app = onduty_with_slack(Backend::Sqlite, &slack).await;
    let key = database_in_slack(&app, &slack).await;
    incident_posted(&app, &key).await;
    slack.take();
    let (status, answer) = app
        .twilio_webhook("/twilio/sms", &[("From", ALICE), ("Body", "1r")])
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    app.tick().await;
    let calls = slack.take();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].method, "chat.update");
    assert_eq!(shown(&calls[0]), ("Resolved".to_owned(), Vec::new()));
}

#[tokio::test]
async fn forged_stale_and_replayed_clicks_are_refused_and_change_nothing() {
    let slack = SlackServer::start().await;
    let app = onduty_with_slack(Backend::Sqlite, &slack).await;
    let key = database_in_slack(&app, &slack).await;
    incident_posted(&app, &key).await;
    let id = incident_id(&app, 1).await;
    let click = click_body("U0ALICE", "resolve", &id, &slack.response_url(1));
    let now = now_seconds(&app);
    let forged = "v0=0000000000000000000000000000000000000000000000000000000000000000";
    for (timestamp, signature) in [(now, Some(forged)), (now - 6 * 60, None)] {
        let (status, _) =
            from_slack(&app, "/slack/interactions", &click, timestamp, signature).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
    assert_eq!(detail["incident"]["status"], "triggered");

    let (status, _) = from_slack(&app, "/slack/interactions", &click, now, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = from_slack(&app, "/slack/interactions", &click, now, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert!(body.contains("already received"), "{body}");
}

#[tokio::test]
async fn someone_onduty_does_not_know_is_told_how_to_link_and_nothing_changes() {
    let slack = SlackServer::start().await;
    let app = onduty_with_slack(Backend::Sqlite, &slack).await;
    let key = database_in_slack(&app, &slack).await;
    slack.member("U0MALLORY", "mallory@elsewhere.example");
    app.send_event(trigger_event(&key, "db01/disk", "DISK at 99% on db01"))
        .await;
    app.tick().await;
    slack.take();
    let id = incident_id(&app, 1).await;
    let click = click_body("U0MALLORY", "resolve", &id, &slack.response_url(7));
    let (status, _) =
        from_slack(&app, "/slack/interactions", &click, now_seconds(&app), None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
    assert_eq!(detail["incident"]["status"], "triggered");
    let answer = onduty_testkit::wait_for(
        Duration::from_secs(5),
        || async { slack.take() },
        |calls| calls.iter().any(|c| c.method == "respond"),
    )
    .await;
    let told = answer.iter().find(|c| c.method == "respond").unwrap();
    assert_eq!(told.body["response_type"], "ephemeral");
    let text = told.body["text"].as_str().unwrap();
    assert!(text.contains("not linked"), "{text}");
    assert!(
        text.contains(&format!("<{}/chat/link/chat.slack.U0MALLORY.", app.url)),
        "a link only Mallory sees, to link the account herself: {text}"
    );
    // Opened logged in, it names the account by the name Slack gave.
    let link = text
        .split(['<', '|'])
        .find(|w| w.contains("/chat/link/"))
        .unwrap();
    let mut someone = crate::browser::logged_in_as(&app, "Mallory", "responder").await;
    let page = someone.get(link.strip_prefix(&app.url).unwrap()).await;
    page.shows("The Slack account @mallory (U0MALLORY) will act as you");
}

#[tokio::test]
async fn the_slash_command_lists_and_acknowledges() {
    let slack = SlackServer::start().await;
    let app = onduty_with_slack(Backend::Sqlite, &slack).await;
    let key = database_in_slack(&app, &slack).await;
    incident_posted(&app, &key).await;
    let url = slack.response_url(1);
    let ask = |text: &str| command_body("U0ALICE", text, &url);
    let now = now_seconds(&app);
    let (status, answer) = from_slack(&app, "/slack/commands", &ask("incidents"), now, None).await;
    assert_eq!(status, StatusCode::OK);
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["response_type"], "ephemeral");
    assert!(
        answer["text"]
            .as_str()
            .unwrap()
            .contains("DISK at 99% on db01 — triggered"),
        "{answer}"
    );
    let (_, answer) = from_slack(&app, "/slack/commands", &ask("ack 1"), now, None).await;
    let answer: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(answer["text"], "Acknowledged #1");
    let (_, answer) = from_slack(&app, "/slack/commands", &ask("dance"), now, None).await;
    assert!(answer.contains("Try `incidents`"), "{answer}");
}

#[tokio::test]
async fn a_rate_limited_slack_is_waited_out_and_a_channel_the_bot_left_is_marked_failing() {
    let slack = SlackServer::start().await;
    let app = onduty_with_slack(Backend::Sqlite, &slack).await;
    let key = database_in_slack(&app, &slack).await;
    slack.rate_limit(1, 30);
    app.send_event(trigger_event(&key, "db01/disk", "DISK at 99% on db01"))
        .await;
    app.tick().await;
    assert!(slack.take().is_empty(), "the 429 is not a post");
    let lines = timeline(&app, 1).await;
    assert!(
        lines.iter().any(|l| l.ends_with("trying again in 30 s")),
        "{lines:?}"
    );
    app.pass(Duration::from_secs(30)).await;
    let calls = slack.take();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].method, "chat.postMessage");

    // A channel the bot is not in: refused for good, said once, nothing more tried.
    let (status, _) = app
        .api(
            Method::POST,
            "/services/Database/chat-channels",
            Some(json!({"platform": "slack", "channel": "C0GONE"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    app.send_event(trigger_event(&key, "db02/disk", "DISK at 99% on db02"))
        .await;
    app.tick().await;
    let lines = timeline(&app, 2).await;
    assert!(
        lines.contains(
            &"Slack channel C0GONE: refused (not_in_channel); the channel is marked failing"
                .to_owned()
        ),
        "{lines:?}"
    );
    let (_, list) = app
        .api(Method::GET, "/services/Database/chat-channels", None)
        .await;
    let gone = list["chat_channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["channel"] == "C0GONE")
        .unwrap();
    assert_eq!(gone["failing"], "not_in_channel");

    // The app is invited back and the channel attached again: it gets incidents again.
    slack.join("C0GONE");
    let (status, body) = app
        .api(
            Method::POST,
            "/services/Database/chat-channels",
            Some(json!({"platform": "slack", "channel": "C0GONE"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["chat_channel"]["failing"], Value::Null);
    slack.take();
    app.send_event(trigger_event(&key, "db03/disk", "DISK at 99% on db03"))
        .await;
    app.tick().await;
    let calls = slack.take();
    assert!(
        calls
            .iter()
            .any(|c| c.method == "chat.postMessage" && c.body["channel"] == "C0GONE"),
        "{calls:?}"
    );
}

#[tokio::test]
async fn bob_is_paged_by_direct_message_and_acknowledges_with_its_button() {
    let slack = SlackServer::start().await;
    let app = onduty_with_slack(Backend::Sqlite, &slack).await;
    slack.member("U0BOB", "bob@example.com");
    let bob = app.user_token("Bob", "responder").await;
    // His Slack account is found by his e-mail address.
    let (status, created) = app
        .api_as(
            &bob,
            Method::POST,
            "/users/bob@example.com/contact-methods",
            Some(json!({"channel": "slack", "address": ""})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["contact_method"]["address"], "U0BOB");
    let calls = slack.take();
    let code_message = calls
        .iter()
        .find(|c| c.method == "chat.postMessage")
        .unwrap_or_else(|| panic!("no code sent: {calls:?}"));
    assert_eq!(code_message.body["channel"], "U0BOB");
    let code = code_in(&code_message.body["text"]);
    let id = created["contact_method"]["id"].as_str().unwrap();
    enter_code(&app, &bob, "bob@example.com", id, &code).await;
    policy(
        &app,
        json!({"name": "Ops", "levels": [level(&["bob@example.com"], 30)]}),
    )
    .await;
    let key = service(&app, "Database", "Ops", json!({})).await;
    incident_posted(&app, &key).await;
    let calls = slack.take();
    let page = calls
        .iter()
        .find(|c| c.method == "chat.postMessage" && c.body["channel"] == "U0BOB")
        .unwrap_or_else(|| panic!("no direct message: {calls:?}"));
    assert_eq!(
        shown(page),
        (
            "Triggered".to_owned(),
            vec!["acknowledge".into(), "resolve".into(), "escalate".into()]
        )
    );
    let incident = page.body["blocks"][2]["elements"][0]["value"]
        .as_str()
        .unwrap();
    let click = click_body("U0BOB", "acknowledge", incident, &slack.response_url(1));
    let (status, _) =
        from_slack(&app, "/slack/interactions", &click, now_seconds(&app), None).await;
    assert_eq!(status, StatusCode::OK);
    let lines = timeline(&app, 1).await;
    assert!(
        lines.contains(&"Acknowledged by Bob via Slack".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("Slack to Bob U0BOB: sent")),
        "{lines:?}"
    );
    // The direct message itself now shows the incident acknowledged: it is updated in
    // place, in the conversation Slack answered with (updates cannot name the member).
    assert_eq!(page.body["channel"], "U0BOB");
    slack.take();
    app.tick().await;
    let calls = slack.take();
    let update = calls
        .iter()
        .find(|c| c.method == "chat.update")
        .unwrap_or_else(|| panic!("no update: {calls:?}"));
    assert_eq!(update.body["channel"], "D0BOB");
    assert_eq!(update.body["ts"], "1700000000.000002");
    assert_eq!(
        shown(update),
        (
            "Acknowledged".to_owned(),
            vec!["resolve".into(), "escalate".into()]
        )
    );
    assert!(
        !calls.iter().any(|c| c.method == "chat.postMessage"),
        "no second message: {calls:?}"
    );

    // Someone not in the workspace cannot add Slack.
    let (status, body) = app
        .api_as(
            &bob,
            Method::POST,
            "/users/bob@example.com/contact-methods",
            Some(json!({"channel": "slack", "address": "bob@elsewhere.example"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn once_alice_is_disabled_her_clicks_change_nothing() {
    let slack = SlackServer::start().await;
    let app = onduty_with_slack(Backend::Sqlite, &slack).await;
    let key = database_in_slack(&app, &slack).await;
    incident_posted(&app, &key).await;
    let id = incident_id(&app, 1).await;
    let now = now_seconds(&app);
    // Her first click links her account; then an admin disables her.
    let click = click_body("U0ALICE", "acknowledge", &id, &slack.response_url(1));
    let (status, _) = from_slack(&app, "/slack/interactions", &click, now, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = app
        .api(Method::POST, "/users/alice@example.com/disable", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let click = click_body("U0ALICE", "resolve", &id, &slack.response_url(2));
    let (status, _) = from_slack(&app, "/slack/interactions", &click, now, None).await;
    assert_eq!(status, StatusCode::OK);
    let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
    assert_eq!(detail["incident"]["status"], "acknowledged");
}

#[tokio::test]
async fn a_click_from_another_workspace_is_refused() {
    let slack = SlackServer::start().await;
    let app = onduty_with_slack(Backend::Sqlite, &slack).await;
    let key = database_in_slack(&app, &slack).await;
    incident_posted(&app, &key).await;
    let id = incident_id(&app, 1).await;
    let click = click_body("U0ALICE", "resolve", &id, &slack.response_url(1))
        .replace(TEAM_ID, "T0ELSEWHERE");
    let (status, body) =
        from_slack(&app, "/slack/interactions", &click, now_seconds(&app), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
    assert_eq!(detail["incident"]["status"], "triggered");
}
