//! What reports count, read from the roll-ups (`facts.rs`) in one snapshot. Every query
//! is a scan of one period with a handful of parameters, whatever the number of
//! incidents; the arithmetic on the counts is `onduty_core::report`'s.

use onduty_core::contact::Urgency;
use onduty_core::lifecycle::AckChannel;
use onduty_core::report::{PAGE_SLICE_MILLIS, Period, week_sql};
use onduty_core::{PolicyId, ServiceId, TeamId, Timestamp, UserId};
use sqlx::any::AnyRow;

use crate::sql::{Val, bind, col, numbered, parse_col};
use crate::{Store, StoreError};

/// Which incidents a report is about; all that are set must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportFilter {
    pub service: Option<ServiceId>,
    /// Incidents of the team's services.
    pub team: Option<TeamId>,
    /// Incidents of the services that page through the policy.
    pub policy: Option<PolicyId>,
    pub urgency: Option<Urgency>,
}

/// The incidents opened in one week of the period (see `onduty_core::report::week_of`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeekCounts {
    pub week: i64,
    pub incidents: u64,
    pub alerts: u64,
    pub acknowledged: u64,
    /// Sum of the times to first acknowledgement, in milliseconds.
    pub ack_millis: i64,
    pub resolved: u64,
    /// Sum of the times to resolution, in milliseconds.
    pub resolve_millis: i64,
    pub escalated: u64,
    pub auto_resolved: u64,
    pub reopens: u64,
    /// Incidents of heartbeats that stopped or reported failure.
    pub heartbeat_failures: u64,
    /// First acknowledgements by channel, in [`AckChannel::ALL`] order.
    pub by_channel: Vec<u64>,
}

/// A noisy service, or one alert key of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoiseCounts {
    pub service: ServiceId,
    pub service_name: String,
    /// `None` for the service as a whole.
    pub dedup_key: Option<String>,
    pub incidents: u64,
    pub alerts: u64,
    /// Re-openings within the flap window.
    pub flaps: u64,
}

/// What one person did in the period.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponderCounts {
    /// Incidents they were first paged about, by the start of each
    /// [`PAGE_SLICE_MILLIS`] slice of the period they came in.
    pub page_slices: Vec<(Timestamp, u64)>,
    pub acknowledged: u64,
    pub resolved: u64,
}

/// Everything a report counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReportCounts {
    /// Weeks with incidents, in order.
    pub weeks: Vec<WeekCounts>,
    /// Times to first acknowledgement as `(whole seconds, incidents)`.
    pub ack_seconds: Vec<(i64, u64)>,
    /// Times to resolution as `(whole seconds, incidents)`.
    pub resolve_seconds: Vec<(i64, u64)>,
    /// The ten services with the most incidents.
    pub noisy_services: Vec<NoiseCounts>,
    /// The ten alert keys with the most incidents.
    pub noisy_keys: Vec<NoiseCounts>,
    pub responders: Vec<(UserId, ResponderCounts)>,
}

/// How many noisy services and keys a report names.
pub const NOISY_TOP: i64 = 10;

/// The alert count: kept in the facts for settled incidents, read from the incident
/// while it is open (folded triggers change only the incident row).
const ALERTS: &str = "CASE WHEN f.resolved_at IS NULL \
     THEN (SELECT i.alert_count FROM incidents i WHERE i.id = f.incident_id) ELSE f.alerts END";

