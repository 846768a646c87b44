//! Teams and Discord stories: channels reached by their webhooks. Cards cannot call onduty
//! back, so their buttons are signed links that act as whoever opens them, once logged
//! in. A Teams card is posted anew on each change; a Discord message is edited in place.

use onduty_notify::Providers;
use onduty_notify::outbound::OutboundPolicy;
use onduty_testkit::discord::DiscordServer;
use onduty_testkit::teams::TeamsServer;
use onduty_testkit::{Backend, TestApp, backends, trigger_event};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::browser::logged_in_as;
use crate::paging::{ALICE, level, person, policy, service, timeline};

/// onduty whose outbound address policy lets it reach the local Teams and Discord.
async fn onduty(backend: Backend) -> TestApp {
    let policy = OutboundPolicy::parse(&["127.0.0.1/32".to_owned()]).unwrap();
    TestApp::start_with_providers(
        backend,
        |_| {},
        move |_, fake| {
            let real = Providers::new(policy.clone());
            Providers {
                teams: real.teams,
                discord: real.discord,
                outbound: policy,
                ..Providers::all(fake)
            }
        },
    )
    .await
}

/// Alice paged by SMS, and a service "Database" posting to `platform`'s `webhook`,
/// which the API never shows again; returns the routing key.
async fn database_posting_to(app: &TestApp, platform: &str, webhook: &str) -> String {
    let (key, channel) = crate::paging::database_posting_to(app, platform, webhook).await;
    let shown = channel["channel"].as_str().unwrap();
    assert!(shown.starts_with("webhook at 127.0.0.1:"), "{shown}");
    assert!(!channel.to_string().contains("s3cret"), "{channel}");
    key
}

