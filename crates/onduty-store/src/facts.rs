//! The report roll-ups, kept in step by the writers of incidents, effects and pages:
//! `incident_facts` (one row per incident: times to acknowledge and resolve, how it was
//! acknowledged, escalated, re-opened) and `responder_facts` (one row per incident and
//! person: first paged, acknowledged, resolved). Reports read only these, so a report
//! over a million incidents is a few range scans (`reports.rs`).
//!
//! Every statement here runs in the transaction of the change it records, so a roll-up
//! is never behind its incident.

use std::collections::BTreeMap;

use onduty_core::IncidentId;
use onduty_core::incident::{Actor, TimelineKind};
use onduty_core::lifecycle::AckChannel;
use onduty_core::paging::{EscalationState, Line};

use crate::Backend;
use crate::sql::{Val, Write, chunked, in_list, multi_row};

/// An incident row being written, as the facts see it: new, or changed beyond its
/// alert count.
pub(crate) struct Written<'a> {
    pub state: &'a onduty_core::lifecycle::IncidentState,
    pub new: bool,
}

/// A fact row for each new incident, and the resolution and alert count of each changed
/// one. Acknowledgements come from their lines ([`line_facts`]), which
/// know the door they came through.
pub(crate) fn incident_facts(d: Backend, rows: &[Written]) -> Vec<Write> {
    let resolution = |r: &Written| {
        let s = r.state;
        let auto = s
            .resolved
            .as_ref()
            .is_some_and(|r| !matches!(r.by, Actor::User { .. }));
        (
            Val::OptInt(s.resolved.as_ref().map(|r| r.at.as_millis())),
            Val::Int(i64::from(auto)),
        )
    };
    let inserts = rows
        .iter()
        .filter(|r| r.new)
        .map(|r| {
            let s = r.state;
            let (resolved, auto) = resolution(r);
            vec![
                Val::Int(s.created_at.as_millis()),
                Val::Text(s.id.to_string()),
                Val::Text(s.service_id.to_string()),
                Val::Text(s.urgency.as_str().to_owned()),
                Val::Text(s.dedup_key.as_str().to_owned()),
                resolved,
                auto,
                Val::Int(s.alert_count),
                Val::Int(0),
                Val::Int(0),
            ]
        })
        .collect();
    let mut writes = multi_row(
        d,
        "INSERT INTO incident_facts (created_at, incident_id, service_id, urgency, dedup_key, \
         resolved_at, auto_resolved, alerts, escalated, reopens)",
        "",
        inserts,
    );
    let changes = rows
        .iter()
        .filter(|r| !r.new)
        .map(|r| {
            let (resolved, auto) = resolution(r);
            vec![
                Val::Text(r.state.id.to_string()),
                resolved,
                auto,
                Val::Int(r.state.alert_count),
            ]
        })
        .collect();
    writes.extend(chunked(d, changes, |values, _| {
        (
            format!(
                "UPDATE incident_facts SET \
                 resolved_at = v.column2, auto_resolved = v.column3, alerts = v.column4 \
                 FROM (VALUES {values}) AS v WHERE incident_facts.incident_id = v.column1"
            ),
            None,
        )
    }));
    writes
}

/// Marks incidents escalated once their paging goes past the first level or round.
pub(crate) fn escalation_facts(
    d: Backend,
    states: &[(IncidentId, &EscalationState)],
) -> Vec<Write> {
    let escalated: Vec<Val> = states
        .iter()
        .filter(|(_, s)| s.level.is_some_and(|l| l > 0) || s.round > 0)
        .map(|(id, _)| Val::Text(id.to_string()))
        .collect();
    escalated
        .chunks(500)
        .map(|chunk| Write {
            sql: format!(
                "UPDATE incident_facts SET escalated = 1 WHERE escalated = 0 AND incident_id IN {}",
                in_list(d, chunk.len())
            ),
            values: chunk.to_vec(),
            expect_rows: None,
        })
        .collect()
}

/// The first acknowledgement of each incident (and its channel), and what each person
/// acknowledged and resolved, from the timeline lines being written.
pub(crate) fn line_facts(d: Backend, lines: &[(IncidentId, &Line)]) -> Vec<Write> {
    // The first of each incident's acknowledgements: a statement must name a row once.
    let mut first: BTreeMap<IncidentId, &Line> = BTreeMap::new();
    for (id, l) in lines
        .iter()
        .filter(|(_, l)| l.kind == TimelineKind::Acknowledged)
    {
        first
            .entry(*id)
            .and_modify(|f| {
                if l.at < f.at {
                    *f = l;
                }
            })
            .or_insert(l);
    }
    let acknowledged: Vec<Vec<Val>> = first
        .into_iter()
        .map(|(id, l)| {
            vec![
                Val::Text(id.to_string()),
                Val::Int(l.at.as_millis()),
                Val::Text(channel(l).as_str().to_owned()),
            ]
        })
        .collect();
    let mut writes = chunked(d, acknowledged, |values, _| {
        (
            format!(
                "UPDATE incident_facts SET acknowledged_at = v.column2, ack_via = v.column3 \
                 FROM (VALUES {values}) AS v \
                 WHERE incident_facts.incident_id = v.column1 AND incident_facts.acknowledged_at IS NULL"
            ),
            None,
        )
    });
    // Re-openings (flaps), counted by their lines: one batch may resolve and re-open an
    // incident, which its final state alone would not show.
    let mut reopened: BTreeMap<IncidentId, i64> = BTreeMap::new();
    for (id, _) in lines
        .iter()
        .filter(|(_, l)| l.kind == TimelineKind::Reopened)
    {
        *reopened.entry(*id).or_default() += 1;
    }
    let reopened = reopened
        .into_iter()
        .map(|(id, n)| vec![Val::Text(id.to_string()), Val::Int(n)])
        .collect();
    writes.extend(chunked(d, reopened, |values, _| {
        (
            format!(
                "UPDATE incident_facts SET reopens = incident_facts.reopens + v.column2 \
                 FROM (VALUES {values}) AS v WHERE incident_facts.incident_id = v.column1"
            ),
            None,
        )
    }));
    for (kind, column) in [
        (TimelineKind::Acknowledged, "acknowledged_at"),
        (TimelineKind::Resolved, "resolved_at"),
    ] {
        let rows = lines
            .iter()
            .filter(|(_, l)| l.kind == kind)
            .filter_map(|(id, l)| match &l.actor {
                Actor::User { id: user, .. } => {
                    Some((id.to_string(), user.to_string(), l.at.as_millis()))
                }
                _ => None,
            });
        writes.extend(responder_upserts(d, rows, column));
    }
    writes
}

