//! Property tests of the real lifecycle and ingest batch: random events in random
//! batches, people's commands and timers firing, with grouping, flapping and maintenance
//! on or off, applied through `batch::Batch` and `lifecycle::decide` exactly as the store
//! applies them. The effects are played onto a model of the paging state.
//!
//! Checked after every step:
//! - at most one open incident holds each key, and only open incidents hold keys;
//! - resolved is final, except that a trigger re-opens a source-resolved incident within
//!   the flap window;
//! - no trigger is lost: every trigger outside maintenance is one alert of some incident;
//! - paging is stopped exactly when an incident is acknowledged or resolved: an open,
//!   triggered incident has an escalation due (or people planned), the others none.

use std::collections::HashMap;

use onduty_core::batch::{Batch, HandedIn, Inbound, Plan, Quiet, Received, Source};
use onduty_core::contact::{NotificationRule, RuleUrgency};
use onduty_core::event::{Act, Alert, AlertEvent, EventAction, Severity};
use onduty_core::incident::{Actor, DedupMode, IncidentStatus};
use onduty_core::lifecycle::{
    Acting, Assignee, Command, Context, IncidentState, Person, PolicyBrief, Settings, Via, decide,
};
use onduty_core::paging::{Effect, Effects, EscalationState, TimerKind};
use onduty_core::{
    ContactMethodId, DedupKey, EventId, IncidentId, IntegrationId, PolicyId, RoutingKey, RuleId,
    ServiceId, Timestamp, UserId,
};
use proptest::prelude::*;
use uuid::Uuid;

const MINUTE: i64 = 60_000;

fn id<T>(make: fn(Uuid) -> T, n: u128) -> T {
    make(Uuid::from_u128(n))
}

#[derive(Debug, Clone)]
enum Step {
    /// Events handed in as one batch: (action, key, milliseconds after the previous).
    Batch(Vec<(EventAction, u8, i64)>),
    /// A person's command on the n-th incident ever opened (modulo the count).
    Person(u8, usize),
    /// The n-th timer due fires.
    Timer(usize),
    /// Minutes pass.
    Wait(i64),
}

fn step() -> impl Strategy<Value = Step> {
    let action = prop_oneof![
        4 => Just(EventAction::Trigger),
        1 => Just(EventAction::Acknowledge),
        2 => Just(EventAction::Resolve),
    ];
    let event = (action, 0u8..4, 0i64..90_000);
    prop_oneof![
        6 => proptest::collection::vec(event, 1..6).prop_map(Step::Batch),
        3 => (0u8..7, any::<usize>()).prop_map(|(c, n)| Step::Person(c, n)),
        2 => any::<usize>().prop_map(Step::Timer),
        2 => (1i64..20).prop_map(Step::Wait),
    ]
}

/// The paging state of one incident, as the effects leave it.
#[derive(Debug, Clone, Default)]
struct Paging {
    escalation: Option<EscalationState>,
    planned: usize,
    timers: HashMap<TimerKind, Timestamp>,
    assignees: Vec<UserId>,
}

impl Paging {
    fn apply(&mut self, e: &Effect) {
        match e {
            Effect::StopPaging => {
                if let Some(s) = &mut self.escalation {
                    s.next_at = None;
                }
                self.planned = 0;
            }
            Effect::Escalation(s) => self.escalation = Some(*s),
            Effect::ClearTimers(kinds) => self.timers.retain(|k, _| !kinds.contains(*k)),
            Effect::SetTimer { kind, due } => {
                self.timers.insert(*kind, *due);
            }
            Effect::UnassignAll => self.assignees.clear(),
            Effect::Assign(u) => {
                if !self.assignees.contains(u) {
                    self.assignees.push(*u);
                }
            }
            Effect::PlanNotification(_) | Effect::SendNow(_) => self.planned += 1,
            Effect::Line(_) | Effect::Rotation(_) | Effect::GroupKey { .. } => {}
        }
    }

    /// Whether anything still pages for the incident.
    fn pages(&self) -> bool {
        self.planned > 0 || self.escalation.is_some_and(|s| s.next_at.is_some())
    }
}

struct World {
    settings: Settings,
    sources: HashMap<RoutingKey, Source>,
    key: RoutingKey,
    service: ServiceId,
    quiet: Quiet,
    incidents: Vec<IncidentState>,
    paging: HashMap<IncidentId, Paging>,
    people: Vec<Person>,
    policies: Vec<PolicyBrief>,
    now: Timestamp,
    triggers_counted: i64,
}

