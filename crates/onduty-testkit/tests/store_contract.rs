//! Runs the store contract suite on every backend this environment offers: SQLite
//! always, PostgreSQL when `ONDUTY_TEST_DATABASE_URL` is set (and required in CI).

use onduty_testkit::{TestDb, backends, store_contract};

macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            for backend in backends() {
                eprintln!("store contract {} on {}", stringify!($name), backend.as_str());
                let db = TestDb::new(backend).await;
                store_contract::$name(&db).await;
            }
        }
    )*};
}

on_every_backend!(
    migrations_are_idempotent,
    chat_messages_follow_their_incidents,
    direct_messages_follow_their_incidents,
    a_callback_is_seen_once_per_sender,
    channels_follow_a_group_to_its_new_id,
    users_and_tokens,
    a_first_password_is_replaced_by_ones_own,
    services_and_integrations,
    a_trigger_opens_an_incident_and_repeats_fold_into_it,
    acknowledge_and_resolve_events_follow_pagerduty,
    triggered_mode_opens_a_new_incident_after_acknowledgement,
    a_batch_is_applied_in_order_and_refuses_unknown_keys_alone,
    change_events_are_on_the_service_timeline,
    people_acknowledge_resolve_and_add_notes,
    lists_filter_and_paginate,
    a_list_without_a_limit_keeps_every_assignee,
    timelines_paginate,
    two_writers_racing_keep_one_open_incident_per_key,
    committed_events_survive_reopening,
    checkpoints_copy_the_log_and_lose_nothing,
    teams_policies_and_paging_settings,
    configuration_is_written_whole_or_not_at_all,
    contact_methods_verification_and_rules,
    schedules_overrides_and_calendar_secrets,
    the_override_added_last_wins_within_a_millisecond,
    overrides_stored_before_numbering_keep_their_order,
    time_zones_stored_before_checking_are_read_leniently,
    heartbeats_pings_and_deadlines,
    maintenance_windows_quiet_triggers_and_end,
    status_pages_components_and_public_incidents,
    drafts_wait_for_a_person_and_publishing_sets_their_states,
    subscribers_confirm_hear_their_news_and_leave,
    forgotten_incidents_and_maintenance_follow_the_clock,
    noise_control_groups_alerts_and_reopens_flapping_incidents,
    a_flap_within_one_batch_is_counted,
    the_reports_migration_counts_incidents_stored_before_it,
    escalations_planned_notifications_and_the_outbox,
    one_engine_holds_the_lease,
    runbooks_keep_every_version,
    postmortems_keep_their_incidents_versions_and_action_items,
    audit_entries_are_kept_as_written,
);

/// CI sets `ONDUTY_REQUIRE_POSTGRES=1`: then PostgreSQL must be among the backends.
#[test]
fn postgres_is_exercised_when_required() {
    if matches!(
        std::env::var("ONDUTY_REQUIRE_POSTGRES").as_deref(),
        Ok("1" | "true" | "yes")
    ) {
        assert!(
            backends().contains(&onduty_testkit::Backend::Postgres),
            "PostgreSQL is required but not configured"
        );
    }
}
