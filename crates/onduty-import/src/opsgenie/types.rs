//! Opsgenie's answers, as its REST API documents them (only the fields onduty reads).

use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
pub struct Named {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    /// The e-mail address people log in with.
    pub username: String,
    pub full_name: String,
    #[serde(default)]
    pub role: Option<Named>,
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub blocked: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Contact {
    #[serde(default)]
    pub id: String,
    /// `email`, `sms`, `voice` or `mobile` (the app).
    pub method: String,
    #[serde(default)]
    pub to: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleHead {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub action_type: String,
    #[serde(default)]
    pub enabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub contact: Contact,
    #[serde(default)]
    pub send_after: Option<Amount>,
    #[serde(default = "yes")]
    pub enabled: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Amount {
    pub time_amount: u32,
    #[serde(default)]
    pub time_unit: Option<String>,
}

impl Amount {
    pub fn minutes(&self) -> u32 {
        match self.time_unit.as_deref() {
            Some("hours") => self.time_amount.saturating_mul(60),
            Some("days") => self.time_amount.saturating_mul(1440),
            _ => self.time_amount,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Team {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TeamDetail {
    #[serde(default)]
    pub members: Vec<Member>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Member {
    pub user: MemberUser,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MemberUser {
    #[serde(default)]
    pub id: String,
    pub username: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Schedule {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub timezone: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub owner_team: Option<Named>,
    #[serde(default)]
    pub rotations: Vec<Rotation>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rotation {
    #[serde(default)]
    pub name: String,
    pub start_date: String,
    #[serde(default)]
    pub end_date: Option<String>,
    /// `hourly`, `daily` or `weekly`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default = "one")]
    pub length: u32,
    #[serde(default)]
    pub participants: Vec<Participant>,
    #[serde(default)]
    pub time_restriction: Option<TimeRestriction>,
}

fn one() -> u32 {
    1
}

#[derive(Debug, Clone, Deserialize)]
pub struct Participant {
    /// `user`, `team`, `escalation` or `none`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TimeRestriction {
    /// `time-of-day` (one `restriction`) or `weekday-and-time-of-day` (`restrictions`).
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub restriction: Option<Span>,
    #[serde(default)]
    pub restrictions: Vec<Span>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    #[serde(default)]
    pub start_day: Option<String>,
    #[serde(default)]
    pub end_day: Option<String>,
    pub start_hour: u8,
    #[serde(default)]
    pub start_min: u8,
    pub end_hour: u8,
    #[serde(default)]
    pub end_min: u8,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleOverride {
    #[serde(default)]
    pub alias: String,
    pub user: Participant,
    pub start_date: String,
    pub end_date: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timeline {
    pub final_timeline: FinalTimeline,
}

#[derive(Debug, Clone, Deserialize)]
pub struct FinalTimeline {
    #[serde(default)]
    pub rotations: Vec<TimelineRotation>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TimelineRotation {
    #[serde(default)]
    pub periods: Vec<Period>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Period {
    pub start_date: String,
    pub end_date: String,
    #[serde(default)]
    pub recipient: Option<Participant>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Escalation {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub owner_team: Option<Named>,
    #[serde(default)]
    pub rules: Vec<EscalationRule>,
    #[serde(default)]
    pub repeat: Option<Repeat>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EscalationRule {
    /// `if-not-acked` or `if-not-closed`.
    #[serde(default)]
    pub condition: String,
    /// `default`, `next`, `previous`, `users`, `admins` or `all`.
    #[serde(default)]
    pub notify_type: String,
    pub delay: Amount,
    pub recipient: Participant,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Repeat {
    #[serde(default)]
    pub wait_interval: u32,
    #[serde(default)]
    pub count: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub team_id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Integration {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default)]
    pub team_id: Option<String>,
}
