//! The escalations stage: every escalation due moves to its next level. Load the due
//! escalations and a [`Directory`] of what their policies reach; plan each step with the
//! core's `escalation::enter`/`next` and `contact::plan_notifications`; apply all steps
//! in one transaction, each unless its escalation changed since it was read.

use std::collections::HashMap;

use onduty_core::Timestamp;
use onduty_core::contact::plan_notifications;
use onduty_core::escalation::{self, Target};
use onduty_core::incident::{Actor, IncidentStatus, TimelineKind};
use onduty_core::paging::{Effect, EscalationState, Line, NewMessage, PlannedNotification};
use onduty_core::{PolicyId, UserId};
use onduty_store::paging::{DueEscalation, EscalationStep};

use crate::directory::Directory;
use crate::text::{describe_level, may_send};
use crate::{BATCH, Engine, EngineError};

pub(crate) async fn run(engine: &Engine, now: Timestamp) -> Result<usize, EngineError> {
    let due = engine.store.due_escalations(now, BATCH).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let policies: Vec<PolicyId> = due.iter().map(|e| e.policy).collect();
    let mut directory = Directory::for_policies(&engine.store, policies, now).await?;
    let steps = plan(&due, &mut directory, now);
    let said = escalation_lines(&due, &steps);
    let applied = engine.store.apply_escalations(steps, now).await?;
    for e in due.iter().filter(|e| applied.contains(&e.incident)) {
        let late = now.since(e.next_at).as_secs_f64();
        metrics::histogram!(onduty_store::metrics::ESCALATION_LATENESS).record(late);
    }
    for (incident, number, text) in said {
        if applied.contains(&incident) {
            tracing::info!(incident = number, "incident #{number}: {text}");
        }
    }
    Ok(due.len())
}

/// What each step says about the escalation ("Escalated to level 2 of Ops: paging
/// Bob"), for the log: names of levels and people, never an address.
fn escalation_lines(
    due: &[DueEscalation],
    steps: &[EscalationStep],
) -> Vec<(onduty_core::IncidentId, i64, String)> {
    let mut lines = Vec::new();
    for (e, step) in due.iter().zip(steps) {
        for effect in &step.effects {
            if let Effect::Line(line) = effect
                && line.kind == TimelineKind::Escalated
            {
                lines.push((e.incident, e.number, line.text.words(|_| None)));
            }
        }
    }
    lines
}

/// What reaching the next level of each due escalation means. Round-robin pointers move
/// on in `directory` as steps rotate, so later steps of the same tick see them moved.
pub(crate) fn plan(
    due: &[DueEscalation],
    directory: &mut Directory,
    now: Timestamp,
) -> Vec<EscalationStep> {
    due.iter().map(|e| step(e, directory, now)).collect()
}

fn line(now: Timestamp, kind: TimelineKind, text: String) -> Effect {
    Effect::Line(Line::new(now, kind, &Actor::System, text))
}

/// What the incident says, loudly, when no level of its policy reached anyone. The API
/// and the incident's page look for `nobody_paged` in the line's data.
fn nobody_could_be_paged(now: Timestamp, policy: &str) -> Effect {
    let mut line = Line::new(
        now,
        TimelineKind::Escalated,
        &Actor::System,
        format!(
            "Nobody could be paged: no level of {policy} reaches anyone on call with a \
             notification rule"
        ),
    );
    line.data = Some(serde_json::json!({ "nobody_paged": true }));
    Effect::Line(line)
}

