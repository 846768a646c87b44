//! Incident actions that reshape paging rather than only change the status: escalate
//! now, reassign, add responders, snooze. Each is one transaction over the incident row
//! (checked by its version), its timeline and the engine's state; the engine does the
//! paging at its next tick.

use onduty_core::contact::plan_notifications;
use onduty_core::incident::{Actor, Incident, IncidentStatus, TimelineKind};
use onduty_core::{IncidentId, IncidentRef, PolicyId, Timestamp, UserId};
use sqlx::AnyConnection;

use crate::contacts::rules_on;
use crate::incidents::{Acted, load_incident};
use crate::ingest::{timeline_row, timeline_writes};
use crate::paging::{
    PlannedNotification, TimerKind, plan_notification, set_timer, start_escalation, stop_paging,
    write,
};
use crate::sql::{Val, Write, col, execute_writes, opt_id};
use crate::{Backend, Store, StoreError, begin};

/// Who an incident is reassigned to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assignee {
    /// Paged directly through their notification rules; no escalation policy follows.
    User(UserId),
    /// Escalation starts again at this policy's first level.
    Policy(PolicyId),
}

/// A change to how an incident pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reshape {
    /// Page a level now: the one given (0-based) or the one after the current level.
    /// An acknowledged incident is triggered again.
    Escalate { level: Option<u32> },
    /// Hand the incident to someone else; it is triggered again if acknowledged.
    Reassign(Assignee),
    /// Page more people now, as well as whoever is paged already; they are paged even
    /// if the incident is acknowledged.
    AddResponders(Vec<UserId>),
    /// Quiet until `until`, then triggered again (and paged). A triggered incident is
    /// acknowledged by the snooze.
    Snooze { until: Timestamp },
}

/// Where an incident's escalation stands (its row in `escalations`).
struct Standing {
    policy: Option<PolicyId>,
    level: i64,
    round: u32,
    hand_overs: u32,
}

impl Store {
    /// Applies `change` to an incident on behalf of `actor`, reached `via` some path ("the
    /// API", "SMS").
    pub async fn reshape_incident(
        &self,
        r: IncidentRef,
        change: &Reshape,
        actor: &Actor,
        via: &str,
        now: Timestamp,
    ) -> Result<Acted, StoreError> {
        for _ in 0..8 {
            match self.try_reshape(r, change, actor, via, now).await {
                Err(e) if e.is_retryable() => continue,
                Err(e) => return Err(e),
                Ok(()) => {
                    let incident = self.incident(r).await?;
                    return Ok(Acted {
                        incident,
                        changed: true,
                    });
                }
            }
        }
        Err(StoreError::Contention)
    }

