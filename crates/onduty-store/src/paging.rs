//! The paging engine's state: escalations in progress, notifications planned for the
//! people paged, per-incident timers, the outbox, and the engine lease.
//!
//! Ingest and incident commands keep this state in step with incidents inside their own
//! transactions, through the one writer of effects ([`crate::effects`]); the engine reads
//! what is due here and writes back what it decided.

use onduty_core::contact::{Channel, ContactMethod, Urgency};
use onduty_core::escalation::Position;
use onduty_core::incident::{Actor, IncidentStatus, TimelineKind};
use onduty_core::paging::{Effect, Effects, TimerKind};
use onduty_core::{ContactMethodId, IncidentId, PolicyId, Timestamp, UserId};
use sqlx::AssertSqlSafe;
use sqlx::any::AnyRow;

use crate::direct_posts::{self, PostedDirect};
use crate::effects::{
    Known, effect_writes, message_row, outbox_writes, timeline_row, timeline_writes,
};
use crate::sql::{Val, Write, col, execute_writes, in_list, parse_col};
use crate::{Backend, Store, StoreError, begin};

pub(crate) use crate::sql::write;

/// An escalation whose time has come, with what the engine needs to decide.
#[derive(Debug, Clone)]
pub struct DueEscalation {
    pub incident: IncidentId,
    pub number: i64,
    pub status: IncidentStatus,
    pub urgency: Urgency,
    pub policy: PolicyId,
    /// `None` before the first level is reached.
    pub position: Option<Position>,
    pub next_at: Timestamp,
    /// Someone has the incident (an earlier level paged them, or they took it).
    pub assigned: bool,
}

/// What the engine decided for one due escalation.
#[derive(Debug, Clone)]
pub struct EscalationStep {
    pub incident: IncidentId,
    /// The `next_at` it was read with: if it changed since, the step is skipped.
    pub read_next_at: Timestamp,
    /// The escalation moved on, people paged, lines on the timeline.
    pub effects: Vec<Effect>,
}

/// A planned notification whose time has come.
#[derive(Debug, Clone)]
pub struct DueNotification {
    pub id: onduty_core::PlannedNotificationId,
    pub incident: IncidentId,
    pub status: IncidentStatus,
    pub user: UserId,
    pub user_name: String,
    pub method: Option<ContactMethod>,
    pub due_at: Timestamp,
    /// Added as a responder by hand: paged while the incident is open, acknowledged or not.
    pub responder: bool,
}

/// What to do with a due notification: queue a message (`send`) or drop it, with an
/// optional line on the incident's timeline saying why.
#[derive(Debug, Clone)]
pub struct Release {
    pub due: DueNotification,
    pub send: bool,
    pub note: Option<String>,
}

/// A message waiting to be sent, with what it says.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    pub id: onduty_core::OutboxId,
    pub incident: Option<IncidentId>,
    pub number: Option<i64>,
    pub summary: String,
    pub service: String,
    pub severity: String,
    pub urgency: String,
    pub incident_status: Option<IncidentStatus>,
    pub user: UserId,
    pub user_name: String,
    pub method: ContactMethod,
    pub secret: Option<String>,
    pub attempts: i64,
    /// The text of a message that is not about an incident (a handoff notification).
    pub notice: Option<String>,
    /// A message that takes back what was pushed about its incident (an ntfy clear).
    pub clears: bool,
}

/// Messages to one number held back for its gap: until when, and why.
#[derive(Debug, Clone)]
pub struct Hold {
    pub outbox: Vec<onduty_core::OutboxId>,
    /// The incidents the messages are about.
    pub incidents: Vec<IncidentId>,
    pub until: Timestamp,
    /// The timeline's line about it.
    pub reason: String,
}

/// One message sent (or tried) for a group of outbox rows, and its timeline line.
#[derive(Debug, Clone)]
pub struct SentGroup {
    pub items: Vec<OutboxItem>,
    pub delivery: Delivery,
    pub line: String,
}

/// How sending a group of outbox messages went.
#[derive(Debug, Clone)]
pub enum Delivery {
    Sent {
        provider_ref: Option<String>,
        /// The chat messages a page was posted as, one per incident, kept up to date.
        posts: Vec<PostedDirect>,
    },
    /// Try again at `retry_at`, or give up if `None`.
    Retry {
        error: String,
        retry_at: Option<Timestamp>,
    },
    /// The contact method will not work: mark it failing and move the person on.
    Refused { error: String },
}

