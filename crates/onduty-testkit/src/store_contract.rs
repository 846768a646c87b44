//! The store contract: what every backend must do, as one suite, one module per concern.
//! Each function gets a fresh database; `tests/store_contract.rs` runs every function on
//! every backend. The modules share this file's imports, fixtures and helpers.

use std::collections::HashSet;

use onduty_core::account::{Email, Name, Role, TokenSecret};
use onduty_core::batch::{Accepted, ItemResult, Outcome, Received, Rejected};
use onduty_core::event::Act;
use onduty_core::incident::{Actor, DedupMode, IncidentStatus, TimelineKind};
use onduty_core::lifecycle::{Acting, Command, Refused, Via};
use onduty_core::{DedupKey, IncidentNumber, IncidentRef};
use onduty_store::incidents::IncidentFilter;
use onduty_store::services::{NewService, ServicePatch};
use onduty_store::users::{NewUser, UserPatch};
use onduty_store::{Store, StoreError};

use crate::db::TestDb;

use crate::fixtures::{
    T0, acknowledge, at_minute, change, resolve, routing_key_for, service, trigger, user, webhook,
};
mod audit;
mod chat;
mod config;
mod durability;
mod incidents;
mod ingest;
mod monitoring;
mod noise;
mod paging;
mod people;
mod postmortems;
mod reports;
mod runbooks;
mod schedules;
mod services;
mod status_clock;
mod status_pages;
mod status_subscribers;

pub use audit::audit_entries_are_kept_as_written;
pub use chat::{
    a_callback_is_seen_once_per_sender, channels_follow_a_group_to_its_new_id,
    chat_messages_follow_their_incidents, direct_messages_follow_their_incidents,
};
pub use config::configuration_is_written_whole_or_not_at_all;
pub use durability::{
    checkpoints_copy_the_log_and_lose_nothing, committed_events_survive_reopening,
    migrations_are_idempotent, two_writers_racing_keep_one_open_incident_per_key,
};
pub use incidents::{
    a_list_without_a_limit_keeps_every_assignee, lists_filter_and_paginate,
    people_acknowledge_resolve_and_add_notes, timelines_paginate,
};
pub use ingest::{
    a_batch_is_applied_in_order_and_refuses_unknown_keys_alone,
    a_trigger_opens_an_incident_and_repeats_fold_into_it,
    acknowledge_and_resolve_events_follow_pagerduty, change_events_are_on_the_service_timeline,
    triggered_mode_opens_a_new_incident_after_acknowledgement,
};
pub use monitoring::{heartbeats_pings_and_deadlines, maintenance_windows_quiet_triggers_and_end};
pub use noise::noise_control_groups_alerts_and_reopens_flapping_incidents;
pub use paging::{escalations_planned_notifications_and_the_outbox, one_engine_holds_the_lease};
pub use people::{
    a_first_password_is_replaced_by_ones_own, contact_methods_verification_and_rules,
    users_and_tokens,
};
pub use postmortems::postmortems_keep_their_incidents_versions_and_action_items;
pub use reports::{
    a_flap_within_one_batch_is_counted, the_reports_migration_counts_incidents_stored_before_it,
};
pub use runbooks::runbooks_keep_every_version;
pub use schedules::{
    overrides_stored_before_numbering_keep_their_order, schedules_overrides_and_calendar_secrets,
    the_override_added_last_wins_within_a_millisecond,
    time_zones_stored_before_checking_are_read_leniently,
};
pub use services::{services_and_integrations, teams_policies_and_paging_settings};
pub use status_clock::forgotten_incidents_and_maintenance_follow_the_clock;
pub use status_pages::{
    drafts_wait_for_a_person_and_publishing_sets_their_states,
    status_pages_components_and_public_incidents,
};
pub use status_subscribers::subscribers_confirm_hear_their_news_and_leave;

/// Applies one event and returns what it did.
pub async fn one(store: &Store, item: Received) -> ItemResult {
    store
        .ingest_batch(&[item])
        .await
        .expect("ingest")
        .pop()
        .unwrap()
}

fn accepted(r: ItemResult) -> Accepted {
    r.expect("accepted")
}

fn number(outcome: &Outcome) -> IncidentNumber {
    match outcome {
        Outcome::Opened(t)
        | Outcome::Appended(t)
        | Outcome::Acknowledged(t)
        | Outcome::AlreadyAcknowledged(t) => t.number,
        Outcome::Resolved(ts) => ts[0].number,
        other => panic!("no incident in {other:?}"),
    }
}

fn by_number(n: IncidentNumber) -> IncidentRef {
    IncidentRef::Number(n)
}
