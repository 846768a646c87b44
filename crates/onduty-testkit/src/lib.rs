//! Test support for onduty: a fresh database on every backend, the store contract suite,
//! and fixtures that read like the start of an incident story.

pub mod app;
pub mod db;
pub mod fixtures;
pub mod store_contract;
pub mod twilio;

pub use app::{TestApp, follow_up_event, trigger_event};
pub use db::{Backend, TestDb, backends};
