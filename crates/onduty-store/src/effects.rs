//! The one writer of decisions: incident rows as the core left them, and the
//! [`Effect`]s it returned, turned into a few multi-row statements.
//!
//! Every path that changes an incident — the ingest batch, people's actions, timers, the
//! engine's escalations — ends here, so "acknowledged" and "paging stopped" are each
//! written by one statement. Effects are written grouped by kind, in
//! [`Effect::phase`] order; the core keeps them in a form for which that is the same as
//! applying them one by one.

use std::collections::HashMap;

use onduty_core::batch::Opening;
use onduty_core::lifecycle::IncidentState;
use onduty_core::paging::{Effect, Effects, EscalationState, TimerKinds};
use onduty_core::{EventId, IncidentId, Timestamp};

use crate::Backend;
use crate::sql::{Val, Write, chunked, in_list, multi_row, to_json};

/// How much of an incident row a decision changed.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope<'a> {
    /// Only its alert count, last event and update time (most folded triggers).
    Counted,
    /// Its status, key, acknowledgement, resolution or grouped alerts as well.
    State,
    /// A new incident, opened by this trigger.
    New(&'a Opening),
}

/// An incident row to write: its state, the version it was read at (for new rows
/// `None`), and how much changed.
pub(crate) struct RowWrite<'a> {
    pub state: &'a IncidentState,
    pub version: Option<i64>,
    pub scope: Scope<'a>,
}

/// The statements that persist changed and new incidents. Updates check the version
/// each row was read at (see [`checked_updates`]). Updates come first, so a key given up
/// by a superseded incident is free for its successor.
pub(crate) fn incident_writes(d: Backend, rows: &[RowWrite]) -> Vec<Write> {
    let mut writes = Vec::new();
    let counted = rows
        .iter()
        .filter(|r| matches!(r.scope, Scope::Counted))
        .filter_map(|r| {
            let s = r.state;
            Some(vec![
                Val::Text(s.id.to_string()),
                Val::Int(r.version?),
                Val::Int(s.alert_count),
                Val::Int(s.last_event_at.as_millis()),
                Val::Text(s.last_event_summary.clone()),
                Val::Int(s.updated_at.as_millis()),
            ])
        })
        .collect();
    checked_updates(
        d,
        &mut writes,
        "alert_count = v.column3, last_event_at = v.column4, last_event_summary = v.column5, \
         updated_at = v.column6",
        counted,
    );
    // Those that give a key up before those that take one: a unique index is checked
    // row by row, so one statement must never hand a key from one row to another.
    for holders in [false, true] {
        let changed = rows
            .iter()
            .filter(|r| matches!(r.scope, Scope::State) && r.state.holds_key == holders)
            .filter_map(|r| {
                let s = r.state;
                Some(vec![
                    Val::Text(s.id.to_string()),
                    Val::Int(r.version?),
                    Val::Text(s.status.as_str().to_owned()),
                    Val::OptText(open_key(s)),
                    Val::Int(s.alert_count),
                    Val::Int(s.last_event_at.as_millis()),
                    Val::Text(s.last_event_summary.clone()),
                    Val::Int(s.updated_at.as_millis()),
                    Val::OptInt(s.acknowledged.as_ref().map(|a| a.at.as_millis())),
                    Val::OptText(s.acknowledged.as_ref().map(|a| to_json(&a.by))),
                    Val::OptInt(s.resolved.as_ref().map(|r| r.at.as_millis())),
                    Val::OptText(s.resolved.as_ref().map(|r| to_json(&r.by))),
                    Val::OptText(alerts(s)),
                ])
            })
            .collect();
        checked_updates(
            d,
            &mut writes,
            "status = v.column3, open_key = v.column4, alert_count = v.column5, last_event_at = v.column6, \
             last_event_summary = v.column7, updated_at = v.column8, acknowledged_at = v.column9, \
             acknowledged_by = v.column10, resolved_at = v.column11, resolved_by = v.column12, \
             alerts = v.column13",
            changed,
        );
    }
    let inserts = rows
        .iter()
        .filter_map(|r| {
            let Scope::New(opening) = r.scope else {
                return None;
            };
            let s = r.state;
            let alert = opening.event.alert();
            Some(vec![
                Val::Text(s.id.to_string()),
                Val::Int(s.number.map(|n| n.0).unwrap_or_default()),
                Val::Text(s.service_id.to_string()),
                Val::Text(s.dedup_key.as_str().to_owned()),
                Val::OptText(open_key(s)),
                Val::Text(s.status.as_str().to_owned()),
                Val::Text(alert.map(|a| a.summary.clone()).unwrap_or_default()),
                Val::Text(
                    alert
                        .map(|a| a.severity.as_str())
                        .unwrap_or("error")
                        .to_owned(),
                ),
                Val::Text(s.urgency.as_str().to_owned()),
                Val::Text(to_json(&opening.event)),
                Val::Int(s.alert_count),
                Val::Int(s.last_event_at.as_millis()),
                Val::Text(s.last_event_summary.clone()),
                Val::Int(s.created_at.as_millis()),
                Val::Int(s.updated_at.as_millis()),
                Val::OptInt(s.acknowledged.as_ref().map(|a| a.at.as_millis())),
                Val::OptText(s.acknowledged.as_ref().map(|a| to_json(&a.by))),
                Val::OptInt(s.resolved.as_ref().map(|r| r.at.as_millis())),
                Val::OptText(s.resolved.as_ref().map(|r| to_json(&r.by))),
                Val::OptText(alerts(s)),
                Val::Int(1),
            ])
        })
        .collect();
    writes.extend(multi_row(
        d,
        "INSERT INTO incidents (id, number, service_id, dedup_key, open_key, status, summary, severity, urgency, details, \
         alert_count, last_event_at, last_event_summary, created_at, updated_at, acknowledged_at, \
         acknowledged_by, resolved_at, resolved_by, alerts, version)",
        "",
        inserts,
    ));
    // Chat messages follow: a row per channel for each new incident, one more change for
    // each changed one.
    let opened: Vec<IncidentId> = rows
        .iter()
        .filter(|r| matches!(r.scope, Scope::New(_)))
        .map(|r| r.state.id)
        .collect();
    let changed: Vec<IncidentId> = rows
        .iter()
        .filter(|r| matches!(r.scope, Scope::State))
        .map(|r| r.state.id)
        .collect();
    if let Some(now) = rows.iter().map(|r| r.state.updated_at).max() {
        writes.extend(chat_writes(d, &opened, &changed, now));
    }
    let written: Vec<crate::facts::Written> = rows
        .iter()
        .filter_map(|r| match r.scope {
            Scope::New(_) => Some(crate::facts::Written {
                state: r.state,
                new: true,
            }),
            Scope::State => Some(crate::facts::Written {
                state: r.state,
                new: false,
            }),
            Scope::Counted => None,
        })
        .collect();
    writes.extend(crate::facts::incident_facts(d, &written));
    writes
}