/// The writes that record how sending one group went, and its timeline lines.
fn delivery_writes(
    d: Backend,
    group: &SentGroup,
    now: Timestamp,
    writes: &mut Vec<Write>,
    timeline: &mut Vec<Vec<Val>>,
) {
    let SentGroup {
        items,
        delivery,
        line,
    } = group;
    let (set, set_values) = match delivery {
        Delivery::Sent { provider_ref, .. } => (
            "status = 'sent', attempts = attempts + 1, sent_at = ?, provider_ref = ?, next_attempt_at = NULL",
            vec![
                Val::Int(now.as_millis()),
                Val::OptText(provider_ref.clone()),
            ],
        ),
        Delivery::Retry {
            error,
            retry_at: Some(at),
        } => (
            "attempts = attempts + 1, last_error = ?, next_attempt_at = ?",
            vec![Val::Text(error.clone()), Val::Int(at.as_millis())],
        ),
        Delivery::Retry {
            error,
            retry_at: None,
        }
        | Delivery::Refused { error } => (
            "status = 'failed', attempts = attempts + 1, last_error = ?, next_attempt_at = NULL",
            vec![Val::Text(error.clone())],
        ),
    };
    for chunk in items.chunks(500) {
        let ids = vec!["?"; chunk.len()].join(",");
        let mut values = set_values.clone();
        values.extend(chunk.iter().map(|i| Val::Text(i.id.to_string())));
        writes.push(write(
            d,
            &format!("UPDATE outbox SET {set} WHERE id IN ({ids})"),
            values,
        ));
    }
    if let (Delivery::Sent { posts, .. }, Some(first)) = (delivery, items.first()) {
        // A page sent in chat is edited as its incident changes (`crate::direct_posts`).
        writes.extend(
            posts
                .iter()
                .map(|post| direct_posts::remember(d, first.method.id, post, now)),
        );
    }
    if let Delivery::Sent { .. } = delivery {
        // A page pushed to a phone or a browser is taken back once its incident needs
        // nobody (`crate::pushes`).
        for item in items {
            if let (Some(incident), true, false, None) = (
                item.incident,
                item.method.channel.follows_up(),
                item.clears,
                &item.notice,
            ) {
                writes.push(write(
                    d,
                    "INSERT INTO pushed (incident_id, contact_method_id, user_id) VALUES (?, ?, ?) \
                     ON CONFLICT DO NOTHING",
                    vec![
                        Val::Text(incident.to_string()),
                        Val::Text(item.method.id.to_string()),
                        Val::Text(item.user.to_string()),
                    ],
                ));
            }
        }
    }
    if let (Delivery::Refused { error }, Some(first)) = (delivery, items.first()) {
        writes.push(write(
            d,
            "UPDATE contact_methods SET failing = ? WHERE id = ?",
            vec![
                Val::Text(error.clone()),
                Val::Text(first.method.id.to_string()),
            ],
        ));
        // Move the person on: their next planned notification for each incident is due now.
        for item in items {
            if let Some(incident) = item.incident {
                writes.push(write(
                    d,
                    "UPDATE planned_notifications SET due_at = ? WHERE id = (SELECT id FROM planned_notifications \
                     WHERE incident_id = ? AND user_id = ? AND contact_method_id <> ? ORDER BY due_at LIMIT 1)",
                    vec![
                        Val::Int(now.as_millis()),
                        Val::Text(incident.to_string()),
                        Val::Text(item.user.to_string()),
                        Val::Text(item.method.id.to_string()),
                    ],
                ));
            }
        }
    }
    for incident in items.iter().filter_map(|i| i.incident) {
        timeline.push(timeline_row(
            incident,
            now,
            TimelineKind::Notified,
            &Actor::System,
            line.clone(),
            None,
            None,
        ));
    }
}

fn position_from_row(row: &AnyRow) -> Result<Option<Position>, StoreError> {
    let level: i64 = col(row, "level")?;
    if level < 0 {
        return Ok(None);
    }
    Ok(Some(Position {
        policy: parse_col(row, "policy_id", str::parse)?,
        level: u32::try_from(level).map_err(StoreError::corrupt)?,
        round: u32::try_from(col::<i64>(row, "round")?).map_err(StoreError::corrupt)?,
        hand_overs: u32::try_from(col::<i64>(row, "hand_overs")?).map_err(StoreError::corrupt)?,
    }))
}