/// What an acknowledgement came through: the person's door, or an acknowledge event.
fn channel(line: &Line) -> AckChannel {
    match (line.via, &line.actor) {
        (Some(via), _) => via.channel(),
        (None, Actor::User { .. }) => AckChannel::Api,
        (None, _) => AckChannel::Event,
    }
}

/// The first page of each incident to each person, from the outbox rows being written
/// (built by `effects::message_row`): those about an incident, not notices.
pub(crate) fn page_facts(d: Backend, outbox_rows: &[Vec<Val>]) -> Vec<Write> {
    let rows = outbox_rows
        .iter()
        .filter_map(|row| match (&row[1], &row[2], &row[5], &row[8]) {
            (Val::OptText(Some(incident)), Val::Text(user), Val::Int(at), Val::OptText(None)) => {
                Some((incident.clone(), user.clone(), *at))
            }
            _ => None,
        });
    responder_upserts(d, rows, "paged_at")
}

/// Sets `column` of each (incident, person) to the earliest time given unless it is set
/// already, adding the row if there is none.
fn responder_upserts(
    d: Backend,
    rows: impl Iterator<Item = (String, String, i64)>,
    column: &str,
) -> Vec<Write> {
    // A statement must name a row once (PostgreSQL refuses to update a row twice).
    let mut first: BTreeMap<(String, String), i64> = BTreeMap::new();
    for (incident, user, at) in rows {
        let t = first.entry((incident, user)).or_insert(at);
        *t = (*t).min(at);
    }
    let rows = first
        .into_iter()
        .map(|((incident, user), at)| vec![Val::Text(incident), Val::Text(user), Val::Int(at)])
        .collect();
    chunked(d, rows, |values, _| {
        (
            format!(
                "INSERT INTO responder_facts (incident_id, user_id, service_id, urgency, {column}) \
                 SELECT v.column1, v.column2, f.service_id, f.urgency, v.column3 \
                 FROM (VALUES {values}) AS v JOIN incident_facts f ON f.incident_id = v.column1 \
                 WHERE true \
                 ON CONFLICT (incident_id, user_id) DO UPDATE SET \
                 {column} = COALESCE(responder_facts.{column}, excluded.{column})"
            ),
            None,
        )
    })
}

/// A first page the engine has not sorted into a person's hours yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsortedPage {
    pub incident: IncidentId,
    pub user: onduty_core::UserId,
    pub paged_at: onduty_core::Timestamp,
    /// The person's time zone now (UTC for a person deleted since).
    pub time_zone: String,
}

/// How a page sorts: its hours on the person's clock, and the week it counts in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageSort {
    pub incident: IncidentId,
    pub user: onduty_core::UserId,
    pub class: onduty_core::report::HourClass,
    /// The Monday of the person's week, in days since 1970-01-01.
    pub week: i64,
}

impl crate::Store {
    /// Up to `limit` first pages not yet sorted, oldest first.
    pub async fn unsorted_pages(&self, limit: u32) -> Result<Vec<UnsortedPage>, crate::StoreError> {
        let rows = sqlx::query(
            "SELECT f.incident_id, f.user_id, f.paged_at, COALESCE(u.time_zone, 'UTC') AS time_zone \
             FROM responder_facts f LEFT JOIN users u ON u.id = f.user_id \
             WHERE f.paged_at IS NOT NULL AND f.page_class IS NULL ORDER BY f.paged_at LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(UnsortedPage {
                    incident: crate::sql::parse_col(r, "incident_id", str::parse)?,
                    user: crate::sql::parse_col(r, "user_id", str::parse)?,
                    paged_at: onduty_core::Timestamp::from_millis(crate::sql::col(r, "paged_at")?),
                    time_zone: crate::sql::col(r, "time_zone")?,
                })
            })
            .collect()
    }

    /// Writes how pages sort, in one transaction.
    pub async fn sort_pages(&self, sorted: &[PageSort]) -> Result<(), crate::StoreError> {
        let d = self.backend;
        let rows = sorted
            .iter()
            .map(|s| {
                vec![
                    Val::Text(s.incident.to_string()),
                    Val::Text(s.user.to_string()),
                    Val::Text(s.class.as_str().to_owned()),
                    Val::Int(s.week),
                ]
            })
            .collect();
        let writes = chunked(d, rows, |values, _| {
            (
                format!(
                    "UPDATE responder_facts SET page_class = v.column3, page_week = v.column4 \
                     FROM (VALUES {values}) AS v \
                     WHERE responder_facts.incident_id = v.column1 AND responder_facts.user_id = v.column2"
                ),
                None,
            )
        });
        let mut conn = self.write_conn().await?;
        let mut tx = crate::begin(&mut conn, d).await?;
        crate::sql::execute_writes(&mut tx, d, writes).await?;
        tx.commit().await?;
        Ok(())
    }
}
