//! Paging benchmarks, in one process: an onduty (SQLite in a temporary directory, the
//! HTTP server, the engine loop on the system clock) whose only person is paged through a
//! webhook contact method pointing at a local sink that notes when each page arrives.
//!
//! - `latency`: events sent at a fixed rate over HTTP; event sent → page at the sink.
//! - `lateness`: N incidents whose escalations fall due spread over a window, all pending
//!   before the engine starts; due time → page at the sink.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::routing::post;
use onduty_core::account::{Email, Name, Role, TimeZoneName, TokenSecret};
use onduty_core::batch::{HandedIn, Inbound, Received};
use onduty_core::event::parse_alert_event;
use onduty_core::{Clock, EventId, SystemClock, Timestamp};
use onduty_engine::{Engine, EngineConfig};
use onduty_notify::Providers;
use onduty_notify::outbound::OutboundPolicy;
use onduty_store::users::NewUser;
use onduty_store::{Store, StoreOptions};
use onduty_web::{App, WebConfig};
use serde_json::{Value, json};

/// When each incident's first page reached the sink.
type Arrivals = Arc<Mutex<HashMap<i64, Instant>>>;

struct Rig {
    url: String,
    token: String,
    routing_key: String,
    store: Store,
    arrivals: Arrivals,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// The last verification code the sink was sent.
type Code = Arc<Mutex<Option<String>>>;

async fn sink() -> anyhow::Result<(String, Arrivals, Code)> {
    let arrivals: Arrivals = Arc::default();
    let code: Code = Arc::default();
    let app = axum::Router::new()
        .route(
            "/page",
            post(
                |State((a, code)): State<(Arrivals, Code)>, Json(body): Json<Value>| async move {
                    let now = Instant::now();
                    if let Some(c) = body["code"].as_str() {
                        *code.lock().unwrap() = Some(c.to_owned());
                    }
                    if let Some(items) = body["incidents"].as_array() {
                        let mut a = a.lock().unwrap();
                        for i in items {
                            if let Some(n) = i["number"].as_i64() {
                                a.entry(n).or_insert(now);
                            }
                        }
                    }
                    "ok"
                },
            ),
        )
        .with_state((arrivals.clone(), code.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/page", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((url, arrivals, code))
}

/// A fresh SQLite store in a temporary directory, with one administrator.
pub(crate) async fn store_with_admin() -> anyhow::Result<(
    tempfile::TempDir,
    Store,
    Arc<dyn Clock>,
    onduty_core::account::User,
)> {
    let dir = tempfile::tempdir()?;
    let store = Store::open(
        &onduty_store::sqlite_url_in(dir.path()),
        &StoreOptions::default(),
    )
    .await?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let admin = store
        .create_user(
            NewUser {
                email: Email::parse("admin@example.com")?,
                name: Name::parse("Admin")?,
                role: Role::Admin,
                time_zone: TimeZoneName::utc(),
            },
            clock.now(),
        )
        .await?;
    Ok((dir, store, clock, admin))
}

/// onduty with Alice paged by webhook through a one-level policy, engine not yet started.
async fn rig() -> anyhow::Result<(Rig, Engine)> {
    let (dir, store, clock, admin) = store_with_admin().await?;
    let now = clock.now();
    let secret = TokenSecret::from_random([9; 20]);
    store.create_token(admin.id, "bench", &secret, now).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let wake = onduty_engine::Wake::default();
    // The sink listens on loopback, which the operator has to open.
    let providers = Providers::new(
        OutboundPolicy::parse(&["127.0.0.1/32".to_owned()]).map_err(anyhow::Error::msg)?,
    );
    let engine = Engine::new(
        store.clone(),
        providers.clone(),
        EngineConfig {
            public_url: url.clone(),
            holder: "bench".to_owned(),
            lease: Duration::from_secs(15),
            watchdog: None,
            takeover_key: None,
            retention: None,
            audit_retention: None,
        },
        wake.clone(),
    );
    let app = App::new(
        store.clone(),
        clock,
        WebConfig {
            public_url: url.clone(),
            rate_limit_per_minute: 0,
            ..WebConfig::default()
        },
        providers,
        wake,
    );
    tokio::spawn(app.serve(listener, std::future::pending()));
    let (sink_url, arrivals, code) = sink().await?;
    let mut rig = Rig {
        url,
        token: secret.expose().to_owned(),
        routing_key: String::new(),
        store,
        arrivals,
        http: reqwest::Client::new(),
        _dir: dir,
    };
    rig.api(
        "/users",
        json!({"email": "alice@example.com", "name": "Alice", "role": "responder"}),
    )
    .await?;
    let method = rig
        .api(
            "/users/alice@example.com/contact-methods",
            json!({"channel": "webhook", "address": sink_url}),
        )
        .await?;
    let id = method["contact_method"]["id"].as_str().unwrap_or_default();
    let code = code.lock().unwrap().clone().unwrap_or_default();
    rig.api(
        &format!("/users/alice@example.com/contact-methods/{id}/verify"),
        json!({"code": code}),
    )
    .await?;
    rig.api(
        "/escalation-policies",
        json!({"name": "Ops", "levels": [{"targets": [{"type": "user", "id": "alice@example.com"}], "delay_minutes": 60}]}),
    )
    .await?;
    rig.api("/services", json!({"name": "Bench"})).await?;
    let patched = rig
        .http
        .patch(format!("{}/api/v1/services/Bench", rig.url))
        .bearer_auth(&rig.token)
        .json(&json!({"escalation_policy": "Ops", "urgency": "low"}))
        .send()
        .await?;
    anyhow::ensure!(patched.status().is_success(), "service settings refused");
    let integration = rig
        .api("/services/Bench/integrations", json!({"name": "bench"}))
        .await?;
    rig.routing_key = integration["integration"]["routing_key"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Ok((rig, engine))
}

impl Rig {
    async fn api(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let response = self
            .http
            .post(format!("{}/api/v1{path}", self.url))
            .bearer_auth(&self.token)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        anyhow::ensure!(status.is_success(), "{path}: {status} {body}");
        Ok(body)
    }
}

fn report(label: &str, mut waits: Vec<Duration>, expected: usize) {
    waits.sort();
    let pick = |p: f64| {
        waits
            .get(((waits.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or_default()
    };
    println!(
        "  {label}: {} of {expected} paged; p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        waits.len(),
        pick(0.50).as_secs_f64() * 1e3,
        pick(0.99).as_secs_f64() * 1e3,
        waits.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

/// Events at `rate` per second for `seconds`, each opening an incident; the time from
/// sending the event to its page arriving at the sink.
pub async fn latency(rate: u64, seconds: u64) -> anyhow::Result<()> {
    let (rig, engine) = rig().await?;
    tokio::spawn(engine.run(Arc::new(SystemClock), std::future::pending()));
    let total = (rate * seconds) as usize;
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let http = rig.http.clone();
        let url = format!("{}/v2/enqueue", rig.url);
        let body = json!({
            "routing_key": rig.routing_key, "event_action": "trigger", "dedup_key": format!("k{i}"),
            "payload": {"summary": format!("bench {i}"), "source": "bench", "severity": "error"}
        });
        let sent = sent.clone();
        tasks.push(tokio::spawn(async move {
            let at = Instant::now();
            sent.lock().unwrap().insert(format!("k{i}"), at);
            http.post(url).json(&body).send().await.map(|r| r.status())
        }));
    }
    for t in tasks {
        t.await??;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    // Incident numbers follow the order the events were committed; map them back by key.
    let incidents = rig
        .store
        .list_incidents(&Default::default(), None, u32::MAX)
        .await?;
    let arrivals = rig.arrivals.lock().unwrap().clone();
    let sent = sent.lock().unwrap();
    let waits: Vec<Duration> = incidents
        .incidents
        .iter()
        .filter_map(|i| {
            let at = arrivals.get(&i.number.0)?;
            let from = sent.get(i.dedup_key.as_str())?;
            Some(at.saturating_duration_since(*from))
        })
        .collect();
    println!(
        "paging latency: {rate} events/s for {seconds} s, each a new incident paged by webhook"
    );
    report("event sent → page at the sink", waits, total);
    Ok(())
}

/// `count` incidents whose escalations fall due spread over `spread` seconds, written
/// before the engine starts; the time from each due time to its page at the sink.
pub async fn lateness(count: usize, spread: u64) -> anyhow::Result<()> {
    let (rig, engine) = rig().await?;
    let clock = SystemClock;
    // Give the writes time to land before the first is due.
    let lead = Duration::from_secs(5 + count as u64 / 5000);
    let first_due = clock.now().saturating_add(lead);
    let step = Duration::from_secs(spread).as_secs_f64() / count as f64;
    let mut due_at = Vec::with_capacity(count);
    let mut batch = Vec::with_capacity(500);
    let written = Instant::now();
    for i in 0..count {
        let due = first_due.saturating_add(Duration::from_secs_f64(step * i as f64));
        let body = json!({
            "routing_key": rig.routing_key, "event_action": "trigger", "dedup_key": format!("e{i}"),
            "payload": {"summary": format!("pending {i}"), "source": "bench", "severity": "error"}
        });
        let parsed = parse_alert_event(&body).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        batch.push(Received {
            id: EventId::new(due),
            received_at: due,
            event: Inbound::Alert(parsed.value),
            warnings: Vec::new(),
            from: HandedIn::BySender,
        });
        due_at.push(due);
        if batch.len() == 500 || i + 1 == count {
            rig.store.ingest_batch(&batch).await?;
            batch.clear();
        }
    }
    let pending_at = clock.now();
    anyhow::ensure!(
        pending_at < first_due,
        "writing took {:?}, longer than the lead; raise it",
        written.elapsed()
    );
    println!(
        "escalation lateness: {count} escalations pending, due over {spread} s (written in {:.1} s)",
        written.elapsed().as_secs_f64()
    );
    tokio::spawn(engine.run(Arc::new(SystemClock), std::future::pending()));
    let until = Instant::now() + lead + Duration::from_secs(spread + 60);
    loop {
        let done = rig.arrivals.lock().unwrap().len();
        if done >= count || Instant::now() > until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Instants at the sink → wall-clock times, through one shared reference point.
    let (ref_instant, ref_time) = (Instant::now(), clock.now());
    let arrivals = rig.arrivals.lock().unwrap().clone();
    let waits: Vec<Duration> = arrivals
        .iter()
        .filter_map(|(n, at)| {
            let due = *due_at.get(usize::try_from(*n).ok()?.checked_sub(1)?)?;
            let back = ref_instant.saturating_duration_since(*at);
            let arrived = Timestamp::from_millis(ref_time.as_millis() - back.as_millis() as i64);
            Some(arrived.since(due))
        })
        .collect();
    report("due → page at the sink", waits, count);
    Ok(())
}
