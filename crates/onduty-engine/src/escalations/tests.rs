//! Escalation steps planned from a directory, without a database.

use onduty_core::contact::{
    Address, Channel, ContactMethod, NotificationRule, RuleUrgency, Urgency,
};
use onduty_core::escalation::{Level, LevelMode, Policy, Position, Steps};
use onduty_core::{ContactMethodId, IncidentId, RuleId, ScheduleId};
use uuid::Uuid;

use super::*;
use crate::directory::{OnCall, Person};

fn t(minute: i64) -> Timestamp {
    Timestamp::from_millis(1_800_000_000_000 + minute * 60_000)
}

fn id<T>(make: fn(Uuid) -> T, n: u128) -> T {
    make(Uuid::from_u128(n))
}

fn person(n: u128, name: &str, verified: bool) -> (UserId, Person) {
    let user = id(UserId::from_uuid, n);
    let method = ContactMethod {
        id: id(ContactMethodId::from_uuid, n + 100),
        user_id: user,
        name: "phone".to_owned(),
        channel: Channel::Sms,
        address: Address::parse(Channel::Sms, "+15555550100").unwrap(),
        verified,
        failing: None,
        created_at: t(0),
    };
    let rule = |r: u128, delay| NotificationRule {
        id: id(RuleId::from_uuid, n + r),
        user_id: user,
        contact_method: method.id,
        delay_minutes: delay,
        urgency: RuleUrgency::Both,
        repeat: None,
    };
    (
        user,
        Person {
            name: name.to_owned(),
            rules: vec![rule(200, 0), rule(300, 5)],
            methods: vec![method],
            time_zone: None,
        },
    )
}

fn policy(n: u128, levels: Vec<(Vec<Target>, LevelMode)>) -> Policy {
    let pid = id(PolicyId::from_uuid, n);
    let levels = levels
        .into_iter()
        .map(|(targets, mode)| Level {
            targets,
            delay_minutes: 30,
            mode,
        })
        .collect();
    Policy {
        id: pid,
        name: onduty_core::account::Name::parse("Ops").unwrap(),
        description: String::new(),
        team_id: None,
        steps: Steps::parse(pid, levels, 0).unwrap(),
    }
}

fn due(policy: &Policy, position: Option<Position>) -> DueEscalation {
    DueEscalation {
        incident: id(
            IncidentId::from_uuid,
            900 + position.map_or(0, |p| p.level as u128),
        ),
        number: 1,
        status: IncidentStatus::Triggered,
        urgency: Urgency::High,
        policy: policy.id,
        position,
        next_at: t(0),
        assigned: false,
    }
}

fn assigned(step: &EscalationStep) -> Vec<UserId> {
    step.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Assign(u) => Some(*u),
            _ => None,
        })
        .collect()
}

fn lines(step: &EscalationStep) -> Vec<String> {
    step.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Line(l) => Some(l.text.words(|_| None)),
            _ => None,
        })
        .collect()
}

fn escalation(step: &EscalationStep) -> EscalationState {
    step.effects
        .iter()
        .find_map(|e| match e {
            Effect::Escalation(s) => Some(*s),
            _ => None,
        })
        .expect("every step leaves the escalation somewhere")
}

#[test]
fn the_first_level_pages_its_people_and_waits_its_delay() {
    let (alice, alice_p) = person(1, "Alice", true);
    let p = policy(10, vec![(vec![Target::User(alice)], LevelMode::All)]);
    let mut dir = Directory::default();
    dir.policies.insert(p.id, Some(p.clone()));
    dir.people.insert(alice, alice_p);
    let steps = plan(&[due(&p, None)], &mut dir, t(0));
    let step = &steps[0];
    assert_eq!(
        lines(step),
        ["Escalation policy Ops, level 1: paging Alice"]
    );
    // The immediate rule goes out at once; the 5-minute one is planned.
    let sends = step
        .effects
        .iter()
        .filter(|e| matches!(e, Effect::SendNow(_)))
        .count();
    let planned: Vec<Timestamp> = step
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::PlanNotification(n) => Some(n.due_at),
            _ => None,
        })
        .collect();
    assert_eq!(sends, 1);
    assert_eq!(planned, [t(5)]);
    let e = escalation(step);
    assert_eq!((e.level, e.next_at), (Some(0), Some(t(30))));
}

