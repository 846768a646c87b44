//! Web UI page times with many incidents: onduty in process on SQLite, N incidents
//! written first, then each page fetched over loopback HTTP with a session cookie. The
//! time includes the local HTTP round trip, so it bounds the server-side render time.

use std::time::{Duration, Instant};

use onduty_core::account::{Name, TokenSecret};
use onduty_core::batch::{HandedIn, Inbound, Received};
use onduty_core::event::parse_alert_event;
use onduty_core::incident::DedupMode;
use onduty_core::service::IntegrationKind;
use onduty_core::{EventId, RoutingKey};
use onduty_notify::Providers;
use onduty_store::services::{NewIntegration, NewService};
use onduty_web::{App, WebConfig};
use serde_json::json;

/// onduty's web server in process on loopback, without an engine; its base URL.
pub(crate) async fn serve(
    store: &onduty_store::Store,
    clock: std::sync::Arc<dyn onduty_core::Clock>,
) -> anyhow::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = App::new(
        store.clone(),
        clock,
        WebConfig {
            public_url: url.clone(),
            ..WebConfig::default()
        },
        Providers::new(onduty_notify::outbound::OutboundPolicy::default()),
        onduty_engine::Wake::default(),
    );
    tokio::spawn(app.serve(listener, std::future::pending()));
    Ok(url)
}

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
                draft_postmortems: true,
            },
            now,
        )
        .await?;
    let routing_key = RoutingKey::from_random([5; 16]);
    store
        .create_integration(
            NewIntegration {
                settings: Default::default(),
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
                    from: HandedIn::BySender,
                }
            })
            .collect();
        store.ingest_batch(&batch).await?;
    }
    let rota = team_setup(&store, service.id, now).await?;
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
    let url = serve(&store, clock).await?;
    println!(
        "web pages: {incidents} incidents (written in {:.1} s), {runs} fetches each, over loopback",
        written.elapsed().as_secs_f64()
    );
    let http = reqwest::Client::new();
    let middle = incidents / 2 + 1;
    for (path, marker) in [
        ("/".to_owned(), "Your shifts"),
        ("/incidents".to_owned(), "Disk"),
        ("/incidents?status=all".to_owned(), "Disk"),
        // A search matching a few among all: the summaries, keys and sources are read.
        ("/incidents?status=all&q=4242".to_owned(), "Disk"),
        (format!("/incidents/{middle}"), "Disk"),
        ("/services".to_owned(), "Checkout"),
        (format!("/services/{}", service.id), "alertmanager"),
        (
            "/escalation-policies".to_owned(),
            "whoever is on call in Rota",
        ),
        ("/schedules".to_owned(), "Rota"),
        (format!("/schedules/{rota}"), "<svg class=\"day\""),
        ("/people".to_owned(), "Person 19"),
        ("/oncall".to_owned(), "Rota"),
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
            anyhow::ensure!(body.contains(marker), "{path} does not show {marker:?}");
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

/// A team as the pages see it: 20 people, a rota of two layers (weekly handoffs among ten,
/// twelve-hour ones among the other ten at night) with ten overrides, and a policy paging
/// the rota and then a person, used by the service. Returns the rota's id.
async fn team_setup(
    store: &onduty_store::Store,
    service: onduty_core::ServiceId,
    now: onduty_core::Timestamp,
) -> anyhow::Result<onduty_core::ScheduleId> {
    use onduty_core::account::{Email, Role, TimeZoneName};
    use onduty_core::escalation::{Level, LevelMode, Policy, Steps, Target};
    use onduty_core::schedule::{Layer, Override, Schedule, ShiftLength};
    use onduty_store::users::NewUser;

    let mut people = Vec::new();
    for n in 0..20 {
        let user = store
            .create_user(
                NewUser {
                    email: Email::parse(&format!("person{n}@example.com"))?,
                    name: Name::parse(&format!("Person {n}"))?,
                    role: Role::Responder,
                    time_zone: TimeZoneName::parse("Europe/London")?,
                },
                now,
            )
            .await?;
        people.push(user.id);
    }
    let start = jiff::civil::date(2026, 1, 5).at(9, 0, 0, 0);
    let rota = Schedule {
        id: onduty_core::ScheduleId::new(now),
        name: Name::parse("Rota")?,
        description: String::new(),
        time_zone: TimeZoneName::parse("Europe/London")?,
        team_id: None,
        layers: vec![
            Layer {
                name: "Days".to_owned(),
                participants: people[..10].to_vec(),
                start,
                shift: ShiftLength::Weeks(1),
                restrictions: Vec::new(),
            },
            Layer {
                name: "Nights".to_owned(),
                participants: people[10..].to_vec(),
                start: start.saturating_add(jiff::Span::new().hours(12)),
                shift: ShiftLength::Hours(12),
                restrictions: Vec::new(),
            },
        ],
    };
    store.create_schedule(&rota, now).await?;
    for n in 0..10u64 {
        let from = now.saturating_add(Duration::from_secs(n * 86_400 + 3_600));
        store
            .add_override(
                rota.id,
                &Override {
                    id: onduty_core::OverrideId::new(now),
                    user: people[n as usize],
                    start: from,
                    end: from.saturating_add(Duration::from_secs(4 * 3_600)),
                    created_at: now,
                    seq: 0,
                },
            )
            .await?;
    }
    let id = onduty_core::PolicyId::new(now);
    let levels = vec![
        Level {
            targets: vec![Target::Schedule(rota.id)],
            delay_minutes: 15,
            mode: LevelMode::All,
        },
        Level {
            targets: vec![Target::User(people[0])],
            delay_minutes: 15,
            mode: LevelMode::All,
        },
    ];
    let policy = Policy {
        id,
        name: Name::parse("Checkout on-call")?,
        description: String::new(),
        team_id: None,
        steps: Steps::parse(id, levels, 1)?,
    };
    store.create_policy(&policy, now).await?;
    store
        .update_service(
            service,
            onduty_store::services::ServicePatch {
                policy_id: Some(Some(id)),
                ..Default::default()
            },
            now,
        )
        .await?;
    Ok(rota.id)
}
