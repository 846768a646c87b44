//! Property tests of the dedup rules and the incident lifecycle: random sequences of
//! events and human actions, applied to an in-memory model, never break the invariants.

use std::collections::HashMap;

use onduty_core::event::EventAction;
use onduty_core::incident::{
    Action, Decision, DedupMode, IncidentStatus, OpenIncident, decide, transition,
};
use onduty_core::{IncidentId, Timestamp};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Incident {
    id: IncidentId,
    key: u8,
    status: IncidentStatus,
    holds_key: bool,
    alerts: u32,
}

#[derive(Debug, Clone)]
enum Step {
    Event(EventAction, u8),
    /// A person acts on the n-th incident ever opened (modulo the count).
    Human(Action, usize),
}

fn step() -> impl Strategy<Value = Step> {
    let action = prop_oneof![
        3 => Just(EventAction::Trigger),
        1 => Just(EventAction::Acknowledge),
        1 => Just(EventAction::Resolve),
    ];
    prop_oneof![
        4 => (action, 0u8..3).prop_map(|(a, k)| Step::Event(a, k)),
        1 => (prop_oneof![Just(Action::Acknowledge), Just(Action::Resolve), Just(Action::Unacknowledge)], any::<usize>())
            .prop_map(|(a, n)| Step::Human(a, n)),
    ]
}

/// Applies one event the way the store does: load open incidents with the key, decide, apply.
fn apply_event(
    mode: DedupMode,
    all: &mut Vec<Incident>,
    action: EventAction,
    key: u8,
    n: &mut i64,
) -> Decision {
    let open: Vec<OpenIncident> = all
        .iter()
        .filter(|i| i.key == key && i.status.is_open())
        .map(|i| OpenIncident {
            id: i.id,
            status: i.status,
            holds_key: i.holds_key,
        })
        .collect();
    let decision = decide(mode, action, &open);
    let find =
        |all: &mut Vec<Incident>, id: IncidentId| all.iter_mut().position(|i| i.id == id).unwrap();
    match &decision {
        Decision::Open { supersedes } => {
            if let Some(old) = supersedes {
                let p = find(all, *old);
                all[p].holds_key = false;
            }
            *n += 1;
            all.push(Incident {
                id: IncidentId::new(Timestamp::from_millis(*n)),
                key,
                status: IncidentStatus::Triggered,
                holds_key: true,
                alerts: 1,
            });
        }
        Decision::Append(id) => {
            let p = find(all, *id);
            all[p].alerts += 1;
        }
        Decision::Acknowledge(id) => {
            let p = find(all, *id);
            all[p].status = transition(all[p].status, Action::Acknowledge)
                .unwrap()
                .unwrap();
        }
        Decision::AlreadyAcknowledged(_) | Decision::Ignore => {}
        Decision::Resolve(ids) => {
            for id in ids {
                let p = find(all, *id);
                all[p].status = transition(all[p].status, Action::Resolve).unwrap().unwrap();
                all[p].holds_key = false;
            }
        }
    }
    decision
}

fn check_invariants(mode: DedupMode, all: &[Incident]) {
    let mut holders: HashMap<u8, usize> = HashMap::new();
    let mut open: HashMap<u8, usize> = HashMap::new();
    let mut triggered: HashMap<u8, usize> = HashMap::new();
    for i in all {
        if i.holds_key {
            assert!(
                i.status.is_open(),
                "a resolved incident holds its key: {i:?}"
            );
            *holders.entry(i.key).or_default() += 1;
        }
        if i.status.is_open() {
            *open.entry(i.key).or_default() += 1;
        }
        if i.status == IncidentStatus::Triggered {
            *triggered.entry(i.key).or_default() += 1;
        }
    }
    assert!(
        holders.values().all(|&n| n <= 1),
        "two incidents absorb the same key: {all:?}"
    );
    if mode == DedupMode::Open {
        assert!(
            open.values().all(|&n| n <= 1),
            "two open incidents share a key in open mode: {all:?}"
        );
        assert!(
            triggered.values().all(|&n| n <= 1),
            "two triggered incidents share a key: {all:?}"
        );
        assert!(
            all.iter().all(|i| i.holds_key == i.status.is_open()),
            "in open mode an incident holds its key exactly while open: {all:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_sequence_keeps_the_invariants(
        mode in prop_oneof![Just(DedupMode::Open), Just(DedupMode::Triggered)],
        steps in proptest::collection::vec(step(), 0..60),
    ) {
        let mut all: Vec<Incident> = Vec::new();
        let mut n = 0i64;
        for s in steps {
            let before = all.clone();
            match s {
                Step::Event(action, key) => {
                    let decision = apply_event(mode, &mut all, action, key, &mut n);
                    match action {
                        EventAction::Trigger => {
                            // After a trigger exactly one open incident absorbs the key.
                            let holders: Vec<_> = all.iter().filter(|i| i.key == key && i.holds_key).collect();
                            prop_assert_eq!(holders.len(), 1);
                            let total = |v: &[Incident]| v.iter().map(|i| i.alerts).sum::<u32>();
                            prop_assert_eq!(total(&all), total(&before) + 1, "a trigger is never lost");
                        }
                        EventAction::Resolve => {
                            prop_assert!(all.iter().all(|i| i.key != key || !i.status.is_open()));
                        }
                        EventAction::Acknowledge => {
                            // The incident holding the key is acknowledged. (In `triggered`
                            // mode an earlier incident triggered again by hand is separate.)
                            prop_assert!(all
                                .iter()
                                .all(|i| i.key != key || !i.holds_key || i.status != IncidentStatus::Triggered));
                        }
                    }
                    if decision == Decision::Ignore {
                        prop_assert_eq!(format!("{before:?}"), format!("{all:?}"), "an ignored event changed something");
                    }
                }
                Step::Human(action, pick) => {
                    if all.is_empty() { continue; }
                    let p = pick % all.len();
                    match transition(all[p].status, action) {
                        Ok(Some(next)) => {
                            all[p].status = next;
                            if next == IncidentStatus::Resolved { all[p].holds_key = false; }
                        }
                        Ok(None) => {}
                        Err(_) => prop_assert_eq!(before[p].status, IncidentStatus::Resolved),
                    }
                }
            }
            // Resolved is terminal.
            for (old, new) in before.iter().zip(all.iter()) {
                if old.status == IncidentStatus::Resolved {
                    prop_assert_eq!(new.status, IncidentStatus::Resolved);
                    prop_assert_eq!(new.alerts, old.alerts, "a resolved incident absorbed an event");
                }
            }
            check_invariants(mode, &all);
        }
    }
}
