//! What reports count, read from the roll-ups (`facts.rs`, ADR 9). Every query is a scan
//! in index order with a handful of parameters, whatever the number of incidents; the
//! independent ones run at once, each in its own snapshot (a change committed between them
//! can show in one figure and not yet in another). The arithmetic on the counts is
//! `onduty_core::report`'s.

use onduty_core::contact::Urgency;
use onduty_core::lifecycle::AckChannel;
use std::collections::BTreeMap;

use onduty_core::report::{Period, week_sql};
use onduty_core::{PolicyId, ServiceId, TeamId, Timestamp, UserId};
use sqlx::any::AnyRow;

use crate::sql::{Val, bind, col, numbered, parse_col};
use crate::{Store, StoreError};

mod breakdowns;

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

impl WeekCounts {
    /// Adds `other`'s counts to these (the week stays).
    pub fn add(&mut self, other: &WeekCounts) {
        self.incidents += other.incidents;
        self.alerts += other.alerts;
        self.acknowledged += other.acknowledged;
        self.ack_millis += other.ack_millis;
        self.resolved += other.resolved;
        self.resolve_millis += other.resolve_millis;
        self.escalated += other.escalated;
        self.auto_resolved += other.auto_resolved;
        self.reopens += other.reopens;
        self.heartbeat_failures += other.heartbeat_failures;
        if self.by_channel.len() < other.by_channel.len() {
            self.by_channel.resize(other.by_channel.len(), 0);
        }
        for (t, n) in self.by_channel.iter_mut().zip(&other.by_channel) {
            *t += n;
        }
    }
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
    /// Incidents they were first paged about, by when on their clock (see
    /// `onduty_core::report::HourClass`, as `as_str`) and the Monday of their week there
    /// (days since 1970), as the engine sorted them.
    pub sorted_pages: Vec<(String, i64, u64)>,
    /// First pages the engine has not sorted yet (just sent).
    pub unsorted_pages: Vec<Timestamp>,
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
pub const NOISY_TOP: usize = 10;

const DAY_MILLIS: i64 = 86_400_000;

/// A report's period cut where the roll-ups can serve it: whole UTC days (`days`, day
/// numbers `[from, to)`) from the roll-ups, and the part-days at either end (`edges`, in
/// milliseconds) from the facts themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Cut {
    days: Option<(i64, i64)>,
    edges: Vec<(i64, i64)>,
}

fn cut(period: Period) -> Cut {
    let (from, to) = (period.from.as_millis(), period.to.as_millis());
    let first = from.div_euclid(DAY_MILLIS) + i64::from(from.rem_euclid(DAY_MILLIS) != 0);
    let last = to.div_euclid(DAY_MILLIS);
    if first >= last {
        return Cut {
            days: None,
            edges: vec![(from, to)],
        };
    }
    let mut edges = Vec::new();
    if from < first * DAY_MILLIS {
        edges.push((from, first * DAY_MILLIS));
    }
    if last * DAY_MILLIS < to {
        edges.push((last * DAY_MILLIS, to));
    }
    Cut {
        days: Some((first, last)),
        edges,
    }
}