/// The statements that keep chat messages in step with incidents: rows for the channels
/// of incidents just `opened` (written after their `INSERT`), and one more change for
/// incidents whose state `changed`.
fn chat_writes(
    d: Backend,
    opened: &[IncidentId],
    changed: &[IncidentId],
    now: Timestamp,
) -> Vec<Write> {
    let mut writes = Vec::new();
    let marks = |n: usize| vec!["?"; n].join(",");
    for chunk in opened.chunks(500) {
        writes.push(crate::sql::write(
            d,
            &format!(
                "INSERT INTO chat_posts (incident_id, chat_channel_id, changes, shown, attempts, next_attempt_at) \
                 SELECT i.id, c.id, 1, 0, 0, i.created_at FROM incidents i \
                 JOIN services s ON s.id = i.service_id \
                 JOIN chat_channels c ON c.service_id = s.id OR (c.team_id IS NOT NULL AND c.team_id = s.team_id) \
                 WHERE i.id IN ({})",
                marks(chunk.len())
            ),
            text_ids(chunk),
        ));
    }
    for chunk in changed.chunks(500) {
        let mut values = vec![Val::Int(now.as_millis())];
        values.extend(text_ids(chunk));
        writes.push(crate::sql::write(
            d,
            &format!(
                "UPDATE chat_posts SET changes = changes + 1, \
                 next_attempt_at = CASE WHEN attempts = 0 THEN ? ELSE next_attempt_at END \
                 WHERE incident_id IN ({})",
                marks(chunk.len())
            ),
            values,
        ));
    }
    writes
}

fn open_key(s: &IncidentState) -> Option<String> {
    s.holds_key.then(|| s.dedup_key.as_str().to_owned())
}

fn alerts(s: &IncidentState) -> Option<String> {
    (!s.alerts.0.is_empty()).then(|| to_json(&s.alerts))
}

