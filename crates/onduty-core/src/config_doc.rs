//! Configuration as code: everything a team configures, as one YAML document that refers
//! to things by name (people by e-mail), never by internal id: people with their contact
//! methods and notification rules, teams, schedules, escalation policies and services
//! with their integrations and chat channels, status pages, maintenance windows. No
//! passwords or tokens; integration keys and webhook URLs only when asked for.
//!
//! Read with [`read`]: YAML syntax and shape errors, and then [`check`]'s errors (a
//! reference to nothing, a name used twice, a value onduty refuses), each name the line
//! and the field. [`plan`] compares two documents.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::account::{Email, Name, Role};
use crate::alertmanager::GroupBy;
use crate::chat::ChatPlatform;
use crate::contact::{Address, Channel, RuleUrgency};
use crate::escalation::LevelMode;
use crate::incident::DedupMode;
use crate::service::{IntegrationKind, ServiceUrgency};

mod check;
mod normal;
mod plan;
mod read;
mod values;
pub use check::{Known, check};
pub use normal::{date_time, normalize, time_of_day, window};
pub use plan::{Action, Change, Plan, Settled, plan, plan_settled, settle};
pub use read::{DocError, parse_only, read, read_files};
pub use values::{heartbeat_expect, integration_settings, layer, layer_start, restriction, shift};

/// The version of the document's shape this onduty reads and writes.
pub const VERSION: u32 = 1;
/// The largest document read (bytes).
pub const MAX_BYTES: usize = 1024 * 1024;

/// Everything a team configures. Lists may be left out; a list left out is empty.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "onduty configuration")]
pub struct ConfigDoc {
    /// The document's shape: 1.
    pub version: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<UserDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<TeamDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<ScheduleDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub escalation_policies: Vec<PolicyDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<ServiceDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub status_pages: Vec<StatusPageDoc>,
    /// Spans in which services' events open no incident and page nobody; one that is
    /// over is not kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maintenance_windows: Vec<MaintenanceDoc>,
}

/// A maintenance window, known by its services and times: changing them makes another
/// window (the old one ends only with `--prune`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceDoc {
    /// The services' names.
    pub services: Vec<String>,
    /// RFC 3339, such as 2026-12-24T18:00:00Z.
    pub start: String,
    pub end: String,
    /// Why (1 to 500 characters), for whoever wonders.
    pub reason: String,
}

impl MaintenanceDoc {
    /// How a plan names it.
    pub fn label(&self) -> String {
        format!(
            "{} to {} ({})",
            self.start,
            self.end,
            self.services.join(", ")
        )
    }
}

/// A chat channel that gets every incident of a service or team.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChatChannelDoc {
    pub platform: ChatPlatform,
    /// The platform's channel id (Slack: C0123ABCD), or for Teams and Discord the
    /// webhook's URL: a secret, exported only with `--with-secrets`; left out, an
    /// existing channel of that platform keeps its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
}

/// A public status page, known by its slug (`/status/<slug>`), and its components in the
/// order shown. Incidents and subscribers are not configuration and are not in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusPageDoc {
    pub slug: String,
    pub name: String,
    /// A host name of its own (status.example.com), served at its root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default = "utc")]
    pub time_zone: String,
    /// Drafts made when a linked service's incident opens are published at once.
    #[serde(default, skip_serializing_if = "is_false")]
    pub auto_publish: bool,
    /// How often (5 to 1440 minutes) a public incident left open after its onduty
    /// incident is resolved is reminded of.
    #[serde(default = "thirty")]
    pub remind_every_minutes: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<ComponentDoc>,
}

fn thirty() -> u32 {
    30
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComponentDoc {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// A group of components rather than one.
    #[serde(default, skip_serializing_if = "is_false")]
    pub is_group: bool,
    /// The group it is shown in: a group's name on the same page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub only_show_if_degraded: bool,
    /// The onduty service it stands for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// A person, known by e-mail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserDoc {
    pub email: String,
    pub name: String,
    #[serde(default = "responder")]
    pub role: Role,
    /// An IANA time zone such as Europe/Berlin.
    #[serde(default = "utc")]
    pub time_zone: String,
    /// Cannot log in and is not paged (a deleted person still named by a rotation is
    /// exported so, under the address onduty gave them).
    #[serde(default, skip_serializing_if = "is_false")]
    pub disabled: bool,
    /// New ones start unverified: their owner verifies them before pages go there.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contact_methods: Vec<ContactDoc>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notification_rules: Vec<RuleDoc>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn responder() -> Role {
    Role::Responder
}

fn utc() -> String {
    "UTC".to_owned()
}

/// A way to reach a person, named so that rules can refer to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactDoc {
    pub name: String,
    #[serde(rename = "type")]
    pub channel: Channel,
    /// A phone number in E.164 (+4915112345678), an e-mail address, or what the channel
    /// takes. Addresses that are credentials (webhook and ntfy URLs, chat ids) are exported
    /// only with `--with-secrets`; left out, an existing method keeps its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// When to use one of the person's contact methods.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleDoc {
    /// The contact method's name.
    pub contact_method: String,
    /// Minutes after the page starts.
    #[serde(default)]
    pub delay_minutes: u32,
    #[serde(default = "both")]
    pub urgency: RuleUrgency,
    /// Page again this often (seconds, 30 to 3600) until acknowledged; ntfy only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_every_seconds: Option<u32>,
}