fn method_from_joined(row: &AnyRow) -> Result<Option<ContactMethod>, StoreError> {
    let Some(id) = col::<Option<String>>(row, "cm_id")? else {
        return Ok(None);
    };
    let channel = parse_col(row, "cm_channel", |t| {
        Channel::parse(t).ok_or("unknown channel")
    })?;
    Ok(Some(ContactMethod {
        id: id.parse().map_err(StoreError::corrupt)?,
        user_id: parse_col(row, "cm_user_id", str::parse)?,
        name: col(row, "cm_name")?,
        channel,
        address: parse_col(row, "cm_address", |t| {
            onduty_core::contact::Address::parse(channel, t)
        })?,
        verified: col::<i64>(row, "cm_verified")? != 0,
        failing: col(row, "cm_failing")?,
        created_at: Timestamp::from_millis(col(row, "cm_created_at")?),
    }))
}

const METHOD_COLUMNS: &str = "cm.id AS cm_id, cm.user_id AS cm_user_id, cm.name AS cm_name, cm.channel AS cm_channel, \
     cm.address AS cm_address, cm.verified AS cm_verified, cm.failing AS cm_failing, cm.created_at AS cm_created_at";

impl Store {
    /// Reads the engine's due rows with `read`. A row that cannot be read (damaged by
    /// hand, say) is logged and set aside with the statements `set_aside` gives for it,
    /// all in one transaction, so that one damaged row never stops the engine's work on
    /// the others. A row whose statements cannot even be made fails the read.
    pub(crate) async fn read_or_set_aside<T>(
        &self,
        rows: &[AnyRow],
        what: &str,
        read: impl Fn(&AnyRow) -> Result<T, StoreError>,
        set_aside: impl Fn(&AnyRow, &StoreError) -> Result<Vec<Write>, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::with_capacity(rows.len());
        let mut writes = Vec::new();
        for row in rows {
            match read(row) {
                Ok(t) => out.push(t),
                Err(e) => {
                    tracing::error!(error = %e, "a due {what} cannot be read; it is set aside");
                    // One that cannot even be set aside fails the stage (which is then
                    // retried after a pause), rather than staying due and spinning.
                    writes.extend(set_aside(row, &e)?);
                }
            }
        }
        if !writes.is_empty() {
            let d = self.backend;
            let mut conn = self.lane().await?;
            let mut tx = begin(&mut conn, d).await?;
            execute_writes(&mut tx, d, writes).await?;
            tx.commit().await?;
        }
        Ok(out)
    }