/// `UPDATE incidents SET <set>, version = version + 1 FROM (VALUES …) AS v` for rows
/// whose first two columns are the incident id and the version it was read at. On
/// PostgreSQL every row must come back, or another writer changed it since (SQLite
/// holds its write lock from the first read, so nobody can).
fn checked_updates(d: Backend, writes: &mut Vec<Write>, set: &str, rows: Vec<Vec<Val>>) {
    let returning = match d {
        Backend::Postgres => "RETURNING incidents.id",
        Backend::Sqlite => "",
    };
    let postgres = d == Backend::Postgres;
    writes.extend(chunked(d, rows, |values, n| {
        let sql = format!(
            "UPDATE incidents SET {set}, version = incidents.version + 1 FROM (VALUES {values}) AS v \
             WHERE incidents.id = v.column1 AND incidents.version = v.column2 {returning}"
        );
        (sql, postgres.then_some(n))
    }));
}

/// What the effects writer needs besides the effects.
pub(crate) struct Known<'a> {
    /// When the decision was made (assignments and messages are stamped with it).
    pub now: Timestamp,
    /// The number of an incident a line may name (one opened in the same batch).
    pub numbers: &'a HashMap<IncidentId, i64>,
    /// The stored form of the events that lines carry.
    pub event_bodies: &'a HashMap<EventId, String>,
}

/// The statements that write `effects`, grouped by kind in phase order.
pub(crate) fn effect_writes(d: Backend, effects: &Effects, known: &Known) -> Vec<Write> {
    let ordered = effects.in_write_order();
    let mut writes = Vec::new();
    let mut start = 0;
    while start < ordered.len() {
        let phase = ordered[start].1.phase();
        let end = ordered[start..]
            .iter()
            .position(|(_, e)| e.phase() != phase)
            .map_or(ordered.len(), |n| start + n);
        phase_writes(d, &ordered[start..end], known, &mut writes);
        start = end;
    }
    writes
}

