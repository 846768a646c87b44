//! The paging state that follows an incident, and the effects a decision has on it.
//!
//! A decision about an incident (the lifecycle, the ingest batch, an engine stage) returns
//! [`Effect`]s: lines on its timeline, its escalation started, moved or stopped, timers
//! set or cleared, people assigned, notifications planned, messages queued. The store
//! writes them — in one transaction with the incident row — and nothing else decides them.
//!
//! [`Effects`] keeps each incident's effects in a normal form: applying them grouped by
//! kind, in the order of [`Effect::phase`], does the same as applying them one by one in
//! the order they were decided. That lets the store write a whole batch with a few
//! multi-row statements.

use std::collections::HashMap;

use serde_json::Value;

use crate::escalation::Rotation;
use crate::ids::{
    ContactMethodId, DedupKey, EventId, IncidentId, PolicyId, RuleId, ServiceId, UserId,
};
use crate::incident::{Actor, TimelineKind};
use crate::time::Timestamp;

/// The per-incident timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TimerKind {
    /// An acknowledged incident is triggered again.
    AckTimeout,
    /// A snoozed incident is triggered again.
    Snooze,
    /// An incident without events for a while is resolved.
    AutoResolve,
}

impl TimerKind {
    pub const ALL: [TimerKind; 3] = [
        TimerKind::AckTimeout,
        TimerKind::Snooze,
        TimerKind::AutoResolve,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TimerKind::AckTimeout => "ack_timeout",
            TimerKind::Snooze => "snooze",
            TimerKind::AutoResolve => "auto_resolve",
        }
    }

    pub fn parse(text: &str) -> Option<TimerKind> {
        Some(match text {
            "ack_timeout" => TimerKind::AckTimeout,
            "snooze" => TimerKind::Snooze,
            "auto_resolve" => TimerKind::AutoResolve,
            _ => return None,
        })
    }

    fn bit(self) -> u8 {
        match self {
            TimerKind::AckTimeout => 1,
            TimerKind::Snooze => 2,
            TimerKind::AutoResolve => 4,
        }
    }
}

/// A set of timer kinds (which timers a [`Effect::ClearTimers`] removes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimerKinds(u8);

impl TimerKinds {
    /// Every timer: the incident resolved, or was triggered again by hand.
    pub const ALL: TimerKinds = TimerKinds(7);
    /// Every timer but auto-resolution, which follows events rather than people.
    pub const ALL_BUT_AUTO_RESOLVE: TimerKinds = TimerKinds(3);

    pub fn only(kind: TimerKind) -> TimerKinds {
        TimerKinds(kind.bit())
    }

    pub fn contains(self, kind: TimerKind) -> bool {
        self.0 & kind.bit() != 0
    }

    pub fn union(self, other: TimerKinds) -> TimerKinds {
        TimerKinds(self.0 | other.0)
    }

    pub fn kinds(self) -> impl Iterator<Item = TimerKind> {
        TimerKind::ALL
            .into_iter()
            .filter(move |k| self.contains(*k))
    }
}

/// Where an incident's escalation stands: its row in the engine's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EscalationState {
    /// `None` once the incident was handed to people directly: nothing escalates.
    pub policy: Option<PolicyId>,
    /// The level last paged (from 0); `None` before the first.
    pub level: Option<u32>,
    /// 0 on the first pass through the policy, 1 on the first repeat, …
    pub round: u32,
    /// Hand-overs to other policies so far.
    pub hand_overs: u32,
    /// When the engine pages the next level; `None` while nothing is pending.
    pub next_at: Option<Timestamp>,
}

impl EscalationState {
    /// Escalation through `policy` from its first level, due at `at`.
    pub fn start(policy: PolicyId, at: Timestamp) -> EscalationState {
        EscalationState {
            policy: Some(policy),
            level: None,
            round: 0,
            hand_overs: 0,
            next_at: Some(at),
        }
    }

    /// No policy: the incident was handed to people, who are paged directly.
    pub fn handed_to_people() -> EscalationState {
        EscalationState {
            policy: None,
            level: None,
            round: 0,
            hand_overs: 0,
            next_at: None,
        }
    }
}

/// One of a person's notification rules, planned for an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedNotification {
    pub user: UserId,
    pub rule: RuleId,
    pub contact_method: ContactMethodId,
    pub due_at: Timestamp,
    /// Added as a responder by hand: paged while the incident is open, acknowledged or not.
    pub responder: bool,
}

/// A message about an incident to queue for sending at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewMessage {
    pub user: UserId,
    pub contact_method: ContactMethodId,
}

