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

#[cfg(test)]
mod tests {
    use super::*;
    use onduty_core::account::{Name, TimeZoneName};
    use onduty_core::contact::{Address, Channel, ContactMethod, NotificationRule, RuleUrgency};
    use onduty_core::schedule::{Layer, ShiftLength};
    use onduty_core::{ContactMethodId, RuleId};

    fn at(text: &str) -> Timestamp {
        Timestamp::parse(text).unwrap()
    }

    struct Rota {
        ada: UserId,
        schedule: Schedule,
        people: HashMap<UserId, Person>,
    }

    /// Ada and Bob take daily turns at 09:00 Berlin time (08:00 UTC in November), Ada
    /// first on Monday 23 November; Ada wants to know 30 minutes ahead.
    fn rota(ada_has_an_immediate_rule: bool) -> Rota {
        let t = at("2026-11-01T00:00:00Z");
        let (ada, bob) = (UserId::new(t), UserId::new(at("2026-11-01T00:00:01Z")));
        let mail = ContactMethod {
            id: ContactMethodId::new(t),
            user_id: ada,
            name: "mail".to_owned(),
            channel: Channel::Email,
            address: Address::parse(Channel::Email, "ada@example.com").unwrap(),
            verified: true,
            failing: None,
            created_at: t,
        };
        let person = Person {
            name: "Ada".to_owned(),
            rules: vec![NotificationRule {
                id: RuleId::new(t),
                user_id: ada,
                contact_method: mail.id,
                delay_minutes: if ada_has_an_immediate_rule { 0 } else { 5 },
                urgency: RuleUrgency::Both,
                repeat: None,
            }],
            methods: vec![mail],
            time_zone: None,
        };
        let schedule = Schedule {
            id: ScheduleId::new(t),
            name: Name::parse("Ops rota").unwrap(),
            description: String::new(),
            time_zone: TimeZoneName::parse("Europe/Berlin").unwrap(),
            team_id: None,
            layers: vec![Layer {
                name: "daily".to_owned(),
                participants: vec![ada, bob],
                start: "2026-11-23T09:00".parse().unwrap(),
                shift: ShiftLength::Days(1),
                restrictions: Vec::new(),
            }],
        };
        Rota {
            ada,
            schedule,
            people: HashMap::from([(ada, person)]),
        }
    }

    fn scan_at(rota: &Rota, now: &str) -> (Vec<HandoffNotice>, Timestamp) {
        let subscribers = [(rota.ada, 30)];
        let now = at(now);
        plan(&Scan {
            subscribers: &subscribers,
            schedules: std::slice::from_ref(&rota.schedule),
            overrides: HashMap::new(),
            people: &rota.people,
            window: window(&subscribers, now),
            now,
        })
    }

    #[test]
    fn a_shift_is_announced_its_lead_time_ahead_and_its_end_once_it_ends() {
        let rota = rota(true);

        // Before the lead time: nothing yet, and the next look is when the notice is due.
        let (notices, next) = scan_at(&rota, "2026-11-23T07:28:00Z");
        assert!(notices.is_empty(), "{notices:?}");
        assert_eq!(next, at("2026-11-23T07:30:00Z"));

        let (notices, _) = scan_at(&rota, "2026-11-23T07:30:00Z");
        assert_eq!(notices.len(), 1, "{notices:?}");
        let start = &notices[0];
        assert_eq!(
            (start.user, start.kind, start.at),
            (rota.ada, HandoffKind::Start, at("2026-11-23T08:00:00Z"))
        );
        assert_eq!(start.methods, vec![rota.people[&rota.ada].methods[0].id]);
        assert_eq!(
            start.text,
            "Your on-call shift in Ops rota starts Mon 23 Nov 09:00 (Europe/Berlin)."
        );

        // Ten minutes after Ada hands over to Bob.
        let (notices, _) = scan_at(&rota, "2026-11-24T08:10:00Z");
        assert_eq!(notices.len(), 1, "{notices:?}");
        assert_eq!(
            (notices[0].kind, notices[0].at),
            (HandoffKind::End, at("2026-11-24T08:00:00Z"))
        );
        assert_eq!(
            notices[0].text,
            "Your on-call shift in Ops rota ended Tue 24 Nov 09:00 (Europe/Berlin)."
        );
    }

    #[test]
    fn late_notices_and_people_without_an_immediate_rule_are_left_out() {
        // The engine was down past the grace: the end is not announced late.
        let (notices, _) = scan_at(&rota(true), "2026-11-24T08:40:00Z");
        assert!(notices.is_empty(), "{notices:?}");
        // Handoff notices go only through rules that fire at once.
        let (notices, _) = scan_at(&rota(false), "2026-11-23T07:30:00Z");
        assert!(notices.is_empty(), "{notices:?}");
    }
}
