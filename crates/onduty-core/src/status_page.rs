//! The public status page, pure: components in Statuspage's five states, public incidents
//! and scheduled maintenance with their statuses, and what a page says overall (its
//! indicator and description). Words are Statuspage's, so its clients read onduty.

use std::fmt;

use thiserror::Error;

use crate::time::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum StatusPageError {
    #[error("'{field}' must be one of {allowed}, not '{given}'")]
    NotOneOf {
        field: &'static str,
        allowed: String,
        given: String,
    },
    #[error("'{field}' is 1 to {max} characters, without control characters")]
    BadText { field: &'static str, max: usize },
    #[error(
        "'slug' is 1 to 63 lower-case letters, digits and dashes, starting with a letter or digit"
    )]
    BadSlug,
}

/// An enum spelled as Statuspage spells it, read back from the same words.
macro_rules! words {
    ($(#[$doc:meta])* $name:ident, $field:literal { $($variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }

            pub fn parse(text: &str) -> Result<$name, StatusPageError> {
                match text.trim() {
                    $($word => Ok($name::$variant),)+
                    other => Err(StatusPageError::NotOneOf {
                        field: $field,
                        allowed: [$($word),+].join(", "),
                        given: other.chars().take(64).collect(),
                    }),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

words!(
    /// How a component is doing.
    ComponentStatus, "status" {
        Operational = "operational",
        DegradedPerformance = "degraded_performance",
        PartialOutage = "partial_outage",
        MajorOutage = "major_outage",
        UnderMaintenance = "under_maintenance",
    }
);

words!(
    /// Where a public incident stands.
    IncidentStatus, "status" {
        Investigating = "investigating",
        Identified = "identified",
        Monitoring = "monitoring",
        Resolved = "resolved",
    }
);

words!(
    /// Where a scheduled maintenance stands.
    MaintenanceStatus, "status" {
        Scheduled = "scheduled",
        InProgress = "in_progress",
        Verifying = "verifying",
        Completed = "completed",
    }
);

words!(
    /// How much a public incident hurts: an incident's impact and a page's indicator.
    Impact, "impact" {
        None = "none",
        Minor = "minor",
        Major = "major",
        Critical = "critical",
        Maintenance = "maintenance",
    }
);

impl ComponentStatus {
    /// The words a page shows for it.
    pub fn label(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "Operational",
            ComponentStatus::DegradedPerformance => "Degraded performance",
            ComponentStatus::PartialOutage => "Partial outage",
            ComponentStatus::MajorOutage => "Major outage",
            ComponentStatus::UnderMaintenance => "Under maintenance",
        }
    }

    /// What this state alone makes of a page's indicator.
    pub fn impact(self) -> Impact {
        match self {
            ComponentStatus::Operational => Impact::None,
            ComponentStatus::UnderMaintenance => Impact::Maintenance,
            ComponentStatus::DegradedPerformance => Impact::Minor,
            ComponentStatus::PartialOutage => Impact::Major,
            ComponentStatus::MajorOutage => Impact::Critical,
        }
    }
}

impl IncidentStatus {
    pub fn label(self) -> &'static str {
        match self {
            IncidentStatus::Investigating => "Investigating",
            IncidentStatus::Identified => "Identified",
            IncidentStatus::Monitoring => "Monitoring",
            IncidentStatus::Resolved => "Resolved",
        }
    }
}

impl MaintenanceStatus {
    pub fn label(self) -> &'static str {
        match self {
            MaintenanceStatus::Scheduled => "Scheduled",
            MaintenanceStatus::InProgress => "In progress",
            MaintenanceStatus::Verifying => "Verifying",
            MaintenanceStatus::Completed => "Completed",
        }
    }

    /// The status at `now` of a maintenance set to `set` for `from`..`until`: it starts
    /// and completes by itself; a person may move it on sooner (verifying, completed).
    pub fn at(set: MaintenanceStatus, from: Timestamp, until: Timestamp, now: Timestamp) -> Self {
        use MaintenanceStatus::*;
        match set {
            Completed => Completed,
            _ if now >= until => Completed,
            Scheduled if now >= from => InProgress,
            other => other,
        }
    }
}

/// Where a public incident or a scheduled maintenance stands: an update's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Incident(IncidentStatus),
    Maintenance(MaintenanceStatus),
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Incident(s) => s.as_str(),
            Stage::Maintenance(s) => s.as_str(),
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Stage::Incident(s) => s.label(),
            Stage::Maintenance(s) => s.label(),
        }
    }

    /// Over: resolved, or completed.
    pub fn is_over(self) -> bool {
        matches!(
            self,
            Stage::Incident(IncidentStatus::Resolved)
                | Stage::Maintenance(MaintenanceStatus::Completed)
        )
    }

    /// `text` read as a stage of an incident (`maintenance` false) or of a maintenance.
    pub fn parse(maintenance: bool, text: &str) -> Result<Stage, StatusPageError> {
        if maintenance {
            MaintenanceStatus::parse(text).map(Stage::Maintenance)
        } else {
            IncidentStatus::parse(text).map(Stage::Incident)
        }
    }
}