/// What a timeline line says. A line naming an incident opened in the same batch is
/// worded once the incident's number is known.
#[derive(Debug, Clone, PartialEq)]
pub enum Text {
    Plain(String),
    /// "A new trigger arrived while acknowledged and opened incident #N …"
    SupersededBy(IncidentId),
}

impl Text {
    /// The sentence, given the number of the incident a line may name.
    pub fn words(&self, number_of: impl Fn(IncidentId) -> Option<i64>) -> String {
        match self {
            Text::Plain(t) => t.clone(),
            Text::SupersededBy(id) => format!(
                "A new trigger arrived while acknowledged and opened incident #{}; \
                 further events with this dedup key go there",
                number_of(*id).unwrap_or_default()
            ),
        }
    }
}

/// A line to add to an incident's timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub at: Timestamp,
    pub kind: TimelineKind,
    pub actor: Actor,
    pub text: Text,
    /// The event behind the line (its body is stored with the line).
    pub event: Option<EventId>,
    /// Extra facts: warnings about the event, a note's text.
    pub data: Option<Value>,
    /// The door a person came through, for lines of what people did.
    pub via: Option<crate::lifecycle::Via>,
}

impl Line {
    pub fn new(at: Timestamp, kind: TimelineKind, actor: &Actor, text: String) -> Line {
        Line {
            at,
            kind,
            actor: actor.clone(),
            text: Text::Plain(text),
            event: None,
            data: None,
            via: None,
        }
    }
}

/// One thing a decision does besides changing the incident row.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// A line on the incident's timeline.
    Line(Line),
    /// Whatever was about to page for the incident stops: its escalation pauses where it
    /// stands (so "escalate" knows the level), planned notifications are dropped and
    /// messages not yet sent are cancelled.
    StopPaging,
    /// The incident's escalation becomes this (started, moved, or handed to people).
    Escalation(EscalationState),
    /// These timers of the incident go.
    ClearTimers(TimerKinds),
    /// A timer is set (or moved).
    SetTimer { kind: TimerKind, due: Timestamp },
    /// Nobody has the incident any more.
    UnassignAll,
    /// This person has the incident (as well as whoever has it).
    Assign(UserId),
    /// One of a person's notification rules will fire at its time.
    PlanNotification(PlannedNotification),
    /// A message goes out at once.
    SendNow(NewMessage),
    /// A round-robin level's pointer moves on.
    Rotation(Rotation),
    /// Another dedup key of the incident's service joined it as a grouped alert.
    GroupKey { service: ServiceId, key: DedupKey },
}

impl Effect {
    /// The order in which the store writes effects grouped by kind. [`Effects`] keeps
    /// each incident's effects so that this order does what the decided order does.
    pub fn phase(&self) -> u8 {
        match self {
            Effect::StopPaging => 0,
            Effect::ClearTimers(_) => 1,
            Effect::Escalation(_) => 2,
            Effect::UnassignAll => 3,
            Effect::Assign(_) => 4,
            Effect::PlanNotification(_) => 5,
            Effect::SendNow(_) => 6,
            Effect::Rotation(_) => 7,
            Effect::SetTimer { .. } => 8,
            Effect::GroupKey { .. } => 9,
            Effect::Line(_) => 10,
        }
    }
}

/// The effects of one or many decisions, per incident, in the normal form described in
/// the module's documentation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effects {
    /// Incidents in the order they were first touched, each with its effects.
    incidents: Vec<(IncidentId, Vec<Effect>)>,
    index: HashMap<IncidentId, usize>,
}

impl Effects {
    pub fn new() -> Effects {
        Effects::default()
    }

    /// Adds `effect` for `incident`, after everything added before.
    pub fn push(&mut self, incident: IncidentId, effect: Effect) {
        let slot = match self.index.get(&incident) {
            Some(&i) => i,
            None => {
                self.index.insert(incident, self.incidents.len());
                self.incidents.push((incident, Vec::new()));
                self.incidents.len() - 1
            }
        };
        push_normal(&mut self.incidents[slot].1, effect);
    }

    pub fn extend(&mut self, incident: IncidentId, effects: impl IntoIterator<Item = Effect>) {
        for e in effects {
            self.push(incident, e);
        }
    }

    /// Adds everything in `other`, after what is here.
    pub fn append(&mut self, other: Effects) {
        for (incident, effects) in other.incidents {
            self.extend(incident, effects);
        }
    }