#[test]
fn after_the_last_level_nothing_more_is_due() {
    let (alice, alice_p) = person(1, "Alice", true);
    let p = policy(10, vec![(vec![Target::User(alice)], LevelMode::All)]);
    let mut dir = Directory::default();
    dir.policies.insert(p.id, Some(p.clone()));
    dir.people.insert(alice, alice_p);
    let at = Position {
        policy: p.id,
        level: 0,
        round: 0,
        hand_overs: 0,
    };
    let step = &plan(&[due(&p, Some(at))], &mut dir, t(30))[0];
    assert_eq!(
        lines(step),
        ["Escalation policy Ops has no more levels; nobody acknowledged"]
    );
    assert_eq!(escalation(step).next_at, None);
    assert!(!step.effects.iter().any(|e| matches!(e, Effect::SendNow(_))));
}

#[test]
fn an_acknowledged_incident_is_not_paged_and_its_escalation_pauses() {
    let p = policy(
        10,
        vec![(vec![Target::User(id(UserId::from_uuid, 1))], LevelMode::All)],
    );
    let mut dir = Directory::default();
    dir.policies.insert(p.id, Some(p.clone()));
    let mut acked = due(&p, None);
    acked.status = IncidentStatus::Acknowledged;
    let step = &plan(&[acked], &mut dir, t(0))[0];
    assert_eq!(step.effects.len(), 1);
    assert_eq!(escalation(step).next_at, None);
}

#[test]
fn round_robin_moves_on_within_one_tick() {
    let (alice, alice_p) = person(1, "Alice", true);
    let (bob, bob_p) = person(2, "Bob", true);
    let p = policy(
        10,
        vec![(
            vec![Target::User(alice), Target::User(bob)],
            LevelMode::RoundRobin,
        )],
    );
    let mut dir = Directory::default();
    dir.policies.insert(p.id, Some(p.clone()));
    dir.people.insert(alice, alice_p);
    dir.people.insert(bob, bob_p);
    let mut second = due(&p, None);
    second.incident = id(IncidentId::from_uuid, 999);
    let steps = plan(&[due(&p, None), second], &mut dir, t(0));
    assert_eq!(
        lines(&steps[0]),
        ["Escalation policy Ops, level 1: paging Alice"]
    );
    assert_eq!(
        lines(&steps[1]),
        ["Escalation policy Ops, level 1: paging Bob"]
    );
}

#[test]
fn schedules_gaps_unverified_methods_and_people_without_rules_are_said() {
    let (alice, alice_p) = person(1, "Alice", false);
    let (carol, mut carol_p) = person(3, "Carol", true);
    carol_p.rules.clear();
    let schedule = id(ScheduleId::from_uuid, 50);
    let empty = id(ScheduleId::from_uuid, 51);
    let p = policy(
        10,
        vec![(
            vec![
                Target::Schedule(schedule),
                Target::Schedule(empty),
                Target::User(carol),
            ],
            LevelMode::All,
        )],
    );
    let mut dir = Directory::default();
    dir.policies.insert(p.id, Some(p.clone()));
    dir.people.insert(alice, alice_p);
    dir.people.insert(carol, carol_p);
    dir.on_call.insert(
        schedule,
        Some(OnCall {
            name: "Primary".to_owned(),
            people: vec![alice],
        }),
    );
    dir.on_call.insert(
        empty,
        Some(OnCall {
            name: "Backup".to_owned(),
            people: vec![],
        }),
    );
    let step = &plan(&[due(&p, None)], &mut dir, t(0))[0];
    assert_eq!(
        lines(step),
        [
            "Escalation policy Ops, level 1; nobody is on call in Backup: paging Alice (on call in Primary), Carol; Carol has no notification rules, so nothing reaches them",
            "SMS to Alice +15555550100 skipped: not verified yet",
        ]
    );
}