impl Store {
    /// The counts of a report over incidents opened in `period` (and, for people, pages,
    /// acknowledgements and resolutions in it) that `filter` lets through.
    pub async fn report_counts(
        &self,
        period: Period,
        filter: &ReportFilter,
    ) -> Result<ReportCounts, StoreError> {
        let d = self.backend;
        let mut tx = self.read.begin().await?;
        let conn = &mut *tx;
        let (scope, values) = scope_sql("f.created_at", period, filter);
        let fetch = |sql: String, values: Vec<Val>| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(numbered(d, &sql)));
            for v in values {
                q = bind(q, v);
            }
            q
        };

        let channels: String = AckChannel::ALL
            .iter()
            .map(|c| {
                format!(
                    ", CAST(SUM(CASE WHEN f.ack_via = '{}' THEN 1 ELSE 0 END) AS BIGINT) AS via_{}",
                    c.as_str(),
                    c.as_str()
                )
            })
            .collect();
        let heartbeat = onduty_core::heartbeat::DEDUP_KEY;
        let sql = format!(
            "SELECT {week} AS week, COUNT(*) AS incidents, CAST(SUM({ALERTS}) AS BIGINT) AS alerts, \
             COUNT(f.acknowledged_at) AS acknowledged, \
             CAST(COALESCE(SUM(f.acknowledged_at - f.created_at), 0) AS BIGINT) AS ack_millis, \
             COUNT(f.resolved_at) AS resolved, \
             CAST(COALESCE(SUM(f.resolved_at - f.created_at), 0) AS BIGINT) AS resolve_millis, \
             CAST(SUM(f.escalated) AS BIGINT) AS escalated, \
             CAST(SUM(f.auto_resolved) AS BIGINT) AS auto_resolved, \
             CAST(SUM(f.reopens) AS BIGINT) AS reopens, \
             CAST(SUM(CASE WHEN f.dedup_key = '{heartbeat}' THEN 1 ELSE 0 END) AS BIGINT) AS heartbeats \
             {channels} FROM incident_facts f WHERE {scope} GROUP BY {week} ORDER BY {week}",
            week = week_sql("f.created_at"),
        );
        let weeks = fetch(sql, values.clone())
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(week_counts)
            .collect::<Result<_, _>>()?;

        let mut histograms = Vec::new();
        for column in ["acknowledged_at", "resolved_at"] {
            let sql = format!(
                "SELECT (f.{column} - f.created_at) / 1000 AS seconds, COUNT(*) AS n \
                 FROM incident_facts f WHERE {scope} AND f.{column} IS NOT NULL \
                 GROUP BY (f.{column} - f.created_at) / 1000"
            );
            let rows = fetch(sql, values.clone()).fetch_all(&mut *conn).await?;
            histograms.push(
                rows.iter()
                    .map(|r| Ok((col::<i64>(r, "seconds")?, count(r, "n")?)))
                    .collect::<Result<Vec<_>, StoreError>>()?,
            );
        }
        let resolve_seconds = histograms.pop().unwrap_or_default();
        let ack_seconds = histograms.pop().unwrap_or_default();

        let mut noisy = Vec::new();
        for group in ["f.service_id", "f.service_id, f.dedup_key"] {
            let key = if group.contains("dedup_key") {
                "f.dedup_key"
            } else {
                "NULL"
            };
            let sql = format!(
                "SELECT n.*, s.name AS service_name FROM (\
                 SELECT f.service_id, {key} AS dedup_key, COUNT(*) AS incidents, \
                 CAST(SUM({ALERTS}) AS BIGINT) AS alerts, CAST(SUM(f.reopens) AS BIGINT) AS flaps \
                 FROM incident_facts f WHERE {scope} GROUP BY {group} \
                 ORDER BY COUNT(*) DESC, CAST(SUM({ALERTS}) AS BIGINT) DESC LIMIT {NOISY_TOP}) n \
                 JOIN services s ON s.id = n.service_id \
                 ORDER BY n.incidents DESC, n.alerts DESC, s.name, n.dedup_key"
            );
            let rows = fetch(sql, values.clone()).fetch_all(&mut *conn).await?;
            noisy.push(
                rows.iter()
                    .map(noise_counts)
                    .collect::<Result<Vec<_>, _>>()?,
            );
        }
        let noisy_keys = noisy.pop().unwrap_or_default();
        let noisy_services = noisy.pop().unwrap_or_default();

        let mut responders: std::collections::BTreeMap<UserId, ResponderCounts> =
            Default::default();
        let (paged, values) = scope_sql("f.paged_at", period, filter);
        let sql = format!(
            "SELECT f.user_id, f.paged_at / {PAGE_SLICE_MILLIS} AS slice, COUNT(*) AS n \
             FROM responder_facts f WHERE {paged} GROUP BY f.user_id, f.paged_at / {PAGE_SLICE_MILLIS}"
        );
        for r in fetch(sql, values).fetch_all(&mut *conn).await? {
            let user: UserId = parse_col(&r, "user_id", str::parse)?;
            let start = Timestamp::from_millis(col::<i64>(&r, "slice")? * PAGE_SLICE_MILLIS);
            responders
                .entry(user)
                .or_default()
                .page_slices
                .push((start, count(&r, "n")?));
        }
        for column in ["acknowledged_at", "resolved_at"] {
            let (done, values) = scope_sql(&format!("f.{column}"), period, filter);
            let sql = format!(
                "SELECT f.user_id, COUNT(*) AS n FROM responder_facts f WHERE {done} GROUP BY f.user_id"
            );
            for r in fetch(sql, values).fetch_all(&mut *conn).await? {
                let user: UserId = parse_col(&r, "user_id", str::parse)?;
                let entry = responders.entry(user).or_default();
                let n = count(&r, "n")?;
                if column == "acknowledged_at" {
                    entry.acknowledged = n;
                } else {
                    entry.resolved = n;
                }
            }
        }
        for counts in responders.values_mut() {
            counts.page_slices.sort_unstable();
        }
        tx.commit().await?;
        Ok(ReportCounts {
            weeks,
            ack_seconds,
            resolve_seconds,
            noisy_services,
            noisy_keys,
            responders: responders.into_iter().collect(),
        })
    }
}

