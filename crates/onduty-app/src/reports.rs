//! On-call reports (everyone signed in reads them): incidents, times to acknowledge and
//! resolve, noise and each person's load over a period, by team, service, policy or
//! urgency. The store counts; `onduty_core::report` does the arithmetic.

use std::collections::BTreeMap;

use jiff::civil::Date;
use onduty_core::contact::Urgency;
use onduty_core::lifecycle::AckChannel;
use onduty_core::report::{
    HourClass, Period, Spread, date_of_day, local_week, share, week_start, weeks,
};
use onduty_core::schedule::{MAX_WINDOW, Window};
use onduty_core::{Timestamp, UserId};
use onduty_store::reports::{NoiseCounts, ReportCounts, ReportFilter, WeekCounts};
use serde::Serialize;

use crate::{Acting, App, AppError};

/// What a door asks for: times as RFC 3339, filters by id or name (empty for any).
#[derive(Debug, Clone, Default)]
pub struct ReportQuery {
    pub from: String,
    pub to: String,
    pub team: String,
    pub service: String,
    pub policy: String,
    pub urgency: String,
}

/// A report: the figures of the period, a week by week trend, and each person's load.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub period: Period,
    pub filter: FilterNames,
    pub incidents: u64,
    pub alerts: u64,
    /// Times to first acknowledgement of the incidents acknowledged.
    pub time_to_acknowledge: Option<Spread>,
    /// Times to resolution of the incidents resolved.
    pub time_to_resolve: Option<Spread>,
    pub acknowledged: u64,
    pub resolved: u64,
    pub escalated: u64,
    pub escalated_share: f64,
    /// Resolved by an event or onduty's timer, of those resolved.
    pub auto_resolved: u64,
    pub auto_resolved_share: f64,
    pub flaps: u64,
    pub heartbeat_failures: u64,
    pub acknowledgements_by_channel: Vec<ChannelCount>,
    pub noisiest_services: Vec<Noise>,
    pub noisiest_alert_keys: Vec<Noise>,
    pub weeks: Vec<WeekFigures>,
    pub responders: Vec<Responder>,
    pub sleep_page_budget: u64,
}

/// The filters as names people know.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FilterNames {
    pub team: Option<String>,
    pub service: Option<String>,
    pub policy: Option<String>,
    pub urgency: Option<Urgency>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct ChannelCount {
    pub channel: &'static str,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Noise {
    pub service: String,
    /// `None` for a whole service.
    pub dedup_key: Option<String>,
    pub incidents: u64,
    pub alerts: u64,
    pub flaps: u64,
}

/// One week (Monday 00:00 UTC on) of the trend; weeks without incidents are zeros.
#[derive(Debug, Clone, Serialize)]
pub struct WeekFigures {
    pub start: Timestamp,
    pub incidents: u64,
    pub alerts: u64,
    pub acknowledged: u64,
    pub mean_seconds_to_acknowledge: Option<f64>,
    pub resolved: u64,
    pub mean_seconds_to_resolve: Option<f64>,
    pub escalated: u64,
    pub auto_resolved: u64,
    pub flaps: u64,
    pub heartbeat_failures: u64,
    pub acknowledgements_by_channel: Vec<ChannelCount>,
}