fn step(e: &DueEscalation, dir: &mut Directory, now: Timestamp) -> EscalationStep {
    let mut effects = Vec::new();
    // Nothing more is due unless this step says so.
    let paused = EscalationState {
        policy: Some(e.policy),
        level: e.position.map(|p| p.level),
        round: e.position.map_or(0, |p| p.round),
        hand_overs: e.position.map_or(0, |p| p.hand_overs),
        next_at: None,
    };
    let done = |effects| EscalationStep {
        incident: e.incident,
        read_next_at: e.next_at,
        effects,
    };
    if e.status != IncidentStatus::Triggered {
        return done(vec![Effect::Escalation(paused)]);
    }
    let Some(Some(policy)) = dir.policies.get(&e.policy).cloned() else {
        return done(vec![
            Effect::Escalation(paused),
            line(
                now,
                TimelineKind::Escalated,
                "The escalation policy no longer exists; nobody was paged".to_owned(),
            ),
        ]);
    };
    let (level, round, hand_overs) = match &e.position {
        None => (0, 0, 0),
        Some(at) => match escalation::next(&policy, at) {
            Some((level, round)) => (level, round, at.hand_overs),
            None => {
                return done(vec![
                    Effect::Escalation(paused),
                    line(
                        now,
                        TimelineKind::Escalated,
                        format!(
                            "Escalation policy {} has no more levels; nobody acknowledged",
                            policy.name
                        ),
                    ),
                ]);
            }
        },
    };
    let pointer =
        |dir: &Directory, policy, level| dir.pointers.get(&(policy, level)).copied().unwrap_or(0);
    let reached = escalation::enter(
        &policy,
        level,
        round,
        hand_overs,
        pointer(dir, policy.id, level),
        now,
    );
    let mut rotation = reached.rotation;
    let mut text = describe_level(&policy, &reached);
    let mut page = reached.page.clone();
    let mut position = reached.position;
    let mut escalate_at = reached.escalate_at;
    if let Some(other) = reached.hand_over {
        match dir.policies.get(&other).cloned().flatten() {
            Some(next_policy) => {
                let handed = escalation::enter(
                    &next_policy,
                    0,
                    0,
                    hand_overs + 1,
                    pointer(dir, next_policy.id, 0),
                    now,
                );
                text.push_str(&format!(
                    "; handed over to {}",
                    describe_level(&next_policy, &handed)
                ));
                page.extend(handed.page.iter().copied());
                position = handed.position;
                escalate_at = handed.escalate_at;
                rotation = rotation.or(handed.rotation);
            }
            None => text.push_str("; the policy it hands over to no longer exists"),
        }
    }
    // Later steps of this tick see the rotation moved on.
    if let Some(r) = rotation {
        dir.pointers.insert((r.policy, r.level), r.next);
        effects.push(Effect::Rotation(r));
    }
    let mut users: Vec<UserId> = Vec::new();
    // Who was paged as the one on call in a schedule, and which.
    let mut on_call_in: HashMap<UserId, String> = HashMap::new();
    for target in &page {
        match target {
            Target::User(u) if !users.contains(u) => users.push(*u),
            Target::User(_) | Target::Policy(_) => {}
            Target::Schedule(id) => match dir.on_call.get(id).cloned().flatten() {
                None => text.push_str("; a schedule it pages no longer exists"),
                Some(found) if found.people.is_empty() => {
                    text.push_str(&format!("; nobody is on call in {}", found.name));
                }
                Some(found) => {
                    for u in found.people {
                        on_call_in.entry(u).or_insert_with(|| found.name.clone());
                        if !users.contains(&u) {
                            users.push(u);
                        }
                    }
                }
            },
        }
    }
    let mut names = Vec::with_capacity(users.len());
    let mut unreachable = Vec::new();
    let mut skipped = Vec::new();
    for user in &users {
        let person = dir.person(*user);
        if person.rules.is_empty() {
            unreachable.push(format!(
                "; {} has no notification rules, so nothing reaches them",
                person.name
            ));
        }
        names.push(match on_call_in.get(user) {
            Some(schedule) => format!("{} (on call in {schedule})", person.name),
            None => person.name.clone(),
        });
        for (rule, due_at) in plan_notifications(&person.rules, e.urgency, now) {
            let Some(contact_method) = person
                .rules
                .iter()
                .find(|r| r.id == rule)
                .map(|r| r.contact_method)
            else {
                continue;
            };
            if due_at > now {
                effects.push(Effect::PlanNotification(PlannedNotification {
                    user: *user,
                    rule,
                    contact_method,
                    due_at,
                    responder: false,
                }));
                continue;
            }
            // Due at once: queued in the same transaction rather than planned.
            let method = person.methods.iter().find(|m| m.id == contact_method);
            match may_send(method, &person.name) {
                Ok(()) => effects.push(Effect::SendNow(NewMessage {
                    user: *user,
                    contact_method,
                })),
                Err(note) => skipped.push(line(now, TimelineKind::Notified, note)),
            }
        }
    }
    if names.is_empty() {
        text.push_str(": nobody to page");
    } else {
        text.push_str(&format!(": paging {}", names.join(", ")));
    }
    text.extend(unreachable);
    // Nobody on call, or nobody with a rule: waiting out the delay would page nobody.
    let reachable = users.iter().any(|u| !dir.person(*u).rules.is_empty());
    let mut nobody_paged = None;
    if reachable {
        // The people being paged have the incident (PagerDuty's meaning of assignment).
        effects.push(Effect::UnassignAll);
        effects.extend(users.iter().map(|u| Effect::Assign(*u)));
    } else if escalation::next(&policy, &position).is_some() {
        text.push_str("; nobody here can be paged, so the next level is paged now");
        escalate_at = now;
    } else if !e.assigned {
        nobody_paged = Some(nobody_could_be_paged(now, &policy.name.to_string()));
    }
    effects.push(line(now, TimelineKind::Escalated, text));
    effects.extend(nobody_paged);
    effects.extend(skipped);
    effects.push(Effect::Escalation(EscalationState {
        policy: Some(position.policy),
        level: Some(position.level),
        round: position.round,
        hand_overs: position.hand_overs,
        next_at: Some(escalate_at),
    }));
    done(effects)
}

#[cfg(test)]
mod tests;
