//! The chat stage: each incident's message in the chat channels of its service or team,
//! posted once and then updated in place whenever the incident changes, whichever door
//! changed it; pages sent as direct messages are updated in place the same way. It runs after the paging stages, so pages never wait for chat. Load the
//! messages that are behind (a few at a time); send each channel's in turn, channels side
//! by side; record how each went in one transaction. A rate limit is waited out
//! (`Retry-After`, for the rest of that channel's messages too, and not counted as an
//! attempt); a message that keeps failing gives up that change (the next one tries
//! again); a deleted message is posted again; a Telegram group upgraded to a
//! supergroup is followed to its new id; a channel the platform refuses for good is
//! marked failing, on the incident's timeline too.

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use onduty_core::Timestamp;
use onduty_core::chat::{ChatButton, ChatPlatform, channel_shown};
use onduty_core::signature::{ButtonGrant, button_token};
use onduty_notify::{ChatFailure, IncidentMessage, SignedButton};
use onduty_store::chat::{ChatPostResult, DueChatPost, PostPlace};

use crate::{Engine, EngineError};

/// Attempts at a message before its change is given up (the next change tries again).
const MAX_ATTEMPTS: i64 = 6;
/// Messages sent per tick at most, and channels sent to at once.
const CHAT_BATCH: u32 = 32;
const CHANNELS_AT_ONCE: usize = 8;

pub(crate) async fn run(engine: &Engine, now: Timestamp) -> Result<usize, EngineError> {
    let mut due = engine.store.due_chat_posts(now, CHAT_BATCH).await?;
    due.extend(engine.store.due_direct_posts(now, CHAT_BATCH).await?);
    let count = due.len();
    let mut by_channel: BTreeMap<(&str, String), Vec<DueChatPost>> = BTreeMap::new();
    for post in due {
        by_channel
            .entry((post.platform.as_str(), post.channel.clone()))
            .or_default()
            .push(post);
    }
    let results: Vec<_> = futures::stream::iter(by_channel.into_values())
        .map(|posts| engine.show_in_turn(posts, now))
        .buffer_unordered(CHANNELS_AT_ONCE)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .flatten()
        .collect();
    engine.store.record_chat_posts(&results, now).await?;
    Ok(count)
}

/// How long a signed button works (Mattermost, Teams, Discord). A message that is updated
/// gets new ones; a Teams card, posted anew on each change, keeps its own.
pub const BUTTON_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

/// Whether a platform's buttons carry signed tokens: Mattermost does not sign its
/// callbacks, and Teams and Discord cards cannot call back.
fn signs_buttons(platform: ChatPlatform) -> bool {
    matches!(
        platform,
        ChatPlatform::Mattermost | ChatPlatform::Teams | ChatPlatform::Discord
    )
}

/// Each button's token for an incident's message on `platform`, valid for
/// [`BUTTON_LIFETIME`] from `now`.
pub(crate) fn signed_buttons(
    key: &[u8],
    platform: ChatPlatform,
    incident: onduty_core::IncidentId,
    now: Timestamp,
) -> Vec<SignedButton> {
    let expires = now.saturating_add(BUTTON_LIFETIME);
    ChatButton::ALL
        .into_iter()
        .map(|button| SignedButton {
            button,
            token: button_token(
                key,
                &ButtonGrant {
                    platform,
                    incident,
                    button,
                    expires,
                },
            ),
        })
        .collect()
}

/// What a message shows.
pub(crate) fn message(
    post: &DueChatPost,
    public_url: &str,
    signed: Vec<SignedButton>,
) -> IncidentMessage {
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
        server: public_url.to_owned(),
        runbook: None,
        signed,
    }
}