impl World {
    fn new(settings: Settings, maintenance: Option<(i64, i64)>) -> World {
        let service = id(ServiceId::from_uuid, 1);
        let key = RoutingKey::parse("0123456789abcdef0123456789abcdef").unwrap();
        let source = Source {
            id: id(IntegrationId::from_uuid, 2),
            name: "Prometheus".to_owned(),
            service_id: service,
            settings,
            heartbeat: false,
        };
        let now = Timestamp::from_millis(1_800_000_000_000);
        let quiet = maintenance
            .map(|(from, minutes)| {
                let start = Timestamp::from_millis(now.as_millis() + from * MINUTE);
                let end = Timestamp::from_millis(start.as_millis() + minutes * MINUTE);
                HashMap::from([(service, vec![(start, end)])])
            })
            .unwrap_or_default();
        let bob = id(UserId::from_uuid, 3);
        World {
            settings,
            sources: HashMap::from([(key.clone(), source)]),
            key,
            service,
            quiet,
            incidents: Vec::new(),
            paging: HashMap::new(),
            people: vec![Person {
                id: bob,
                name: "Bob".to_owned(),
                rules: vec![NotificationRule {
                    id: id(RuleId::from_uuid, 4),
                    user_id: bob,
                    contact_method: id(ContactMethodId::from_uuid, 5),
                    delay_minutes: 0,
                    urgency: RuleUrgency::Both,
                    repeat: None,
                }],
            }],
            policies: vec![PolicyBrief {
                id: settings.policy.unwrap(),
                name: "Ops".to_owned(),
                levels: 2,
            }],
            now,
            triggers_counted: 0,
        }
    }

    fn event(&self, action: EventAction, key: u8, at: Timestamp) -> Received {
        let dedup_key = DedupKey::parse(&format!("key-{key}")).unwrap();
        let act = match action {
            EventAction::Trigger => Act::Trigger {
                alert: Alert {
                    summary: format!("key {key} broke"),
                    source: "test".to_owned(),
                    severity: Severity::Critical,
                    timestamp: None,
                    component: None,
                    group: None,
                    class: None,
                    custom_details: None,
                },
                dedup_key: Some(dedup_key),
            },
            EventAction::Acknowledge => Act::Acknowledge(dedup_key),
            EventAction::Resolve => Act::Resolve(dedup_key),
        };
        Received {
            id: EventId::new(at),
            received_at: at,
            event: Inbound::Alert(AlertEvent {
                routing_key: Some(self.key.clone()),
                act,
                client: None,
                client_url: None,
                links: Vec::new(),
                images: Vec::new(),
            }),
            warnings: Vec::new(),
            from: HandedIn::BySender,
        }
    }

    fn play(&mut self, effects: &Effects) {
        for (incident, e) in effects.in_write_order() {
            self.paging.entry(incident).or_default().apply(e);
        }
    }

    fn store(&mut self, state: IncidentState) {
        match self.incidents.iter_mut().find(|i| i.id == state.id) {
            Some(slot) => *slot = state,
            None => self.incidents.push(state),
        }
    }

    /// Applies a batch as the store does; returns how many triggers it counted.
    fn batch(&mut self, events: &[(EventAction, u8, i64)]) -> Result<(), TestCaseError> {
        let mut items = Vec::new();
        for (action, key, gap) in events {
            self.now = Timestamp::from_millis(self.now.as_millis() + gap);
            items.push(self.event(*action, *key, self.now));
        }
        let mut batch = Batch::new(&self.sources, self.incidents.clone(), &self.quiet);
        let mut plans = Vec::new();
        for item in &items {
            let plan = batch.apply(item);
            prop_assert!(plan.is_ok(), "an event was refused: {plan:?}");
            plans.push(plan.unwrap());
        }
        let next = self.incidents.len() as i64 + 1;
        batch.number_from(next);
        for (item, plan) in items.iter().zip(&plans) {
            if item.event.is_trigger() && *plan != Plan::Maintenance {
                self.triggers_counted += 1;
            }
            if let Plan::Reopened(w) = plan {
                let s = &batch.incidents()[*w].state;
                prop_assert!(!s.resolved_by_a_person());
            }
        }
        let (tracked, effects) = batch.finish();
        let before: HashMap<IncidentId, IncidentState> =
            self.incidents.iter().map(|i| (i.id, i.clone())).collect();
        for t in tracked {
            if let Some(old) = before.get(&t.state.id)
                && old.status == IncidentStatus::Resolved
                && t.state.status != IncidentStatus::Resolved
            {
                // Re-opened: only within the flap window after its source resolved it.
                let window = self.settings.flap_window_minutes;
                prop_assert!(window.is_some(), "a resolved incident opened again");
                prop_assert!(!old.resolved_by_a_person());
            }
            self.store(t.state);
        }
        self.play(&effects);
        Ok(())
    }

    fn person_command(&mut self, c: u8, pick: usize) -> Result<(), TestCaseError> {
        if self.incidents.is_empty() {
            return Ok(());
        }
        let incident = self.incidents[pick % self.incidents.len()].clone();
        let bob = self.people[0].id;
        let command = match c {
            0 => Command::Acknowledge,
            1 => Command::Resolve,
            2 => Command::Unacknowledge,
            3 => Command::Escalate { level: Some(1) },
            4 => Command::Snooze {
                until: Timestamp::from_millis(self.now.as_millis() + 15 * MINUTE),
            },
            5 => Command::AddResponders(vec![bob]),
            _ => Command::Reassign(Assignee::User(bob)),
        };
        let actor = Actor::User {
            id: id(UserId::from_uuid, 9),
            name: "Alice".to_owned(),
        };
        self.decide(&incident, &command, &Acting::person(actor, Via::Api))
    }

