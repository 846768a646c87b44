//! Test support for onduty: a fresh database on every backend, the store contract suite,
//! and fixtures that read like the start of an incident story.

pub mod db;
pub mod fixtures;
pub mod store_contract;

pub use db::{Backend, TestDb, backends};