    async fn try_reshape(
        &self,
        r: IncidentRef,
        change: &Reshape,
        actor: &Actor,
        via: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let d = self.backend;
        let mut conn = self.write_conn().await?;
        let mut tx = begin(&mut conn, d).await?;
        let conn: &mut AnyConnection = &mut tx;
        let (incident, version) = load_incident(conn, r).await?;
        if incident.status == IncidentStatus::Resolved {
            return Err(StoreError::Conflict(format!(
                "incident #{} is resolved",
                incident.number
            )));
        }
        let who = actor.name();
        let mut writes = Vec::new();
        let mut lines: Vec<(TimelineKind, String)> = Vec::new();
        let status = match change {
            Reshape::AddResponders(_) => incident.status,
            Reshape::Snooze { .. } => IncidentStatus::Acknowledged,
            Reshape::Escalate { .. } | Reshape::Reassign(_) => IncidentStatus::Triggered,
        };
        let (sql, values) = status_update(&incident, version, status, actor, now);
        let mut query = sqlx::query(sql);
        for v in values {
            query = crate::sql::bind(query, v);
        }
        if query.execute(&mut *conn).await?.rows_affected() != 1 {
            return Err(StoreError::VersionConflict);
        }
        if status != incident.status {
            writes.push(clear_timer_write(d, incident.id, None));
        }
        match change {
            Reshape::Escalate { level } => {
                let standing = standing(conn, incident.id).await?;
                let policy_id = match standing.as_ref().and_then(|s| s.policy) {
                    Some(p) => p,
                    None => service_policy(conn, &incident).await?.ok_or_else(|| {
                        StoreError::Conflict(format!(
                            "incident #{} has no escalation policy to escalate through",
                            incident.number
                        ))
                    })?,
                };
                let policy = self.policy(policy_id).await?;
                let levels = policy.steps.levels().len() as u32;
                let (round, hand_overs, current) = match &standing {
                    Some(s) if s.policy == Some(policy_id) => {
                        (s.round, s.hand_overs, u32::try_from(s.level).ok())
                    }
                    _ => (0, 0, None),
                };
                let target = match (level, current) {
                    (Some(l), _) => *l,
                    (None, Some(c)) => c + 1,
                    (None, None) => 1.min(levels - 1),
                };
                if target >= levels {
                    return Err(StoreError::Invalid(match level {
                        Some(l) => format!(
                            "escalation policy {} has {levels} levels; there is no level {}",
                            policy.name,
                            l + 1
                        ),
                        None => format!(
                            "incident #{} is at the last level of {}; choose a level",
                            incident.number, policy.name
                        ),
                    }));
                }
                writes.extend(stop_paging(d, &[incident.id]));
                writes.push(escalate_to(
                    d,
                    incident.id,
                    policy_id,
                    target,
                    round,
                    hand_overs,
                    now,
                ));
                lines.push((
                    TimelineKind::Escalated,
                    format!(
                        "Escalated to level {} of {} by {who} via {via}",
                        target + 1,
                        policy.name
                    ),
                ));
            }
            Reshape::Reassign(Assignee::User(user)) => {
                let name = self.user(*user).await?.name.to_string();
                writes.extend(stop_paging(d, &[incident.id]));
                writes.push(set_policy(d, incident.id, None));
                writes.push(write(
                    d,
                    "DELETE FROM incident_assignees WHERE incident_id = ?",
                    vec![Val::Text(incident.id.to_string())],
                ));
                writes.push(assign(d, incident.id, *user, now));
                writes.extend(page_people(conn, d, &incident, &[*user], false, now).await?);
                lines.push((
                    TimelineKind::Assigned,
                    format!("Reassigned to {name} by {who} via {via}"),
                ));
            }
            Reshape::Reassign(Assignee::Policy(policy)) => {
                let policy = self.policy(*policy).await?;
                writes.extend(stop_paging(d, &[incident.id]));
                writes.push(write(
                    d,
                    "DELETE FROM incident_assignees WHERE incident_id = ?",
                    vec![Val::Text(incident.id.to_string())],
                ));
                writes.push(start_escalation(d, incident.id, policy.id, now));
                lines.push((
                    TimelineKind::Assigned,
                    format!(
                        "Reassigned to escalation policy {} by {who} via {via}",
                        policy.name
                    ),
                ));
            }
            Reshape::AddResponders(users) => {
                let mut names = Vec::with_capacity(users.len());
                for user in users {
                    names.push(self.user(*user).await?.name.to_string());
                    if !incident.assignees.contains(user) {
                        writes.push(assign(d, incident.id, *user, now));
                    }
                }
                writes.extend(page_people(conn, d, &incident, users, true, now).await?);
                lines.push((
                    TimelineKind::Assigned,
                    format!("{who} added {} as responders via {via}", names.join(", ")),
                ));
            }
            Reshape::Snooze { until } => {
                if *until <= now {
                    return Err(StoreError::Invalid(
                        "a snooze must end in the future".to_owned(),
                    ));
                }
                writes.extend(stop_paging(d, &[incident.id]));
                writes.push(clear_timer_write(
                    d,
                    incident.id,
                    Some(TimerKind::AckTimeout),
                ));
                writes.push(set_timer(d, incident.id, TimerKind::Snooze, *until));
                if incident.status == IncidentStatus::Triggered {
                    lines.push((
                        TimelineKind::Acknowledged,
                        format!("Acknowledged by {who} via {via}"),
                    ));
                }
                lines.push((
                    TimelineKind::Snoozed,
                    format!("Snoozed until {} by {who} via {via}", until.to_rfc3339()),
                ));
            }
        }
        if status == IncidentStatus::Triggered && incident.status == IncidentStatus::Acknowledged {
            lines.insert(
                0,
                (
                    TimelineKind::Unacknowledged,
                    format!("Triggered again by {who} via {via}"),
                ),
            );
        }
        let rows = lines
            .into_iter()
            .map(|(kind, message)| timeline_row(incident.id, now, kind, actor, message, None, None))
            .collect();
        writes.extend(timeline_writes(d, rows));
        execute_writes(conn, d, writes).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// What paging again means for an incident triggered again (unacknowledged, or its
/// acknowledgement timed out or its snooze ended): its policy from the first level; or,
/// if it was reassigned to people directly, those people.
pub(crate) async fn page_again(
    conn: &mut AnyConnection,
    d: Backend,
    incident: &Incident,
    now: Timestamp,
) -> Result<Vec<Write>, StoreError> {
    match standing(conn, incident.id).await? {
        Some(Standing {
            policy: Some(policy),
            ..
        }) => Ok(vec![start_escalation(d, incident.id, policy, now)]),
        Some(Standing { policy: None, .. }) => {
            page_people(conn, d, incident, &incident.assignees, false, now).await
        }
        None => Ok(service_policy(conn, incident)
            .await?
            .map(|policy| start_escalation(d, incident.id, policy, now))
            .into_iter()
            .collect()),
    }
}

/// Plans every notification rule of `users` for `incident`, from `now`.
async fn page_people(
    conn: &mut AnyConnection,
    d: Backend,
    incident: &Incident,
    users: &[UserId],
    responder: bool,
    now: Timestamp,
) -> Result<Vec<Write>, StoreError> {
    let mut writes = Vec::new();
    for user in users {
        let rules = rules_on(conn, *user).await?;
        for (rule, due_at) in plan_notifications(&rules, incident.urgency, now) {
            if let Some(r) = rules.iter().find(|r| r.id == rule) {
                let planned = PlannedNotification {
                    user: *user,
                    rule,
                    contact_method: r.contact_method,
                    due_at,
                };
                writes.push(plan_notification(d, incident.id, &planned, responder, now));
            }
        }
    }
    Ok(writes)
}

async fn standing(
    conn: &mut AnyConnection,
    incident: IncidentId,
) -> Result<Option<Standing>, StoreError> {
    let row = sqlx::query(
        "SELECT policy_id, level, round, hand_overs FROM escalations WHERE incident_id = $1",
    )
    .bind(incident.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| {
        Ok(Standing {
            policy: opt_id(&row, "policy_id")?,
            level: col(&row, "level")?,
            round: u32::try_from(col::<i64>(&row, "round")?).map_err(StoreError::corrupt)?,
            hand_overs: u32::try_from(col::<i64>(&row, "hand_overs")?)
                .map_err(StoreError::corrupt)?,
        })
    })
    .transpose()
}

async fn service_policy(
    conn: &mut AnyConnection,
    incident: &Incident,
) -> Result<Option<PolicyId>, StoreError> {
    let row = sqlx::query("SELECT policy_id FROM services WHERE id = $1")
        .bind(incident.service_id.to_string())
        .fetch_one(&mut *conn)
        .await?;
    opt_id(&row, "policy_id")
}

/// The incident row with its new status, checked against the version it was read at.
fn status_update(
    incident: &Incident,
    version: i64,
    status: IncidentStatus,
    actor: &Actor,
    now: Timestamp,
) -> (&'static str, Vec<Val>) {
    let at = Val::Int(now.as_millis());
    let id = Val::Text(incident.id.to_string());
    match (incident.status, status) {
        (IncidentStatus::Triggered, IncidentStatus::Acknowledged) => (
            "UPDATE incidents SET status = 'acknowledged', acknowledged_at = $1, acknowledged_by = $2, \
             updated_at = $1, version = version + 1 WHERE id = $3 AND version = $4",
            vec![
                at,
                Val::Text(serde_json::to_string(actor).unwrap_or_default()),
                id,
                Val::Int(version),
            ],
        ),
        (IncidentStatus::Acknowledged, IncidentStatus::Triggered) => (
            "UPDATE incidents SET status = 'triggered', acknowledged_at = NULL, acknowledged_by = NULL, \
             updated_at = $1, version = version + 1 WHERE id = $2 AND version = $3",
            vec![at, id, Val::Int(version)],
        ),
        _ => (
            "UPDATE incidents SET updated_at = $1, version = version + 1 WHERE id = $2 AND version = $3",
            vec![at, id, Val::Int(version)],
        ),
    }
}

fn clear_timer_write(d: Backend, incident: IncidentId, kind: Option<TimerKind>) -> Write {
    match kind {
        Some(kind) => write(
            d,
            "DELETE FROM incident_timers WHERE incident_id = ? AND kind = ?",
            vec![
                Val::Text(incident.to_string()),
                Val::Text(kind.as_str().to_owned()),
            ],
        ),
        // Triggered again or acknowledged by hand: the old acknowledgement timeout and
        // snooze no longer apply (auto-resolve still does).
        None => write(
            d,
            "DELETE FROM incident_timers WHERE incident_id = ? AND kind <> 'auto_resolve'",
            vec![Val::Text(incident.to_string())],
        ),
    }
}

/// The escalation stands just before `level`, due now: the engine pages that level.
fn escalate_to(
    d: Backend,
    incident: IncidentId,
    policy: PolicyId,
    level: u32,
    round: u32,
    hand_overs: u32,
    now: Timestamp,
) -> Write {
    let before = i64::from(level) - 1;
    write(
        d,
        "INSERT INTO escalations (incident_id, policy_id, level, round, hand_overs, next_at) \
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (incident_id) DO UPDATE SET policy_id = excluded.policy_id, \
         level = excluded.level, round = excluded.round, hand_overs = excluded.hand_overs, next_at = excluded.next_at",
        vec![
            Val::Text(incident.to_string()),
            Val::Text(policy.to_string()),
            Val::Int(before),
            Val::Int(i64::from(if before < 0 { 0 } else { round })),
            Val::Int(i64::from(hand_overs)),
            Val::Int(now.as_millis()),
        ],
    )
}

/// The incident escalates through no policy (reassigned to people).
fn set_policy(d: Backend, incident: IncidentId, policy: Option<PolicyId>) -> Write {
    write(
        d,
        "INSERT INTO escalations (incident_id, policy_id, level, round, hand_overs, next_at) \
         VALUES (?, ?, -1, 0, 0, NULL) ON CONFLICT (incident_id) DO UPDATE SET policy_id = excluded.policy_id, \
         level = -1, round = 0, hand_overs = 0, next_at = NULL",
        vec![
            Val::Text(incident.to_string()),
            Val::OptText(policy.map(|p| p.to_string())),
        ],
    )
}

fn assign(d: Backend, incident: IncidentId, user: UserId, now: Timestamp) -> Write {
    write(
        d,
        "INSERT INTO incident_assignees (incident_id, user_id, assigned_at) VALUES (?, ?, ?) \
         ON CONFLICT DO NOTHING",
        vec![
            Val::Text(incident.to_string()),
            Val::Text(user.to_string()),
            Val::Int(now.as_millis()),
        ],
    )
}