/// The statements for effects of one kind.
fn phase_writes(
    d: Backend,
    effects: &[(IncidentId, &Effect)],
    known: &Known,
    writes: &mut Vec<Write>,
) {
    let ids = |list: &[(IncidentId, &Effect)]| -> Vec<IncidentId> {
        list.iter().map(|(id, _)| *id).collect()
    };
    let now = known.now.as_millis();
    match effects[0].1 {
        Effect::StopPaging => writes.extend(stop_paging(d, &ids(effects))),
        Effect::ClearTimers(_) => {
            // Grouped by which timers go.
            let mut by_kinds: Vec<(TimerKinds, Vec<IncidentId>)> = Vec::new();
            for (id, e) in effects {
                if let Effect::ClearTimers(kinds) = e {
                    match by_kinds.iter_mut().find(|(k, _)| k == kinds) {
                        Some((_, list)) => list.push(*id),
                        None => by_kinds.push((*kinds, vec![*id])),
                    }
                }
            }
            for (kinds, incidents) in by_kinds {
                let names: Vec<String> =
                    kinds.kinds().map(|k| format!("'{}'", k.as_str())).collect();
                for chunk in incidents.chunks(500) {
                    writes.push(Write {
                        sql: format!(
                            "DELETE FROM incident_timers WHERE kind IN ({}) AND incident_id IN {}",
                            names.join(","),
                            in_list(d, chunk.len())
                        ),
                        values: text_ids(chunk),
                        expect_rows: None,
                    });
                }
            }
        }
        Effect::Escalation(_) => {
            let rows = rows_of(effects, |id, e| match e {
                Effect::Escalation(s) => Some(escalation_row(id, s)),
                _ => None,
            });
            writes.extend(multi_row(
                d,
                "INSERT INTO escalations (incident_id, policy_id, level, round, hand_overs, next_at)",
                "ON CONFLICT (incident_id) DO UPDATE SET policy_id = excluded.policy_id, level = excluded.level, \
                 round = excluded.round, hand_overs = excluded.hand_overs, next_at = excluded.next_at",
                rows,
            ));
            let states: Vec<(IncidentId, &EscalationState)> = effects
                .iter()
                .filter_map(|(id, e)| match e {
                    Effect::Escalation(s) => Some((*id, s)),
                    _ => None,
                })
                .collect();
            writes.extend(crate::facts::escalation_facts(d, &states));
        }
        Effect::UnassignAll => {
            for chunk in ids(effects).chunks(500) {
                writes.push(Write {
                    sql: format!(
                        "DELETE FROM incident_assignees WHERE incident_id IN {}",
                        in_list(d, chunk.len())
                    ),
                    values: text_ids(chunk),
                    expect_rows: None,
                });
            }
        }
        Effect::Assign(_) => {
            let rows = rows_of(effects, |id, e| match e {
                Effect::Assign(user) => Some(vec![
                    Val::Text(id.to_string()),
                    Val::Text(user.to_string()),
                    Val::Int(now),
                ]),
                _ => None,
            });
            writes.extend(multi_row(
                d,
                "INSERT INTO incident_assignees (incident_id, user_id, assigned_at)",
                "ON CONFLICT DO NOTHING",
                rows,
            ));
        }
        Effect::PlanNotification(_) => {
            let rows = rows_of(effects, |id, e| match e {
                Effect::PlanNotification(n) => Some(vec![
                    Val::Text(onduty_core::PlannedNotificationId::new(known.now).to_string()),
                    Val::Text(id.to_string()),
                    Val::Text(n.user.to_string()),
                    Val::Text(n.rule.to_string()),
                    Val::Text(n.contact_method.to_string()),
                    Val::Int(n.due_at.as_millis()),
                    Val::Int(i64::from(n.responder)),
                ]),
                _ => None,
            });
            writes.extend(multi_row(
                d,
                "INSERT INTO planned_notifications (id, incident_id, user_id, rule_id, contact_method_id, due_at, responder)",
                "",
                rows,
            ));
        }
        Effect::SendNow(_) => {
            let rows = rows_of(effects, |id, e| match e {
                Effect::SendNow(m) => Some(message_row(
                    Some(id),
                    m.user,
                    m.contact_method,
                    None,
                    known.now,
                )),
                _ => None,
            });
            writes.extend(outbox_writes(d, rows));
        }
        Effect::Rotation(_) => {
            // One row per pointer, the last decided winning.
            let mut latest: Vec<(String, i64, i64)> = Vec::new();
            for (_, e) in effects {
                if let Effect::Rotation(r) = e {
                    let key = (r.policy.to_string(), i64::from(r.level));
                    latest.retain(|(p, l, _)| (p, l) != (&key.0, &key.1));
                    latest.push((key.0, key.1, i64::from(r.next)));
                }
            }
            let rows = latest
                .into_iter()
                .map(|(p, l, n)| vec![Val::Text(p), Val::Int(l), Val::Int(n)])
                .collect();
            writes.extend(multi_row(
                d,
                "INSERT INTO rotation_pointers (policy_id, level, next)",
                "ON CONFLICT (policy_id, level) DO UPDATE SET next = excluded.next",
                rows,
            ));
        }
        Effect::SetTimer { .. } => {
            let rows = rows_of(effects, |id, e| match e {
                Effect::SetTimer { kind, due } => Some(vec![
                    Val::Text(id.to_string()),
                    Val::Text(kind.as_str().to_owned()),
                    Val::Int(due.as_millis()),
                ]),
                _ => None,
            });
            writes.extend(multi_row(
                d,
                "INSERT INTO incident_timers (incident_id, kind, due_at)",
                "ON CONFLICT (incident_id, kind) DO UPDATE SET due_at = excluded.due_at",
                rows,
            ));
        }
        Effect::GroupKey { .. } => {
            let rows = rows_of(effects, |id, e| match e {
                Effect::GroupKey { service, key } => Some(vec![
                    Val::Text(id.to_string()),
                    Val::Text(service.to_string()),
                    Val::Text(key.as_str().to_owned()),
                ]),
                _ => None,
            });
            writes.extend(multi_row(
                d,
                "INSERT INTO incident_alert_keys (incident_id, service_id, dedup_key)",
                "ON CONFLICT DO NOTHING",
                rows,
            ));
        }
        Effect::Line(_) => {
            let rows = rows_of(effects, |id, e| match e {
                Effect::Line(line) => Some(timeline_row(
                    id,
                    line.at,
                    line.kind,
                    &line.actor,
                    line.text.words(|id| known.numbers.get(&id).copied()),
                    line.event.map(|ev| {
                        (
                            ev,
                            known
                                .event_bodies
                                .get(&ev)
                                .map(String::as_str)
                                .unwrap_or("{}"),
                        )
                    }),
                    line.data.as_ref(),
                )),
                _ => None,
            });
            writes.extend(timeline_writes(d, rows));
            let lines: Vec<(IncidentId, &onduty_core::paging::Line)> = effects
                .iter()
                .filter_map(|(id, e)| match e {
                    Effect::Line(line) => Some((*id, line)),
                    _ => None,
                })
                .collect();
            writes.extend(crate::facts::line_facts(d, &lines));
        }
    }
}

