//! The lifecycle as tables: a starting incident, a command, and what must come out.

use super::*;
use crate::contact::RuleUrgency;
use crate::ids::{ContactMethodId, RuleId};
use crate::incident::IncidentStatus::{Acknowledged, Resolved, Triggered};
use crate::paging::NewMessage;

const MIN: i64 = 60_000;

fn t(minute: i64) -> Timestamp {
    Timestamp::from_millis(1_800_000_000_000 + minute * MIN)
}

fn uid(n: u128) -> UserId {
    UserId::from_uuid(uuid::Uuid::from_u128(n))
}

fn alice() -> Actor {
    Actor::User {
        id: uid(1),
        name: "Alice".to_owned(),
    }
}

fn prometheus() -> Actor {
    Actor::Integration {
        id: crate::ids::IntegrationId::new(t(0)),
        name: "Prometheus".to_owned(),
    }
}

fn ops() -> PolicyBrief {
    PolicyBrief {
        id: PolicyId::from_uuid(uuid::Uuid::from_u128(7)),
        name: "Ops".to_owned(),
        levels: 3,
    }
}

fn bob() -> Person {
    Person {
        id: uid(2),
        name: "Bob".to_owned(),
        rules: vec![
            NotificationRule {
                id: RuleId::from_uuid(uuid::Uuid::from_u128(20)),
                user_id: uid(2),
                contact_method: ContactMethodId::from_uuid(uuid::Uuid::from_u128(21)),
                delay_minutes: 0,
                urgency: RuleUrgency::Both,
                repeat: None,
            },
            NotificationRule {
                id: RuleId::from_uuid(uuid::Uuid::from_u128(22)),
                user_id: uid(2),
                contact_method: ContactMethodId::from_uuid(uuid::Uuid::from_u128(23)),
                delay_minutes: 5,
                urgency: RuleUrgency::High,
                repeat: None,
            },
        ],
    }
}

fn settings() -> Settings {
    Settings {
        policy: Some(ops().id),
        ack_timeout_minutes: Some(30),
        auto_resolve_minutes: Some(240),
        flap_window_minutes: Some(10),
        group_window_minutes: Some(5),
        ..Settings::default()
    }
}

fn incident(status: IncidentStatus) -> IncidentState {
    let mut i = IncidentState::opened(
        IncidentId::from_uuid(uuid::Uuid::from_u128(100)),
        ServiceId::from_uuid(uuid::Uuid::from_u128(101)),
        DedupKey::parse("disk-full").unwrap(),
        Urgency::High,
        "Disk full",
        t(0),
    );
    i.number = Some(IncidentNumber(42));
    i.status = status;
    if status != Triggered {
        i.acknowledged = Some(Stamp {
            at: t(1),
            by: prometheus(),
        });
    }
    if status == Resolved {
        i.acknowledged = None;
        i.resolved = Some(Stamp {
            at: t(2),
            by: prometheus(),
        });
        i.holds_key = false;
    }
    i
}

fn trigger(key: &str) -> Trigger {
    Trigger {
        key: DedupKey::parse(key).unwrap(),
        summary: format!("{key} again"),
    }
}

