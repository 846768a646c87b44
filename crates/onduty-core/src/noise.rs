//! Noise control: alerts with different dedup keys grouped into one incident when they
//! arrive close together, and a flapping incident re-opened instead of a new one paging.
//!
//! Both are per-service settings, off by default. The store asks these functions; the
//! incident's grouped alerts are kept as [`GroupedAlerts`] on the incident row.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::time::Timestamp;

/// The longest grouping or flap window, in minutes (a day).
pub const MAX_WINDOW_MINUTES: u32 = 24 * 60;

/// Whether a trigger at `now` joins the incident opened at `opened_at`, with a service
/// grouping window of `window_minutes`. An event stamped before the incident opened (the
/// same batch, out of order by a millisecond) counts as inside the window.
pub fn joins_group(window_minutes: u32, opened_at: Timestamp, now: Timestamp) -> bool {
    now.as_millis().saturating_sub(opened_at.as_millis()) < window_ms(window_minutes)
}

/// Whether a trigger at `now` re-opens the incident with its key that resolved at
/// `resolved_at`, with a service flap window of `window_minutes`.
pub fn reopens(window_minutes: u32, resolved_at: Timestamp, now: Timestamp) -> bool {
    now.as_millis().saturating_sub(resolved_at.as_millis()) < window_ms(window_minutes)
}

/// A window as a duration.
pub fn window(minutes: u32) -> Duration {
    Duration::from_secs(u64::from(minutes) * 60)
}

fn window_ms(minutes: u32) -> i64 {
    i64::from(minutes) * 60_000
}

/// One alert in a grouped incident: its dedup key, and when its source said it was over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupedAlert {
    pub key: String,
    /// Epoch milliseconds; `None` while it is firing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<i64>,
}

/// The alerts of an incident that others joined: its own key first. An incident with no
/// grouped alerts has none of this, and resolves with its own key as before.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct GroupedAlerts(pub Vec<GroupedAlert>);

/// What a resolve event for one alert of a grouped incident does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertResolution {
    /// That was the last alert firing: the incident resolves.
    All,
    /// Others are still firing (how many): the incident stays open.
    Still(usize),
}

impl GroupedAlerts {
    /// The alerts of an incident with key `own_key` that another alert is joining.
    pub fn start(own_key: &str) -> GroupedAlerts {
        GroupedAlerts(vec![GroupedAlert {
            key: own_key.to_owned(),
            resolved_at: None,
        }])
    }

    pub fn contains(&self, key: &str) -> bool {
        self.0.iter().any(|a| a.key == key)
    }

    /// A trigger for `key`: it joins, or fires again if it had resolved. True if anything
    /// changed.
    pub fn fire(&mut self, key: &str) -> bool {
        match self.0.iter_mut().find(|a| a.key == key) {
            Some(a) => a.resolved_at.take().is_some(),
            None => {
                self.0.push(GroupedAlert {
                    key: key.to_owned(),
                    resolved_at: None,
                });
                true
            }
        }
    }

    /// A resolve for `key` at `at`. A key the incident does not group is ignored (its
    /// alerts are unchanged), which still counts the others.
    pub fn resolve(&mut self, key: &str, at: Timestamp) -> AlertResolution {
        if let Some(a) = self.0.iter_mut().find(|a| a.key == key) {
            a.resolved_at.get_or_insert(at.as_millis());
        }
        match self.firing() {
            0 => AlertResolution::All,
            n => AlertResolution::Still(n),
        }
    }

    pub fn firing(&self) -> usize {
        self.0.iter().filter(|a| a.resolved_at.is_none()).count()
    }
}

/// A window in minutes as a setting: 1 to [`MAX_WINDOW_MINUTES`].
pub fn parse_window(name: &str, minutes: u32) -> Result<u32, String> {
    if (1..=MAX_WINDOW_MINUTES).contains(&minutes) {
        Ok(minutes)
    } else {
        Err(format!(
            "{name} must be between 1 and {MAX_WINDOW_MINUTES} minutes (leave it empty for off)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minutes: i64) -> Timestamp {
        Timestamp::from_millis(1_800_000_000_000 + minutes * 60_000)
    }

    #[test]
    fn a_trigger_joins_only_inside_the_window() {
        assert!(joins_group(5, at(0), at(0)));
        assert!(joins_group(5, at(0), at(4)));
        assert!(!joins_group(5, at(0), at(5)));
        assert!(!joins_group(5, at(0), at(60)));
        // Stamped a moment before the incident opened: inside.
        assert!(joins_group(5, at(1), at(0)));
    }

    #[test]
    fn a_trigger_reopens_only_inside_the_flap_window() {
        assert!(reopens(10, at(0), at(9)));
        assert!(!reopens(10, at(0), at(10)));
        assert!(!reopens(1, at(0), at(2)));
    }

    #[test]
    fn a_grouped_incident_resolves_when_its_last_alert_does() {
        let mut alerts = GroupedAlerts::start("disk-full");
        assert!(alerts.fire("db-latency"));
        assert!(!alerts.fire("db-latency"), "firing again changes nothing");
        assert_eq!(
            alerts.resolve("disk-full", at(1)),
            AlertResolution::Still(1)
        );
        assert_eq!(alerts.resolve("unknown", at(2)), AlertResolution::Still(1));
        assert!(alerts.fire("disk-full"), "a resolved alert can fire again");
        assert_eq!(
            alerts.resolve("db-latency", at(3)),
            AlertResolution::Still(1)
        );
        assert_eq!(alerts.resolve("disk-full", at(4)), AlertResolution::All);
        assert_eq!(alerts.0[1].resolved_at, Some(at(3).as_millis()));
    }

    #[test]
    fn grouped_alerts_keep_their_stored_form() {
        let mut alerts = GroupedAlerts::start("a");
        alerts.fire("b");
        alerts.resolve("a", at(0));
        let text = serde_json::to_string(&alerts).unwrap();
        assert_eq!(
            text,
            format!(
                r#"[{{"key":"a","resolved_at":{}}},{{"key":"b"}}]"#,
                at(0).as_millis()
            )
        );
        assert_eq!(
            serde_json::from_str::<GroupedAlerts>(&text).unwrap(),
            alerts
        );
    }

    #[test]
    fn windows_are_bounded() {
        assert!(parse_window("The grouping window", 0).is_err());
        assert_eq!(parse_window("The grouping window", 5), Ok(5));
        assert!(parse_window("The flap window", MAX_WINDOW_MINUTES + 1).is_err());
    }
}
