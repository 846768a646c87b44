//! Mattermost stories: a service posts its incidents to a channel; people press the
//! post's buttons, which carry onduty's signed token because Mattermost does not sign its
//! requests; the post follows the incident whichever door changed it.

use std::sync::Arc;
use std::time::Duration;

use onduty_notify::mattermost::MattermostClient;
use onduty_notify::outbound::OutboundPolicy;
use onduty_notify::{BotConfig, Providers};
use onduty_testkit::mattermost::{BOT_TOKEN, MattermostServer};
use onduty_testkit::{Backend, TestApp, backends, trigger_event};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::browser::logged_in_as;
use crate::paging::{database_posting_to, timeline};

const CHANNEL: &str = "opsxxxxxxxxxxxxxxxxxxxxxxx";
const ALICE_MM: &str = "alicexxxxxxxxxxxxxxxxxxxxx";

/// onduty with Mattermost pointed at `mattermost`.
async fn onduty_with_mattermost(backend: Backend, mattermost: &MattermostServer) -> TestApp {
    let url = mattermost.url.clone();
    TestApp::start_with_providers(
        backend,
        |_| {},
        move |_, fake| {
            // Teams too, whose cards' tokens anyone in their channel can read.
            let loopback = OutboundPolicy::parse(&["127.0.0.1/32".to_owned()]).unwrap();
            Providers {
                mattermost: Some(Arc::new(MattermostClient::new(BotConfig {
                    bot_token: BOT_TOKEN.to_owned(),
                    api_base: url,
                }))),
                teams: Providers::new(loopback.clone()).teams,
                outbound: loopback,
                ..Providers::all(fake)
            }
        },
    )
    .await
}

/// Alice (SMS, and a Mattermost account with her address verified), a policy paging
/// her, and a service "Database" posting to the channel; incident #1 opens and is posted.
/// Returns the post's id and the service's routing key.
async fn database_incident_posted(
    app: &TestApp,
    mattermost: &MattermostServer,
) -> (String, String) {
    mattermost.join(CHANNEL);
    mattermost.user(ALICE_MM, "alice@example.com", true);
    let (key, _) = database_posting_to(app, "mattermost", CHANNEL).await;
    app.send_event(trigger_event(
        &key,
        "db01/disk",
        "DISK at 99% on [db01](x) @channel",
    ))
    .await;
    app.tick().await;
    let writes = mattermost.take();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].0, "create");
    (writes[0].1["id"].as_str().unwrap().to_owned(), key)
}