/// A compact picture of effects, for tables: "stop", "esc(level,next)", "clear(...)",
/// "timer(kind@minute)", "unassign", "assign", "plan", "now", "key", and lines by kind.
fn picture(effects: &Effects, id: IncidentId) -> Vec<String> {
    effects
        .of(id)
        .iter()
        .map(|e| match e {
            Effect::StopPaging => "stop".to_owned(),
            Effect::Escalation(s) => format!(
                "esc({},{})",
                s.level.map(|l| l.to_string()).unwrap_or("-".to_owned()),
                s.next_at
                    .map(|n| ((n.as_millis() - t(0).as_millis()) / MIN).to_string())
                    .unwrap_or("-".to_owned())
            ),
            Effect::ClearTimers(k) if *k == TimerKinds::ALL => "clear(all)".to_owned(),
            Effect::ClearTimers(k) if *k == TimerKinds::ALL_BUT_AUTO_RESOLVE => {
                "clear(people)".to_owned()
            }
            Effect::ClearTimers(k) => format!("clear({:?})", k.kinds().collect::<Vec<_>>()),
            Effect::SetTimer { kind, due } => format!(
                "timer({}@{})",
                kind.as_str(),
                (due.as_millis() - t(0).as_millis()) / MIN
            ),
            Effect::UnassignAll => "unassign".to_owned(),
            Effect::Assign(_) => "assign".to_owned(),
            Effect::PlanNotification(p) => format!("plan{}", if p.responder { "+" } else { "" }),
            Effect::SendNow(NewMessage { .. }) => "now".to_owned(),
            Effect::Rotation(_) => "rotation".to_owned(),
            Effect::GroupKey { key, .. } => format!("key({key})"),
            Effect::Line(l) => format!("'{}'", l.kind.as_str()),
        })
        .collect()
}

struct Case {
    from: IncidentStatus,
    command: Command,
    by: Acting,
    escalation: Option<EscalationState>,
    assignees: Vec<UserId>,
    expect: Result<(IncidentStatus, &'static [&'static str]), Refused>,
}

fn at_level(level: u32) -> Option<EscalationState> {
    Some(EscalationState {
        policy: Some(ops().id),
        level: Some(level),
        round: 0,
        hand_overs: 0,
        next_at: Some(t(30)),
    })
}

