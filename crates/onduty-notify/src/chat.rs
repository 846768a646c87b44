//! What the chat clients (`slack.rs`, `telegram.rs`) share: an incident as a message
//! shows it, with the status and the buttons that apply; why a call failed; a bot's
//! settings and HTTP client; and sending a person a direct message as a page.

use std::time::Duration;

use onduty_core::chat::ChatButton;
use onduty_core::incident::IncidentStatus;

use crate::{Content, NotifyError, Outgoing, PageItem, Sent, render};

/// How long a chat platform may take to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A bot's token and where its platform's API is.
#[derive(Clone)]
pub struct BotConfig {
    /// Slack's `xoxb-…`, or Telegram's `123456:ABC…` from @BotFather.
    pub bot_token: String,
    /// The platform's API (`https://slack.com/api`, `https://api.telegram.org`), or a
    /// local server in tests.
    pub api_base: String,
}

impl std::fmt::Debug for BotConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotConfig")
            .field("bot_token", &"<redacted>")
            .field("api_base", &self.api_base)
            .finish()
    }
}

/// The HTTP client a bot calls its platform with: operator-configured, so not bound by
/// the outbound address policy, and following no redirect.
pub(crate) fn bot_http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client")
}

/// What an incident's message shows.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentMessage {
    pub id: String,
    pub number: i64,
    pub summary: String,
    pub service: String,
    pub severity: String,
    pub urgency: String,
    pub status: IncidentStatus,
    /// The incident's web page.
    pub url: String,
}

impl IncidentMessage {
    /// The status as the message words it.
    pub fn status_label(&self) -> &'static str {
        match self.status {
            IncidentStatus::Triggered => "Triggered",
            IncidentStatus::Acknowledged => "Acknowledged",
            IncidentStatus::Resolved => "Resolved",
        }
    }

    /// The buttons that apply: all while triggered, resolve and escalate once
    /// acknowledged, none once resolved.
    pub fn buttons(&self) -> Vec<ChatButton> {
        match self.status {
            IncidentStatus::Triggered => ChatButton::ALL.to_vec(),
            IncidentStatus::Acknowledged => vec![ChatButton::Resolve, ChatButton::Escalate],
            IncidentStatus::Resolved => Vec::new(),
        }
    }
}

impl From<&PageItem> for IncidentMessage {
    /// A page's incident as a chat message: it pages because it is triggered.
    fn from(item: &PageItem) -> Self {
        IncidentMessage {
            id: item.id.clone(),
            number: item.number,
            summary: item.summary.clone(),
            service: item.service.clone(),
            severity: item.severity.clone(),
            urgency: item.urgency.clone(),
            status: IncidentStatus::Triggered,
            url: item.url.clone(),
        }
    }
}

/// Why a call to a chat platform (Slack, Telegram) did not work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChatFailure {
    /// Worth trying again: after `after` when the platform said so (`Retry-After`).
    #[error("{error}")]
    Retry {
        error: String,
        after: Option<Duration>,
    },
    /// The platform will not take it: the channel is gone, the bot is not in it, the
    /// token was revoked.
    #[error("{0}")]
    Refused(String),
}

impl From<ChatFailure> for NotifyError {
    fn from(failure: ChatFailure) -> Self {
        match failure {
            ChatFailure::Retry { error, .. } => NotifyError::Transient(error),
            ChatFailure::Refused(error) => NotifyError::Permanent(error),
        }
    }
}

/// A chat client that can message a person directly.
pub(crate) trait DirectMessages: Sync {
    /// Posts an incident's message, with its buttons, to `to`.
    async fn post_incident(&self, to: &str, message: &IncidentMessage) -> Result<(), ChatFailure>;
    /// Posts plain text to `to`.
    async fn post_text(&self, to: &str, text: &str) -> Result<(), ChatFailure>;
}

/// A message to a person through a chat client: a page is one message per incident, with
/// its buttons; codes, tests, notices and follow-ups are plain text.
pub(crate) async fn send_direct(
    client: &impl DirectMessages,
    message: &Outgoing,
) -> Result<Sent, NotifyError> {
    let to = message.to.as_str();
    match &message.content {
        Content::Page { items } => {
            for item in items {
                client
                    .post_incident(to, &IncidentMessage::from(item))
                    .await?;
            }
        }
        other => client.post_text(to, &render::sms(other)).await?,
    }
    Ok(Sent::default())
}