/// How a failure is recorded, and the timeline's line about it.
pub(crate) fn outcome(
    post: &DueChatPost,
    failure: ChatFailure,
    now: Timestamp,
) -> (ChatPostResult, String) {
    let place = match &post.place {
        PostPlace::Channel { .. } => format!(
            "{} channel {}",
            post.platform.label(),
            channel_shown(post.platform, &post.channel)
        ),
        PostPlace::Direct { person, .. } => {
            format!("{} direct message to {person}", post.platform.label())
        }
    };
    let again = |error: &str, wait: Duration| {
        format!(
            "{place}: not updated ({error}); trying again in {} s",
            wait.as_secs()
        )
    };
    match failure {
        // A rate limit is waited out as long as Slack asks, and is no failure of ours.
        ChatFailure::Retry {
            error,
            after: Some(wait),
        } => (
            ChatPostResult::Retry {
                at: now.saturating_add(wait),
                counted: false,
                error: error.clone(),
            },
            again(&error, wait),
        ),
        ChatFailure::Retry { error, after: None } if post.attempts + 1 < MAX_ATTEMPTS => {
            let wait = backoff(post.attempts + 1);
            (
                ChatPostResult::Retry {
                    at: now.saturating_add(wait),
                    counted: true,
                    error: error.clone(),
                },
                again(&error, wait),
            )
        }
        ChatFailure::Retry { error, .. } => (
            ChatPostResult::GaveUp {
                error: error.clone(),
            },
            format!("{place}: not updated ({error}); gave up until the incident changes again"),
        ),
        // Someone deleted the message: it is posted again.
        ChatFailure::Refused(error) if error == "message_not_found" => {
            (ChatPostResult::Repost, String::new())
        }
        ChatFailure::Moved { to } if matches!(post.place, PostPlace::Channel { .. }) => {
            let line = format!(
                "{place}: the group became a supergroup, {}; its messages are posted there now",
                channel_shown(post.platform, &to)
            );
            (ChatPostResult::Moved { to }, line)
        }
        ChatFailure::Moved { to } => {
            outcome(post, ChatFailure::Refused(format!("moved to {to}")), now)
        }
        ChatFailure::Refused(error) => {
            let consequence = match post.place {
                PostPlace::Channel { .. } => "the channel is marked failing",
                PostPlace::Direct { .. } => "it is no longer updated",
            };
            (
                ChatPostResult::Refused {
                    error: error.clone(),
                },
                format!("{place}: refused ({error}); {consequence}"),
            )
        }
    }
}

/// 10 s, 20 s, 40 s, … between attempts.
fn backoff(attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 6) - 1).unwrap_or(0);
    Duration::from_secs(10 * 2u64.pow(exp))
}

impl Engine {
    /// Posts or updates one message on its platform; returns the id of a new post.
    async fn send_chat(
        &self,
        post: &DueChatPost,
        message: &IncidentMessage,
    ) -> Result<Option<String>, ChatFailure> {
        let unconfigured = || {
            ChatFailure::Refused(format!(
                "{} is not configured on this server",
                post.platform.label()
            ))
        };
        let p = &self.providers;
        let (channel, reference) = (post.channel.as_str(), post.message_ref.as_deref());
        match post.platform {
            ChatPlatform::Slack => {
                let slack = p.slack.as_ref().ok_or_else(unconfigured)?;
                match reference {
                    None => slack.post(channel, message).await.map(Some),
                    Some(ts) => slack.update(channel, ts, message).await.map(|()| None),
                }
            }
            ChatPlatform::Telegram => {
                let telegram = p.telegram.as_ref().ok_or_else(unconfigured)?;
                match reference {
                    None => telegram.send_incident(channel, message).await.map(Some),
                    Some(id) => telegram
                        .edit_incident(channel, id, message)
                        .await
                        .map(|()| None),
                }
            }
            ChatPlatform::Mattermost => {
                let mattermost = p.mattermost.as_ref().ok_or_else(unconfigured)?;
                match reference {
                    None => mattermost.post(channel, message).await.map(Some),
                    Some(id) => mattermost.update(id, message).await.map(|()| None),
                }
            }
            // Teams cannot edit a card: each change posts a new one.
            ChatPlatform::Teams => {
                let teams = p.teams.as_ref().ok_or_else(unconfigured)?;
                teams.post(channel, message).await.map(|()| None)
            }
            ChatPlatform::Discord => {
                let discord = p.discord.as_ref().ok_or_else(unconfigured)?;
                match reference {
                    None => discord.post(channel, message).await.map(Some),
                    Some(id) => discord.update(channel, id, message).await.map(|()| None),
                }
            }
        }
    }

