//! Telegram stories: a service posts its incidents to a group; Alice links her Telegram
//! account with `/start <code>` and acts with the message's buttons; the message follows
//! the incident.

use std::sync::Arc;

use onduty_notify::BotConfig;
use onduty_notify::Providers;
use onduty_notify::telegram::TelegramClient;
use onduty_testkit::telegram::{BOT_TOKEN, Call, TelegramServer, WEBHOOK_SECRET, pressed, said};
use onduty_testkit::{Backend, TestApp, backends, trigger_event};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::paging::{ALICE, code_in, enter_code, level, person, policy, service, timeline};

const GROUP: &str = "-1001234567890";
const ALICES_TELEGRAM: i64 = 111_222_333;

async fn onduty_with_telegram(backend: Backend, telegram: &TelegramServer) -> TestApp {
    let api_base = telegram.api_base.clone();
    TestApp::start_with_providers(
        backend,
        |config| {
            config.telegram_webhook_secret =
                Some(onduty_web::Secret::new(WEBHOOK_SECRET.to_owned()))
        },
        move |_, fake| {
            let client = TelegramClient::new(BotConfig {
                bot_token: BOT_TOKEN.to_owned(),
                api_base,
            });
            Providers {
                telegram: Some(Arc::new(client)),
                ..Providers::all(fake)
            }
        },
    )
    .await
}

/// Sends an update to onduty's webhook with `secret`; returns the status.
async fn update(app: &TestApp, secret: &str, body: &Value) -> StatusCode {
    reqwest::Client::new()
        .post(format!("{}/telegram/webhook", app.url))
        .header("x-telegram-bot-api-secret-token", secret)
        .json(body)
        .send()
        .await
        .unwrap()
        .status()
}