fn both() -> RuleUrgency {
    RuleUrgency::Both
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamDoc {
    pub name: String,
    /// Members' e-mail addresses.
    #[serde(default)]
    pub members: Vec<String>,
    /// Channels that get every incident of the team's services.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chat_channels: Vec<ChatChannelDoc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleDoc {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// The IANA time zone its layers' times are in.
    pub time_zone: String,
    /// The owning team's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Bottom first: a higher layer wins where it has someone.
    pub layers: Vec<LayerDoc>,
    /// People covering spans; a span that has ended is not kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<OverrideDoc>,
}

/// One rotation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LayerDoc {
    pub name: String,
    /// E-mail addresses, in turn order.
    pub participants: Vec<String>,
    /// The first handoff on the schedule's clock, such as 2026-01-05T09:00.
    pub start: String,
    pub shift: ShiftDoc,
    /// When the layer is in force; none: always.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restrictions: Vec<RestrictionDoc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShiftDoc {
    pub unit: ShiftUnit,
    pub count: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ShiftUnit {
    Hours,
    Days,
    Weeks,
}

/// Times of day as 09:00; days as monday … sunday.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RestrictionDoc {
    Daily {
        start: String,
        end: String,
    },
    Weekly {
        start_day: String,
        start: String,
        end_day: String,
        end: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OverrideDoc {
    /// Who covers: an e-mail address.
    pub user: String,
    /// RFC 3339, such as 2026-12-24T18:00:00Z.
    pub start: String,
    pub end: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyDoc {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// How many times the levels run again once the last one passes unacknowledged.
    #[serde(default)]
    pub repeat: u32,
    pub levels: Vec<LevelDoc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LevelDoc {
    /// Minutes without an acknowledgement before the next level.
    pub delay_minutes: u32,
    #[serde(default)]
    pub mode: LevelMode,
    pub targets: Vec<TargetDoc>,
}

/// Who a level pages: `user: <e-mail>`, `schedule: <name>` or `policy: <name>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum TargetDoc {
    User(String),
    Schedule(String),
    Policy(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceDoc {
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// Without one, its incidents page nobody.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation_policy: Option<String>,
    #[serde(default)]
    pub urgency: ServiceUrgency,
    #[serde(default)]
    pub dedup_mode: DedupMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_timeout_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_resolve_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_window_minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flap_window_minutes: Option<u32>,
    #[serde(default = "yes")]
    pub draft_postmortems: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub integrations: Vec<IntegrationDoc>,
    /// Jobs that must ping in time; a late one opens an incident on this service.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub heartbeats: Vec<HeartbeatDoc>,
    /// Channels that get every incident of this service.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chat_channels: Vec<ChatChannelDoc>,
}

/// A job that must ping in time: every `period_minutes`, or at each time of `cron` on
/// `time_zone`'s clock; `grace_minutes` late at most.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatDoc {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_minutes: Option<u32>,
    /// A cron expression (5 or 6 fields).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    /// For `cron`: an IANA time zone (default UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(default = "five")]
    pub grace_minutes: u32,
    /// Its ping key (exported only with `--with-secrets`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

fn yes() -> bool {
    true
}

fn five() -> u32 {
    5
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntegrationDoc {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: IntegrationKind,
    /// Alertmanager and Grafana: one incident per `alert` or per notification `group`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_by: Option<GroupBy>,
    /// JSON webhooks: where an event's parts are in a body (as the API takes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mapping: Option<serde_json::Value>,
    /// E-mail integrations: how mails are read (as the API takes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail: Option<serde_json::Value>,
    /// The integration key (exported only with `--with-secrets`): anyone holding it can
    /// open incidents. Left out, a new integration gets a new key and an existing one
    /// keeps its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
}

/// The document as YAML, in the order the lists are kept.
pub fn to_yaml(doc: &ConfigDoc) -> Result<String, String> {
    // Enum values as one-key maps (`- user: alice@example.com`), not YAML tags.
    let mut out = Vec::new();
    let mut writer = serde_norway::Serializer::new(&mut out);
    serde_norway::with::singleton_map_recursive::serialize(doc, &mut writer)
        .map_err(|e| e.to_string())?;
    String::from_utf8(out).map_err(|e| e.to_string())
}

/// The JSON Schema of the document, for editors. A field left out is absent, never
/// `null`.
pub fn json_schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(ConfigDoc)).unwrap_or_default();
    drop_null(&mut schema);
    schema
}

/// Takes `null` out of every type in a schema: optional fields are left out, not null.
fn drop_null(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(types)) = map.get_mut("type") {
                types.retain(|t| t != "null");
                if types.len() == 1 {
                    let only = types[0].clone();
                    map.insert("type".to_owned(), only);
                }
            }
            for key in ["anyOf", "oneOf"] {
                if let Some(Value::Array(options)) = map.get_mut(key) {
                    options.retain(|o| o.get("type").is_none_or(|t| t != "null"));
                }
            }
            map.values_mut().for_each(drop_null);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_null),
        _ => {}
    }
}

/// Whether `text` is a name onduty takes (1 to 100 characters).
pub(crate) fn name_problem(text: &str) -> Option<String> {
    Name::parse(text).err().map(|e| e.to_string())
}

pub(crate) fn email_problem(text: &str) -> Option<String> {
    Email::parse(text).err().map(|e| e.to_string())
}

pub(crate) fn address_problem(channel: Channel, text: &str) -> Option<String> {
    Address::parse(channel, text).err().map(|e| e.to_string())
}

#[cfg(test)]
mod tests;