/// One person's load: pages counted once per incident, whatever the channels, and when
/// they came in that person's own time zone.
#[derive(Debug, Clone, Serialize)]
pub struct Responder {
    pub user_id: UserId,
    pub name: String,
    pub time_zone: String,
    pub pages: u64,
    pub business_hours_pages: u64,
    pub off_hours_pages: u64,
    pub sleep_hours_pages: u64,
    pub hours_on_call: f64,
    pub acknowledged: u64,
    pub resolved: u64,
    /// Sleep-hour pages by the person's own week (the Monday it starts), weeks with any.
    pub sleep_pages_by_week: Vec<WeekCount>,
    /// Weeks over the sleep-page budget.
    pub weeks_over_budget: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct WeekCount {
    pub week_of: Date,
    pub pages: u64,
}

impl App {
    /// The report `query` asks for. A period that runs backwards or past two years, and
    /// a filter naming nothing, are refused.
    pub async fn report(&self, _acting: &Acting, query: &ReportQuery) -> Result<Report, AppError> {
        let now = self.now();
        let period = self.report_period(query, now)?;
        let (filter, names) = self.report_filter(query).await?;
        let counts = self.store.report_counts(period, &filter).await?;
        let on_call = self.hours_on_call(period).await?;
        let people = self.store.list_users().await?;
        let team_members = match filter.team {
            Some(team) => Some(self.store.team(&team.to_string()).await?.members),
            None => None,
        };
        let budget = self.store.org_settings().await?.sleep_page_budget;
        let mut report = figures(period, names, &counts, u64::from(budget));
        for person in &people {
            let counted = counts.responders.iter().find(|(id, _)| *id == person.id);
            let hours = on_call.get(&person.id).copied().unwrap_or(0.0);
            let listed = match &team_members {
                Some(members) => members.contains(&person.id) || counted.is_some(),
                None => counted.is_some() || hours > 0.0,
            };
            if !listed {
                continue;
            }
            let zone = person.time_zone.zone();
            let mut r = Responder {
                user_id: person.id,
                name: person.name.as_str().to_owned(),
                time_zone: person.time_zone.as_str().to_owned(),
                pages: 0,
                business_hours_pages: 0,
                off_hours_pages: 0,
                sleep_hours_pages: 0,
                hours_on_call: (hours * 100.0).round() / 100.0,
                acknowledged: 0,
                resolved: 0,
                sleep_pages_by_week: Vec::new(),
                weeks_over_budget: 0,
            };
            if let Some((_, c)) = counted {
                r.acknowledged = c.acknowledged;
                r.resolved = c.resolved;
                // As the engine sorted them, and the few it has not yet, sorted here.
                let mut pages: Vec<(HourClass, Option<i64>, u64)> = c
                    .sorted_pages
                    .iter()
                    .filter_map(|(class, week, n)| {
                        Some((HourClass::parse(class)?, Some(*week), *n))
                    })
                    .collect();
                pages.extend(
                    c.unsorted_pages
                        .iter()
                        .map(|at| (HourClass::of(*at, &zone), local_week(*at, &zone), 1)),
                );
                let mut sleep_weeks: BTreeMap<Date, u64> = BTreeMap::new();
                for (class, week, n) in pages {
                    r.pages += n;
                    match class {
                        HourClass::Business => r.business_hours_pages += n,
                        HourClass::Off => r.off_hours_pages += n,
                        HourClass::Sleep => {
                            r.sleep_hours_pages += n;
                            if let Some(monday) = week.and_then(date_of_day) {
                                *sleep_weeks.entry(monday).or_default() += n;
                            }
                        }
                    }
                }
                r.sleep_pages_by_week = sleep_weeks
                    .into_iter()
                    .map(|(week_of, pages)| WeekCount { week_of, pages })
                    .collect();
                r.weeks_over_budget = r
                    .sleep_pages_by_week
                    .iter()
                    .filter(|w| w.pages > report.sleep_page_budget)
                    .count() as u64;
            }
            report.responders.push(r);
        }
        report
            .responders
            .sort_by(|a, b| b.pages.cmp(&a.pages).then_with(|| a.name.cmp(&b.name)));
        Ok(report)
    }

    fn report_period(&self, query: &ReportQuery, now: Timestamp) -> Result<Period, AppError> {
        let time = |field: &str, text: &str| {
            Timestamp::parse(text).map_err(|_| {
                AppError::Invalid(format!(
                    "{field} must be a time like 2026-03-01T00:00:00Z, not '{}'",
                    text.chars().take(64).collect::<String>()
                ))
            })
        };
        let to = match query.to.trim() {
            "" => now,
            t => time("to", t)?,
        };
        let from = match query.from.trim() {
            "" => Timestamp::from_millis(to.as_millis() - 28 * 86_400_000),
            t => time("from", t)?,
        };
        Period::parse(from, to).map_err(|e| AppError::Invalid(e.to_string()))
    }

    async fn report_filter(
        &self,
        query: &ReportQuery,
    ) -> Result<(ReportFilter, FilterNames), AppError> {
        // A filter that names nothing is a mistake in the request, not an empty report.
        let unknown = |e: AppError| match e {
            AppError::NotFound(m) => AppError::Invalid(m),
            other => other,
        };
        let mut filter = ReportFilter::default();
        let mut names = FilterNames::default();
        if !query.team.trim().is_empty() {
            let team = self
                .store
                .team(query.team.trim())
                .await
                .map_err(|e| unknown(e.into()))?;
            filter.team = Some(team.id);
            names.team = Some(team.name.as_str().to_owned());
        }
        if !query.service.trim().is_empty() {
            let service = self
                .find_service(query.service.trim())
                .await
                .map_err(unknown)?;
            filter.service = Some(service.id);
            names.service = Some(service.name.as_str().to_owned());
        }
        if !query.policy.trim().is_empty() {
            let policy = self
                .find_policy(query.policy.trim())
                .await
                .map_err(unknown)?;
            filter.policy = Some(policy.id);
            names.policy = Some(policy.name.as_str().to_owned());
        }
        if !query.urgency.trim().is_empty() {
            let urgency = Urgency::parse(query.urgency.trim())
                .ok_or_else(|| AppError::Invalid("urgency must be high or low".to_owned()))?;
            filter.urgency = Some(urgency);
            names.urgency = Some(urgency);
        }
        Ok((filter, names))
    }

