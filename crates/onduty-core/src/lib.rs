//! onduty's domain, pure: ids, time, events, the incident lifecycle and dedup rules.
//!
//! No IO, no async, no SQL, no HTTP. Functions take `now` as an argument.

pub mod account;
pub mod event;
pub mod ids;
pub mod incident;
pub mod rate_limit;
pub mod service;
pub mod time;

pub use ids::{
    DedupKey, EventId, IncidentId, IncidentNumber, IncidentRef, IntegrationId, RoutingKey,
    ServiceId, TimelineId, TokenId, UserId,
};
pub use time::{Clock, ManualClock, SystemClock, Timestamp};