/// A one-time code linking Alice's Telegram account, made with her token.
async fn link_code(app: &TestApp, alice: &str) -> String {
    let (status, made) = app
        .api_as(
            alice,
            Method::POST,
            "/users/alice@example.com/chat-link-code",
            Some(json!({"platform": "telegram"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    made["code"].as_str().unwrap().to_owned()
}

/// What a call shows: its text and its buttons' callback data.
fn shown(call: &Call) -> (String, Vec<String>) {
    let buttons = call.body["reply_markup"]["inline_keyboard"][0]
        .as_array()
        .map(|row| {
            row.iter()
                .map(|b| b["callback_data"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    (call.body["text"].as_str().unwrap().to_owned(), buttons)
}

#[tokio::test]
async fn alice_links_her_account_and_acknowledges_from_the_group() {
    for backend in backends() {
        let telegram = TelegramServer::start().await;
        let app = onduty_with_telegram(backend, &telegram).await;
        let alice = person(&app, "Alice", ALICE).await;
        telegram.join(GROUP);
        telegram.join(&ALICES_TELEGRAM.to_string());
        policy(
            &app,
            json!({"name": "Ops", "levels": [level(&["alice@example.com"], 30)]}),
        )
        .await;
        let key = service(&app, "Database", "Ops", json!({})).await;
        let (status, body) = app
            .api(
                Method::POST,
                "/services/Database/chat-channels",
                Some(json!({"platform": "telegram", "channel": GROUP})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");

        app.send_event(trigger_event(&key, "db01/disk", "DISK at 99% <on> db01"))
            .await;
        app.tick().await;
        let calls = telegram.take();
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert_eq!(calls[0].method, "sendMessage");
        assert_eq!(calls[0].body["chat_id"], GROUP);
        assert_eq!(calls[0].body["parse_mode"], "HTML");
        let (text, buttons) = shown(&calls[0]);
        assert!(text.contains("DISK at 99% &lt;on&gt; db01"), "{text}");
        assert!(text.ends_with("<b>Triggered</b>"), "{text}");
        assert_eq!(buttons.len(), 3);
        let acknowledge = buttons[0].clone();
        assert!(acknowledge.starts_with("acknowledge:"));

        // Unlinked, her press changes nothing and tells her how to link.
        assert_eq!(
            update(
                &app,
                WEBHOOK_SECRET,
                &pressed(1, ALICES_TELEGRAM, GROUP, &acknowledge)
            )
            .await,
            StatusCode::OK
        );
        let calls = telegram.take();
        assert_eq!(calls[0].method, "answerCallbackQuery");
        assert!(
            calls[0].body["text"]
                .as_str()
                .unwrap()
                .contains("not linked"),
            "{calls:?}"
        );

        // She makes a code in onduty and sends /start <code> to the bot.
        let code = link_code(&app, &alice).await;
        let code = code.as_str();
        let start = said(2, ALICES_TELEGRAM, &format!("/start {code}"));
        assert_eq!(update(&app, WEBHOOK_SECRET, &start).await, StatusCode::OK);
        let calls = telegram.take();
        assert!(
            calls[0].body["text"]
                .as_str()
                .unwrap()
                .starts_with("Linked"),
            "{calls:?}"
        );
        // A code works once.
        assert_eq!(
            update(
                &app,
                WEBHOOK_SECRET,
                &said(3, 999, &format!("/start {code}"))
            )
            .await,
            StatusCode::OK
        );
        let calls = telegram.take();
        assert!(
            calls[0].body["text"]
                .as_str()
                .unwrap()
                .starts_with("Not linked"),
            "{calls:?}"
        );

        assert_eq!(
            update(
                &app,
                WEBHOOK_SECRET,
                &pressed(4, ALICES_TELEGRAM, GROUP, &acknowledge)
            )
            .await,
            StatusCode::OK
        );
        let calls = telegram.take();
        assert_eq!(calls[0].body["text"], "Acknowledged #1", "{calls:?}");
        let lines = timeline(&app, 1).await;
        assert!(
            lines.contains(&"Acknowledged by Alice via Telegram".to_owned()),
            "{lines:?}"
        );
        // The same update delivered again (Telegram retries what it thinks
        // failed) is accepted and acted on no more: no second answer.
        assert_eq!(
            update(
                &app,
                WEBHOOK_SECRET,
                &pressed(4, ALICES_TELEGRAM, GROUP, &acknowledge)
            )
            .await,
            StatusCode::OK
        );
        assert_eq!(telegram.take(), vec![], "a replay is not answered");
        app.tick().await;
        let calls = telegram.take();
        assert_eq!(calls.len(), 1, "{calls:?}");
        assert_eq!(calls[0].method, "editMessageText");
        assert_eq!(calls[0].body["message_id"], 1);
        let (text, buttons) = shown(&calls[0]);
        assert!(text.ends_with("<b>Acknowledged</b>"), "{text}");
        assert_eq!(buttons.len(), 2, "resolve and escalate remain");
        app.stop().await;
    }
}

#[tokio::test]
async fn an_update_without_the_secret_token_is_refused_and_changes_nothing() {
    let telegram = TelegramServer::start().await;
    let app = onduty_with_telegram(Backend::Sqlite, &telegram).await;
    let alice = person(&app, "Alice", ALICE).await;
    let code = link_code(&app, &alice).await;
    // Said in a group, or as another command, it does nothing.
    let mut in_group = said(9, ALICES_TELEGRAM, &format!("/start {code}"));
    in_group["message"]["chat"] = json!({"id": -42, "type": "group"});
    telegram.join("-42");
    assert_eq!(
        update(&app, WEBHOOK_SECRET, &in_group).await,
        StatusCode::OK
    );
    let other = said(8, ALICES_TELEGRAM, &format!("/startle {code}"));
    assert_eq!(update(&app, WEBHOOK_SECRET, &other).await, StatusCode::OK);
    assert!(telegram.take().is_empty());
    let start = said(1, ALICES_TELEGRAM, &format!("/start@onduty_bot {code}"));
    assert_eq!(
        update(&app, "wrong", &start).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(update(&app, "", &start).await, StatusCode::UNAUTHORIZED);
    assert!(
        telegram.take().is_empty(),
        "nothing answered, nothing linked"
    );
    // The code was not used up by the refused updates.
    telegram.join(&ALICES_TELEGRAM.to_string());
    assert_eq!(update(&app, WEBHOOK_SECRET, &start).await, StatusCode::OK);
    let calls = telegram.take();
    assert!(
        calls[0].body["text"]
            .as_str()
            .unwrap()
            .starts_with("Linked"),
        "{calls:?}"
    );
}

#[tokio::test]
async fn a_group_the_bot_is_not_in_is_marked_failing() {
    let telegram = TelegramServer::start().await;
    let app = onduty_with_telegram(Backend::Sqlite, &telegram).await;
    let (key, _) = crate::paging::database_posting_to(&app, "telegram", "-42").await;
    app.send_event(trigger_event(&key, "db01/disk", "DISK at 99% on db01"))
        .await;
    app.tick().await;
    let lines = timeline(&app, 1).await;
    assert!(
        lines.contains(
            &"Telegram channel -42: refused (Bad Request: chat not found); the channel is marked failing"
                .to_owned()
        ),
        "{lines:?}"
    );
}

#[tokio::test]
async fn alice_is_paged_by_private_message_once_her_account_is_linked() {
    let telegram = TelegramServer::start().await;
    let app = onduty_with_telegram(Backend::Sqlite, &telegram).await;
    let alice = app.user_token("Alice", "responder").await;
    telegram.join(&ALICES_TELEGRAM.to_string());
    let add = || {
        app.api_as(
            &alice,
            Method::POST,
            "/users/alice@example.com/contact-methods",
            Some(json!({"channel": "telegram", "address": ""})),
        )
    };
    let (status, body) = add().await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("link your Telegram account first")
    );

    let code = link_code(&app, &alice).await;
    update(
        &app,
        WEBHOOK_SECRET,
        &said(1, ALICES_TELEGRAM, &format!("/start {code}")),
    )
    .await;
    telegram.take();
    let (status, created) = add().await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["contact_method"]["address"],
        ALICES_TELEGRAM.to_string()
    );
    let calls = telegram.take();
    let code = code_in(&calls[0].body["text"]);
    let id = created["contact_method"]["id"].as_str().unwrap();
    enter_code(&app, &alice, "alice@example.com", id, &code).await;
    policy(
        &app,
        json!({"name": "Ops", "levels": [level(&["alice@example.com"], 30)]}),
    )
    .await;
    let key = service(&app, "Database", "Ops", json!({})).await;
    app.send_event(trigger_event(&key, "db01/disk", "DISK at 99% on db01"))
        .await;
    app.tick().await;
    let calls = telegram.take();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].method, "sendMessage");
    assert_eq!(calls[0].body["chat_id"], ALICES_TELEGRAM.to_string());
    let (_, buttons) = shown(&calls[0]);
    assert_eq!(buttons.len(), 3);
    let chat = ALICES_TELEGRAM.to_string();
    update(
        &app,
        WEBHOOK_SECRET,
        &pressed(2, ALICES_TELEGRAM, &chat, &buttons[0]),
    )
    .await;
    let lines = timeline(&app, 1).await;
    assert!(
        lines.contains(&"Acknowledged by Alice via Telegram".to_owned()),
        "{lines:?}"
    );
    let message_id = telegram.last_message_id();

    // Her message is edited in place, whichever door changes the incident.
    telegram.take();
    app.tick().await;
    let calls = telegram.take();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].method, "editMessageText");
    assert_eq!(calls[0].body["chat_id"], chat);
    assert_eq!(calls[0].body["message_id"], message_id);
    let (text, buttons) = shown(&calls[0]);
    assert!(text.contains("Acknowledged"), "{text}");
    assert_eq!(buttons.len(), 2, "resolve and escalate: {buttons:?}");
    let (status, _) = app
        .api(Method::POST, "/incidents/1/resolve", Some(json!({})))
        .await;
    assert!(status.is_success());
    app.tick().await;
    let calls = telegram.take();
    assert_eq!(calls.len(), 1, "{calls:?}");
    assert_eq!(calls[0].method, "editMessageText");
    let (text, buttons) = shown(&calls[0]);
    assert!(text.contains("Resolved"), "{text}");
    assert!(buttons.is_empty());
    // Once it shows the incident resolved, it is done with.
    app.pass(std::time::Duration::from_secs(3600)).await;
    assert!(telegram.take().is_empty());
}

#[tokio::test]
async fn groups_upgraded_to_supergroups_are_followed() {
    let telegram = TelegramServer::start().await;
    let app = onduty_with_telegram(Backend::Sqlite, &telegram).await;
    // Two groups become supergroups. Telegram tells onduty of the second in its old group;
    // of the first, onduty learns only when a message to it is refused.
    for (old, new) in [("-42", -100_042), ("-43", -100_043)] {
        telegram.join(old);
        telegram.upgrade(old, new);
    }
    let (key, _) = crate::paging::database_posting_to(&app, "telegram", "-42").await;
    let (status, body) = app
        .api(
            Method::POST,
            "/services/Database/chat-channels",
            Some(json!({"platform": "telegram", "channel": "-43"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let notice = json!({"update_id": 1, "message": {"message_id": 9, "date": 1_700_000_000,
        "chat": {"id": -43, "type": "group", "title": "Ops"},
        "from": {"id": ALICES_TELEGRAM, "is_bot": false, "first_name": "Alice"},
        "migrate_to_chat_id": -100_043}});
    assert_eq!(update(&app, WEBHOOK_SECRET, &notice).await, StatusCode::OK);

    app.send_event(trigger_event(&key, "db01/disk", "DISK at 99% on db01"))
        .await;
    app.tick().await;
    app.tick().await;
    let sent_to = |calls: Vec<Call>| -> Vec<(String, String)> {
        calls
            .into_iter()
            .map(|c| (c.method, c.body["chat_id"].to_string()))
            .collect()
    };
    let mut calls = sent_to(telegram.take());
    calls.sort();
    assert_eq!(
        calls,
        [
            ("sendMessage".to_owned(), r#""-100042""#.to_owned()),
            ("sendMessage".to_owned(), r#""-100043""#.to_owned()),
            ("sendMessage".to_owned(), r#""-42""#.to_owned()),
        ],
        "refused once at -42, then posted in both supergroups"
    );
    let lines = timeline(&app, 1).await;
    assert!(
        lines.contains(
            &"Telegram channel -42: the group became a supergroup, -100042; its messages are posted there now"
                .to_owned()
        ),
        "{lines:?}"
    );
    let (_, listed) = app
        .api(Method::GET, "/services/Database/chat-channels", None)
        .await;
    let mut channels: Vec<_> = listed["chat_channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["channel"].to_string(), c["failing"].to_string()))
        .collect();
    channels.sort();
    assert_eq!(
        channels,
        [
            (r#""-100042""#.to_owned(), "null".to_owned()),
            (r#""-100043""#.to_owned(), "null".to_owned())
        ]
    );

    // The message follows the incident in its new group.
    app.api(Method::POST, "/incidents/1/acknowledge", None)
        .await;
    app.tick().await;
    let mut calls = sent_to(telegram.take());
    calls.sort();
    assert_eq!(
        calls,
        [
            ("editMessageText".to_owned(), r#""-100042""#.to_owned()),
            ("editMessageText".to_owned(), r#""-100043""#.to_owned()),
        ]
    );
    app.stop().await;
}