/// The status a post shows, and its buttons.
fn shown(post: &Value) -> (String, Vec<String>) {
    let attachment = &post["props"]["attachments"][0];
    let status = attachment["fields"][3]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let buttons = attachment["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_owned())
        .collect();
    (status, buttons)
}

async fn status_of(app: &TestApp, number: i64) -> String {
    let (_, detail) = app
        .api(Method::GET, &format!("/incidents/{number}"), None)
        .await;
    detail["incident"]["status"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn alice_acknowledges_from_mattermost_and_the_post_follows() {
    for backend in backends() {
        let mattermost = MattermostServer::start().await;
        let app = onduty_with_mattermost(backend, &mattermost).await;
        let (post, _) = database_incident_posted(&app, &mattermost).await;

        let (answered, _) = mattermost
            .click(&post, "acknowledge", ALICE_MM)
            .await
            .expect("an Acknowledge button");
        assert_eq!(answered, StatusCode::OK);
        let lines = timeline(&app, 1).await;
        assert!(
            lines.contains(&"Acknowledged by Alice via Mattermost".to_owned()),
            "{lines:?}"
        );
        app.tick().await;
        let writes = mattermost.take();
        assert_eq!(writes.len(), 1, "{writes:?}");
        assert_eq!(writes[0].0, "update", "updated in place");
        assert_eq!(
            shown(&writes[0].1),
            (
                "Acknowledged".to_owned(),
                vec!["resolve".to_owned(), "escalate".to_owned()]
            )
        );
        assert_eq!(
            writes[0].1["props"]["attachments"][0]["text"],
            "DISK at 99% on \\[db01\\]\\(x\\) \\@\u{200B}channel"
        );

        // Resolved from the API: the post says so, with no buttons left.
        let (status, _) = app.api(Method::POST, "/incidents/1/resolve", None).await;
        assert!(status.is_success());
        app.tick().await;
        let writes = mattermost.take();
        assert_eq!(shown(&writes[0].1), ("Resolved".to_owned(), Vec::new()));
        app.stop().await;
    }
}

#[tokio::test]
async fn forged_replayed_and_expired_clicks_change_nothing() {
    let mattermost = MattermostServer::start().await;
    let app = onduty_with_mattermost(Backend::Sqlite, &mattermost).await;
    let (post, key) = database_incident_posted(&app, &mattermost).await;
    let url = format!("{}/mattermost/actions", app.url);
    let click = |token: &str, trigger: &str| {
        json!({"user_id": ALICE_MM, "post_id": post, "trigger_id": trigger,
               "channel_id": CHANNEL, "context": {"token": token}})
    };

    // A token onduty did not sign, or none at all.
    let (status, _) = mattermost
        .send(&url, &click("button.x.resolve.1.00", "t1"))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = mattermost
        .send(&url, &json!({"user_id": ALICE_MM, "trigger_id": "t2"}))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(status_of(&app, 1).await, "triggered");

    // A Teams card's token, which anyone in that channel can read, is no Mattermost button.
    let teams = onduty_testkit::teams::TeamsServer::start().await;
    let (status, body) = app
        .api(
            Method::POST,
            "/services/Database/chat-channels",
            Some(json!({"platform": "teams", "channel": teams.webhook()})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.send_event(trigger_event(&key, "db02/disk", "DISK at 99% on db02"))
        .await;
    app.tick().await;
    let card = teams.take().pop().expect("a card");
    let link = card["actions"][0]["url"].as_str().unwrap();
    let card_token = link.rsplit('/').next().unwrap();
    let (status, _) = mattermost.send(&url, &click(card_token, "t-card")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(status_of(&app, 2).await, "triggered");

    // The real button's request, sent twice: the second is refused.
    let (status, _) = mattermost
        .click(&post, "acknowledge", ALICE_MM)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(status_of(&app, 1).await, "acknowledged");
    let replay = json!({"user_id": ALICE_MM, "trigger_id": "trigger-2",
        "context": {"token": token_of(&mattermost, &post, "resolve")}});
    let (status, _) = mattermost.send(&url, &replay).await;
    assert_eq!(status, StatusCode::OK, "a new trigger id is a new click");
    assert_eq!(status_of(&app, 1).await, "resolved");
    let (status, body) = mattermost.send(&url, &replay).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    // A week and a day later the post's buttons have expired.
    app.advance(Duration::from_secs(8 * 24 * 3600));
    let stale = json!({"user_id": ALICE_MM, "trigger_id": "t-late",
        "context": {"token": token_of(&mattermost, &post, "escalate")}});
    let (status, body) = mattermost.send(&url, &stale).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["ephemeral_text"].as_str().unwrap().contains("expired"),
        "{body}"
    );
    let lines = timeline(&app, 1).await;
    assert!(!lines.iter().any(|l| l.contains("Escalated")), "{lines:?}");
}

/// The token a post's button carries now (what Mattermost keeps on its server).
fn token_of(mattermost: &MattermostServer, post: &str, button: &str) -> String {
    mattermost
        .post(post)
        .and_then(|p| {
            p["props"]["attachments"][0]["actions"]
                .as_array()?
                .iter()
                .find(|a| a["id"] == button)
                .map(|a| {
                    a["integration"]["context"]["token"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
        })
        .unwrap_or_else(|| panic!("no {button} button"))
}

#[tokio::test]
async fn bob_is_not_known_by_his_address_so_he_links_himself_then_acts() {
    let mattermost = MattermostServer::start().await;
    let app = onduty_with_mattermost(Backend::Sqlite, &mattermost).await;
    let (post, _) = database_incident_posted(&app, &mattermost).await;
    let bob_mm = "bobxxxxxxxxxxxxxxxxxxxxxxx";
    // Bob's Mattermost address is not one Mattermost verified.
    mattermost.user(bob_mm, "bob@example.com", false);
    let mut bob = logged_in_as(&app, "Bob", "responder").await;

    let (status, answer) = mattermost
        .click(&post, "acknowledge", bob_mm)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    assert_eq!(status_of(&app, 1).await, "triggered", "nothing changed");
    let told = answer["ephemeral_text"].as_str().unwrap();
    assert!(told.contains("not linked"), "{told}");
    let link = told
        .split_whitespace()
        .find(|w| w.contains("/chat/link/"))
        .unwrap_or_else(|| panic!("no link in {told}"));
    let path = link.strip_prefix(&app.url).unwrap();

    let page = bob.get(path).await;
    assert_eq!(page.status, StatusCode::OK);
    page.shows("Link your Mattermost account");
    page.shows(&format!("@bob ({bob_mm})"));
    let csrf = page.csrf();
    let forged = bob.post(path, &[("csrf", "0".repeat(64).as_str())]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let linked = bob.post(path, &[("csrf", &csrf)]).await;
    assert_eq!(linked.location(), "/profile");

    let (status, _) = mattermost
        .click(&post, "acknowledge", bob_mm)
        .await
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    let lines = timeline(&app, 1).await;
    assert!(
        lines.contains(&"Acknowledged by Bob via Mattermost".to_owned()),
        "{lines:?}"
    );
}

#[tokio::test]
async fn a_deleted_post_is_posted_again_and_a_channel_the_bot_left_is_marked_failing() {
    let mattermost = MattermostServer::start().await;
    let app = onduty_with_mattermost(Backend::Sqlite, &mattermost).await;
    let (post, key) = database_incident_posted(&app, &mattermost).await;
    mattermost.delete(&post);
    let (status, _) = app
        .api(Method::POST, "/incidents/1/acknowledge", None)
        .await;
    assert!(status.is_success());
    app.tick().await;
    app.tick().await;
    let writes = mattermost.take();
    assert_eq!(
        writes.iter().map(|w| w.0.as_str()).collect::<Vec<_>>(),
        ["create"],
        "posted again: {writes:?}"
    );
    assert_eq!(shown(&writes[0].1).0, "Acknowledged");

    // A channel the bot is not in is refused for good.
    let (status, body) = app
        .api(
            Method::POST,
            "/services/Database/chat-channels",
            Some(json!({"platform": "mattermost", "channel": "elsewherexxxxxxxxxxxxxxxxx"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    app.send_event(trigger_event(&key, "db02/disk", "DISK at 99% on db02"))
        .await;
    app.tick().await;
    let lines = timeline(&app, 2).await;
    assert!(
        lines.iter().any(|l| l.starts_with(
            "Mattermost channel elsewherexxxxxxxxxxxxxxxxx: refused (Mattermost answered 403"
        )),
        "{lines:?}"
    );
}

#[tokio::test]
async fn once_linked_alice_is_paged_by_direct_message() {
    let mattermost = MattermostServer::start().await;
    let app = onduty_with_mattermost(Backend::Sqlite, &mattermost).await;
    let method = json!({"channel": "mattermost", "address": ""});
    let (post, key) = database_incident_posted(&app, &mattermost).await;
    // Not linked yet: no direct messages.
    let (status, refused) = app
        .api(
            Method::POST,
            "/users/alice@example.com/contact-methods",
            Some(method.clone()),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refused}");
    // Her first click links her account by its verified e-mail.
    mattermost
        .click(&post, "acknowledge", ALICE_MM)
        .await
        .unwrap();
    mattermost.take();
    let (status, made) = app
        .api(
            Method::POST,
            "/users/alice@example.com/contact-methods",
            Some(method),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["contact_method"]["address"], ALICE_MM);
    let writes = mattermost.take();
    assert_eq!(writes.len(), 1, "{writes:?}");
    let dm = &writes[0].1;
    assert_eq!(dm["channel_id"], format!("dm{}", &ALICE_MM[..24]));
    let code = crate::paging::code_in(&dm["message"]);
    let id = made["contact_method"]["id"].as_str().unwrap();
    crate::paging::enter_code(&app, &app.admin_token, "alice@example.com", id, &code).await;
    let (status, _) = app
        .api(
            Method::POST,
            &format!("/users/alice@example.com/contact-methods/{id}/test"),
            None,
        )
        .await;
    assert!(status.is_success());
    let writes = mattermost.take();
    assert_eq!(writes.len(), 1, "the test message: {writes:?}");
    assert!(
        writes[0].1["message"].as_str().unwrap().contains("test"),
        "{writes:?}"
    );

    // She is paged there first: the page carries the same signed buttons as a channel's.
    let (status, rule) = app
        .api(
            Method::POST,
            "/users/alice@example.com/notification-rules",
            Some(json!({"contact_method": id, "delay_minutes": 0, "urgency": "both"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rule}");
    app.send_event(trigger_event(&key, "db02/disk", "DISK at 97% on db02"))
        .await;
    app.tick().await;
    let writes = mattermost.take();
    let dm = writes
        .iter()
        .find(|(_, p)| p["channel_id"] != CHANNEL)
        .unwrap_or_else(|| panic!("no direct message: {writes:?}"));
    assert_eq!(dm.0, "create");
    assert_eq!(
        shown(&dm.1),
        (
            "Triggered".to_owned(),
            vec!["acknowledge".into(), "resolve".into(), "escalate".into()]
        )
    );
    let dm_post = dm.1["id"].as_str().unwrap().to_owned();
    let (answered, _) = mattermost
        .click(&dm_post, "acknowledge", ALICE_MM)
        .await
        .expect("an Acknowledge button");
    assert_eq!(answered, StatusCode::OK);
    assert_eq!(status_of(&app, 2).await, "acknowledged");
    // Both of its messages follow: the channel's and hers, each updated in place.
    app.tick().await;
    let writes = mattermost.take();
    assert_eq!(writes.len(), 2, "{writes:?}");
    for (kind, post) in &writes {
        assert_eq!(kind, "update");
        assert_eq!(shown(post).0, "Acknowledged");
    }
    assert!(writes.iter().any(|(_, p)| p["id"] == dm_post.as_str()));
}