    fn decide(
        &mut self,
        incident: &IncidentState,
        command: &Command,
        acting: &Acting,
    ) -> Result<(), TestCaseError> {
        let paging = self.paging.get(&incident.id).cloned().unwrap_or_default();
        let ctx = Context {
            settings: &self.settings,
            escalation: paging.escalation.as_ref(),
            assignees: &paging.assignees,
            policies: &self.policies,
            people: &self.people,
        };
        match decide(incident, command, acting, &ctx, self.now) {
            Ok(d) => {
                if incident.status == IncidentStatus::Resolved {
                    prop_assert!(!d.changed, "a resolved incident changed: {command:?}");
                }
                prop_assert_eq!(d.changed, !d.effects.is_empty());
                self.store(d.incident);
                self.play(&d.effects);
            }
            Err(refused) => {
                // Only a resolved incident refuses these commands.
                prop_assert_eq!(
                    incident.status,
                    IncidentStatus::Resolved,
                    "{:?} refused: {}",
                    command,
                    refused
                );
            }
        }
        Ok(())
    }

    fn fire_timer(&mut self, pick: usize) -> Result<(), TestCaseError> {
        let mut due: Vec<(IncidentId, TimerKind, Timestamp)> = self
            .paging
            .iter()
            .flat_map(|(id, p)| p.timers.iter().map(|(k, t)| (*id, *k, *t)))
            .collect();
        if due.is_empty() {
            return Ok(());
        }
        due.sort_by_key(|(id, k, t)| (*t, *id, *k));
        let (incident, kind, at) = due[pick % due.len()];
        self.now = self.now.max(at);
        self.paging.get_mut(&incident).unwrap().timers.remove(&kind);
        let state = self
            .incidents
            .iter()
            .find(|i| i.id == incident)
            .unwrap()
            .clone();
        self.decide(&state, &Command::Timer(kind), &Acting::onduty())
    }

    fn check(&self) -> Result<(), TestCaseError> {
        let mut holders: HashMap<&DedupKey, usize> = HashMap::new();
        for i in &self.incidents {
            prop_assert_eq!(i.service_id, self.service);
            if i.holds_key {
                prop_assert!(i.status.is_open(), "a resolved incident holds its key");
                *holders.entry(&i.dedup_key).or_default() += 1;
            }
            let pages = self.paging.get(&i.id).is_some_and(Paging::pages);
            match i.status {
                IncidentStatus::Triggered => {
                    prop_assert!(pages, "a triggered incident pages nobody: {i:?}")
                }
                IncidentStatus::Acknowledged | IncidentStatus::Resolved => {
                    // Responders added by hand are paged while acknowledged, by design.
                    let escalating = self
                        .paging
                        .get(&i.id)
                        .and_then(|p| p.escalation)
                        .is_some_and(|s| s.next_at.is_some());
                    prop_assert!(!escalating, "a {:?} incident escalates", i.status);
                    if i.status == IncidentStatus::Resolved {
                        prop_assert!(!pages, "a resolved incident pages");
                    }
                }
            }
        }
        prop_assert!(
            holders.values().all(|&n| n == 1),
            "two open incidents hold one key"
        );
        let alerts: i64 = self.incidents.iter().map(|i| i.alert_count).sum();
        prop_assert_eq!(alerts, self.triggers_counted, "a trigger was lost");
        Ok(())
    }
}

fn settings() -> impl Strategy<Value = (Settings, Option<(i64, i64)>)> {
    (
        prop_oneof![Just(DedupMode::Open), Just(DedupMode::Triggered)],
        proptest::option::of(1u32..10),
        proptest::option::of(1u32..15),
        proptest::option::of(1u32..60),
        proptest::option::of((0i64..30, 1i64..30)),
    )
        .prop_map(|(dedup_mode, group, flap, auto_resolve, maintenance)| {
            (
                Settings {
                    dedup_mode,
                    policy: Some(id(PolicyId::from_uuid, 7)),
                    ack_timeout_minutes: Some(30),
                    auto_resolve_minutes: auto_resolve,
                    group_window_minutes: group,
                    flap_window_minutes: flap,
                    ..Settings::default()
                },
                maintenance,
            )
        })
}

fn cases() -> u32 {
    std::env::var("ONDUTY_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(256)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn any_story_keeps_the_invariants(
        (settings, maintenance) in settings(),
        steps in proptest::collection::vec(step(), 0..50),
    ) {
        let mut world = World::new(settings, maintenance);
        for s in steps {
            match s {
                Step::Batch(events) => world.batch(&events)?,
                Step::Person(c, pick) => world.person_command(c, pick)?,
                Step::Timer(pick) => world.fire_timer(pick)?,
                Step::Wait(minutes) => {
                    world.now = Timestamp::from_millis(world.now.as_millis() + minutes * MINUTE);
                }
            }
            world.check()?;
        }
    }
}