impl Impact {
    /// Worse impacts rank higher; maintenance is worse than nothing and better than any
    /// outage.
    fn rank(self) -> u8 {
        match self {
            Impact::None => 0,
            Impact::Maintenance => 1,
            Impact::Minor => 2,
            Impact::Major => 3,
            Impact::Critical => 4,
        }
    }

    /// The worse of two.
    pub fn worst(self, other: Impact) -> Impact {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    /// A page's description for this indicator, as Statuspage words it.
    pub fn description(self) -> &'static str {
        match self {
            Impact::None => "All Systems Operational",
            Impact::Minor => "Minor Service Outage",
            Impact::Major => "Partial System Outage",
            Impact::Critical => "Major System Outage",
            Impact::Maintenance => "Service Under Maintenance",
        }
    }
}

/// A page's indicator: the worst of its components' states, its unresolved incidents'
/// impacts, and `maintenance` for a maintenance in progress.
pub fn indicator(
    components: impl IntoIterator<Item = ComponentStatus>,
    unresolved: impl IntoIterator<Item = Impact>,
    maintenance_in_progress: bool,
) -> Impact {
    let from_components = components
        .into_iter()
        .map(ComponentStatus::impact)
        .fold(Impact::None, Impact::worst);
    let from_incidents = unresolved.into_iter().fold(Impact::None, Impact::worst);
    let from_maintenance = if maintenance_in_progress {
        Impact::Maintenance
    } else {
        Impact::None
    };
    from_components
        .worst(from_incidents)
        .worst(from_maintenance)
}

/// A component's state as shown at a moment: its own, or under maintenance while a
/// maintenance in progress covers it and nothing worse is set.
pub fn shown_status(own: ComponentStatus, in_maintenance: bool) -> ComponentStatus {
    if in_maintenance && own == ComponentStatus::Operational {
        ComponentStatus::UnderMaintenance
    } else {
        own
    }
}

/// One day of a component's uptime bar.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayUptime {
    /// The worst state of the day; `None` before the component existed.
    pub worst: Option<ComponentStatus>,
    /// The share of the day it was up (a major outage counts as down, a partial outage
    /// as 30% down; the rest as up), from 0 to 1; 1 for a day without data.
    pub up: f64,
}

/// How much of a stretch in `status` counts as down.
fn down_share(status: ComponentStatus) -> f64 {
    match status {
        ComponentStatus::MajorOutage => 1.0,
        ComponentStatus::PartialOutage => 0.3,
        _ => 0.0,
    }
}

/// A component's uptime per day: `changes` are the states it took, oldest first (the
/// first one in force at or before the first day, or when it was made); `days` are the
/// days' bounds on the page's clock; nothing after `now` counts.
pub fn uptime(
    changes: &[(Timestamp, ComponentStatus)],
    days: &[(Timestamp, Timestamp)],
    now: Timestamp,
) -> Vec<DayUptime> {
    days.iter()
        .map(|&(start, end)| {
            let end = end.min(now);
            let (mut worst, mut down, mut known) = (None::<ComponentStatus>, 0.0, 0i64);
            for (i, &(from, status)) in changes.iter().enumerate() {
                let until = changes.get(i + 1).map_or(end, |(next, _)| *next).min(end);
                let from = from.max(start);
                if until <= from {
                    continue;
                }
                let span = until.as_millis() - from.as_millis();
                known += span;
                down += span as f64 * down_share(status);
                worst = Some(match worst {
                    Some(w) if w.impact().worst(status.impact()) == w.impact() => w,
                    _ => status,
                });
            }
            let up = if known > 0 {
                1.0 - down / known as f64
            } else {
                1.0
            };
            DayUptime { worst, up }
        })
        .collect()
}