/// `time in period AND the filter`, over facts aliased `f`, and its values.
fn scope_sql(time: &str, period: Period, filter: &ReportFilter) -> (String, Vec<Val>) {
    let mut sql = format!("{time} >= ? AND {time} < ?");
    let mut values = vec![
        Val::Int(period.from.as_millis()),
        Val::Int(period.to.as_millis()),
    ];
    if let Some(service) = filter.service {
        sql.push_str(" AND f.service_id = ?");
        values.push(Val::Text(service.to_string()));
    }
    if let Some(team) = filter.team {
        sql.push_str(" AND f.service_id IN (SELECT id FROM services WHERE team_id = ?)");
        values.push(Val::Text(team.to_string()));
    }
    if let Some(policy) = filter.policy {
        sql.push_str(" AND f.service_id IN (SELECT id FROM services WHERE policy_id = ?)");
        values.push(Val::Text(policy.to_string()));
    }
    if let Some(urgency) = filter.urgency {
        sql.push_str(" AND f.urgency = ?");
        values.push(Val::Text(urgency.as_str().to_owned()));
    }
    (sql, values)
}

fn count(row: &AnyRow, name: &str) -> Result<u64, StoreError> {
    let n: i64 = col(row, name)?;
    u64::try_from(n).map_err(|_| StoreError::corrupt(format!("column {name}: {n} below zero")))
}

fn week_counts(r: &AnyRow) -> Result<WeekCounts, StoreError> {
    Ok(WeekCounts {
        week: col(r, "week")?,
        incidents: count(r, "incidents")?,
        alerts: count(r, "alerts")?,
        acknowledged: count(r, "acknowledged")?,
        ack_millis: col(r, "ack_millis")?,
        resolved: count(r, "resolved")?,
        resolve_millis: col(r, "resolve_millis")?,
        escalated: count(r, "escalated")?,
        auto_resolved: count(r, "auto_resolved")?,
        reopens: count(r, "reopens")?,
        heartbeat_failures: count(r, "heartbeats")?,
        by_channel: AckChannel::ALL
            .iter()
            .map(|c| count(r, &format!("via_{}", c.as_str())))
            .collect::<Result<_, _>>()?,
    })
}

fn noise_counts(r: &AnyRow) -> Result<NoiseCounts, StoreError> {
    Ok(NoiseCounts {
        service: parse_col(r, "service_id", str::parse)?,
        service_name: col(r, "service_name")?,
        dedup_key: col(r, "dedup_key")?,
        incidents: count(r, "incidents")?,
        alerts: count(r, "alerts")?,
        flaps: count(r, "flaps")?,
    })
}