    /// Hours each person was on call in any schedule during `period` (time on call in
    /// two schedules at once counts once).
    async fn hours_on_call(&self, period: Period) -> Result<BTreeMap<UserId, f64>, AppError> {
        let mut spans: BTreeMap<UserId, Vec<(i64, i64)>> = BTreeMap::new();
        for schedule in self.store.list_schedules().await? {
            let mut start = period.from;
            while start < period.to {
                let end = start.saturating_add(MAX_WINDOW).min(period.to);
                let window = Window::new(start, end)
                    .map_err(|e| AppError::Internal(format!("report window: {e}")))?;
                for s in self.final_schedule(&schedule, window).await?.stretches() {
                    spans
                        .entry(s.user)
                        .or_default()
                        .push((s.start.as_millis(), s.end.as_millis()));
                }
                start = end;
            }
        }
        Ok(spans
            .into_iter()
            .map(|(user, mut list)| {
                list.sort_unstable();
                let (mut total, mut reach) = (0i64, i64::MIN);
                for (s, e) in list {
                    let s = s.max(reach);
                    if e > s {
                        total += e - s;
                    }
                    reach = reach.max(e);
                }
                (user, total as f64 / 3_600_000.0)
            })
            .collect())
    }
}

fn channels(by_channel: &[u64]) -> Vec<ChannelCount> {
    AckChannel::ALL
        .iter()
        .zip(by_channel)
        .map(|(c, n)| ChannelCount {
            channel: c.as_str(),
            count: *n,
        })
        .collect()
}

fn noise(n: &NoiseCounts) -> Noise {
    Noise {
        service: n.service_name.clone(),
        dedup_key: n.dedup_key.clone(),
        incidents: n.incidents,
        alerts: n.alerts,
        flaps: n.flaps,
    }
}

fn mean(sum_millis: i64, n: u64) -> Option<f64> {
    (n > 0).then(|| sum_millis as f64 / 1000.0 / n as f64)
}

/// The report's figures from the store's counts, people left for the caller.
fn figures(period: Period, names: FilterNames, counts: &ReportCounts, budget: u64) -> Report {
    let mut total = WeekCounts {
        by_channel: vec![0; AckChannel::ALL.len()],
        ..WeekCounts::default()
    };
    for w in &counts.weeks {
        total.add(w);
    }
    let weeks = weeks(period)
        .into_iter()
        .map(|n| {
            let w = counts
                .weeks
                .iter()
                .find(|w| w.week == n)
                .cloned()
                .unwrap_or_else(|| WeekCounts {
                    week: n,
                    by_channel: vec![0; AckChannel::ALL.len()],
                    ..WeekCounts::default()
                });
            WeekFigures {
                start: week_start(n),
                incidents: w.incidents,
                alerts: w.alerts,
                acknowledged: w.acknowledged,
                mean_seconds_to_acknowledge: mean(w.ack_millis, w.acknowledged),
                resolved: w.resolved,
                mean_seconds_to_resolve: mean(w.resolve_millis, w.resolved),
                escalated: w.escalated,
                auto_resolved: w.auto_resolved,
                flaps: w.reopens,
                heartbeat_failures: w.heartbeat_failures,
                acknowledgements_by_channel: channels(&w.by_channel),
            }
        })
        .collect();
    Report {
        period,
        filter: names,
        incidents: total.incidents,
        alerts: total.alerts,
        time_to_acknowledge: Spread::of(&counts.ack_seconds, total.ack_millis),
        time_to_resolve: Spread::of(&counts.resolve_seconds, total.resolve_millis),
        acknowledged: total.acknowledged,
        resolved: total.resolved,
        escalated: total.escalated,
        escalated_share: share(total.escalated, total.incidents),
        auto_resolved: total.auto_resolved,
        auto_resolved_share: share(total.auto_resolved, total.resolved),
        flaps: total.reopens,
        heartbeat_failures: total.heartbeat_failures,
        acknowledgements_by_channel: channels(&total.by_channel),
        noisiest_services: counts.noisy_services.iter().map(noise).collect(),
        noisiest_alert_keys: counts.noisy_keys.iter().map(noise).collect(),
        weeks,
        responders: Vec::new(),
        sleep_page_budget: budget,
    }
}
