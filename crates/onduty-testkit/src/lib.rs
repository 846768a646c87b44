//! Test support for onduty: a fresh database on every backend, the store contract suite,
//! and fixtures that read like the start of an incident story.

pub mod app;
pub mod db;
pub mod dead_mans_switch;
pub mod discord;
pub mod fixtures;
pub mod grafana_oncall_api;
pub mod mattermost;
pub mod ntfy;
pub mod oidc_provider;
pub mod opsgenie_api;
pub mod pagerduty_api;
pub mod sink;
pub mod slack;
pub mod smtp_peer;
pub mod store_contract;
pub mod story;
pub mod teams;
pub mod telegram;
pub mod twilio;
pub mod vendor_api;
pub mod webpush;

pub use app::{MAIL_DOMAIN, TestApp, follow_up_event, test_certificate, trigger_event};
pub use db::{Backend, TestDb, backends};
pub use fixtures::T0;
pub use grafana_oncall_api::{GrafanaOnCallApi, ONCALL_TOKEN};
pub use opsgenie_api::{OPSGENIE_KEY, OpsgenieApi};
pub use pagerduty_api::{PAGERDUTY_TOKEN, PagerDutyApi};
pub use sink::WebhookSink;

/// Polls `probe` (every 20 ms, for up to `patience`) until `done` says its answer will
/// do; returns the last answer either way, for the caller to assert on.
pub async fn wait_for<T, F, Fut>(
    patience: std::time::Duration,
    probe: F,
    done: impl Fn(&T) -> bool,
) -> T
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = T>,
{
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        let answer = probe().await;
        if done(&answer) || tokio::time::Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