/// The share of `days` that was up, over the days with data.
pub fn overall_uptime(days: &[DayUptime]) -> Option<f64> {
    let known: Vec<f64> = days
        .iter()
        .filter(|d| d.worst.is_some())
        .map(|d| d.up)
        .collect();
    (!known.is_empty()).then(|| known.iter().sum::<f64>() / known.len() as f64)
}

/// Text shown to the public: trimmed, 1 to `max` characters; control characters other
/// than line breaks and tabs refused.
fn public_text(field: &'static str, text: &str, max: usize) -> Result<String, StatusPageError> {
    let t = text.trim();
    let allowed = |c: char| !c.is_control() || matches!(c, '\n' | '\r' | '\t');
    if t.is_empty() || t.chars().count() > max || !t.chars().all(allowed) {
        return Err(StatusPageError::BadText { field, max });
    }
    Ok(t.to_owned())
}

/// What an update says (plain text, shown as written): 1 to 10,000 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateBody(String);

impl UpdateBody {
    pub const MAX_CHARS: usize = 10_000;

    pub fn parse(text: &str) -> Result<Self, StatusPageError> {
        public_text("body", text, Self::MAX_CHARS).map(UpdateBody)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A public title (a page's, a component's, an incident's): one line, 1 to 255
/// How often (minutes) a public incident left open after its onduty incident is resolved
/// may be reminded of.
pub const REMIND_EVERY_MINUTES: std::ops::RangeInclusive<u32> = 5..=1440;

/// A page's own host name (status.example.com): lower-case letters, digits, dots and
/// dashes, as a browser sends it.
pub fn parse_host(text: &str) -> Result<String, String> {
    let host = text.trim().trim_end_matches('.').to_ascii_lowercase();
    let label_ok = |l: &str| {
        (1..=63).contains(&l.len())
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if host.len() <= 253 && host.contains('.') && host.split('.').all(label_ok) {
        Ok(host)
    } else {
        Err(format!(
            "'host' must be a host name such as status.example.com, not '{}'",
            text.chars().take(64).collect::<String>()
        ))
    }
}

/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Title(String);

impl Title {
    pub const MAX_CHARS: usize = 255;

    pub fn parse(field: &'static str, text: &str) -> Result<Self, StatusPageError> {
        let t = public_text(field, text, Self::MAX_CHARS)?;
        if t.contains(['\n', '\r', '\t']) {
            return Err(StatusPageError::BadText {
                field,
                max: Self::MAX_CHARS,
            });
        }
        Ok(Title(t))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A page's name in its address (`/status/<slug>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Slug(String);

impl Slug {
    pub fn parse(text: &str) -> Result<Self, StatusPageError> {
        let t = text.trim();
        let ok = (1..=63).contains(&t.len())
            && t.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !t.starts_with('-');
        if ok {
            Ok(Slug(t.to_owned()))
        } else {
            Err(StatusPageError::BadSlug)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentStatus as C;

    #[test]
    fn every_word_reads_back_and_others_are_refused_by_name() {
        for s in ComponentStatus::ALL {
            assert_eq!(ComponentStatus::parse(s.as_str()), Ok(*s));
        }
        for s in IncidentStatus::ALL {
            assert_eq!(IncidentStatus::parse(s.as_str()), Ok(*s));
        }
        for s in MaintenanceStatus::ALL {
            assert_eq!(MaintenanceStatus::parse(s.as_str()), Ok(*s));
        }
        for s in Impact::ALL {
            assert_eq!(Impact::parse(s.as_str()), Ok(*s));
        }
        let refused = ComponentStatus::parse("broken").unwrap_err().to_string();
        assert_eq!(
            refused,
            "'status' must be one of operational, degraded_performance, partial_outage, \
             major_outage, under_maintenance, not 'broken'"
        );
    }

    #[test]
    fn the_indicator_is_the_worst_of_components_incidents_and_maintenance() {
        let table: &[(&[ComponentStatus], &[Impact], bool, Impact)] = &[
            (&[], &[], false, Impact::None),
            (&[C::Operational, C::Operational], &[], false, Impact::None),
            (&[C::Operational], &[], true, Impact::Maintenance),
            (&[C::UnderMaintenance], &[], false, Impact::Maintenance),
            (&[C::DegradedPerformance], &[], true, Impact::Minor),
            (
                &[C::PartialOutage, C::DegradedPerformance],
                &[],
                false,
                Impact::Major,
            ),
            (&[C::MajorOutage], &[Impact::Minor], false, Impact::Critical),
            (&[C::Operational], &[Impact::Major], false, Impact::Major),
            (&[C::Operational], &[Impact::None], false, Impact::None),
            (
                &[C::Operational],
                &[Impact::Maintenance, Impact::Minor],
                true,
                Impact::Minor,
            ),
        ];
        for (components, incidents, maintenance, expected) in table {
            let got = indicator(
                components.iter().copied(),
                incidents.iter().copied(),
                *maintenance,
            );
            assert_eq!(got, *expected, "{components:?} {incidents:?} {maintenance}");
        }
        assert_eq!(Impact::None.description(), "All Systems Operational");
        assert_eq!(Impact::Critical.description(), "Major System Outage");
    }

    #[test]
    fn maintenance_starts_and_completes_by_itself() {
        use MaintenanceStatus::*;
        let (from, until) = (Timestamp::from_millis(1_000), Timestamp::from_millis(2_000));
        let at = |ms| Timestamp::from_millis(ms);
        let table = [
            (Scheduled, 999, Scheduled),
            (Scheduled, 1_000, InProgress),
            (Scheduled, 2_000, Completed),
            (InProgress, 1_500, InProgress),
            (Verifying, 1_500, Verifying),
            (Verifying, 2_000, Completed),
            (Completed, 1_500, Completed),
            // Moved on by a person before it was due.
            (InProgress, 500, InProgress),
        ];
        for (set, now, expected) in table {
            assert_eq!(
                MaintenanceStatus::at(set, from, until, at(now)),
                expected,
                "{set:?} at {now}"
            );
        }
    }

    #[test]
    fn a_component_in_maintenance_shows_it_unless_something_worse_is_set() {
        assert_eq!(shown_status(C::Operational, true), C::UnderMaintenance);
        assert_eq!(shown_status(C::PartialOutage, true), C::PartialOutage);
        assert_eq!(shown_status(C::Operational, false), C::Operational);
    }

    #[test]
    fn uptime_counts_outages_per_day_from_the_states_taken() {
        let hour = |h: i64| Timestamp::from_millis(h * 3_600_000);
        let days = [
            (hour(0), hour(24)),
            (hour(24), hour(48)),
            (hour(48), hour(72)),
        ];
        // Made at 06:00 on day 1; a major outage from 12:00 to 18:00; partial on day 2
        // from 00:00 to 12:00; operational since. "Now" is 12:00 on day 3.
        let changes = [
            (hour(6), C::Operational),
            (hour(12), C::MajorOutage),
            (hour(18), C::Operational),
            (hour(24), C::PartialOutage),
            (hour(36), C::Operational),
        ];
        let got = uptime(&changes, &days, hour(60));
        assert_eq!(got[0].worst, Some(C::MajorOutage));
        // 18 hours known, 6 of them down.
        assert!((got[0].up - 12.0 / 18.0).abs() < 1e-9, "{}", got[0].up);
        assert_eq!(got[1].worst, Some(C::PartialOutage));
        assert!(
            (got[1].up - (1.0 - 0.3 * 0.5)).abs() < 1e-9,
            "{}",
            got[1].up
        );
        assert_eq!(
            got[2],
            DayUptime {
                worst: Some(C::Operational),
                up: 1.0
            }
        );
        // Before it existed: no data, and not counted.
        let before = uptime(&changes, &[(hour(-24), hour(0))], hour(60));
        assert_eq!(
            before[0],
            DayUptime {
                worst: None,
                up: 1.0
            }
        );
        let overall = overall_uptime(&got).unwrap();
        assert!((overall - (12.0 / 18.0 + 0.85 + 1.0) / 3.0).abs() < 1e-9);
        assert_eq!(overall_uptime(&before), None);
    }

    #[test]
    fn public_text_is_bounded_and_titles_are_one_line() {
        assert_eq!(
            UpdateBody::parse("  We are looking.\nMore soon. ")
                .unwrap()
                .as_str(),
            "We are looking.\nMore soon."
        );
        assert!(UpdateBody::parse("   ").is_err());
        assert!(UpdateBody::parse(&"x".repeat(UpdateBody::MAX_CHARS + 1)).is_err());
        assert!(UpdateBody::parse("bell\u{7}").is_err());
        assert!(Title::parse("name", "API").is_ok());
        assert!(Title::parse("name", "two\nlines").is_err());
        assert_eq!(
            Title::parse("name", "").unwrap_err().to_string(),
            "'name' is 1 to 255 characters, without control characters"
        );
        assert!(Slug::parse("acme-api").is_ok());
        for bad in ["", "-acme", "Acme", "acme api", "a/b", &"a".repeat(64)] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }
}
