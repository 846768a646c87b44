//! onduty's domain, pure: ids, time, events, the incident lifecycle and dedup rules,
//! escalation policies, on-call schedules and notification rules.
//!
//! No IO, no async, no SQL, no HTTP. Functions take `now` as an argument.

pub mod account;
pub mod alertmanager;
pub mod audit;
pub mod batch;
pub mod chat;
pub mod config_doc;
pub mod contact;
pub mod escalation;
pub mod event;
pub mod heartbeat;
pub mod ids;
pub mod incident;
pub mod lifecycle;
pub mod mail;
pub mod noise;
pub mod opsgenie;
pub mod paging;
pub mod postmortem;
pub mod rate_limit;
pub mod reply;
pub mod report;
pub mod retention;
pub mod runbook;
pub mod schedule;
pub mod service;
pub mod settings;
pub mod signature;
pub mod sso;
pub mod status_page;
pub mod subscriber;
#[cfg(test)]
mod test_json;
pub mod text;
pub mod time;
pub mod watchdog;
pub mod webhook;

pub use ids::{
    ActionItemId, ChatChannelId, ComponentChangeId, ComponentId, ContactMethodId, DedupKey,
    EventId, HeartbeatId, IncidentId, IncidentNumber, IncidentRef, IntegrationId, MaintenanceId,
    OutboxId, OverrideId, PlannedNotificationId, PolicyId, PostmortemId, RoutingKey, RuleId,
    RunbookId, ScheduleId, ServiceId, StatusIncidentId, StatusPageId, StatusTemplateId,
    StatusUpdateId, SubscriberId, TeamId, TimelineId, TokenId, UserId,
};
pub use time::{Clock, ManualClock, SystemClock, Timestamp};
