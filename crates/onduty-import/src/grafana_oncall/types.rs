//! Grafana OnCall's answers, as its public API documents them (only the fields onduty
//! reads).

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: String,
    pub email: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub name: Option<String>,
    /// `admin`, `editor`, `viewer` or `none`.
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub teams: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct PersonalRule {
    #[serde(default)]
    pub position: i64,
    /// Important rules are followed for important escalation steps.
    #[serde(default)]
    pub important: bool,
    /// `wait`, `notify_by_sms`, `notify_by_phone_call`, `notify_by_email`,
    /// `notify_by_mobile_app`, `notify_by_slack`, `notify_by_telegram`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// For `wait`: seconds.
    #[serde(default)]
    pub duration: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Team {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Schedule {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub team_id: Option<String>,
    /// `web` (shifts made in OnCall), `calendar` or `ical`.
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub shifts: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Shift {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// `rolling_users`, `recurrent_event`, `single_event` or `override`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Higher wins.
    #[serde(default)]
    pub level: i64,
    /// Local date and time of the first event (`2026-01-05T09:00:00`).
    pub start: String,
    #[serde(default)]
    pub rotation_start: Option<String>,
    /// Seconds each event lasts.
    pub duration: u64,
    /// `hourly`, `daily`, `weekly` or `monthly`.
    #[serde(default)]
    pub frequency: Option<String>,
    #[serde(default)]
    pub interval: Option<u32>,
    #[serde(default)]
    pub until: Option<String>,
    /// Days of the week (`MO` … `SU`) an event happens on.
    #[serde(default)]
    pub by_day: Option<Vec<String>>,
    #[serde(default)]
    pub users: Vec<String>,
    #[serde(default)]
    pub rolling_users: Option<Vec<Vec<String>>>,
    #[serde(default)]
    pub start_rotation_from_user_index: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FinalShift {
    #[serde(default)]
    pub user_email: Option<String>,
    pub shift_start: String,
    pub shift_end: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Chain {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub team_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChainStep {
    #[serde(default)]
    pub position: i64,
    /// `wait`, `notify_persons`, `notify_person_next_each_time`,
    /// `notify_on_call_from_schedule`, `notify_user_group`, `trigger_webhook`, … (none
    /// for a step left empty).
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default)]
    pub important: bool,
    /// For `wait`: seconds.
    #[serde(default)]
    pub duration: Option<u32>,
    #[serde(default)]
    pub persons_to_notify: Option<Vec<String>>,
    #[serde(default)]
    pub persons_to_notify_next_each_time: Option<Vec<String>>,
    #[serde(default)]
    pub notify_on_call_from_schedule: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Integration {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub team_id: Option<String>,
    /// `grafana_alerting`, `alertmanager`, `webhook`, `email`, …
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub default_route: Option<Route>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Route {
    #[serde(default)]
    pub escalation_chain_id: Option<String>,
}