#[test]
fn people_and_timers_change_incidents_as_the_table_says() {
    let web = || Acting::person(alice(), Via::WebUi);
    let event = || Acting::event(prometheus(), EventId::new(t(5)), vec![]);
    let case = |from, command, by: Acting, expect| Case {
        from,
        command,
        by,
        escalation: None,
        assignees: vec![],
        expect,
    };
    let now_minute = 5;
    let table = vec![
        case(
            Triggered,
            Command::Acknowledge,
            web(),
            Ok((
                Acknowledged,
                &[
                    "'acknowledged'",
                    "assign",
                    "'assigned'",
                    "stop",
                    "timer(ack_timeout@35)",
                ],
            )),
        ),
        Case {
            assignees: vec![uid(9)],
            ..case(
                Triggered,
                Command::Acknowledge,
                web(),
                Ok((
                    Acknowledged,
                    &["'acknowledged'", "stop", "timer(ack_timeout@35)"],
                )),
            )
        },
        case(
            Acknowledged,
            Command::Acknowledge,
            web(),
            Ok((Acknowledged, &[])),
        ),
        case(
            Resolved,
            Command::Acknowledge,
            web(),
            Err(Refused::AlreadyResolved("incident #42".to_owned())),
        ),
        case(
            Triggered,
            Command::Resolve,
            web(),
            Ok((Resolved, &["'resolved'", "stop", "clear(all)"])),
        ),
        case(
            Acknowledged,
            Command::Unacknowledge,
            web(),
            Ok((
                Triggered,
                &["'unacknowledged'", "stop", "clear(all)", "esc(-,5)"],
            )),
        ),
        case(
            Triggered,
            Command::Unacknowledge,
            web(),
            Ok((Triggered, &[])),
        ),
        // Handed to people: they are paged again, not a policy.
        Case {
            escalation: Some(EscalationState::handed_to_people()),
            assignees: vec![uid(2)],
            ..case(
                Acknowledged,
                Command::Timer(TimerKind::AckTimeout),
                Acting::onduty(),
                Ok((
                    Triggered,
                    &["'unacknowledged'", "stop", "clear(all)", "plan", "plan"],
                )),
            )
        },
        case(
            Acknowledged,
            Command::Timer(TimerKind::Snooze),
            Acting::onduty(),
            Ok((
                Triggered,
                &["'unacknowledged'", "stop", "clear(all)", "esc(-,5)"],
            )),
        ),
        case(
            Triggered,
            Command::Timer(TimerKind::AutoResolve),
            Acting::onduty(),
            Ok((Resolved, &["'resolved'", "stop", "clear(all)"])),
        ),
        // A timer that fires after the incident resolved does nothing.
        case(
            Resolved,
            Command::Timer(TimerKind::AckTimeout),
            Acting::onduty(),
            Ok((Resolved, &[])),
        ),
        Case {
            escalation: at_level(0),
            ..case(
                Acknowledged,
                Command::Escalate { level: None },
                web(),
                Ok((
                    Triggered,
                    &[
                        "'unacknowledged'",
                        "clear(people)",
                        "stop",
                        "esc(0,5)",
                        "'escalated'",
                    ],
                )),
            )
        },
        case(
            Triggered,
            Command::Escalate { level: Some(0) },
            web(),
            Ok((Triggered, &["stop", "esc(-,5)", "'escalated'"])),
        ),
        Case {
            escalation: at_level(2),
            ..case(
                Triggered,
                Command::Escalate { level: None },
                web(),
                Err(Refused::AtLastLevel {
                    incident: "incident #42".to_owned(),
                    policy: "Ops".to_owned(),
                }),
            )
        },
        case(
            Triggered,
            Command::Escalate { level: Some(3) },
            web(),
            Err(Refused::NoSuchLevel {
                policy: "Ops".to_owned(),
                levels: 3,
                asked: 4,
            }),
        ),
        case(
            Acknowledged,
            Command::Reassign(Assignee::User(uid(2))),
            web(),
            Ok((
                Triggered,
                &[
                    "'unacknowledged'",
                    "clear(people)",
                    "stop",
                    "esc(-,-)",
                    "unassign",
                    "assign",
                    "plan",
                    "plan",
                    "'assigned'",
                ],
            )),
        ),
        case(
            Triggered,
            Command::Reassign(Assignee::Policy(ops().id)),
            web(),
            Ok((Triggered, &["stop", "unassign", "esc(-,5)", "'assigned'"])),
        ),
        case(
            Acknowledged,
            Command::AddResponders(vec![uid(2)]),
            web(),
            Ok((Acknowledged, &["assign", "plan+", "plan+", "'assigned'"])),
        ),
        case(
            Triggered,
            Command::Snooze { until: t(65) },
            web(),
            Ok((
                Acknowledged,
                &[
                    "clear(people)",
                    "stop",
                    "timer(snooze@65)",
                    "'acknowledged'",
                    "'snoozed'",
                ],
            )),
        ),
        case(
            Triggered,
            Command::Snooze { until: t(5) },
            web(),
            Err(Refused::SnoozeInThePast),
        ),
        case(
            Triggered,
            Command::Snooze {
                until: t(5 + 7 * 24 * 60 + 1),
            },
            web(),
            Err(Refused::SnoozeTooLong),
        ),
        // Events.
        case(
            Triggered,
            Command::Fold(trigger("disk-full")),
            event(),
            Ok((Triggered, &["'alert'", "timer(auto_resolve@245)"])),
        ),
        case(
            Triggered,
            Command::AcknowledgeEvent,
            event(),
            Ok((
                Acknowledged,
                &[
                    "'acknowledged'",
                    "stop",
                    "timer(ack_timeout@35)",
                    "timer(auto_resolve@240)",
                ],
            )),
        ),
        case(
            Acknowledged,
            Command::AcknowledgeEvent,
            event(),
            Ok((Acknowledged, &["'event'", "timer(auto_resolve@240)"])),
        ),
        case(
            Acknowledged,
            Command::ResolveEvent {
                key: DedupKey::parse("disk-full").unwrap(),
            },
            event(),
            Ok((Resolved, &["'resolved'", "stop", "clear(all)"])),
        ),
        case(
            Triggered,
            Command::Join(trigger("db-latency")),
            event(),
            Ok((
                Triggered,
                &["key(db-latency)", "'alert'", "timer(auto_resolve@245)"],
            )),
        ),
        case(
            Resolved,
            Command::Reopen(trigger("disk-full")),
            event(),
            Ok((
                Triggered,
                &["esc(-,15)", "'reopened'", "timer(auto_resolve@245)"],
            )),
        ),
        case(
            Triggered,
            Command::Reopen(trigger("disk-full")),
            event(),
            Err(Refused::NotApplicable("incident #42".to_owned())),
        ),
    ];
    let policies = [ops()];
    let people = [bob()];
    let settings = settings();
    for (row, c) in table.into_iter().enumerate() {
        let before = incident(c.from);
        let ctx = Context {
            settings: &settings,
            escalation: c.escalation.as_ref(),
            assignees: &c.assignees,
            policies: &policies,
            people: &people,
        };
        let got = decide(&before, &c.command, &c.by, &ctx, t(now_minute));
        match (got, c.expect) {
            (Ok(d), Ok((status, effects))) => {
                assert_eq!(d.incident.status, status, "row {row}: {:?}", c.command);
                assert_eq!(
                    picture(&d.effects, before.id),
                    effects.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                    "row {row}: {:?}",
                    c.command
                );
                assert_eq!(d.changed, !effects.is_empty(), "row {row}");
                if d.changed {
                    assert_eq!(d.incident.updated_at, t(now_minute), "row {row}");
                } else {
                    assert_eq!(d.incident, before, "row {row}: unchanged");
                }
            }
            (Err(e), Err(expected)) => assert_eq!(e, expected, "row {row}"),
            (got, expected) => panic!("row {row}: {got:?}, expected {expected:?}"),
        }
    }
}