    /// Every effect with its incident, in the order the store writes them: by phase, and
    /// within a phase in the order incidents were first touched.
    pub fn in_write_order(&self) -> Vec<(IncidentId, &Effect)> {
        let mut all: Vec<(u8, usize, usize, IncidentId, &Effect)> = Vec::new();
        for (i, (incident, effects)) in self.incidents.iter().enumerate() {
            for (j, e) in effects.iter().enumerate() {
                all.push((e.phase(), i, j, *incident, e));
            }
        }
        all.sort_by_key(|(phase, i, j, _, _)| (*phase, *i, *j));
        all.into_iter().map(|(_, _, _, id, e)| (id, e)).collect()
    }

    /// The effects on one incident, in normal form.
    pub fn of(&self, incident: IncidentId) -> &[Effect] {
        self.index
            .get(&incident)
            .map(|&i| self.incidents[i].1.as_slice())
            .unwrap_or(&[])
    }

    /// The timeline lines on one incident.
    pub fn lines(&self, incident: IncidentId) -> impl Iterator<Item = &Line> {
        self.of(incident).iter().filter_map(|e| match e {
            Effect::Line(l) => Some(l),
            _ => None,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.incidents.iter().all(|(_, e)| e.is_empty())
    }
}

/// Adds `effect` to one incident's list, dropping what it makes pointless, so that the
/// list applied by phase does what the whole sequence applied in order does.
fn push_normal(list: &mut Vec<Effect>, effect: Effect) {
    match &effect {
        Effect::StopPaging => {
            list.retain(|e| !matches!(e, Effect::PlanNotification(_) | Effect::SendNow(_)));
            // An escalation decided earlier stays as it was decided, but paused.
            for e in list.iter_mut() {
                if let Effect::Escalation(state) = e {
                    state.next_at = None;
                }
            }
            if list.contains(&Effect::StopPaging) {
                return;
            }
        }
        Effect::ClearTimers(kinds) => {
            let kinds = *kinds;
            list.retain(|e| !matches!(e, Effect::SetTimer { kind, .. } if kinds.contains(*kind)));
            if let Some(Effect::ClearTimers(earlier)) = list
                .iter_mut()
                .find(|e| matches!(e, Effect::ClearTimers(_)))
            {
                *earlier = earlier.union(kinds);
                return;
            }
        }
        Effect::SetTimer { kind, .. } => {
            let kind = *kind;
            list.retain(|e| !matches!(e, Effect::SetTimer { kind: k, .. } if *k == kind));
        }
        Effect::Escalation(_) => list.retain(|e| !matches!(e, Effect::Escalation(_))),
        Effect::UnassignAll => {
            list.retain(|e| !matches!(e, Effect::Assign(_)));
            if list.contains(&Effect::UnassignAll) {
                return;
            }
        }
        Effect::Assign(_) | Effect::GroupKey { .. } => {
            if list.contains(&effect) {
                return;
            }
        }
        Effect::Rotation(r) => {
            let (policy, level) = (r.policy, r.level);
            list.retain(
                |e| !matches!(e, Effect::Rotation(o) if o.policy == policy && o.level == level),
            );
        }
        Effect::Line(_) | Effect::PlanNotification(_) | Effect::SendNow(_) => {}
    }
    list.push(effect);
}

/// Minutes as a duration.
pub fn minutes(n: u32) -> std::time::Duration {
    std::time::Duration::from_secs(u64::from(n) * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(n: i64) -> Timestamp {
        Timestamp::from_millis(1_800_000_000_000 + n)
    }

    fn id(n: i64) -> IncidentId {
        IncidentId::new(at(n))
    }

    fn policy() -> PolicyId {
        PolicyId::new(at(0))
    }

    /// Applies a list of effects to a model of one incident's paging state, one by one.
    #[derive(Debug, Default, Clone, PartialEq)]
    struct Model {
        escalation: Option<EscalationState>,
        timers: Vec<(TimerKind, Timestamp)>,
        assignees: Vec<UserId>,
        planned: usize,
        outbox_pending: usize,
        lines: usize,
    }

    impl Model {
        fn apply(&mut self, e: &Effect) {
            match e {
                Effect::StopPaging => {
                    if let Some(s) = &mut self.escalation {
                        s.next_at = None;
                    }
                    self.planned = 0;
                    self.outbox_pending = 0;
                }
                Effect::Escalation(s) => self.escalation = Some(*s),
                Effect::ClearTimers(kinds) => self.timers.retain(|(k, _)| !kinds.contains(*k)),
                Effect::SetTimer { kind, due } => {
                    self.timers.retain(|(k, _)| k != kind);
                    self.timers.push((*kind, *due));
                    self.timers.sort();
                }
                Effect::UnassignAll => self.assignees.clear(),
                Effect::Assign(u) => {
                    if !self.assignees.contains(u) {
                        self.assignees.push(*u);
                    }
                }
                Effect::PlanNotification(_) => self.planned += 1,
                Effect::SendNow(_) => self.outbox_pending += 1,
                Effect::Line(_) => self.lines += 1,
                Effect::Rotation(_) | Effect::GroupKey { .. } => {}
            }
        }
    }

    fn some_effects() -> Vec<Effect> {
        let u1 = UserId::new(at(1));
        let u2 = UserId::new(at(2));
        let planned = PlannedNotification {
            user: u1,
            rule: RuleId::new(at(3)),
            contact_method: ContactMethodId::new(at(4)),
            due_at: at(5),
            responder: false,
        };
        vec![
            Effect::StopPaging,
            Effect::Escalation(EscalationState::start(policy(), at(10))),
            Effect::Escalation(EscalationState::handed_to_people()),
            Effect::ClearTimers(TimerKinds::ALL),
            Effect::ClearTimers(TimerKinds::ALL_BUT_AUTO_RESOLVE),
            Effect::ClearTimers(TimerKinds::only(TimerKind::Snooze)),
            Effect::SetTimer {
                kind: TimerKind::AckTimeout,
                due: at(20),
            },
            Effect::SetTimer {
                kind: TimerKind::AutoResolve,
                due: at(30),
            },
            Effect::SetTimer {
                kind: TimerKind::Snooze,
                due: at(40),
            },
            Effect::UnassignAll,
            Effect::Assign(u1),
            Effect::Assign(u2),
            Effect::PlanNotification(planned),
            Effect::SendNow(NewMessage {
                user: u2,
                contact_method: ContactMethodId::new(at(6)),
            }),
            Effect::Line(Line::new(
                at(1),
                TimelineKind::Note,
                &Actor::System,
                "x".to_owned(),
            )),
        ]
    }

    /// Every sequence of up to four effects, written by phase after normalising, leaves
    /// the incident as applying them in order does (from a few starting states).
    #[test]
    fn writing_by_phase_does_what_the_sequence_does() {
        let pool = some_effects();
        let starts = [
            Model::default(),
            Model {
                escalation: Some(EscalationState {
                    policy: Some(policy()),
                    level: Some(1),
                    round: 0,
                    hand_overs: 0,
                    next_at: Some(at(99)),
                }),
                timers: vec![
                    (TimerKind::AckTimeout, at(7)),
                    (TimerKind::AutoResolve, at(8)),
                ],
                assignees: vec![UserId::new(at(9))],
                planned: 2,
                outbox_pending: 1,
                lines: 0,
            },
        ];
        // Every sequence of up to four effects from the pool.
        let mut sequences: Vec<Vec<usize>> = vec![vec![]];
        let mut last: Vec<Vec<usize>> = vec![vec![]];
        for _ in 0..4 {
            last = last
                .iter()
                .flat_map(|s| {
                    (0..pool.len()).map(move |i| {
                        let mut t = s.clone();
                        t.push(i);
                        t
                    })
                })
                .collect();
            sequences.extend(last.iter().cloned());
        }
        let incident = id(0);
        for seq in &sequences {
            for start in &starts {
                let mut in_order = start.clone();
                let mut effects = Effects::new();
                for &i in seq {
                    in_order.apply(&pool[i]);
                    effects.push(incident, pool[i].clone());
                }
                let mut by_phase = start.clone();
                for (_, e) in effects.in_write_order() {
                    by_phase.apply(e);
                }
                assert_eq!(by_phase, in_order, "sequence {seq:?}");
            }
        }
    }

    #[test]
    fn effects_of_different_incidents_keep_their_order_within_a_phase() {
        let mut effects = Effects::new();
        let (a, b) = (id(1), id(2));
        effects.push(b, Effect::StopPaging);
        effects.push(a, Effect::StopPaging);
        effects.push(a, Effect::UnassignAll);
        let order: Vec<IncidentId> = effects.in_write_order().iter().map(|(i, _)| *i).collect();
        assert_eq!(order, vec![b, a, a]);
    }

    #[test]
    fn timer_kinds_are_sets() {
        assert!(TimerKinds::ALL.contains(TimerKind::AutoResolve));
        assert!(!TimerKinds::ALL_BUT_AUTO_RESOLVE.contains(TimerKind::AutoResolve));
        let both =
            TimerKinds::only(TimerKind::Snooze).union(TimerKinds::only(TimerKind::AckTimeout));
        assert_eq!(both, TimerKinds::ALL_BUT_AUTO_RESOLVE);
        assert_eq!(
            both.kinds().collect::<Vec<_>>(),
            vec![TimerKind::AckTimeout, TimerKind::Snooze]
        );
        for k in TimerKind::ALL {
            assert_eq!(TimerKind::parse(k.as_str()), Some(k));
        }
    }
}
