//! Refusing a callback received twice (Slack, Mattermost, Telegram). What was received is
//! kept in the database (`Store::first_sighting`), so a replay is refused by every
//! instance, and after a restart.

use std::time::Duration;

use axum::http::StatusCode;

use crate::SharedState;

/// Who sent a callback, and how long it could be replayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sender {
    /// A Slack request, by its signature: its timestamp is trusted for 5 minutes either
    /// side of now.
    Slack,
    /// A Mattermost click, by its `trigger_id`: its button's token lasts 7 days.
    Mattermost,
    /// A Telegram update, by its `update_id`: Telegram tries an update again for up to
    /// 24 hours.
    Telegram,
}

impl Sender {
    fn source(self) -> &'static str {
        match self {
            Sender::Slack => "slack",
            Sender::Mattermost => "mattermost",
            Sender::Telegram => "telegram",
        }
    }

    fn keep(self) -> Duration {
        match self {
            Sender::Slack => Duration::from_secs(
                2 * u64::try_from(onduty_core::signature::SLACK_MAX_AGE_SECONDS).unwrap_or(300),
            ),
            Sender::Mattermost => Duration::from_secs(7 * 24 * 3600),
            Sender::Telegram => Duration::from_secs(24 * 3600),
        }
    }
}

/// Whether a callback is new: `Ok(true)` the first time, `Ok(false)` for a replay, and
/// `503` with a reason when the database cannot say (the sender tries again).
pub(crate) async fn first_time(
    state: &SharedState,
    sender: Sender,
    key: &str,
) -> Result<bool, (StatusCode, &'static str)> {
    state
        .store
        .first_sighting(sender.source(), key, state.clock.now(), sender.keep())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "cannot check a callback against those received");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unavailable",
            )
        })
}
