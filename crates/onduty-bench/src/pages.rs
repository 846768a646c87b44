//! Web UI page times with many incidents: onduty in process on SQLite, N incidents
//! written first, then each page fetched over loopback HTTP with a session cookie. The
//! time includes the local HTTP round trip, so it bounds the server-side render time.

use std::time::{Duration, Instant};

use onduty_core::account::{Name, TokenSecret};
use onduty_core::event::parse_alert_event;
use onduty_core::incident::DedupMode;
use onduty_core::service::IntegrationKind;
use onduty_core::{EventId, RoutingKey};
use onduty_notify::Providers;
use onduty_store::ingest::{Inbound, Received};
use onduty_store::services::{NewIntegration, NewService};
use onduty_web::{App, WebConfig};
use serde_json::json;

pub async fn render(incidents: usize, runs: usize) -> anyhow::Result<()> {
    let (_dir, store, clock, user) = crate::paging::store_with_admin().await?;
    let now = clock.now();
    let service = store
        .create_service(
            NewService {
                name: Name::parse("Checkout")?,
                description: String::new(),
                dedup_mode: DedupMode::Open,
                settings: Default::default(),
            },
            now,
        )
        .await?;
    let routing_key = RoutingKey::from_random([5; 16]);
    store
        .create_integration(
            NewIntegration {
                service_id: service.id,
                name: Name::parse("bench")?,
                kind: IntegrationKind::EventsV2,
                routing_key: routing_key.clone(),
            },
            now,
        )
        .await?;
    let key = routing_key.as_str().to_owned();
    let written = Instant::now();
    for chunk in (0..incidents).collect::<Vec<_>>().chunks(500) {
        let batch: Vec<Received> = chunk
            .iter()
            .map(|i| {
                let body = json!({
                    "routing_key": key, "event_action": "trigger", "dedup_key": format!("k{i}"),
                    "payload": {"summary": format!("Disk {i} is full on db{i}"), "source": "bench",
                                "severity": "error", "custom_details": {"free": "1%", "host": format!("db{i}")}}
                });
                let parsed = parse_alert_event(&body).expect("a valid event");
                Received {
                    id: EventId::new(now),
                    received_at: now,
                    event: Inbound::Alert(parsed.value),
                    warnings: Vec::new(),
                }
            })
            .collect();
        store.ingest_batch(&batch).await?;
    }
    let secret = TokenSecret::from_random([3; 20]);
    store
        .create_session(
            &TokenSecret::from_presented(secret.expose()).hash(),
            user.id,
            "csrf",
            now,
            now.saturating_add(Duration::from_secs(3600)),
        )
        .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = App::new(
        store.clone(),
        clock,
        WebConfig {
            public_url: url.clone(),
            ..WebConfig::default()
        },
        Providers::new(reqwest::Client::new()),
        onduty_engine::Wake::default(),
    );
    tokio::spawn(app.serve(listener, std::future::pending()));
    println!(
        "web pages: {incidents} incidents (written in {:.1} s), {runs} fetches each, over loopback",
        written.elapsed().as_secs_f64()
    );
    let http = reqwest::Client::new();
    let middle = incidents / 2 + 1;
    for path in [
        "/incidents".to_owned(),
        "/incidents?status=all".to_owned(),
        format!("/incidents/{middle}"),
    ] {
        let mut times = Vec::with_capacity(runs);
        for _ in 0..runs {
            let t = Instant::now();
            let response = http
                .get(format!("{url}{path}"))
                .header("cookie", format!("onduty_session={}", secret.expose()))
                .send()
                .await?;
            anyhow::ensure!(
                response.status().is_success(),
                "{path}: {}",
                response.status()
            );
            let body = response.text().await?;
            times.push(t.elapsed());
            anyhow::ensure!(body.contains("Disk"), "{path} shows no incident");
        }
        times.sort();
        let pick = |p: f64| times[((times.len() as f64 * p).ceil() as usize).saturating_sub(1)];
        println!(
            "  {path}: p50 {:.1} ms, p99 {:.1} ms",
            pick(0.5).as_secs_f64() * 1e3,
            pick(0.99).as_secs_f64() * 1e3
        );
    }
    Ok(())
}