#[test]
fn a_deleted_policy_pages_nobody() {
    let p = policy(
        10,
        vec![(vec![Target::User(id(UserId::from_uuid, 1))], LevelMode::All)],
    );
    let mut dir = Directory::default();
    dir.policies.insert(p.id, None);
    let step = &plan(&[due(&p, None)], &mut dir, t(0))[0];
    assert_eq!(
        lines(step),
        ["The escalation policy no longer exists; nobody was paged"]
    );
    assert_eq!(escalation(step).next_at, None);
}

#[test]
fn the_people_paged_have_the_incident() {
    let (alice, alice_p) = person(1, "Alice", true);
    let p = policy(10, vec![(vec![Target::User(alice)], LevelMode::All)]);
    let mut dir = Directory::default();
    dir.policies.insert(p.id, Some(p.clone()));
    dir.people.insert(alice, alice_p);
    let step = &plan(&[due(&p, None)], &mut dir, t(0))[0];
    assert!(step.effects.contains(&Effect::UnassignAll));
    assert_eq!(assigned(step), [alice]);
}

#[test]
fn a_level_that_can_page_nobody_hands_on_at_once() {
    let (alice, alice_p) = person(1, "Alice", true);
    let (carol, mut carol_p) = person(3, "Carol", true);
    carol_p.rules.clear();
    let empty = id(ScheduleId::from_uuid, 51);
    let p = policy(
        10,
        vec![
            (vec![Target::Schedule(empty)], LevelMode::All),
            (vec![Target::User(carol)], LevelMode::All),
            (vec![Target::User(alice)], LevelMode::All),
        ],
    );
    let mut dir = Directory::default();
    dir.policies.insert(p.id, Some(p.clone()));
    dir.people.insert(alice, alice_p);
    dir.people.insert(carol, carol_p);
    dir.on_call.insert(
        empty,
        Some(OnCall {
            name: "Primary".to_owned(),
            people: vec![],
        }),
    );
    // Nobody on call: the next level is due now, and nobody has the incident.
    let first = &plan(&[due(&p, None)], &mut dir, t(0))[0];
    assert_eq!(
        lines(first),
        [
            "Escalation policy Ops, level 1; nobody is on call in Primary: nobody to page; nobody here can be paged, so the next level is paged now"
        ]
    );
    assert_eq!(escalation(first).next_at, Some(t(0)));
    assert!(assigned(first).is_empty());
    // Carol has no rules: the same.
    let at_first = Some(Position {
        policy: p.id,
        level: 0,
        round: 0,
        hand_overs: 0,
    });
    let second = &plan(&[due(&p, at_first)], &mut dir, t(0))[0];
    assert_eq!(escalation(second).next_at, Some(t(0)));
    assert!(
        lines(second)[0].ends_with("so the next level is paged now"),
        "{:?}",
        lines(second)
    );
    // Alice is paged and has it; her level waits its delay.
    let at_second = Some(Position {
        policy: p.id,
        level: 1,
        round: 0,
        hand_overs: 0,
    });
    let third = &plan(&[due(&p, at_second)], &mut dir, t(0))[0];
    assert_eq!(assigned(third), [alice]);
    assert_eq!(escalation(third).next_at, Some(t(30)));
}

#[test]
fn when_no_level_reaches_anyone_the_incident_says_so() {
    let (carol, mut carol_p) = person(3, "Carol", true);
    carol_p.rules.clear();
    let p = policy(10, vec![(vec![Target::User(carol)], LevelMode::All)]);
    let mut dir = Directory::default();
    dir.policies.insert(p.id, Some(p.clone()));
    dir.people.insert(carol, carol_p);
    let step = &plan(&[due(&p, None)], &mut dir, t(0))[0];
    assert_eq!(
        lines(step)[1],
        "Nobody could be paged: no level of Ops reaches anyone on call with a notification rule"
    );
    let loud = step.effects.iter().any(|e| {
        matches!(e, Effect::Line(l) if l.data == Some(serde_json::json!({"nobody_paged": true})))
    });
    assert!(loud, "the line is marked for the API and the page");
    // Someone earlier had it: the last level finding nobody is not news.
    let mut had = due(&p, None);
    had.assigned = true;
    let step = &plan(&[had], &mut dir, t(0))[0];
    assert_eq!(lines(step).len(), 1, "{:?}", lines(step));
}