fn rows_of(
    effects: &[(IncidentId, &Effect)],
    row: impl Fn(IncidentId, &Effect) -> Option<Vec<Val>>,
) -> Vec<Vec<Val>> {
    effects.iter().filter_map(|(id, e)| row(*id, e)).collect()
}

fn text_ids(ids: &[IncidentId]) -> Vec<Val> {
    ids.iter().map(|i| Val::Text(i.to_string())).collect()
}

fn escalation_row(incident: IncidentId, s: &EscalationState) -> Vec<Val> {
    vec![
        Val::Text(incident.to_string()),
        Val::OptText(s.policy.map(|p| p.to_string())),
        Val::Int(s.level.map(i64::from).unwrap_or(-1)),
        Val::Int(i64::from(s.round)),
        Val::Int(i64::from(s.hand_overs)),
        Val::OptInt(s.next_at.map(Timestamp::as_millis)),
    ]
}

/// Stops everything that would page for these incidents: their escalation (the row
/// stays, so that "escalate to the next level" knows where it stood), the notifications
/// planned, and messages not yet sent.
fn stop_paging(d: Backend, incidents: &[IncidentId]) -> Vec<Write> {
    let mut writes = Vec::new();
    for chunk in incidents.chunks(500) {
        let list = in_list(d, chunk.len());
        for sql in [
            format!("UPDATE escalations SET next_at = NULL WHERE incident_id IN {list}"),
            format!("DELETE FROM planned_notifications WHERE incident_id IN {list}"),
            format!(
                "UPDATE outbox SET status = 'cancelled' WHERE status = 'pending' AND clears = 0 AND incident_id IN {list}"
            ),
        ] {
            writes.push(Write {
                sql,
                values: text_ids(chunk),
                expect_rows: None,
            });
        }
    }
    writes
}

/// A new outbox message, due at once: about an incident, or a notice with its own text.
pub(crate) fn message_row(
    incident: Option<IncidentId>,
    user: onduty_core::UserId,
    method: onduty_core::ContactMethodId,
    notice: Option<String>,
    now: Timestamp,
) -> Vec<Val> {
    vec![
        Val::Text(onduty_core::OutboxId::new(now).to_string()),
        Val::OptText(incident.map(|i| i.to_string())),
        Val::Text(user.to_string()),
        Val::Text(method.to_string()),
        Val::Int(now.as_millis()),
        Val::Int(now.as_millis()),
        Val::Text("pending".to_owned()),
        Val::Int(0),
        Val::OptText(notice),
    ]
}

/// The statements that insert outbox rows built by [`message_row`], and count the pages
/// among them in the report roll-ups.
pub(crate) fn outbox_writes(d: Backend, rows: Vec<Vec<Val>>) -> Vec<Write> {
    let pages = crate::facts::page_facts(d, &rows);
    let mut writes = multi_row(
        d,
        "INSERT INTO outbox (id, incident_id, user_id, contact_method_id, next_attempt_at, created_at, status, attempts, notice)",
        "",
        rows,
    );
    writes.extend(pages);
    writes
}

/// The values of one `timeline` row, in [`timeline_writes`]'s column order.
pub(crate) fn timeline_row(
    incident: IncidentId,
    at: Timestamp,
    kind: onduty_core::incident::TimelineKind,
    actor: &onduty_core::incident::Actor,
    message: String,
    event: Option<(EventId, &str)>,
    data: Option<&serde_json::Value>,
) -> Vec<Val> {
    vec![
        Val::Text(onduty_core::TimelineId::new(at).to_string()),
        Val::Text(incident.to_string()),
        Val::Int(at.as_millis()),
        Val::Text(kind.as_str().to_owned()),
        Val::Text(to_json(actor)),
        Val::Text(message),
        Val::OptText(event.map(|(id, _)| id.to_string())),
        Val::OptText(event.map(|(_, body)| body.to_owned())),
        Val::OptText(data.map(to_json)),
    ]
}

/// The statements that insert timeline rows built by [`timeline_row`].
pub(crate) fn timeline_writes(d: Backend, rows: Vec<Vec<Val>>) -> Vec<Write> {
    multi_row(
        d,
        "INSERT INTO timeline (id, incident_id, at, kind, actor, message, event_id, event, data)",
        "",
        rows,
    )
}
