//! Commands on one incident — what people do (acknowledge, resolve, escalate, reassign,
//! add responders, snooze) and what onduty's timers do: load what the decision needs,
//! let the core's lifecycle decide, write what it decided, in one transaction.

use onduty_core::escalation::Policy;
use onduty_core::incident::Incident;
use onduty_core::lifecycle::{
    Acting, Assignee, Command, Context, Decided, IncidentState, Person, PolicyBrief, Settings,
};
use onduty_core::paging::EscalationState;
use onduty_core::{IncidentId, IncidentRef, PolicyId, Timestamp, UserId};
use sqlx::{AnyConnection, AssertSqlSafe};

use crate::effects::{Known, RowWrite, Scope, effect_writes, incident_writes};
use crate::rows::{STATE_COLUMNS, settings_from_row, state_from_row};
use crate::sql::{col, execute_writes, opt_id, parse_col};
use crate::{Store, StoreError, begin};

/// The result of a command: the incident afterwards, and whether anything changed.
#[derive(Debug, Clone)]
pub struct Acted {
    pub incident: Incident,
    pub changed: bool,
}

/// What a decision about one incident reads besides the incident.
struct Loaded {
    incident: IncidentState,
    version: i64,
    settings: Settings,
    escalation: Option<EscalationState>,
    assignees: Vec<UserId>,
    policies: Vec<PolicyBrief>,
    people: Vec<Person>,
}

impl Store {
    /// Gives `command` to an incident on behalf of `acting`: loads what the decision
    /// needs, lets the core decide, and writes what it decided, in one transaction. A
    /// command that loses a race with another writer is decided again.
    pub async fn command_incident(
        &self,
        r: IncidentRef,
        command: &Command,
        acting: &Acting,
        now: Timestamp,
    ) -> Result<Acted, StoreError> {
        for _ in 0..8 {
            match self.try_command(r, command, acting, now).await {
                Err(e) if e.is_retryable() => continue,
                Err(e) => return Err(e),
                Ok(changed) => {
                    let incident = self.incident(r).await?;
                    return Ok(Acted { incident, changed });
                }
            }
        }
        Err(StoreError::Contention)
    }

    async fn try_command(
        &self,
        r: IncidentRef,
        command: &Command,
        acting: &Acting,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let d = self.backend;
        let mut conn = self.write_conn().await?;
        let mut tx = begin(&mut conn, d).await?;
        let loaded = self.load_for(&mut tx, r, command).await?;
        let decided = decide(&loaded, command, acting, now)?;
        if decided.changed {
            write_decided(&mut tx, d, &decided, loaded.version, now).await?;
        }
        tx.commit().await?;
        Ok(decided.changed)
    }

    /// A due timer fires: its row is taken (unless it moved or went meanwhile) and the
    /// lifecycle decides what it does, in one transaction per batch of timers. Returns how
    /// many of `timers` were still due.
    pub async fn fire_timers(
        &self,
        timers: &[crate::paging::DueTimer],
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        if timers.is_empty() {
            return Ok(0);
        }
        for _ in 0..8 {
            match self.try_fire_timers(timers, now).await {
                Err(e) if e.is_retryable() => continue,
                other => return other,
            }
        }
        Err(StoreError::Contention)
    }

    async fn try_fire_timers(
        &self,
        timers: &[crate::paging::DueTimer],
        now: Timestamp,
    ) -> Result<usize, StoreError> {
        let d = self.backend;
        let mut conn = self.lane().await?;
        let mut tx = begin(&mut conn, d).await?;
        let mut fired = 0;
        for timer in timers {
            let taken = sqlx::query(AssertSqlSafe(crate::sql::numbered(
                d,
                "DELETE FROM incident_timers WHERE incident_id = ? AND kind = ? AND due_at = ?",
            )))
            .bind(timer.incident.to_string())
            .bind(timer.kind.as_str())
            .bind(timer.due_at.as_millis())
            .execute(&mut *tx)
            .await?;
            if taken.rows_affected() == 0 {
                continue;
            }
            fired += 1;
            let command = Command::Timer(timer.kind);
            let loaded = self
                .load_for(&mut tx, IncidentRef::Id(timer.incident), &command)
                .await?;
            let decided = decide(&loaded, &command, &Acting::onduty(), now)?;
            if decided.changed {
                write_decided(&mut tx, d, &decided, loaded.version, now).await?;
            }
        }
        tx.commit().await?;
        Ok(fired)
    }

