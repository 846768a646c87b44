//! What the chat clients (`slack.rs`, `telegram.rs`, `mattermost.rs`, `teams.rs`,
//! `discord.rs`) share: an incident as a message shows it, with the status and the
//! buttons that apply; escaping Markdown; why a call failed; a bot's settings and HTTP
//! client; and sending a person a direct message as a page.

use std::time::Duration;

use onduty_core::chat::ChatButton;
use onduty_core::incident::IncidentStatus;

use crate::{Content, DirectPost, NotifyError, Outgoing, PageItem, Sent, render};

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
    /// Its runbook, when it has one.
    pub runbook: Option<crate::Link>,
    /// onduty's public URL, where signed buttons lead.
    pub server: String,
    /// The buttons' signed tokens, for platforms that do not sign their callbacks
    /// (Mattermost) or cannot call back (Teams, Discord); empty for others.
    pub signed: Vec<SignedButton>,
}

/// A button and its signed token ([`onduty_core::signature::button_token`]).
#[derive(Debug, Clone, PartialEq)]
pub struct SignedButton {
    pub button: ChatButton,
    pub token: String,
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

    /// The signed buttons that apply, in [`IncidentMessage::buttons`]'s order.
    pub fn signed_buttons(&self) -> Vec<&SignedButton> {
        self.buttons()
            .into_iter()
            .filter_map(|b| self.signed.iter().find(|s| s.button == b))
            .collect()
    }

    /// Where a signed button's link leads (Teams, Discord): a page that acts as whoever
    /// opens it, once logged in.
    pub fn action_url(&self, signed: &SignedButton) -> String {
        format!(
            "{}/chat/act/{}",
            self.server.trim_end_matches('/'),
            signed.token
        )
    }

    /// The colour of the message's edge: red while triggered, amber once acknowledged,
    /// green once resolved.
    pub fn color(&self) -> u32 {
        match self.status {
            IncidentStatus::Triggered => 0xD9_30_25,
            IncidentStatus::Acknowledged => 0xF2_99_00,
            IncidentStatus::Resolved => 0x1E_8E_3E,
        }
    }
}