    /// Escalations due at `now`, earliest first. A row that cannot be read (damaged by
    /// hand, say) is taken out of the schedule, with a note on its incident's timeline and
    /// the error in the log, so that it never holds up the others.
    pub async fn due_escalations(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<DueEscalation>, StoreError> {
        let rows = sqlx::query(
            "SELECT e.incident_id, e.policy_id, e.level, e.round, e.hand_overs, e.next_at, i.number, i.status, i.urgency, \
             (SELECT COUNT(*) FROM incident_assignees a WHERE a.incident_id = i.id) AS assigned \
             FROM escalations e JOIN incidents i ON i.id = e.incident_id \
             WHERE e.next_at IS NOT NULL AND e.next_at <= $1 ORDER BY e.next_at LIMIT $2",
        )
        .bind(now.as_millis())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        let d = self.backend;
        self.read_or_set_aside(
            &rows,
            "escalation",
            |row| {
                Ok(DueEscalation {
                    incident: parse_col(row, "incident_id", str::parse)?,
                    number: col(row, "number")?,
                    status: parse_col(row, "status", |t| {
                        IncidentStatus::parse(t).ok_or("unknown status")
                    })?,
                    urgency: parse_col(row, "urgency", |t| {
                        Urgency::parse(t).ok_or("unknown urgency")
                    })?,
                    policy: parse_col(row, "policy_id", str::parse)?,
                    position: position_from_row(row)?,
                    next_at: Timestamp::from_millis(col(row, "next_at")?),
                    assigned: col::<i64>(row, "assigned")? > 0,
                })
            },
            |row, error| {
                // Taken out of the schedule, and said on its incident.
                let incident: String = col(row, "incident_id")?;
                let mut writes = vec![write(
                    d,
                    "UPDATE escalations SET next_at = NULL WHERE incident_id = ?",
                    vec![Val::Text(incident.clone())],
                )];
                if let Ok(id) = incident.parse::<IncidentId>() {
                    let message = format!(
                        "onduty could not read this incident's escalation ({error}) and stopped \
                         escalating it: page people by hand (escalate or reassign)"
                    );
                    let row = timeline_row(
                        id,
                        now,
                        TimelineKind::Escalated,
                        &Actor::System,
                        message,
                        None,
                        None,
                    );
                    writes.extend(timeline_writes(d, vec![row]));
                }
                Ok(writes)
            },
        )
        .await
    }

    /// The round-robin pointers of these policies' levels (levels never used are absent:
    /// their pointer is 0).
    pub async fn rotation_pointers(
        &self,
        policies: &[PolicyId],
    ) -> Result<std::collections::HashMap<(PolicyId, u32), u32>, StoreError> {
        let mut pointers = std::collections::HashMap::new();
        for chunk in policies.chunks(500) {
            let sql = format!(
                "SELECT policy_id, level, next FROM rotation_pointers WHERE policy_id IN {}",
                in_list(self.backend, chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for p in chunk {
                q = q.bind(p.to_string());
            }
            for row in q.fetch_all(&self.read).await? {
                let level = u32::try_from(col::<i64>(&row, "level")?).unwrap_or(0);
                let next = u32::try_from(col::<i64>(&row, "next")?).unwrap_or(0);
                pointers.insert((parse_col(&row, "policy_id", str::parse)?, level), next);
            }
        }
        Ok(pointers)
    }

    /// The round-robin pointer of a policy level (0 if never used).
    pub async fn rotation_pointer(&self, policy: PolicyId, level: u32) -> Result<u32, StoreError> {
        let row =
            sqlx::query("SELECT next FROM rotation_pointers WHERE policy_id = $1 AND level = $2")
                .bind(policy.to_string())
                .bind(i64::from(level))
                .fetch_optional(&self.read)
                .await?;
        Ok(match row {
            Some(r) => u32::try_from(col::<i64>(&r, "next")?).unwrap_or(0),
            None => 0,
        })
    }

    /// Applies escalation steps in one transaction, each unless its escalation changed
    /// since it was read (an acknowledgement, say). Returns the incidents whose step was
    /// applied.
    pub async fn apply_escalations(
        &self,
        steps: Vec<EscalationStep>,
        now: Timestamp,
    ) -> Result<Vec<IncidentId>, StoreError> {
        if steps.is_empty() {
            return Ok(Vec::new());
        }
        let d = self.backend;
        let mut conn = self.lane().await?;
        let mut tx = begin(&mut conn, d).await?;
        // On PostgreSQL the rows stay locked until commit, so an acknowledgement arriving
        // meanwhile waits and then stops the escalation this step moved on.
        let lock = match d {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let mut current = std::collections::HashMap::new();
        for chunk in steps.chunks(500) {
            let sql = format!(
                "SELECT incident_id, next_at FROM escalations WHERE incident_id IN {}{lock}",
                in_list(d, chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for step in chunk {
                q = q.bind(step.incident.to_string());
            }
            for row in q.fetch_all(&mut *tx).await? {
                current.insert(
                    col::<String>(&row, "incident_id")?,
                    col::<Option<i64>>(&row, "next_at")?,
                );
            }
        }
        let mut effects = Effects::new();
        let mut applied = Vec::new();
        for step in steps {
            let still_due = current.get(&step.incident.to_string())
                == Some(&Some(step.read_next_at.as_millis()));
            if !still_due {
                continue;
            }
            applied.push(step.incident);
            effects.extend(step.incident, step.effects);
        }
        let bodies = std::collections::HashMap::new();
        let known = Known {
            now,
            numbers: &std::collections::HashMap::new(),
            event_bodies: &bodies,
        };
        execute_writes(&mut tx, d, effect_writes(d, &effects, &known)).await?;
        tx.commit().await?;
        Ok(applied)
    }

    /// Planned notifications due at `now`, earliest first, with their contact method.
    pub async fn due_notifications(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<DueNotification>, StoreError> {
        let sql = format!(
            "SELECT p.id, p.incident_id, p.user_id, p.due_at, p.responder, i.status, u.name AS user_name, {METHOD_COLUMNS} \
             FROM planned_notifications p JOIN incidents i ON i.id = p.incident_id JOIN users u ON u.id = p.user_id \
             LEFT JOIN contact_methods cm ON cm.id = p.contact_method_id \
             WHERE p.due_at <= $1 ORDER BY p.due_at, p.id LIMIT $2"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(now.as_millis())
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        let d = self.backend;
        self.read_or_set_aside(
            &rows,
            "notification",
            |row| {
                Ok(DueNotification {
                    id: parse_col(row, "id", str::parse)?,
                    incident: parse_col(row, "incident_id", str::parse)?,
                    status: parse_col(row, "status", |t| {
                        IncidentStatus::parse(t).ok_or("unknown status")
                    })?,
                    user: parse_col(row, "user_id", str::parse)?,
                    user_name: col(row, "user_name")?,
                    method: method_from_joined(row)?,
                    due_at: Timestamp::from_millis(col(row, "due_at")?),
                    responder: col::<i64>(row, "responder")? != 0,
                })
            },
            |row, _| {
                let id: String = col(row, "id")?;
                Ok(vec![write(
                    d,
                    "DELETE FROM planned_notifications WHERE id = ?",
                    vec![Val::Text(id)],
                )])
            },
        )
        .await
    }

    /// Turns due notifications into outbox messages (or drops them, with `send: false`),
    /// in one transaction; one already taken by someone else is left alone. The messages
    /// are sent by the dispatcher.
    pub async fn release_notifications(
        &self,
        releases: &[Release],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if releases.is_empty() {
            return Ok(());
        }
        let d = self.backend;
        let mut conn = self.lane().await?;
        let mut tx = begin(&mut conn, d).await?;
        let mut taken = std::collections::HashSet::new();
        for chunk in releases.chunks(500) {
            let sql = format!(
                "DELETE FROM planned_notifications WHERE id IN {} RETURNING id",
                in_list(d, chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for r in chunk {
                q = q.bind(r.due.id.to_string());
            }
            for row in q.fetch_all(&mut *tx).await? {
                taken.insert(parse_col::<onduty_core::PlannedNotificationId, _>(
                    &row,
                    "id",
                    str::parse,
                )?);
            }
        }
        let mut outbox = Vec::new();
        let mut timeline = Vec::new();
        for r in releases.iter().filter(|r| taken.contains(&r.due.id)) {
            if let (true, Some(method)) = (r.send, &r.due.method) {
                outbox.push(message_row(
                    Some(r.due.incident),
                    r.due.user,
                    method.id,
                    None,
                    now,
                ));
            }
            if let Some(note) = &r.note {
                timeline.push(timeline_row(
                    r.due.incident,
                    now,
                    TimelineKind::Notified,
                    &Actor::System,
                    note.clone(),
                    None,
                    None,
                ));
            }
        }
        let mut writes = outbox_writes(d, outbox);
        writes.extend(timeline_writes(d, timeline));
        execute_writes(&mut tx, d, writes).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Messages due to be sent at `now`.
    pub async fn due_outbox(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let sql = format!(
            "SELECT o.id, o.incident_id, o.user_id, o.attempts, o.notice, o.clears, i.number, i.summary, i.severity, i.urgency, i.status, \
             s.name AS service_name, u.name AS user_name, cm.secret AS cm_secret, {METHOD_COLUMNS} \
             FROM outbox o JOIN users u ON u.id = o.user_id JOIN contact_methods cm ON cm.id = o.contact_method_id \
             LEFT JOIN incidents i ON i.id = o.incident_id LEFT JOIN services s ON s.id = i.service_id \
             WHERE o.status = 'pending' AND o.next_attempt_at <= $1 ORDER BY o.next_attempt_at, o.id LIMIT $2"
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(now.as_millis())
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        let d = self.backend;
        self.read_or_set_aside(
            &rows,
            "message",
            |row| {
                let incident: Option<String> = col(row, "incident_id")?;
                let status: Option<String> = col(row, "status")?;
                Ok(OutboxItem {
                    id: parse_col(row, "id", str::parse)?,
                    incident: incident
                        .map(|i| i.parse())
                        .transpose()
                        .map_err(StoreError::corrupt)?,
                    number: col(row, "number")?,
                    summary: col::<Option<String>>(row, "summary")?.unwrap_or_default(),
                    service: col::<Option<String>>(row, "service_name")?.unwrap_or_default(),
                    severity: col::<Option<String>>(row, "severity")?.unwrap_or_default(),
                    urgency: col::<Option<String>>(row, "urgency")?.unwrap_or_default(),
                    incident_status: status.as_deref().and_then(IncidentStatus::parse),
                    user: parse_col(row, "user_id", str::parse)?,
                    user_name: col(row, "user_name")?,
                    method: method_from_joined(row)?
                        .ok_or_else(|| StoreError::corrupt("outbox without method"))?,
                    secret: col(row, "cm_secret")?,
                    attempts: col(row, "attempts")?,
                    notice: col(row, "notice")?,
                    clears: col::<i64>(row, "clears")? != 0,
                })
            },
            |row, _| {
                let id: String = col(row, "id")?;
                Ok(vec![write(
                    d,
                    "UPDATE outbox SET status = 'failed', last_error = 'onduty could not read this message', next_attempt_at = NULL WHERE id = ?",
                    vec![Val::Text(id)],
                )])
            },
        )
        .await
    }

    /// When a message was last sent to each of these contact methods (for per-number
    /// rate limits); methods never sent to are absent.
    pub async fn last_sent_to(
        &self,
        methods: &[ContactMethodId],
    ) -> Result<std::collections::HashMap<ContactMethodId, Timestamp>, StoreError> {
        let mut last = std::collections::HashMap::new();
        for chunk in methods.chunks(500) {
            // `sent_at` is set only when a message is sent.
            let sql = format!(
                "SELECT contact_method_id, MAX(sent_at) AS last FROM outbox WHERE contact_method_id IN {} \
                 GROUP BY contact_method_id",
                in_list(self.backend, chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql));
            for m in chunk {
                q = q.bind(m.to_string());
            }
            for row in q.fetch_all(&self.read).await? {
                if let Some(at) = col::<Option<i64>>(&row, "last")? {
                    last.insert(
                        parse_col(&row, "contact_method_id", str::parse)?,
                        Timestamp::from_millis(at),
                    );
                }
            }
        }
        Ok(last)
    }

    /// Holds messages back for their number's gap, in one transaction: each waits until
    /// its hold's end, each incident's timeline says why, and each incident's escalation
    /// waits as long, so that a level's delay counts from when its page went out.
    pub async fn hold_outbox(&self, holds: &[Hold], now: Timestamp) -> Result<(), StoreError> {
        let d = self.backend;
        let mut writes = Vec::new();
        let mut timeline = Vec::new();
        for hold in holds {
            for chunk in hold.outbox.chunks(500) {
                let mut values = vec![Val::Int(hold.until.as_millis())];
                values.extend(chunk.iter().map(|i| Val::Text(i.to_string())));
                writes.push(write(
                    d,
                    &format!(
                        "UPDATE outbox SET next_attempt_at = ? WHERE status = 'pending' AND id IN ({})",
                        vec!["?"; chunk.len()].join(",")
                    ),
                    values,
                ));
            }
            let shift = hold.until.as_millis() - now.as_millis();
            for incident in &hold.incidents {
                writes.push(write(
                    d,
                    "UPDATE escalations SET next_at = next_at + ? \
                     WHERE incident_id = ? AND next_at IS NOT NULL AND next_at > ?",
                    vec![
                        Val::Int(shift),
                        Val::Text(incident.to_string()),
                        Val::Int(now.as_millis()),
                    ],
                ));
                timeline.push(timeline_row(
                    *incident,
                    now,
                    TimelineKind::Notified,
                    &Actor::System,
                    hold.reason.clone(),
                    None,
                    None,
                ));
            }
        }
        writes.extend(timeline_writes(d, timeline));
        let mut conn = self.lane().await?;
        let mut tx = begin(&mut conn, d).await?;
        execute_writes(&mut tx, d, writes).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records how sending each group of messages (one contact method, one message)
    /// went, with a timeline line on each incident, in one transaction.
    pub async fn record_deliveries(
        &self,
        sent: &[SentGroup],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if sent.is_empty() {
            return Ok(());
        }
        let d = self.backend;
        let mut conn = self.lane().await?;
        let mut tx = begin(&mut conn, d).await?;
        let mut writes = Vec::new();
        let mut rows = Vec::new();
        for group in sent {
            delivery_writes(d, group, now, &mut writes, &mut rows);
        }
        writes.extend(timeline_writes(d, rows));
        execute_writes(&mut tx, d, writes).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The earliest moment anything is due: an escalation, a planned notification, a
    /// timer, a message to send or a chat message (in a channel or direct) to bring up to
    /// date.
    pub async fn next_paging_deadline(&self) -> Result<Option<Timestamp>, StoreError> {
        let row = sqlx::query(
            "SELECT MIN(t) AS next FROM ( \
               SELECT MIN(next_at) AS t FROM escalations \
               UNION ALL SELECT MIN(due_at) FROM planned_notifications \
               UNION ALL SELECT MIN(due_at) FROM incident_timers \
               UNION ALL SELECT MIN(next_attempt_at) FROM outbox WHERE status = 'pending' \
               UNION ALL SELECT MIN(p.next_attempt_at) FROM chat_posts p \
                 JOIN chat_channels c ON c.id = p.chat_channel_id \
                 WHERE p.shown < p.changes AND c.failing IS NULL \
               UNION ALL SELECT MIN(p.next_attempt_at) FROM direct_posts p \
                 JOIN incidents i ON i.id = p.incident_id WHERE p.shown_status <> i.status \
             ) AS deadlines",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(col::<Option<i64>>(&row, "next")?.map(Timestamp::from_millis))
    }

    /// Takes or renews the engine lease for `holder` until `until`, if it is free, expired
    /// or already `holder`'s. Returns whether `holder` now holds it.
    pub async fn acquire_lease(
        &self,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE engine_lease SET holder = $1, expires_at = $2 WHERE name = 'engine' AND (holder = $1 OR expires_at < $3)",
        )
        .bind(holder.to_owned())
        .bind(until.as_millis())
        .bind(now.as_millis())
        .execute(&mut *self.write_conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Who holds the engine lease and until when (`None` if nobody does).
    pub async fn lease_holder(&self) -> Result<Option<(String, Timestamp)>, StoreError> {
        let row = sqlx::query("SELECT holder, expires_at FROM engine_lease WHERE name = 'engine'")
            .fetch_one(&self.read)
            .await?;
        let holder: Option<String> = col(&row, "holder")?;
        let expires = Timestamp::from_millis(col(&row, "expires_at")?);
        Ok(holder.map(|h| (h, expires)))
    }

    /// Gives the lease up (on shutdown), so another instance takes over at once.
    pub async fn release_lease(&self, holder: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE engine_lease SET holder = NULL, expires_at = 0 WHERE name = 'engine' AND holder = $1")
            .bind(holder.to_owned())
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }
}

/// A per-incident timer whose time has come.
#[derive(Debug, Clone)]
pub struct DueTimer {
    pub incident: IncidentId,
    pub kind: TimerKind,
    pub due_at: Timestamp,
}

impl Store {
    pub async fn due_timers(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<DueTimer>, StoreError> {
        let rows = sqlx::query(
            "SELECT incident_id, kind, due_at FROM incident_timers WHERE due_at <= $1 ORDER BY due_at LIMIT $2",
        )
        .bind(now.as_millis())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        let d = self.backend;
        self.read_or_set_aside(
            &rows,
            "timer",
            |row| {
                Ok(DueTimer {
                    incident: parse_col(row, "incident_id", str::parse)?,
                    kind: parse_col(row, "kind", |t| TimerKind::parse(t).ok_or("unknown timer"))?,
                    due_at: Timestamp::from_millis(col(row, "due_at")?),
                })
            },
            |row, _| {
                let incident: String = col(row, "incident_id")?;
                let kind: String = col(row, "kind")?;
                Ok(vec![write(
                    d,
                    "DELETE FROM incident_timers WHERE incident_id = ? AND kind = ?",
                    vec![Val::Text(incident), Val::Text(kind)],
                )])
            },
        )
        .await
    }
}