/// The columns every roll-up and fact query sums, as `SUM`s over rows aliased `f`: from
/// `report_days` (`rolled`) or from `incident_facts`.
fn sums(rolled: bool) -> String {
    let heartbeat = onduty_core::heartbeat::DEDUP_KEY;
    let mut columns: Vec<(String, String)> = if rolled {
        [
            "incidents",
            "alerts",
            "acknowledged",
            "ack_millis",
            "resolved",
            "resolve_millis",
            "escalated",
            "auto_resolved",
            "reopens",
            "heartbeats",
        ]
        .iter()
        .map(|c| (format!("f.{c}"), (*c).to_owned()))
        .collect()
    } else {
        vec![
            ("1".into(), "incidents".into()),
            ("f.alerts".into(), "alerts".into()),
            (
                "CASE WHEN f.acknowledged_at IS NULL THEN 0 ELSE 1 END".into(),
                "acknowledged".into(),
            ),
            (
                "COALESCE(f.acknowledged_at - f.created_at, 0)".into(),
                "ack_millis".into(),
            ),
            (
                "CASE WHEN f.resolved_at IS NULL THEN 0 ELSE 1 END".into(),
                "resolved".into(),
            ),
            (
                "COALESCE(f.resolved_at - f.created_at, 0)".into(),
                "resolve_millis".into(),
            ),
            ("f.escalated".into(), "escalated".into()),
            (
                "CASE WHEN f.resolved_at IS NULL THEN 0 ELSE f.auto_resolved END".into(),
                "auto_resolved".into(),
            ),
            ("f.reopens".into(), "reopens".into()),
            (
                format!("CASE WHEN f.dedup_key = '{heartbeat}' THEN 1 ELSE 0 END"),
                "heartbeats".into(),
            ),
        ]
    };
    for c in AckChannel::ALL {
        let c = c.as_str();
        let expr = if rolled {
            format!("f.via_{c}")
        } else {
            format!("CASE WHEN f.ack_via = '{c}' THEN 1 ELSE 0 END")
        };
        columns.push((expr, format!("via_{c}")));
    }
    columns
        .iter()
        .map(|(expr, name)| format!("CAST(SUM({expr}) AS BIGINT) AS {name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A part of a report's period: roll-up rows for whole days (`rolled`), or the facts of a
/// part-day; its `WHERE` clause over rows aliased `f`, and the clause's values.
struct Part {
    rolled: bool,
    scope: String,
    values: Vec<Val>,
    /// For the roll-ups kept in value order (durations, keys): the same clause, either
    /// seeking the days (a short period) or, with `+f.day`, reading in value order so
    /// that grouping needs no sort (a long one). Equal to `scope` for part-days.
    ordered_scope: String,
}

/// Periods up to this many days read the value-ordered roll-ups by day.
const SHORT_PERIOD_DAYS: i64 = 92;

/// Open incidents' alerts since their last change (the facts keep an open incident's count
/// as of its last change; folded triggers change only the incident): by week, service, key.
type MoreAlerts = Vec<(i64, ServiceId, String, u64)>;

impl Store {
    /// The counts of a report over incidents opened in `period` that `filter` lets
    /// through, and what was done about them. Whole days come from the roll-ups,
    /// part-days from the facts; each query is an ordered scan with a handful of
    /// parameters, and the independent ones run at once on their own connections.
    pub async fn report_counts(
        &self,
        period: Period,
        filter: &ReportFilter,
    ) -> Result<ReportCounts, StoreError> {
        let cut = cut(period);
        let mut parts = Vec::new();
        if let Some((first, last)) = cut.days {
            let (scope, values) = scope_sql("f.day", first, last, filter);
            let ordered_scope = if last - first <= SHORT_PERIOD_DAYS {
                scope.clone()
            } else {
                scope_sql("+f.day", first, last, filter).0
            };
            parts.push(Part {
                rolled: true,
                scope,
                values,
                ordered_scope,
            });
        }
        for (from, to) in &cut.edges {
            let (scope, values) = scope_sql("f.created_at", *from, *to, filter);
            parts.push(Part {
                rolled: false,
                ordered_scope: scope.clone(),
                scope,
                values,
            });
        }
        let more = self.more_alerts(period, filter).await?;
        let ((weeks, services), ack_seconds, resolve_seconds, keys, names, responders) = tokio::try_join!(
            self.report_weeks(&parts, &more),
            self.durations("ack", "acknowledged_at", &parts),
            self.durations("resolve", "resolved_at", &parts),
            self.noisy_keys(&parts, &more),
            self.service_names(),
            self.responder_counts(period, filter),
        )?;
        let named = |mut n: NoiseCounts| {
            n.service_name = names.get(&n.service).cloned().unwrap_or_default();
            n
        };
        let mut noisy_services: Vec<NoiseCounts> = services.into_values().map(named).collect();
        rank(&mut noisy_services);
        Ok(ReportCounts {
            weeks,
            ack_seconds,
            resolve_seconds,
            noisy_services,
            noisy_keys: keys.into_iter().map(named).collect(),
            responders,
        })
    }

    /// The rows of one read statement written with `?` placeholders.
    async fn rows(&self, sql: String, values: Vec<Val>) -> Result<Vec<AnyRow>, StoreError> {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(numbered(self.backend, &sql)));
        for v in values {
            q = bind(q, v);
        }
        Ok(q.fetch_all(&self.read).await?)
    }

    async fn more_alerts(
        &self,
        period: Period,
        filter: &ReportFilter,
    ) -> Result<MoreAlerts, StoreError> {
        let (scope, values) = scope_sql(
            "f.created_at",
            period.from.as_millis(),
            period.to.as_millis(),
            filter,
        );
        let week = week_sql("f.created_at");
        let sql = format!(
            "SELECT {week} AS week, f.service_id, f.dedup_key, \
             CAST(SUM(i.alert_count - f.alerts) AS BIGINT) AS more \
             FROM incident_facts f JOIN incidents i ON i.id = f.incident_id \
             WHERE f.resolved_at IS NULL AND {scope} GROUP BY {week}, f.service_id, f.dedup_key"
        );
        let mut out = Vec::new();
        for r in self.rows(sql, values).await? {
            let more: i64 = col(&r, "more")?;
            out.push((
                col(&r, "week")?,
                parse_col(&r, "service_id", str::parse)?,
                col(&r, "dedup_key")?,
                u64::try_from(more).unwrap_or(0),
            ));
        }
        Ok(out)
    }

    /// Each week's counts, and each service's incidents, alerts and flaps.
    async fn report_weeks(
        &self,
        parts: &[Part],
        more: &MoreAlerts,
    ) -> Result<(Vec<WeekCounts>, BTreeMap<ServiceId, NoiseCounts>), StoreError> {
        let mut weeks: BTreeMap<i64, WeekCounts> = BTreeMap::new();
        let mut services: BTreeMap<ServiceId, NoiseCounts> = BTreeMap::new();
        for part in parts {
            let (table, time) = if part.rolled {
                ("report_days", format!("f.day * {DAY_MILLIS}"))
            } else {
                ("incident_facts", "f.created_at".to_owned())
            };
            let week = week_sql(&time);
            let sql = format!(
                "SELECT {week} AS week, f.service_id, {} FROM {table} f WHERE {} \
                 GROUP BY {week}, f.service_id",
                sums(part.rolled),
                part.scope
            );
            for r in self.rows(sql, part.values.clone()).await? {
                let counts = week_counts(&r)?;
                let service: ServiceId = parse_col(&r, "service_id", str::parse)?;
                let week = weeks.entry(counts.week).or_default();
                week.week = counts.week;
                week.add(&counts);
                let noise = services.entry(service).or_insert_with(|| NoiseCounts {
                    service,
                    service_name: String::new(),
                    dedup_key: None,
                    incidents: 0,
                    alerts: 0,
                    flaps: 0,
                });
                noise.incidents += counts.incidents;
                noise.alerts += counts.alerts;
                noise.flaps += counts.reopens;
            }
        }
        for (week, service, _, added) in more {
            if let Some(w) = weeks.get_mut(week) {
                w.alerts += added;
            }
            if let Some(n) = services.get_mut(service) {
                n.alerts += added;
            }
        }
        Ok((weeks.into_values().collect(), services))
    }

    /// Times to acknowledge or resolve (`kind`, from `column`) as `(seconds, incidents)`.
    async fn durations(
        &self,
        kind: &str,
        column: &str,
        parts: &[Part],
    ) -> Result<Vec<(i64, u64)>, StoreError> {
        let mut seconds: BTreeMap<i64, u64> = BTreeMap::new();
        for part in parts {
            let scope = &part.ordered_scope;
            let sql = if part.rolled {
                format!(
                    "SELECT f.seconds, CAST(SUM(f.n) AS BIGINT) AS n FROM report_durations f \
                     WHERE f.kind = '{kind}' AND {scope} GROUP BY f.seconds"
                )
            } else {
                format!(
                    "SELECT (f.{column} - f.created_at) / 1000 AS seconds, COUNT(*) AS n \
                     FROM incident_facts f WHERE {scope} AND f.{column} IS NOT NULL \
                     GROUP BY (f.{column} - f.created_at) / 1000"
                )
            };
            for r in self.rows(sql, part.values.clone()).await? {
                *seconds.entry(col(&r, "seconds")?).or_default() += count(&r, "n")?;
            }
        }
        Ok(seconds.into_iter().filter(|(_, n)| *n > 0).collect())
    }

    async fn service_names(&self) -> Result<BTreeMap<ServiceId, String>, StoreError> {
        let rows = self
            .rows("SELECT id, name FROM services".to_owned(), Vec::new())
            .await?;
        rows.iter()
            .map(|r| Ok((parse_col(r, "id", str::parse)?, col(r, "name")?)))
            .collect()
    }
}

/// Most incidents first, then most alerts; the first [`NOISY_TOP`].
fn rank(list: &mut Vec<NoiseCounts>) {
    list.sort_by(|a, b| {
        b.incidents
            .cmp(&a.incidents)
            .then(b.alerts.cmp(&a.alerts))
            .then(a.service.cmp(&b.service))
            .then(a.dedup_key.cmp(&b.dedup_key))
    });
    list.truncate(NOISY_TOP);
}

/// `from <= time < to AND the filter`, over rows aliased `f`, and its values.
fn scope_sql(time: &str, from: i64, to: i64, filter: &ReportFilter) -> (String, Vec<Val>) {
    let mut sql = format!("{time} >= ? AND {time} < ?");
    let mut values = vec![Val::Int(from), Val::Int(to)];
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

/// A row of incidents, alerts and flaps per alert key.
fn key_counts(r: &AnyRow) -> Result<NoiseCounts, StoreError> {
    Ok(NoiseCounts {
        service: parse_col(r, "service_id", str::parse)?,
        service_name: String::new(),
        dedup_key: Some(col(r, "dedup_key")?),
        incidents: count(r, "incidents")?,
        alerts: count(r, "alerts")?,
        flaps: count(r, "flaps")?,
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> i64 {
        Timestamp::parse(text).unwrap().as_millis()
    }

    #[test]
    fn a_period_is_cut_into_whole_days_and_the_part_days_at_its_ends() {
        let period = |from: &str, to: &str| {
            Period::parse(
                Timestamp::parse(from).unwrap(),
                Timestamp::parse(to).unwrap(),
            )
            .unwrap()
        };
        let day = |text: &str| at(text) / DAY_MILLIS;
        // Midnight to midnight: days only.
        assert_eq!(
            cut(period("2026-03-23T00:00:00Z", "2026-04-06T00:00:00Z")),
            Cut {
                days: Some((day("2026-03-23T00:00:00Z"), day("2026-04-06T00:00:00Z"))),
                edges: vec![]
            }
        );
        // Berlin's midnights: an hour before each UTC midnight.
        assert_eq!(
            cut(period("2026-03-22T23:00:00Z", "2026-04-05T22:00:00Z")),
            Cut {
                days: Some((day("2026-03-23T00:00:00Z"), day("2026-04-05T00:00:00Z"))),
                edges: vec![
                    (at("2026-03-22T23:00:00Z"), at("2026-03-23T00:00:00Z")),
                    (at("2026-04-05T00:00:00Z"), at("2026-04-05T22:00:00Z")),
                ],
            }
        );
        // Within one day: no whole day.
        assert_eq!(
            cut(period("2026-03-23T08:00:00Z", "2026-03-23T20:00:00Z")),
            Cut {
                days: None,
                edges: vec![(at("2026-03-23T08:00:00Z"), at("2026-03-23T20:00:00Z"))]
            }
        );
    }
}
