//! Schedule benchmarks: the final schedule of a big schedule over 90 days, and "who is
//! on call now" across many schedules — in the core alone, and through the store as
//! `/oncall` does it (SQLite in a temporary directory).

use std::time::{Duration, Instant};

use jiff::civil::{Time, date};
use onduty_core::account::{Name, TimeZoneName};
use onduty_core::schedule::{
    Day, Layer, Override, Restriction, Schedule, ShiftLength, Window, final_schedule, on_call_at,
};
use onduty_core::{Clock, OverrideId, ScheduleId, SystemClock, Timestamp, UserId};
use onduty_store::{Store, StoreOptions};

const ZONES: [&str; 4] = [
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "Asia/Kolkata",
];

fn people(n: usize, salt: u64) -> Vec<UserId> {
    (0..n)
        .map(|i| UserId::from_uuid(uuid::Uuid::from_u64_pair(salt, i as u64)))
        .collect()
}

/// `layers` layers of `per_layer` people each, mixing shift lengths and restrictions
/// (upper layers cover nights, weekends or business hours only).
fn big_schedule(layers: usize, per_layer: usize, zone: &str, salt: u64) -> Schedule {
    let shifts = [
        ShiftLength::Weeks(1),
        ShiftLength::Days(1),
        ShiftLength::Hours(12),
        ShiftLength::Hours(8),
        ShiftLength::Days(2),
    ];
    let layers = (0..layers)
        .map(|i| {
            let restrictions = match i % 4 {
                0 => Vec::new(),
                1 => vec![Restriction::Daily {
                    start: Time::constant(20, 0, 0, 0),
                    end: Time::constant(8, 0, 0, 0),
                }],
                2 => vec![Restriction::Weekly {
                    start_day: Day::Friday,
                    start: Time::constant(18, 0, 0, 0),
                    end_day: Day::Monday,
                    end: Time::constant(9, 0, 0, 0),
                }],
                _ => [
                    Day::Monday,
                    Day::Tuesday,
                    Day::Wednesday,
                    Day::Thursday,
                    Day::Friday,
                ]
                .into_iter()
                .map(|d| Restriction::Weekly {
                    start_day: d,
                    start: Time::constant(9, 0, 0, 0),
                    end_day: d,
                    end: Time::constant(17, 0, 0, 0),
                })
                .collect(),
            };
            Layer {
                name: format!("layer {i}"),
                participants: people(per_layer, salt * 100 + i as u64),
                start: date(2026, 1, 5).at(9, 0, 0, 0),
                shift: shifts[i % shifts.len()],
                restrictions,
            }
        })
        .collect();
    Schedule {
        id: ScheduleId::from_uuid(uuid::Uuid::from_u64_pair(salt, u64::MAX)),
        name: Name::parse(&format!("schedule {salt}")).expect("a valid name"),
        description: String::new(),
        time_zone: TimeZoneName::parse(zone).expect("a known zone"),
        team_id: None,
        layers,
    }
}

fn overrides(count: usize, from: Timestamp, user: UserId) -> Vec<Override> {
    (0..count)
        .map(|i| {
            let start = from.saturating_add(Duration::from_secs(i as u64 * 4 * 24 * 3600));
            Override {
                id: OverrideId::from_uuid(uuid::Uuid::from_u64_pair(7, i as u64)),
                user,
                start,
                end: start.saturating_add(Duration::from_secs(36 * 3600)),
                created_at: from,
                seq: i as i64,
            }
        })
        .collect()
}

fn report(label: &str, mut times: Vec<Duration>) {
    times.sort();
    let pick = |p: f64| times[((times.len() as f64 * p).ceil() as usize).saturating_sub(1)];
    println!(
        "  {label}: {} runs; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        times.len(),
        pick(0.5).as_secs_f64() * 1e3,
        pick(0.99).as_secs_f64() * 1e3,
        times.last().unwrap().as_secs_f64() * 1e3
    );
}

/// The final schedule of a `layers` × `per_layer` schedule with 20 overrides over `days`.
pub fn final_big(layers: usize, per_layer: usize, days: u64, runs: usize) {
    let from = Timestamp::parse("2026-03-01T00:00:00Z").expect("a timestamp");
    let window = Window::new(
        from,
        from.saturating_add(Duration::from_secs(days * 24 * 3600)),
    )
    .expect("a window");
    println!(
        "final schedule: {layers} layers × {per_layer} people, 20 overrides, {days} days (across clock changes), {runs} runs per zone"
    );
    for zone in ZONES {
        let schedule = big_schedule(layers, per_layer, zone, 1);
        let rota = schedule.rota(overrides(20, from, schedule.layers[0].participants[0]));
        let mut times = Vec::with_capacity(runs);
        let mut shifts = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let f = final_schedule(&rota, window);
            times.push(t.elapsed());
            shifts = f.shifts.len();
        }
        report(&format!("{zone} ({shifts} final shifts)"), times);
    }
}

/// Who is on call now in each of `count` schedules (3 layers of 8 people each).
pub async fn on_call_many(count: usize, runs: usize) -> anyhow::Result<()> {
    let schedules: Vec<Schedule> = (0..count)
        .map(|i| big_schedule(3, 8, ZONES[i % ZONES.len()], i as u64 + 10))
        .collect();
    let now = SystemClock.now();
    println!("on call now: {count} schedules of 3 layers × 8 people, {runs} runs");
    let rotas: Vec<_> = schedules.iter().map(|s| s.rota(Vec::new())).collect();
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let on_call: usize = rotas.iter().map(|r| on_call_at(r, now).len()).sum();
        times.push(t.elapsed());
        anyhow::ensure!(on_call > 0, "nobody on call anywhere");
    }
    report("core: on_call_at for every schedule", times);

    let dir = tempfile::tempdir()?;
    let store = Store::open(
        &onduty_store::sqlite_url_in(dir.path()),
        &StoreOptions::default(),
    )
    .await?;
    for s in &schedules {
        store.create_schedule(s, now).await?;
    }
    // The first listing parses every schedule; later ones only what changed.
    let t = Instant::now();
    let first = store.list_schedules().await?;
    println!(
        "  first read of {} schedules by this instance (parses them all): {:.2} ms",
        first.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let instant = Window::new(now, now.saturating_add(Duration::from_millis(1)))?;
        let mut overrides = store.all_overrides(instant).await?;
        let mut on_call = 0;
        for s in store.list_schedules().await? {
            let rota = s.rota(overrides.remove(&s.id).unwrap_or_default());
            on_call += on_call_at(&rota, now).len();
        }
        times.push(t.elapsed());
        anyhow::ensure!(on_call > 0, "nobody on call anywhere");
    }
    report(
        "store + core: read every schedule and its overrides, then on_call_at",
        times,
    );
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        let read = store.list_schedules().await?;
        times.push(t.elapsed());
        anyhow::ensure!(read.len() == count, "schedules missing");
    }
    report("of which listing the schedules", times);
    Ok(())
}
