//! A report over many incidents: onduty in process on SQLite, N incidents spread over two
//! years written straight into `incident_facts` (as the incident writer would have left
//! them; the database's triggers keep the roll-ups) and `responder_facts` (pages sorted
//! as the engine would have), a thousand more open ones through the real ingest path,
//! then `GET /api/v1/reports` over loopback HTTP for the whole two years, and with filters.

use std::time::{Duration, Instant};

use onduty_core::account::{Email, Name, Role, TimeZoneName, TokenSecret};
use onduty_core::batch::{HandedIn, Inbound, Received};
use onduty_core::event::parse_alert_event;
use onduty_core::incident::DedupMode;
use onduty_core::lifecycle::AckChannel;
use onduty_core::report::{HourClass, local_week};
use onduty_core::service::IntegrationKind;
use onduty_core::{EventId, IncidentId, RoutingKey, Timestamp, UserId};
use onduty_store::services::{NewIntegration, NewService};
use onduty_store::users::NewUser;
use serde_json::json;
use sqlx::Connection;

const SERVICES: usize = 40;
const PEOPLE: usize = 20;
/// Alert keys per service, at most.
const KEYS: u64 = 500;
const DAY_MS: i64 = 86_400_000;

/// A small deterministic generator (xorshift64*), so that every run seeds the same.
struct Dice(u64);

impl Dice {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Roughly log-uniform between `lo` and `hi` seconds: many quick, a few slow.
    fn seconds(&mut self, lo: f64, hi: f64) -> i64 {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        (lo * (hi / lo).powf(u)) as i64
    }
}

