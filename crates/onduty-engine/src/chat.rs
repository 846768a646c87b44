//! The chat stage: each incident's message in the chat channels of its service or team,
//! posted once and then updated in place whenever the incident changes, whichever door
//! changed it. Load the messages that are behind; plan each (post or update, and what
//! it shows: the incident as it is now); send them; record how each went in one
//! transaction. A rate limit is waited out (`Retry-After`); a channel the platform
//! refuses for good is marked failing, on the incident's timeline too.

use std::time::Duration;

use onduty_core::Timestamp;
use onduty_core::chat::ChatPlatform;
use onduty_notify::slack::{IncidentMessage, SlackFailure};
use onduty_store::chat::{ChatPostResult, DueChatPost};

use crate::{BATCH, Engine, EngineError};

/// Attempts at a message before its change is given up (the next change tries again).
const MAX_ATTEMPTS: i64 = 6;

pub(crate) async fn run(engine: &Engine, now: Timestamp) -> Result<usize, EngineError> {
    let due = engine.store.due_chat_posts(now, BATCH).await?;
    let count = due.len();
    let mut results = Vec::with_capacity(count);
    for post in due {
        let (result, line) = engine.show(&post, now).await;
        results.push((post, result, line));
    }
    engine.store.record_chat_posts(&results, now).await?;
    Ok(count)
}

/// What a message shows.
pub(crate) fn message(post: &DueChatPost, public_url: &str) -> IncidentMessage {
    IncidentMessage {
        id: post.incident.to_string(),
        number: post.number,
        summary: post.summary.clone(),
        service: post.service.clone(),
        severity: post.severity.clone(),
        urgency: post.urgency.clone(),
        status: post.status,
        url: format!(
            "{}/incidents/{}",
            public_url.trim_end_matches('/'),
            post.number
        ),
    }
}

/// How a failure is recorded: tried again after Slack's wait or a backoff, given up for
/// this change after [`MAX_ATTEMPTS`], or a refusal; and the timeline's line.
pub(crate) fn outcome(
    post: &DueChatPost,
    failure: SlackFailure,
    now: Timestamp,
) -> (ChatPostResult, String) {
    let place = format!("{} channel {}", post.platform.label(), post.channel);
    match failure {
        SlackFailure::Retry { error, after } if post.attempts + 1 < MAX_ATTEMPTS => {
            let wait = after.unwrap_or_else(|| backoff(post.attempts + 1));
            (
                ChatPostResult::Retry {
                    error: error.clone(),
                    at: now.saturating_add(wait),
                },
                format!(
                    "{place}: not updated ({error}); trying again in {} s",
                    wait.as_secs()
                ),
            )
        }
        SlackFailure::Retry { error, .. } => (
            ChatPostResult::Refused {
                error: format!("gave up: {error}"),
            },
            format!("{place}: not updated ({error}); gave up"),
        ),
        SlackFailure::Refused(error) => (
            ChatPostResult::Refused {
                error: error.clone(),
            },
            format!("{place}: refused ({error}); the channel is marked failing"),
        ),
    }
}

/// 10 s, 20 s, 40 s, … between attempts.
fn backoff(attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 6) - 1).unwrap_or(0);
    Duration::from_secs(10 * 2u64.pow(exp))
}

impl Engine {
    async fn show(&self, post: &DueChatPost, now: Timestamp) -> (ChatPostResult, String) {
        let ChatPlatform::Slack = post.platform;
        let Some(slack) = self.providers.slack.as_ref() else {
            return outcome(
                post,
                SlackFailure::Refused("Slack is not configured on this server".to_owned()),
                now,
            );
        };
        let message = message(post, &self.config.public_url);
        let sent = match &post.message_ref {
            None => slack.post(&post.channel, &message).await.map(Some),
            Some(ts) => slack
                .update(&post.channel, ts, &message)
                .await
                .map(|()| None),
        };
        match sent {
            Ok(message_ref) => (ChatPostResult::Shown { message_ref }, String::new()),
            Err(failure) => outcome(post, failure, now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onduty_core::incident::IncidentStatus;
    use onduty_core::{ChatChannelId, IncidentId};

    fn post(attempts: i64) -> DueChatPost {
        DueChatPost {
            incident: IncidentId::new(Timestamp::from_millis(0)),
            number: 7,
            summary: "Disk full".to_owned(),
            severity: "critical".to_owned(),
            urgency: "high".to_owned(),
            status: IncidentStatus::Triggered,
            service: "Checkout".to_owned(),
            channel_id: ChatChannelId::new(Timestamp::from_millis(0)),
            platform: ChatPlatform::Slack,
            channel: "C0123".to_owned(),
            message_ref: None,
            changes: 1,
            attempts,
        }
    }

    #[test]
    fn a_rate_limit_is_waited_out_and_other_failures_back_off_then_give_up() {
        let now = Timestamp::from_millis(0);
        let limited = SlackFailure::Retry {
            error: "429".to_owned(),
            after: Some(Duration::from_secs(30)),
        };
        let (result, line) = outcome(&post(0), limited, now);
        assert!(
            matches!(result, ChatPostResult::Retry { at, .. } if at == now.saturating_add(Duration::from_secs(30)))
        );
        assert!(line.ends_with("trying again in 30 s"), "{line}");
        let down = || SlackFailure::Retry {
            error: "Slack answered 503".to_owned(),
            after: None,
        };
        let (result, _) = outcome(&post(2), down(), now);
        assert!(
            matches!(result, ChatPostResult::Retry { at, .. } if at == now.saturating_add(Duration::from_secs(40)))
        );
        let (result, line) = outcome(&post(MAX_ATTEMPTS - 1), down(), now);
        assert!(matches!(result, ChatPostResult::Refused { .. }));
        assert!(line.ends_with("gave up"), "{line}");
        let (result, line) = outcome(
            &post(0),
            SlackFailure::Refused("channel_not_found".to_owned()),
            now,
        );
        assert!(
            matches!(result, ChatPostResult::Refused { error } if error == "channel_not_found")
        );
        assert_eq!(
            line,
            "Slack channel C0123: refused (channel_not_found); the channel is marked failing"
        );
    }
}