#[test]
fn lines_say_who_did_what_and_through_what() {
    let settings = settings();
    let policies = [ops()];
    let people = [bob()];
    let ctx = Context {
        policies: &policies,
        people: &people,
        ..Context::of_settings(&settings)
    };
    let words = |status, command: Command, by: &Acting| -> Vec<String> {
        let before = incident(status);
        let d = decide(&before, &command, by, &ctx, t(5)).unwrap();
        d.effects
            .lines(before.id)
            .map(|l| l.text.words(|_| None))
            .collect()
    };
    let sms = Acting::person(alice(), Via::Sms);
    assert_eq!(
        words(Triggered, Command::Acknowledge, &sms),
        ["Acknowledged by Alice via SMS", "Assigned to Alice"]
    );
    assert_eq!(
        words(Acknowledged, Command::Resolve, &sms),
        ["Resolved by Alice via SMS"]
    );
    assert_eq!(
        words(Acknowledged, Command::Unacknowledge, &sms),
        ["Triggered again by Alice via SMS"]
    );
    assert_eq!(
        words(Triggered, Command::AddResponders(vec![uid(2)]), &sms),
        ["Alice added Bob as responders via SMS"]
    );
    assert_eq!(
        words(Triggered, Command::Escalate { level: Some(1) }, &sms),
        ["Escalated to level 2 of Ops by Alice via SMS"]
    );
    assert_eq!(
        words(
            Acknowledged,
            Command::Timer(TimerKind::AckTimeout),
            &Acting::onduty()
        ),
        ["The acknowledgement timed out; triggered again"]
    );
    let event_id = EventId::new(t(5));
    let event = Acting::event(prometheus(), event_id, vec!["summary truncated".into()]);
    assert_eq!(
        words(Triggered, Command::AcknowledgeEvent, &event),
        ["Acknowledged by Prometheus (acknowledge event)"]
    );
    let before = incident(Triggered);
    let d = decide(&before, &Command::AcknowledgeEvent, &event, &ctx, t(5)).unwrap();
    let line = d.effects.lines(before.id).next().unwrap();
    assert_eq!(line.event, Some(event_id));
    assert_eq!(line.data, Some(json!({"warnings": ["summary truncated"]})));
    assert_eq!(
        words(Resolved, Command::Reopen(trigger("disk-full")), &event),
        [
            "Re-opened: a trigger from Prometheus arrived 3 min after it resolved (flapping); \
          nobody is paged now; if it is still unacknowledged in 10 min, its escalation policy \
          pages again from the first level"
        ]
    );
}