    /// Reads the incident and what `command` needs to be decided.
    async fn load_for(
        &self,
        conn: &mut AnyConnection,
        r: IncidentRef,
        command: &Command,
    ) -> Result<Loaded, StoreError> {
        let (incident, version) = load_state(conn, r).await?;
        let settings = service_settings(conn, &incident).await?;
        let escalation = escalation_of(conn, incident.id).await?;
        let assignees = assignees_of(conn, incident.id).await?;
        let mut policy_ids: Vec<PolicyId> = Vec::new();
        let mut user_ids: Vec<UserId> = Vec::new();
        match command {
            Command::Escalate { .. } => {
                policy_ids.extend(escalation.and_then(|e| e.policy).or(settings.policy));
            }
            Command::Reassign(Assignee::Policy(p)) => policy_ids.push(*p),
            Command::Reassign(Assignee::User(u)) => user_ids.push(*u),
            Command::AddResponders(users) => user_ids.extend(users),
            // Triggered again: the people it was handed to are paged again.
            Command::Unacknowledge | Command::Timer(_) => user_ids.extend(&assignees),
            _ => {}
        }
        let mut policies = Vec::with_capacity(policy_ids.len());
        for id in policy_ids {
            policies.push(brief(&self.policy(id).await?));
        }
        let mut people = Vec::with_capacity(user_ids.len());
        for id in user_ids {
            let user = match self.user(id).await {
                Ok(user) => user,
                // An assignee deleted since is not paged.
                Err(StoreError::NotFound(_)) if assignees.contains(&id) => continue,
                Err(e) => return Err(e),
            };
            people.push(Person {
                id,
                name: user.name.to_string(),
                rules: crate::contacts::rules_on(conn, id).await?,
            });
        }
        Ok(Loaded {
            incident,
            version,
            settings,
            escalation,
            assignees,
            policies,
            people,
        })
    }
}

fn brief(policy: &Policy) -> PolicyBrief {
    PolicyBrief {
        id: policy.id,
        name: policy.name.to_string(),
        levels: policy.steps.levels().len() as u32,
    }
}

fn decide(
    loaded: &Loaded,
    command: &Command,
    acting: &Acting,
    now: Timestamp,
) -> Result<Decided, StoreError> {
    let ctx = Context {
        settings: &loaded.settings,
        escalation: loaded.escalation.as_ref(),
        assignees: &loaded.assignees,
        policies: &loaded.policies,
        people: &loaded.people,
    };
    Ok(onduty_core::lifecycle::decide(
        &loaded.incident,
        command,
        acting,
        &ctx,
        now,
    )?)
}

/// Writes a decision about one incident: its row (checked against the version it was
/// read at) and its effects.
async fn write_decided(
    conn: &mut AnyConnection,
    d: crate::Backend,
    decided: &Decided,
    version: i64,
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut writes = incident_writes(
        d,
        &[RowWrite {
            state: &decided.incident,
            version: Some(version),
            scope: Scope::State,
        }],
    );
    let bodies = std::collections::HashMap::new();
    writes.extend(effect_writes(
        d,
        &decided.effects,
        &Known {
            now,
            numbers: &std::collections::HashMap::new(),
            event_bodies: &bodies,
        },
    ));
    execute_writes(conn, d, writes).await
}

/// The incident as its lifecycle sees it, and the version it was read at.
pub(crate) async fn load_state(
    conn: &mut AnyConnection,
    r: IncidentRef,
) -> Result<(IncidentState, i64), StoreError> {
    let row = crate::rows::incident_row(conn, STATE_COLUMNS, r).await?;
    Ok((state_from_row(&row)?, col(&row, "version")?))
}

async fn service_settings(
    conn: &mut AnyConnection,
    incident: &IncidentState,
) -> Result<Settings, StoreError> {
    let row = sqlx::query(
        "SELECT dedup_mode, urgency, policy_id, ack_timeout_minutes, auto_resolve_minutes, \
         group_window_minutes, flap_window_minutes FROM services WHERE id = $1",
    )
    .bind(incident.service_id.to_string())
    .fetch_one(&mut *conn)
    .await?;
    settings_from_row(&row)
}

/// Where an incident's escalation stands, if it ever escalated.
pub(crate) async fn escalation_of(
    conn: &mut AnyConnection,
    incident: IncidentId,
) -> Result<Option<EscalationState>, StoreError> {
    let row = sqlx::query(
        "SELECT policy_id, level, round, hand_overs, next_at FROM escalations WHERE incident_id = $1",
    )
    .bind(incident.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| {
        let count = |name: &str| -> Result<u32, StoreError> {
            u32::try_from(col::<i64>(&row, name)?).map_err(StoreError::corrupt)
        };
        Ok(EscalationState {
            policy: opt_id(&row, "policy_id")?,
            level: u32::try_from(col::<i64>(&row, "level")?).ok(),
            round: count("round")?,
            hand_overs: count("hand_overs")?,
            next_at: col::<Option<i64>>(&row, "next_at")?.map(Timestamp::from_millis),
        })
    })
    .transpose()
}

async fn assignees_of(
    conn: &mut AnyConnection,
    incident: IncidentId,
) -> Result<Vec<UserId>, StoreError> {
    let rows = sqlx::query(
        "SELECT user_id FROM incident_assignees WHERE incident_id = $1 ORDER BY assigned_at, user_id",
    )
    .bind(incident.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| parse_col(row, "user_id", str::parse))
        .collect()
}
