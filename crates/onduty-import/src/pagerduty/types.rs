//! PagerDuty's answers, as its REST API v2 documents them (only the fields onduty reads;
//! others are ignored).

use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Deserialize)]
pub struct Reference {
    pub id: String,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub summary: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct User {
    pub id: String,
    pub name: String,
    pub email: String,
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub contact_methods: Vec<ContactMethod>,
    #[serde(default)]
    pub notification_rules: Vec<NotificationRule>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ContactMethod {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub country_code: Option<u32>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct NotificationRule {
    #[serde(default)]
    pub start_delay_in_minutes: u32,
    pub contact_method: Reference,
    #[serde(default)]
    pub urgency: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Team {
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Member {
    pub user: Reference,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Schedule {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub time_zone: String,
    #[serde(default)]
    pub schedule_layers: Vec<ScheduleLayer>,
    #[serde(default)]
    pub teams: Vec<Reference>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ScheduleLayer {
    #[serde(default)]
    pub name: String,
    pub start: String,
    #[serde(default)]
    pub end: Option<String>,
    pub rotation_virtual_start: String,
    pub rotation_turn_length_seconds: u64,
    pub users: Vec<LayerUser>,
    #[serde(default)]
    pub restrictions: Vec<Restriction>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LayerUser {
    pub user: Reference,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Restriction {
    #[serde(rename = "type")]
    pub kind: String,
    pub start_time_of_day: String,
    pub duration_seconds: u64,
    #[serde(default)]
    pub start_day_of_week: Option<u8>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ScheduleOverride {
    pub start: String,
    pub end: String,
    pub user: Reference,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EscalationPolicy {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub num_loops: u32,
    pub escalation_rules: Vec<EscalationRule>,
    #[serde(default)]
    pub teams: Vec<Reference>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EscalationRule {
    pub escalation_delay_in_minutes: u32,
    pub targets: Vec<Reference>,
    #[serde(default)]
    pub escalation_rule_assignment_strategy: Option<Value>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Service {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub escalation_policy: Reference,
    #[serde(default)]
    pub acknowledgement_timeout: Option<u32>,
    #[serde(default)]
    pub auto_resolve_timeout: Option<u32>,
    #[serde(default)]
    pub teams: Vec<Reference>,
    #[serde(default)]
    pub integrations: Vec<Integration>,
    #[serde(default)]
    pub incident_urgency_rule: Option<Value>,
    #[serde(default)]
    pub alert_grouping_parameters: Option<Value>,
    /// `active`, `warning`, `critical`, `maintenance` or `disabled`.
    #[serde(default)]
    pub status: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Integration {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub vendor: Option<Reference>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct OnCall {
    pub user: Reference,
    #[serde(default)]
    pub schedule: Option<Reference>,
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub end: Option<String>,
}
