//! The handoffs stage: people who asked are told their on-call shift starts (their lead
//! time ahead) or has ended, once each, through the contact methods of their immediate
//! rules. Load the subscribers, schedules, overrides and people; plan the notices and when
//! to look again; apply by queueing them (`handoff_notices` makes each one once). Looks at
//! least every 5 minutes, and when the next notice is due.

use std::collections::HashMap;
use std::time::Duration;

use onduty_core::schedule::{Override, Schedule, Window, final_schedule};
use onduty_core::{ScheduleId, Timestamp, UserId};
use onduty_store::schedules::{HandoffKind, HandoffNotice};

use crate::directory::{Directory, Person};
use crate::text::wall_clock;
use crate::{Engine, EngineError};

/// How often the engine looks for handoff notifications at least (schedules, overrides
/// and settings change).
const RESCAN: Duration = Duration::from_secs(5 * 60);
/// A handoff notification later than this after its moment is not sent (the engine was
/// down, say): it would only confuse. Well above `RESCAN`, so that a change made just
/// before a handoff is still seen in time.
const GRACE: Duration = Duration::from_secs(30 * 60);

/// Returns when to look again (`None` while nobody wants handoff notifications).
pub(crate) async fn run(engine: &Engine, now: Timestamp) -> Result<Option<Timestamp>, EngineError> {
    let planned = *engine.handoff_scan.lock().expect("not poisoned");
    if let Some(at) = planned
        && now < at
    {
        return Ok(Some(at));
    }
    let subscribers = engine.store.handoff_subscribers().await?;
    if subscribers.is_empty() {
        *engine.handoff_scan.lock().expect("not poisoned") = Some(now.saturating_add(RESCAN));
        return Ok(None);
    }
    let window = window(&subscribers, now);
    let overrides = engine.store.all_overrides(window).await?;
    let schedules = engine.store.list_schedules().await?;
    let mut people = Directory::default();
    let users: Vec<UserId> = subscribers.iter().map(|(u, _)| *u).collect();
    people.load_people(&engine.store, &users).await?;
    let (notices, next) = plan(&Scan {
        subscribers: &subscribers,
        schedules: &schedules,
        overrides,
        people: &people.people,
        window,
        now,
    });
    engine.store.queue_handoff_notices(&notices, now).await?;
    *engine.handoff_scan.lock().expect("not poisoned") = Some(next);
    Ok(Some(next))
}

/// The span a scan looks at: back by the grace, ahead by the longest lead and the next
/// scan.
fn window(subscribers: &[(UserId, u32)], now: Timestamp) -> Window {
    let longest = subscribers.iter().map(|(_, lead)| *lead).max().unwrap_or(0);
    Window {
        start: Timestamp::from_millis(now.as_millis() - GRACE.as_millis() as i64),
        end: now.saturating_add(Duration::from_secs(u64::from(longest) * 60) + RESCAN + GRACE),
    }
}

/// What a scan reads.
pub(crate) struct Scan<'a> {
    /// People who want handoff notifications, and their lead time in minutes.
    pub subscribers: &'a [(UserId, u32)],
    pub schedules: &'a [Schedule],
    pub overrides: HashMap<ScheduleId, Vec<Override>>,
    pub people: &'a HashMap<UserId, Person>,
    pub window: Window,
    pub now: Timestamp,
}

/// The notices due now, and when the next one falls due (or the next scan).
pub(crate) fn plan(scan: &Scan) -> (Vec<HandoffNotice>, Timestamp) {
    let (window, now) = (scan.window, scan.now);
    let mut overrides = scan.overrides.clone();
    let mut notices = Vec::new();
    let mut next = now.saturating_add(RESCAN);
    for schedule in scan.schedules {
        let rota = schedule.rota(overrides.remove(&schedule.id).unwrap_or_default());
        let zone = rota.time_zone.clone();
        let stretches = final_schedule(&rota, window).stretches();
        for (user, lead) in scan.subscribers {
            let lead = Duration::from_secs(u64::from(*lead) * 60);
            for stretch in stretches.iter().filter(|s| s.user == *user) {
                let (start, end) = (stretch.start, stretch.end);
                let mut due = Vec::new();
                if start > window.start {
                    let tell = Timestamp::from_millis(start.as_millis() - lead.as_millis() as i64);
                    due.push((HandoffKind::Start, start, tell));
                }
                if end < window.end {
                    due.push((HandoffKind::End, end, end));
                }
                for (kind, at, tell) in due {
                    if tell > now {
                        next = next.min(tell);
                        continue;
                    }
                    if now >= at.saturating_add(GRACE) {
                        continue;
                    }
                    let methods = scan
                        .people
                        .get(user)
                        .map(Person::immediate_methods)
                        .unwrap_or_default();
                    if methods.is_empty() {
                        continue;
                    }
                    let text = match kind {
                        // The scan sees only so far ahead: an end beyond it is not known.
                        HandoffKind::Start if end < window.end => format!(
                            "Your on-call shift in {} starts {} and ends {} ({}).",
                            schedule.name,
                            wall_clock(start, &zone),
                            wall_clock(end, &zone),
                            schedule.time_zone
                        ),
                        HandoffKind::Start => format!(
                            "Your on-call shift in {} starts {} ({}).",
                            schedule.name,
                            wall_clock(start, &zone),
                            schedule.time_zone
                        ),
                        HandoffKind::End => format!(
                            "Your on-call shift in {} ended {} ({}).",
                            schedule.name,
                            wall_clock(end, &zone),
                            schedule.time_zone
                        ),
                    };
                    notices.push(HandoffNotice {
                        schedule: schedule.id,
                        user: *user,
                        kind,
                        at,
                        methods,
                        text,
                    });
                }
            }
        }
    }
    (notices, next)
}
