//! Settings of the whole installation that admins change while it runs (kept in the
//! database, not the configuration file): when postmortems are due, and the weekly budget
//! of sleep-hour pages per person.

use serde::{Deserialize, Serialize};

use crate::postmortem::DueSettings;

/// The installation's settings; each has a default and a range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgSettings {
    /// A postmortem's provisional version is due this many hours after its incident
    /// resolved (1–720).
    pub postmortem_provisional_hours: u32,
    /// Its final version, this many business days after (1–60).
    pub postmortem_final_business_days: u32,
    /// Sleep-hour pages a person may take in a week (0–100); more, and their team's
    /// admins are told.
    pub sleep_page_budget: u32,
}

impl Default for OrgSettings {
    fn default() -> Self {
        OrgSettings {
            postmortem_provisional_hours: 24,
            postmortem_final_business_days: 5,
            sleep_page_budget: 2,
        }
    }
}

/// A change to some settings; what is left out stays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct SettingsPatch {
    pub postmortem_provisional_hours: Option<u32>,
    pub postmortem_final_business_days: Option<u32>,
    pub sleep_page_budget: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} must be from {min} to {max}, not {value}")]
pub struct SettingError {
    pub name: &'static str,
    pub min: u32,
    pub max: u32,
    pub value: u32,
}

fn within(name: &'static str, value: u32, min: u32, max: u32) -> Result<u32, SettingError> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(SettingError {
            name,
            min,
            max,
            value,
        })
    }
}

impl OrgSettings {
    /// These settings with `patch` applied, every value checked.
    pub fn with(self, patch: SettingsPatch) -> Result<OrgSettings, SettingError> {
        Ok(OrgSettings {
            postmortem_provisional_hours: within(
                "postmortem_provisional_hours",
                patch
                    .postmortem_provisional_hours
                    .unwrap_or(self.postmortem_provisional_hours),
                1,
                720,
            )?,
            postmortem_final_business_days: within(
                "postmortem_final_business_days",
                patch
                    .postmortem_final_business_days
                    .unwrap_or(self.postmortem_final_business_days),
                1,
                60,
            )?,
            sleep_page_budget: within(
                "sleep_page_budget",
                patch.sleep_page_budget.unwrap_or(self.sleep_page_budget),
                0,
                100,
            )?,
        })
    }

    /// Stored settings, as `(name, value)` rows: a value that does not read, or is out of
    /// range, is the default (a row from a newer or damaged database never stops onduty).
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = (&'a str, &'a str)>) -> OrgSettings {
        let mut settings = OrgSettings::default();
        for (name, value) in rows {
            let Ok(value) = value.trim().parse::<u32>() else {
                continue;
            };
            let patch = match name {
                "postmortem_provisional_hours" => SettingsPatch {
                    postmortem_provisional_hours: Some(value),
                    ..SettingsPatch::default()
                },
                "postmortem_final_business_days" => SettingsPatch {
                    postmortem_final_business_days: Some(value),
                    ..SettingsPatch::default()
                },
                "sleep_page_budget" => SettingsPatch {
                    sleep_page_budget: Some(value),
                    ..SettingsPatch::default()
                },
                _ => continue,
            };
            // Each value on its own: one out of range leaves the others as read.
            if let Ok(next) = settings.with(patch) {
                settings = next;
            }
        }
        settings
    }

    /// As rows to store.
    pub fn rows(&self) -> [(&'static str, String); 3] {
        [
            (
                "postmortem_provisional_hours",
                self.postmortem_provisional_hours.to_string(),
            ),
            (
                "postmortem_final_business_days",
                self.postmortem_final_business_days.to_string(),
            ),
            ("sleep_page_budget", self.sleep_page_budget.to_string()),
        ]
    }

    pub fn postmortem_due(&self) -> DueSettings {
        DueSettings {
            provisional_hours: self.postmortem_provisional_hours,
            final_business_days: self.postmortem_final_business_days,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_is_checked_and_keeps_what_it_leaves_out() {
        let s = OrgSettings::default();
        let changed = s
            .with(SettingsPatch {
                sleep_page_budget: Some(0),
                ..SettingsPatch::default()
            })
            .unwrap();
        assert_eq!(changed.sleep_page_budget, 0);
        assert_eq!(changed.postmortem_provisional_hours, 24);
        let refused = s.with(SettingsPatch {
            postmortem_final_business_days: Some(0),
            ..SettingsPatch::default()
        });
        assert_eq!(
            refused.unwrap_err().to_string(),
            "postmortem_final_business_days must be from 1 to 60, not 0"
        );
    }

    #[test]
    fn stored_rows_read_back_and_bad_ones_are_the_default() {
        let s = OrgSettings {
            postmortem_provisional_hours: 48,
            postmortem_final_business_days: 10,
            sleep_page_budget: 4,
        };
        let rows = s.rows();
        let read = OrgSettings::from_rows(rows.iter().map(|(n, v)| (*n, v.as_str())));
        assert_eq!(read, s);
        let damaged = OrgSettings::from_rows([
            ("sleep_page_budget", "lots"),
            ("postmortem_provisional_hours", "100000"),
            ("postmortem_final_business_days", "3"),
            ("something_newer", "1"),
        ]);
        assert_eq!(
            damaged,
            OrgSettings {
                postmortem_final_business_days: 3,
                ..OrgSettings::default()
            }
        );
    }
}