    /// One channel's messages, in turn; after a rate limit the rest wait as long.
    async fn show_in_turn(
        &self,
        posts: Vec<DueChatPost>,
        now: Timestamp,
    ) -> Vec<(DueChatPost, ChatPostResult, String)> {
        let mut results = Vec::with_capacity(posts.len());
        let mut limited: Option<Timestamp> = None;
        for post in posts {
            let (result, line) = match limited {
                Some(at) => (
                    ChatPostResult::Retry {
                        error: "waiting out the platform's rate limit".to_owned(),
                        at,
                        counted: false,
                    },
                    String::new(),
                ),
                None => self.show(&post, now).await,
            };
            if let ChatPostResult::Retry {
                at, counted: false, ..
            } = &result
            {
                limited = Some(*at);
            }
            results.push((post, result, line));
        }
        results
    }

    async fn show(&self, post: &DueChatPost, now: Timestamp) -> (ChatPostResult, String) {
        let signed = if signs_buttons(post.platform) {
            match self.link_key().await {
                Ok(key) => signed_buttons(&key, post.platform, post.incident, now),
                Err(e) => {
                    let failure = ChatFailure::Retry {
                        error: format!("the signing key could not be read: {e}"),
                        after: None,
                    };
                    return outcome(post, failure, now);
                }
            }
        } else {
            Vec::new()
        };
        let mut message = message(post, &self.config.public_url, signed);
        message.runbook = self.runbook_link(post.incident).await;
        let sent = self.send_chat(post, &message).await;
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
            place: PostPlace::Channel {
                id: ChatChannelId::new(Timestamp::from_millis(0)),
                changes: 1,
            },
            platform: ChatPlatform::Slack,
            channel: "C0123".to_owned(),
            message_ref: None,
            attempts,
        }
    }

    #[test]
    fn a_rate_limit_is_waited_out_and_other_failures_back_off_then_give_up_the_change() {
        let now = Timestamp::from_millis(0);
        let at = |s| now.saturating_add(Duration::from_secs(s));
        let limited = || ChatFailure::Retry {
            error: "429".to_owned(),
            after: Some(Duration::from_secs(30)),
        };
        let (result, line) = outcome(&post(0), limited(), now);
        assert!(
            matches!(result, ChatPostResult::Retry { at: t, counted: false, .. } if t == at(30))
        );
        assert!(line.ends_with("trying again in 30 s"), "{line}");
        let (result, _) = outcome(&post(MAX_ATTEMPTS - 1), limited(), now);
        assert!(
            matches!(result, ChatPostResult::Retry { counted: false, .. }),
            "a rate limit is never given up"
        );
        let down = || ChatFailure::Retry {
            error: "Slack answered 503".to_owned(),
            after: None,
        };
        let (result, _) = outcome(&post(2), down(), now);
        assert!(
            matches!(result, ChatPostResult::Retry { at: t, counted: true, .. } if t == at(40))
        );
        let (result, line) = outcome(&post(MAX_ATTEMPTS - 1), down(), now);
        assert!(
            matches!(result, ChatPostResult::GaveUp { .. }),
            "the channel stays in use"
        );
        assert!(
            line.ends_with("gave up until the incident changes again"),
            "{line}"
        );
        let gone = ChatFailure::Refused("message_not_found".to_owned());
        assert!(matches!(
            outcome(&post(0), gone, now).0,
            ChatPostResult::Repost
        ));
        let (result, line) = outcome(
            &post(0),
            ChatFailure::Refused("channel_not_found".to_owned()),
            now,
        );
        assert!(
            matches!(result, ChatPostResult::Refused { error } if error == "channel_not_found")
        );
        assert_eq!(
            line,
            "Slack channel C0123: refused (channel_not_found); the channel is marked failing"
        );
        // A group upgraded to a supergroup is followed; a direct message is let go.
        let moved = || ChatFailure::Moved {
            to: "-1001234".to_owned(),
        };
        let (result, line) = outcome(&post(0), moved(), now);
        assert!(matches!(result, ChatPostResult::Moved { to } if to == "-1001234"));
        assert!(line.contains("became a supergroup, -1001234"), "{line}");
        let mut direct = post(0);
        direct.place = PostPlace::Direct {
            method: onduty_core::ContactMethodId::new(now),
            person: "Alice".to_owned(),
        };
        assert!(matches!(
            outcome(&direct, moved(), now).0,
            ChatPostResult::Refused { .. }
        ));
    }
}
