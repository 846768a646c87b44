//! Everything a public status page shows at one moment, read once: the JSON documents,
//! the feeds and the HTML page are all drawn from one [`Snapshot`].

use std::collections::HashMap;

use jiff::tz::TimeZone;
use onduty_core::postmortem::{PostmortemStatus, public_markdown};
use onduty_core::status_page::{
    ComponentStatus, DayUptime, Impact, MaintenanceStatus, Stage, indicator, shown_status, uptime,
};
use onduty_core::{ComponentId, StatusIncidentId, Timestamp};
use onduty_store::status_pages::{Component, StatusIncident, StatusPage};
use onduty_store::{Store, StoreError};

/// Days of history: the uptime bars and the past incidents.
pub const HISTORY_DAYS: usize = 90;

pub struct Snapshot {
    pub page: StatusPage,
    pub now: Timestamp,
    /// In the page's order, each with the state shown now.
    pub components: Vec<Component>,
    /// Public incidents, newest first: those not resolved, and those of the history days.
    pub incidents: Vec<StatusIncident>,
    /// Scheduled maintenance, newest first, each with its stage at `now`.
    pub maintenances: Vec<StatusIncident>,
    pub indicator: Impact,
    /// The history days on the page's clock: start, end, and the day as words.
    pub days: Vec<(Timestamp, Timestamp, String)>,
    pub uptime: HashMap<ComponentId, Vec<DayUptime>>,
    /// The published postmortems shown with public incidents: what the public reads.
    pub postmortems: HashMap<StatusIncidentId, PublicPostmortem>,
}

/// A published postmortem as a status page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicPostmortem {
    /// Markdown ([`onduty_core::postmortem::public_markdown`]).
    pub body: String,
    pub published_at: Timestamp,
}

impl Snapshot {
    pub async fn load(
        store: &Store,
        page: StatusPage,
        now: Timestamp,
    ) -> Result<Snapshot, StoreError> {
        let tz = TimeZone::get(&page.time_zone).unwrap_or(TimeZone::UTC);
        let days = history_days(now, &tz);
        let since = days.first().map_or(now, |d| d.0);
        let mut components = store.components(page.id).await?;
        let (maintenances, incidents): (Vec<_>, Vec<_>) = store
            .published_status_incidents(page.id, since)
            .await?
            .into_iter()
            .map(|mut i| {
                i.stage = i.stage_at(now);
                i
            })
            .partition(StatusIncident::is_maintenance);
        let in_maintenance: Vec<ComponentId> = maintenances
            .iter()
            .filter(|m| is_active(m.stage))
            .flat_map(|m| m.components.iter().copied())
            .collect();
        for c in &mut components {
            c.status = shown_status(c.status, in_maintenance.contains(&c.id));
        }
        let mut uptimes = HashMap::new();
        let bounds: Vec<(Timestamp, Timestamp)> = days.iter().map(|d| (d.0, d.1)).collect();
        for c in components.iter().filter(|c| !c.is_group) {
            let changes = store.component_changes(c.id, since).await?;
            uptimes.insert(c.id, uptime(&changes, &bounds, now));
        }
        let indicator = indicator(
            components.iter().filter(|c| !c.is_group).map(|c| c.status),
            incidents
                .iter()
                .filter(|i| !i.stage.is_over())
                .map(|i| i.impact),
            maintenances.iter().any(|m| is_active(m.stage)),
        );
        let mut postmortems = HashMap::new();
        for i in &incidents {
            let Some(id) = i.postmortem else { continue };
            let found = match store.postmortem(id).await {
                Ok(found) => found,
                Err(StoreError::NotFound(_)) => continue,
                Err(e) => return Err(e),
            };
            let Some(published_at) = found
                .published_at
                .filter(|_| found.status == PostmortemStatus::Published)
            else {
                continue;
            };
            let actions: Vec<(String, bool)> = found
                .actions
                .iter()
                .map(|a| (a.text.clone(), a.done_at.is_some()))
                .collect();
            let body = public_markdown(&found.summary, &found.contributing_factors, &actions);
            postmortems.insert(i.id, PublicPostmortem { body, published_at });
        }
        Ok(Snapshot {
            page,
            now,
            components,
            incidents,
            maintenances,
            indicator,
            days,
            uptime: uptimes,
            postmortems,
        })
    }

    pub fn unresolved(&self) -> impl Iterator<Item = &StatusIncident> {
        self.incidents.iter().filter(|i| !i.stage.is_over())
    }

    pub fn active_maintenance(&self) -> impl Iterator<Item = &StatusIncident> {
        self.maintenances.iter().filter(|m| is_active(m.stage))
    }

    pub fn upcoming_maintenance(&self) -> impl Iterator<Item = &StatusIncident> {
        self.maintenances
            .iter()
            .filter(|m| m.stage == Stage::Maintenance(MaintenanceStatus::Scheduled))
    }

    pub fn component(&self, id: ComponentId) -> Option<&Component> {
        self.components.iter().find(|c| c.id == id)
    }

    /// Whether a component is shown: not one that shows itself only when degraded while
    /// it is operational.
    pub fn shows(&self, c: &Component) -> bool {
        !(c.only_show_if_degraded && c.status == ComponentStatus::Operational)
    }
}

/// In progress or being verified.
fn is_active(stage: Stage) -> bool {
    matches!(
        stage,
        Stage::Maintenance(MaintenanceStatus::InProgress | MaintenanceStatus::Verifying)
    )
}

/// The last [`HISTORY_DAYS`] days up to today on `tz`'s clock, oldest first.
fn history_days(now: Timestamp, tz: &TimeZone) -> Vec<(Timestamp, Timestamp, String)> {
    let Ok(instant) = jiff::Timestamp::from_millisecond(now.as_millis()) else {
        return Vec::new();
    };
    let today = instant.to_zoned(tz.clone()).date();
    let mut days = Vec::with_capacity(HISTORY_DAYS);
    for back in (0..HISTORY_DAYS as i64).rev() {
        let Ok(day) = today.checked_sub(jiff::Span::new().days(back)) else {
            continue;
        };
        let (Ok(start), Ok(next)) = (day.to_zoned(tz.clone()), day.tomorrow()) else {
            continue;
        };
        let Ok(end) = next.to_zoned(tz.clone()) else {
            continue;
        };
        days.push((
            Timestamp::from_millis(start.timestamp().as_millisecond()),
            Timestamp::from_millis(end.timestamp().as_millisecond()),
            day.strftime("%b %-d, %Y").to_string(),
        ));
    }
    days
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ninety_days_end_today_on_the_pages_clock() {
        // 2026-03-29 00:30 UTC is 01:30 in London, the day the clocks go forward.
        let now = Timestamp::parse("2026-03-29T00:30:00Z").unwrap();
        let london = TimeZone::get("Europe/London").unwrap();
        let days = history_days(now, &london);
        assert_eq!(days.len(), HISTORY_DAYS);
        let (start, end, label) = days.last().unwrap();
        assert_eq!(label, "Mar 29, 2026");
        assert_eq!(start.to_rfc3339(), "2026-03-29T00:00:00.000Z");
        // 23 hours long: the clocks went forward.
        assert_eq!(end.to_rfc3339(), "2026-03-29T23:00:00.000Z");
        assert_eq!(days[0].2, "Dec 30, 2025");
        for pair in days.windows(2) {
            assert_eq!(pair[0].1, pair[1].0, "days follow each other");
        }
    }
}