/// The title and URL of each action on a Teams card.
fn card_links(card: &Value) -> Vec<(String, String)> {
    card["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["title"].as_str().unwrap().to_owned(),
                a["url"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn bob_acknowledges_from_a_teams_card_and_a_new_card_says_so() {
    for backend in backends() {
        let teams = TeamsServer::start().await;
        let app = onduty(backend).await;
        let key = database_posting_to(&app, "teams", &teams.webhook()).await;
        app.send_event(trigger_event(&key, "db01/disk", "DISK at **99%** on db01"))
            .await;
        app.tick().await;
        let cards = teams.take();
        assert_eq!(cards.len(), 1, "{cards:?}");
        assert_eq!(cards[0]["body"][0]["text"], "#1 Triggered");
        assert_eq!(
            cards[0]["body"][1]["inlines"][0]["text"],
            "DISK at **99%** on db01"
        );
        let links = card_links(&cards[0]);
        let titles: Vec<&str> = links.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(
            titles,
            ["Acknowledge", "Resolve", "Escalate", "Open in onduty"]
        );
        let path = links[0].1.strip_prefix(&app.url).unwrap().to_owned();
        assert!(path.starts_with("/chat/act/"), "{path}");

        // Opened while logged out: log in first, then back to the card's action.
        let mut stranger = crate::browser::Browser::new(&app);
        let away = stranger.get(&path).await;
        assert_eq!(away.status, StatusCode::SEE_OTHER);
        assert!(
            away.location().starts_with("/login?next=%2Fchat%2Fact%2F"),
            "{}",
            away.location()
        );

        // Bob opens it logged in: the page asks first, and only the button acts.
        let mut bob = logged_in_as(&app, "Bob", "responder").await;
        let page = bob.get(&path).await;
        assert_eq!(page.status, StatusCode::OK);
        page.shows("Acknowledge incident #1");
        let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
        assert_eq!(detail["incident"]["status"], "triggered");
        let done = bob.post(&path, &[("csrf", &page.csrf())]).await;
        assert_eq!(done.location(), "/incidents/1");
        let lines = timeline(&app, 1).await;
        assert!(
            lines.contains(&"Acknowledged by Bob via Microsoft Teams".to_owned()),
            "{lines:?}"
        );

        app.tick().await;
        let cards = teams.take();
        assert_eq!(cards.len(), 1, "a new card: {cards:?}");
        assert_eq!(cards[0]["body"][0]["text"], "#1 Acknowledged");
        let titles: Vec<String> = card_links(&cards[0]).into_iter().map(|(t, _)| t).collect();
        assert_eq!(titles, ["Resolve", "Escalate", "Open in onduty"]);
        app.stop().await;
    }
}

#[tokio::test]
async fn a_forged_card_link_does_nothing() {
    let teams = TeamsServer::start().await;
    let app = onduty(Backend::Sqlite).await;
    let key = database_posting_to(&app, "teams", &teams.webhook()).await;
    app.send_event(trigger_event(&key, "db01/disk", "DISK at 99% on db01"))
        .await;
    app.tick().await;
    let links = card_links(&teams.take()[0]);
    let path = links[0].1.strip_prefix(&app.url).unwrap().to_owned();
    let forged = path.replace("acknowledge", "resolve");
    let mut bob = logged_in_as(&app, "Bob", "responder").await;
    let page = bob.get(&forged).await;
    assert_eq!(page.status, StatusCode::GONE);
    let csrf = bob.get("/account/password").await.csrf();
    let refused = bob.post(&forged, &[("csrf", &csrf)]).await;
    assert_eq!(refused.status, StatusCode::GONE);
    let (_, detail) = app.api(Method::GET, "/incidents/1", None).await;
    assert_eq!(detail["incident"]["status"], "triggered");
}

#[tokio::test]
async fn teams_down_is_retried_and_a_deleted_workflow_marks_the_channel_failing() {
    let teams = TeamsServer::start().await;
    let app = onduty(Backend::Sqlite).await;
    let key = database_posting_to(&app, "teams", &teams.webhook()).await;
    teams.fail(1, 502);
    app.send_event(trigger_event(&key, "db01/disk", "DISK at 99% on db01"))
        .await;
    app.tick().await;
    assert!(teams.take().is_empty());
    let lines = timeline(&app, 1).await;
    assert!(
        lines
            .iter()
            .any(|l| l.contains("Teams answered 502") && l.contains("trying again")),
        "{lines:?}"
    );
    app.pass(std::time::Duration::from_secs(15)).await;
    assert_eq!(teams.take().len(), 1, "posted on the next attempt");

    teams.fail(1, 404);
    let (status, _) = app
        .api(Method::POST, "/incidents/1/acknowledge", None)
        .await;
    assert!(status.is_success());
    app.tick().await;
    let lines = timeline(&app, 1).await;
    assert!(
        lines.iter().any(
            |l| l.starts_with("Microsoft Teams channel webhook at 127.0.0.1:")
                && l.ends_with(
                    "refused (Teams answered 404 Not Found); the channel is marked failing"
                )
        ),
        "{lines:?}"
    );
    assert!(
        lines.iter().all(|l| !l.contains("s3cret")),
        "the webhook's credential never shows: {lines:?}"
    );
}

#[tokio::test]
async fn a_discord_message_is_edited_in_place_and_posted_again_if_deleted() {
    for backend in backends() {
        let discord = DiscordServer::start().await;
        let app = onduty(backend).await;
        let key = database_posting_to(&app, "discord", &discord.webhook()).await;
        app.send_event(trigger_event(&key, "db01/disk", "@everyone DISK at 99%"))
            .await;
        app.tick().await;
        let writes = discord.take();
        assert_eq!(writes.len(), 1, "{writes:?}");
        let (kind, body) = &writes[0];
        assert_eq!(kind, "post");
        assert_eq!(body["allowed_mentions"], json!({"parse": []}));
        let embed = &body["embeds"][0];
        assert_eq!(embed["title"], "#1 @everyone DISK at 99%");
        assert_eq!(embed["url"], format!("{}/incidents/1", app.url));
        let description = embed["description"].as_str().unwrap();
        assert!(description.starts_with("[Acknowledge]("), "{description}");
        assert!(description.contains("/chat/act/"), "{description}");

        let (status, _) = app
            .api(Method::POST, "/incidents/1/acknowledge", None)
            .await;
        assert!(status.is_success());
        app.tick().await;
        let writes = discord.take();
        assert_eq!(writes.len(), 1, "{writes:?}");
        assert_eq!(writes[0].0, "edit", "edited in place");
        assert_eq!(
            writes[0].1["embeds"][0]["fields"][3]["value"],
            "Acknowledged"
        );

        // Someone deletes it; the next change posts it again.
        discord.delete("110000000000000001");
        discord.rate_limit(1, 1.5);
        let (status, _) = app.api(Method::POST, "/incidents/1/resolve", None).await;
        assert!(status.is_success());
        app.tick().await;
        assert!(discord.take().is_empty(), "waiting out the rate limit");
        app.pass(std::time::Duration::from_secs(3)).await;
        let writes = discord.take();
        let kinds: Vec<&str> = writes.iter().map(|w| w.0.as_str()).collect();
        assert_eq!(kinds.last(), Some(&"post"), "{writes:?}");
        let last = &writes.last().unwrap().1["embeds"][0];
        assert_eq!(last["fields"][3]["value"], "Resolved");
        assert_eq!(last["description"], "");
        app.stop().await;
    }
}

#[tokio::test]
async fn a_webhook_on_an_internal_address_is_refused_when_added() {
    let app =
        TestApp::start_with_providers(Backend::Sqlite, |_| {}, |_, fake| Providers::all(fake))
            .await;
    person(&app, "Alice", ALICE).await;
    policy(
        &app,
        json!({"name": "Ops", "levels": [level(&["alice@example.com"], 30)]}),
    )
    .await;
    service(&app, "Database", "Ops", json!({})).await;
    for (platform, webhook) in [
        ("discord", "http://127.0.0.1:9/api/webhooks/1/t"),
        ("teams", "http://10.0.0.5/workflows/x?sig=s3cret"),
    ] {
        let (status, body) = app
            .api(
                Method::POST,
                "/services/Database/chat-channels",
                Some(json!({"platform": platform, "channel": webhook})),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(!body.to_string().contains("s3cret"), "{body}");
    }
}