#[test]
fn a_grouped_incident_resolves_with_its_last_alert() {
    let settings = settings();
    let ctx = Context::of_settings(&settings);
    let event = Acting::event(prometheus(), EventId::new(t(5)), vec![]);
    let before = incident(Triggered);
    let joined = decide(
        &before,
        &Command::Join(trigger("db-latency")),
        &event,
        &ctx,
        t(1),
    )
    .unwrap()
    .incident;
    assert_eq!(joined.alerts.firing(), 2);
    assert_eq!(joined.alert_count, 2);
    let key = |k: &str| DedupKey::parse(k).unwrap();
    let one = decide(
        &joined,
        &Command::ResolveEvent {
            key: key("disk-full"),
        },
        &event,
        &ctx,
        t(2),
    )
    .unwrap();
    assert_eq!(one.incident.status, Triggered, "one alert still fires");
    assert!(one.changed);
    let words: Vec<String> = one
        .effects
        .lines(before.id)
        .map(|l| l.text.words(|_| None))
        .collect();
    assert_eq!(
        words,
        ["Alert disk-full resolved by Prometheus (resolve event); 1 grouped alert still firing"]
    );
    let last = decide(
        &one.incident,
        &Command::ResolveEvent {
            key: key("db-latency"),
        },
        &event,
        &ctx,
        t(3),
    )
    .unwrap();
    assert_eq!(last.incident.status, Resolved);
    assert!(!last.incident.holds_key);
}

#[test]
fn a_persons_resolve_is_final_even_within_the_flap_window() {
    let settings = settings();
    let ctx = Context::of_settings(&settings);
    let mut before = incident(Resolved);
    before.resolved = Some(Stamp {
        at: t(2),
        by: alice(),
    });
    let event = Acting::event(prometheus(), EventId::new(t(5)), vec![]);
    assert_eq!(
        decide(
            &before,
            &Command::Reopen(trigger("disk-full")),
            &event,
            &ctx,
            t(3)
        ),
        Err(Refused::NotApplicable("incident #42".to_owned()))
    );
}

#[test]
fn reopening_an_acknowledged_incident_starts_its_acknowledgement_timeout_again() {
    let settings = settings();
    let ctx = Context::of_settings(&settings);
    let mut before = incident(Resolved);
    before.acknowledged = Some(Stamp {
        at: t(1),
        by: alice(),
    });
    let event = Acting::event(prometheus(), EventId::new(t(5)), vec![]);
    let d = decide(
        &before,
        &Command::Reopen(trigger("disk-full")),
        &event,
        &ctx,
        t(4),
    )
    .unwrap();
    assert_eq!(d.incident.status, Acknowledged);
    assert!(d.incident.holds_key);
    assert_eq!(d.incident.resolved, None);
    assert_eq!(
        picture(&d.effects, before.id),
        [
            "timer(ack_timeout@34)",
            "'reopened'",
            "timer(auto_resolve@244)"
        ]
    );
}

#[test]
fn opening_escalates_at_once_and_starts_auto_resolution() {
    let settings = settings();
    let event = Acting::event(prometheus(), EventId::new(t(5)), vec![]);
    let i = incident(Triggered);
    assert_eq!(
        picture(&open(&i, &event, &settings), i.id),
        ["'triggered'", "esc(-,0)", "timer(auto_resolve@240)"]
    );
    let quiet = Settings::default();
    assert_eq!(picture(&open(&i, &event, &quiet), i.id), ["'triggered'"]);
}
