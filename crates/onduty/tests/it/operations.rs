//! `onduty serve` wired for production, as the real executable: `/metrics` on an address
//! of its own and not on the main one, and the dead-man's switch pinged from the start.

use onduty_testkit::dead_mans_switch::DeadMansSwitch;
use onduty_testkit::wait_for;

use crate::process::{PATIENCE, Server, database_args};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_on_their_own_address_and_the_switch_hears_from_the_start() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let switch = DeadMansSwitch::start().await;
    let mut server = Server::start(
        &database_args(&dir.path().join("data"), None),
        &[
            ("ONDUTY_METRICS_LISTEN", "127.0.0.1:0"),
            ("ONDUTY_WATCHDOG_PING_URL", switch.url.as_str()),
        ],
    );
    let line = server.wait_for_line("onduty serves /metrics on http://");
    let metrics = line
        .trim_start_matches("onduty serves /metrics on ")
        .trim()
        .to_owned();
    let http = reqwest::Client::new();
    let scraped = http.get(format!("{metrics}/metrics")).send().await.unwrap();
    assert_eq!(scraped.status(), reqwest::StatusCode::OK);
    let text = scraped.text().await.unwrap();
    assert!(text.contains("# TYPE onduty_pages_total counter"), "{text}");
    assert!(text.contains("onduty_database_up 1"), "{text}");
    // The engine took its lease at start: the scrape says an engine runs, this one.
    let running = wait_for(
        PATIENCE,
        || async {
            http.get(format!("{metrics}/metrics"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        },
        |t| t.contains("onduty_engine_running 1") && t.contains("onduty_engine_this_instance 1"),
    )
    .await;
    assert!(running.contains("onduty_engine_running 1"), "{running}");
    let main = http
        .get(format!("http://{}/metrics", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(main.status(), reqwest::StatusCode::NOT_FOUND);

    let pinged = wait_for(PATIENCE, || async { switch.pings() }, |n| *n >= 1).await;
    assert!(pinged >= 1, "the switch heard from the engine");
}