pub async fn report(incidents: usize, runs: usize) -> anyhow::Result<()> {
    let (dir, store, clock, admin) = crate::paging::store_with_admin().await?;
    let now = clock.now();
    let mut services = Vec::new();
    for i in 0..SERVICES {
        let s = store
            .create_service(
                NewService {
                    name: Name::parse(&format!("Service {i}"))?,
                    description: String::new(),
                    dedup_mode: DedupMode::Open,
                    settings: Default::default(),
                    draft_postmortems: true,
                },
                now,
            )
            .await?;
        services.push(s.id);
    }
    let mut people: Vec<UserId> = Vec::new();
    let mut zones = Vec::new();
    for i in 0..PEOPLE {
        let zone = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo"][i % 4];
        zones.push(jiff::tz::TimeZone::get(zone)?);
        let u = store
            .create_user(
                NewUser {
                    email: Email::parse(&format!("person{i}@example.com"))?,
                    name: Name::parse(&format!("Person {i}"))?,
                    role: Role::Responder,
                    time_zone: TimeZoneName::parse(zone)?,
                },
                now,
            )
            .await?;
        people.push(u.id);
    }

    let seeded = Instant::now();
    seed(&dir, incidents, &services, &people, &zones, now).await?;
    open_incidents(&store, services[0], now).await?;
    println!(
        "reports: {incidents} incidents over 2 years in {SERVICES} services, {PEOPLE} people \
         (seeded in {:.1} s), {runs} runs each, over loopback",
        seeded.elapsed().as_secs_f64()
    );

    let secret = TokenSecret::from_random([4; 20]);
    store.create_token(admin.id, "bench", &secret, now).await?;
    let url = crate::pages::serve(&store, clock).await?;
    let http = reqwest::Client::new();
    let from = Timestamp::from_millis(now.as_millis() - 730 * DAY_MS).to_rfc3339();
    // The open incidents were opened at `now`: the period ends just after.
    let to = now.saturating_add(Duration::from_secs(60)).to_rfc3339();
    let period = format!("from={from}&to={to}");
    for (label, query) in [
        ("2 years, all incidents", period.clone()),
        (
            "2 years, one service",
            format!("{period}&service=Service%207"),
        ),
        ("2 years, low urgency", format!("{period}&urgency=low")),
        ("2 years, as CSV", format!("{period}&format=csv")),
        ("last 28 days", String::new()),
    ] {
        let mut times = Vec::with_capacity(runs);
        let mut size = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let response = http
                .get(format!("{url}/api/v1/reports?{query}"))
                .bearer_auth(secret.expose())
                .send()
                .await?;
            let status = response.status();
            let body = response.bytes().await?;
            times.push(t.elapsed());
            anyhow::ensure!(status.is_success(), "{label}: {status}");
            size = body.len();
        }
        times.sort();
        println!(
            "  {label:<24} p50 {:>7.1} ms   max {:>7.1} ms   ({size} bytes)",
            ms(times[times.len() / 2]),
            ms(times[times.len() - 1]),
        );
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Writes the roll-up rows of `incidents` settled incidents, spread over the two years
/// before `now`, in transactions of 50,000.
async fn seed(
    dir: &tempfile::TempDir,
    incidents: usize,
    services: &[onduty_core::ServiceId],
    people: &[UserId],
    zones: &[jiff::tz::TimeZone],
    now: Timestamp,
) -> anyhow::Result<()> {
    let url = onduty_store::sqlite_url_in(dir.path());
    let mut conn = sqlx::SqliteConnection::connect(&url).await?;
    let mut dice = Dice(0x9E37_79B9_7F4A_7C15);
    let start = now.as_millis() - 730 * DAY_MS;
    let span = 730 * DAY_MS as u64;
    let mut done = 0;
    while done < incidents {
        let mut tx = conn.begin().await?;
        let end = (done + 50_000).min(incidents);
        for chunk_start in (done..end).step_by(500) {
            let chunk_end = (chunk_start + 500).min(end);
            let mut facts = String::from(
                "INSERT INTO incident_facts (created_at, incident_id, service_id, urgency, dedup_key, \
                 acknowledged_at, ack_via, resolved_at, auto_resolved, escalated, reopens, alerts) VALUES ",
            );
            let mut responders = String::from(
                "INSERT OR IGNORE INTO responder_facts (incident_id, user_id, service_id, urgency, \
                 paged_at, acknowledged_at, resolved_at, page_class, page_week) VALUES ",
            );
            for n in chunk_start..chunk_end {
                let created = start + dice.below(span) as i64;
                let id = IncidentId::new(Timestamp::from_millis(created));
                let which_service = dice.below(services.len() as u64);
                let service = services[which_service as usize];
                let urgency = if dice.below(5) == 0 { "low" } else { "high" };
                // Each service's own checks, a few of them much noisier than the rest.
                let key = format!("check-{which_service}-{}", dice.seconds(1.0, KEYS as f64));
                let acked = dice.below(10) < 9;
                let ack_at = created + dice.seconds(5.0, 7200.0) * 1000;
                let via = AckChannel::ALL[dice.below(AckChannel::ALL.len() as u64) as usize];
                let resolved_at = ack_at + dice.seconds(30.0, 36_000.0) * 1000;
                let auto = dice.below(10) < 3;
                let escalated = dice.below(10) == 0;
                let reopens = u64::from(dice.below(20) == 0);
                let alerts = 1 + dice.below(4);
                let which = dice.below(people.len() as u64) as usize;
                let (person, zone) = (people[which], &zones[which]);
                let paged = Timestamp::from_millis(created + 1000);
                let class = HourClass::of(paged, zone).as_str();
                let week = local_week(paged, zone).unwrap_or_default();
                let sep = if n == chunk_start { "" } else { "," };
                let (ack, ack_via) = if acked {
                    (ack_at.to_string(), format!("'{}'", via.as_str()))
                } else {
                    ("NULL".to_owned(), "NULL".to_owned())
                };
                facts.push_str(&format!(
                    "{sep}({created},'{id}','{service}','{urgency}','{key}',{ack},{ack_via},\
                     {resolved_at},{},{},{reopens},{alerts})",
                    i64::from(auto),
                    i64::from(escalated)
                ));
                let person_ack = if acked && !auto {
                    ack.clone()
                } else {
                    "NULL".to_owned()
                };
                responders.push_str(&format!(
                    "{sep}('{id}','{person}','{service}','{urgency}',{},{person_ack},{},'{class}',{week})",
                    created + 1000,
                    if auto {
                        "NULL".to_owned()
                    } else {
                        resolved_at.to_string()
                    }
                ));
            }
            sqlx::raw_sql(sqlx::AssertSqlSafe(facts))
                .execute(&mut *tx)
                .await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(responders))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        done = end;
    }
    sqlx::raw_sql("ANALYZE").execute(&mut conn).await?;
    Ok(())
}

/// A thousand open incidents through the ingest path, so that the report also reads
/// alert counts from open incidents.
async fn open_incidents(
    store: &onduty_store::Store,
    service: onduty_core::ServiceId,
    now: Timestamp,
) -> anyhow::Result<()> {
    let routing_key = RoutingKey::from_random([6; 16]);
    store
        .create_integration(
            NewIntegration {
                settings: Default::default(),
                service_id: service,
                name: Name::parse("bench")?,
                kind: IntegrationKind::EventsV2,
                routing_key: routing_key.clone(),
            },
            now,
        )
        .await?;
    let batch: Vec<Received> = (0..1000)
        .map(|i| {
            let body = json!({
                "routing_key": routing_key.as_str(), "event_action": "trigger",
                "dedup_key": format!("open-{i}"),
                "payload": {"summary": format!("Open {i}"), "source": "bench", "severity": "error"}
            });
            Received {
                id: EventId::new(now),
                received_at: now,
                event: Inbound::Alert(parse_alert_event(&body).expect("a valid event").value),
                warnings: Vec::new(),
                from: HandedIn::BySender,
            }
        })
        .collect();
    store.ingest_batch(&batch).await?;
    Ok(())
}