/// Markdown (Mattermost, Discord) reads punctuation as markup, and
/// `<…>`, `scheme:` and `@name` as links or mentions: outside text escapes each such
/// character with a backslash, so it shows as typed and links nowhere. (`.`, `-` and `+`
/// stay: the lists they make are harmless, and escaping them would clutter host names.)
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\`*_{}[]()<>#!|~@:&".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A Markdown link (Mattermost, Discord) to `url` saying `text`: the text escaped, and
/// the characters that would end or break the link's address percent-encoded.
pub fn markdown_link(text: &str, url: &str) -> String {
    let mut href = String::with_capacity(url.len());
    for c in url.chars() {
        match c {
            '(' => href.push_str("%28"),
            ')' => href.push_str("%29"),
            '<' => href.push_str("%3C"),
            '>' => href.push_str("%3E"),
            '[' => href.push_str("%5B"),
            ']' => href.push_str("%5D"),
            c if c.is_whitespace() || c.is_control() => {}
            c => href.push(c),
        }
    }
    format!("[{}]({href})", escape_markdown(text))
}

/// At most `max` characters of `text`, with `…` when cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
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
            server: item.server.clone(),
            runbook: item.runbook.clone(),
            signed: item.signed.clone(),
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
    /// The conversation has a new id, `to` (Telegram upgrades a group to a supergroup):
    /// the message belongs there now.
    #[error("the group is now the supergroup {to}")]
    Moved { to: String },
}

impl From<ChatFailure> for NotifyError {
    fn from(failure: ChatFailure) -> Self {
        match failure {
            ChatFailure::Retry { error, .. } => NotifyError::Transient(error),
            ChatFailure::Refused(error) => NotifyError::Permanent(error),
            moved @ ChatFailure::Moved { .. } => NotifyError::Permanent(moved.to_string()),
        }
    }
}

/// The failure an HTTP answer that is not a success means, for platforms that answer in
/// HTTP statuses (Mattermost, Teams, Discord): `429` waits out its `Retry-After`
/// (seconds), `408` and `5xx` are worth trying again, and other refusals are for good
/// (`404` for a gone message is told apart by the caller).
pub(crate) fn http_failure(
    platform: &str,
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
) -> ChatFailure {
    let error = format!("{platform} answered {status}");
    if status.as_u16() == 429 {
        let after = headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(|s| Duration::from_secs_f64(s.min(3600.0).ceil()));
        ChatFailure::Retry { error, after }
    } else if status.is_server_error() || status.as_u16() == 408 {
        ChatFailure::Retry { error, after: None }
    } else {
        ChatFailure::Refused(error)
    }
}

/// A platform not reached (a timeout, a refused connection) is worth trying again; an
/// address the outbound policy refuses is not. The error never shows the URL, which for a
/// webhook is a credential.
pub(crate) fn unreached(platform: &str, e: reqwest::Error) -> ChatFailure {
    match crate::outbound::refusal(&e) {
        Some(refused) => ChatFailure::Refused(refused.to_string()),
        None => ChatFailure::Retry {
            error: format!("{platform} not reached: {}", e.without_url()),
            after: None,
        },
    }
}

/// A chat client that can message a person directly.
pub(crate) trait DirectMessages: Sync {
    /// Posts an incident's message, with its buttons, to `to`; returns the conversation
    /// and the message as the platform names them, to edit it later.
    async fn post_incident(
        &self,
        to: &str,
        message: &IncidentMessage,
    ) -> Result<(String, String), ChatFailure>;
    /// Posts plain text to `to`.
    async fn post_text(&self, to: &str, text: &str) -> Result<(), ChatFailure>;
}

/// A message to a person through a chat client: a page is one message per incident, with
/// its buttons, and says where each went (the chat stage keeps them up to date); codes,
/// tests and notices are plain text.
pub(crate) async fn send_direct(
    client: &impl DirectMessages,
    message: &Outgoing,
) -> Result<Sent, NotifyError> {
    let to = message.to.as_str();
    let mut sent = Sent::default();
    match &message.content {
        Content::Page { items } => {
            for item in items {
                let (channel, message_ref) = client
                    .post_incident(to, &IncidentMessage::from(item))
                    .await?;
                sent.posts.push(DirectPost {
                    incident: item.id.clone(),
                    channel,
                    message_ref,
                });
            }
        }
        other => client.post_text(to, &render::sms(other)).await?,
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_links_keep_their_address_whole() {
        assert_eq!(
            markdown_link("Disk [full]", "https://wiki.example/a_(b) c"),
            "[Disk \\[full\\]](https://wiki.example/a_%28b%29c)"
        );
    }

    #[test]
    fn markdown_is_escaped_so_outside_text_neither_links_nor_mentions() {
        assert_eq!(
            escape_markdown("[click](https://evil) *now* @channel <#1>"),
            "\\[click\\]\\(https\\://evil\\) \\*now\\* \\@channel \\<\\#1\\>"
        );
        assert_eq!(escape_markdown("disk full on db01"), "disk full on db01");
        assert_eq!(cut("abcdef", 4), "abc…");
        assert_eq!(cut("abc", 4), "abc");
    }

    #[test]
    fn rate_limits_wait_server_errors_retry_and_refusals_stay() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("retry-after", "1.2".parse().unwrap());
        let limited = http_failure("Discord", reqwest::StatusCode::TOO_MANY_REQUESTS, &headers);
        assert_eq!(
            limited,
            ChatFailure::Retry {
                error: "Discord answered 429 Too Many Requests".to_owned(),
                after: Some(Duration::from_secs(2)),
            }
        );
        let none = reqwest::header::HeaderMap::new();
        assert!(matches!(
            http_failure("Teams", reqwest::StatusCode::BAD_GATEWAY, &none),
            ChatFailure::Retry { after: None, .. }
        ));
        assert!(matches!(
            http_failure("Teams", reqwest::StatusCode::NOT_FOUND, &none),
            ChatFailure::Refused(_)
        ));
    }
}
