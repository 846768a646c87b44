//! Chat: what people ask of onduty from a chat tool. Buttons on an incident's message name
//! an action (`acknowledge`, `resolve`, `escalate`) and carry the incident's id; a slash
//! command (`/onduty ack 42`) is parsed here into a [`ChatCommand`].

use crate::ids::{ChatChannelId, IncidentNumber, ServiceId, TeamId};

/// The chat tools onduty posts to.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ChatPlatform {
    Slack,
    Telegram,
    Mattermost,
    /// Microsoft Teams, through a Workflows webhook.
    Teams,
    /// Discord, through a channel's webhook.
    Discord,
}

impl ChatPlatform {
    pub const ALL: [ChatPlatform; 5] = [
        ChatPlatform::Slack,
        ChatPlatform::Telegram,
        ChatPlatform::Mattermost,
        ChatPlatform::Teams,
        ChatPlatform::Discord,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChatPlatform::Slack => "slack",
            ChatPlatform::Telegram => "telegram",
            ChatPlatform::Mattermost => "mattermost",
            ChatPlatform::Teams => "teams",
            ChatPlatform::Discord => "discord",
        }
    }

    pub fn parse(text: &str) -> Option<ChatPlatform> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }

    pub fn label(self) -> &'static str {
        match self {
            ChatPlatform::Slack => "Slack",
            ChatPlatform::Telegram => "Telegram",
            ChatPlatform::Mattermost => "Mattermost",
            ChatPlatform::Teams => "Microsoft Teams",
            ChatPlatform::Discord => "Discord",
        }
    }

    /// Whether a channel is reached by its webhook's URL, which works as a password
    /// (Teams, Discord): it is never shown again once added.
    pub fn by_webhook(self) -> bool {
        matches!(self, ChatPlatform::Teams | ChatPlatform::Discord)
    }
}

/// A channel's id as the platform writes it: Slack's start with `C` (public) or `G`
/// (private), then capital letters and digits (`C0123ABCD`), at most 32 in all (a channel's
/// name will not do: Slack updates a message only by its channel's id); a Telegram group's
/// is a number, negative (`-1001234567890`); a Mattermost channel's is 26 small letters and
/// digits. Teams and Discord channels are their webhooks' URLs; a Discord webhook's ends
/// in `/api/webhooks/<id>/<token>`.
pub fn parse_channel(platform: ChatPlatform, text: &str) -> Result<String, String> {
    let t = text.trim();
    let shown = || text.chars().take(40).collect::<String>();
    let ok = match platform {
        ChatPlatform::Slack => {
            (2..=32).contains(&t.len())
                && t.starts_with(['C', 'G'])
                && t.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        }
        ChatPlatform::Telegram => {
            let digits = t.strip_prefix('-').unwrap_or(t);
            (1..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
        }
        ChatPlatform::Mattermost => {
            t.len() == 26
                && t.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        }
        ChatPlatform::Teams => crate::contact::web_url(t).is_ok(),
        ChatPlatform::Discord => crate::contact::web_url(t).is_ok() && is_discord_webhook(t),
    };
    if ok {
        return Ok(t.to_owned());
    }
    Err(match platform {
        ChatPlatform::Slack => format!(
            "'{}' is not a Slack channel id: open the channel's details in Slack and copy the \
             id at the bottom (C0123ABCD)",
            shown()
        ),
        ChatPlatform::Telegram => format!(
            "'{}' is not a Telegram chat id: add the onduty bot to the group, and use the \
             group's id (-1001234567890)",
            shown()
        ),
        ChatPlatform::Mattermost => format!(
            "'{}' is not a Mattermost channel id: in the channel, open View Info and copy its \
             ID (26 letters and digits)",
            shown()
        ),
        // A webhook's URL is a secret: an error does not repeat it.
        ChatPlatform::Teams => "a Teams channel is its Workflows webhook's URL (https://…): in \
                                Teams, add the workflow \"Post to a channel when a webhook \
                                request is received\" and copy its URL"
            .to_owned(),
        ChatPlatform::Discord => "a Discord channel is its webhook's URL \
                                  (https://discord.com/api/webhooks/<id>/<token>): in the \
                                  channel's settings, open Integrations, Webhooks, and copy it"
            .to_owned(),
    })
}

/// Whether a URL's path ends in `/webhooks/<id>/<token>`, as Discord's do.
fn is_discord_webhook(url: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or_default();
    let parts: Vec<&str> = path.trim_end_matches('/').rsplitn(4, '/').collect();
    matches!(parts.as_slice(), [token, id, "webhooks", _]
        if !token.is_empty()
            && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !id.is_empty()
            && id.bytes().all(|b| b.is_ascii_digit()))
}

/// How a channel is named where people see it: its id, or for a webhook only its host
/// (`webhook at discord.com`).
pub fn channel_shown(platform: ChatPlatform, channel: &str) -> String {
    if !platform.by_webhook() {
        return channel.to_owned();
    }
    let host = channel
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or_default()
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    // The user and password before an `@` are secret too.
    let host = host.rsplit('@').next().unwrap_or_default();
    format!("webhook at {host}")
}

/// Whose incidents a channel gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatScope {
    Service(ServiceId),
    /// Every service of the team.
    Team(TeamId),
}

/// A channel that gets a message for every incident in its scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatChannel {
    pub id: ChatChannelId,
    pub platform: ChatPlatform,
    pub channel: String,
    pub scope: ChatScope,
    /// Why the platform refused the channel for good, if it did.
    pub failing: Option<String>,
}

/// A button on an incident's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatButton {
    Acknowledge,
    Resolve,
    Escalate,
}

impl ChatButton {
    pub const ALL: [ChatButton; 3] = [
        ChatButton::Acknowledge,
        ChatButton::Resolve,
        ChatButton::Escalate,
    ];

    /// The button's id in the message (Slack's `action_id`).
    pub fn id(self) -> &'static str {
        match self {
            ChatButton::Acknowledge => "acknowledge",
            ChatButton::Resolve => "resolve",
            ChatButton::Escalate => "escalate",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ChatButton::Acknowledge => "Acknowledge",
            ChatButton::Resolve => "Resolve",
            ChatButton::Escalate => "Escalate",
        }
    }

    pub fn parse(id: &str) -> Option<ChatButton> {
        Self::ALL.into_iter().find(|b| b.id() == id)
    }
}

impl From<ChatButton> for crate::reply::ReplyAction {
    /// A button does what a reply with the same word does.
    fn from(button: ChatButton) -> Self {
        match button {
            ChatButton::Acknowledge => crate::reply::ReplyAction::Acknowledge,
            ChatButton::Resolve => crate::reply::ReplyAction::Resolve,
            ChatButton::Escalate => crate::reply::ReplyAction::Escalate,
        }
    }
}

/// What a slash command asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChatCommand {
    /// The open incidents.
    Incidents,
    /// Who is on call now.
    OnCall,
    Acknowledge(IncidentNumber),
    Resolve(IncidentNumber),
    /// How to use it (also the answer to anything it does not understand).
    Help,
}

/// Reads the text after the command: `incidents`, `oncall` (or `who`), `ack 42` (or
/// `acknowledge #42`), `resolve 42`; anything else is [`ChatCommand::Help`].
pub fn parse_command(text: &str) -> ChatCommand {
    let words: Vec<String> = text
        .split_whitespace()
        .map(|w| w.to_ascii_lowercase())
        .collect();
    let number = |w: &String| {
        w.trim_start_matches('#')
            .parse::<i64>()
            .ok()
            .filter(|n| *n > 0)
            .map(IncidentNumber)
    };
    match words.as_slice() {
        [w] if matches!(w.as_str(), "incidents" | "list" | "open") => ChatCommand::Incidents,
        [w] if matches!(w.as_str(), "oncall" | "on-call" | "who") => ChatCommand::OnCall,
        [w, n] if matches!(w.as_str(), "ack" | "acknowledge") => {
            number(n).map_or(ChatCommand::Help, ChatCommand::Acknowledge)
        }
        [w, n] if w == "resolve" => number(n).map_or(ChatCommand::Help, ChatCommand::Resolve),
        _ => ChatCommand::Help,
    }
}

/// A one-time code that links a chat account: 16 of 32 letters and digits (no `l`, `o`,
/// `0`, `1`), from the caller's random bytes, each byte picking one evenly (256 = 8 × 32).
pub fn link_code(random: [u8; 16]) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyz23456789";
    random
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

/// The answer to [`ChatCommand::Help`].
pub const COMMAND_HELP: &str = "Try `incidents` (the open ones), `oncall` (who is on call now), \
                                `ack 42` or `resolve 42`.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slash_commands_read_as_people_type_them() {
        let n = IncidentNumber;
        for (text, command) in [
            ("incidents", ChatCommand::Incidents),
            ("  LIST ", ChatCommand::Incidents),
            ("oncall", ChatCommand::OnCall),
            ("who", ChatCommand::OnCall),
            ("ack 42", ChatCommand::Acknowledge(n(42))),
            ("Acknowledge #42", ChatCommand::Acknowledge(n(42))),
            ("resolve 7", ChatCommand::Resolve(n(7))),
            ("ack", ChatCommand::Help),
            ("ack forty", ChatCommand::Help),
            ("ack 0", ChatCommand::Help),
            ("resolve 7 8", ChatCommand::Help),
            ("", ChatCommand::Help),
            ("help", ChatCommand::Help),
        ] {
            assert_eq!(parse_command(text), command, "{text:?}");
        }
    }

    #[test]
    fn slack_channel_ids_are_letters_and_digits() {
        assert_eq!(
            parse_channel(ChatPlatform::Slack, " C0123ABCD ").as_deref(),
            Ok("C0123ABCD")
        );
        assert!(parse_channel(ChatPlatform::Slack, "G0PRIVATE1").is_ok());
        assert!(parse_channel(ChatPlatform::Telegram, "-1001234567890").is_ok());
        assert!(parse_channel(ChatPlatform::Telegram, "@ops").is_err());
        for bad in [
            "",
            "#ops",
            "ops",
            "U0123ABCD",
            "c0123abcd",
            "C0123 ABCD",
            &"C".repeat(33),
        ] {
            assert!(parse_channel(ChatPlatform::Slack, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mattermost_ids_and_webhooks_are_checked_and_webhooks_never_shown() {
        assert!(parse_channel(ChatPlatform::Mattermost, "4xp9fdt8pjgk3xyfpa6gm7khfc").is_ok());
        assert!(parse_channel(ChatPlatform::Mattermost, "town-square").is_err());
        let discord = "https://discord.com/api/webhooks/1234567890/AbC-d_E";
        assert_eq!(
            parse_channel(ChatPlatform::Discord, discord).as_deref(),
            Ok(discord)
        );
        assert!(
            parse_channel(
                ChatPlatform::Discord,
                "http://127.0.0.1:8080/api/v10/webhooks/1/t?wait=true"
            )
            .is_ok()
        );
        for bad in [
            "https://discord.com/api/webhooks/x/token",
            "https://discord.com/api/webhooks/123",
            "discord.com/api/webhooks/1/t",
        ] {
            assert!(parse_channel(ChatPlatform::Discord, bad).is_err(), "{bad}");
        }
        let teams = "https://prod-01.westus.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?sig=SECRET";
        assert!(parse_channel(ChatPlatform::Teams, teams).is_ok());
        let refused = parse_channel(ChatPlatform::Teams, "ftp://x/?sig=SECRET").unwrap_err();
        assert!(!refused.contains("SECRET"), "{refused}");
        assert_eq!(
            channel_shown(ChatPlatform::Teams, teams),
            "webhook at prod-01.westus.logic.azure.com:443"
        );
        assert_eq!(
            channel_shown(
                ChatPlatform::Discord,
                "https://u:p@discord.com/api/webhooks/1/t"
            ),
            "webhook at discord.com"
        );
        assert_eq!(channel_shown(ChatPlatform::Slack, "C0123"), "C0123");
        for platform in ChatPlatform::ALL {
            assert_eq!(ChatPlatform::parse(platform.as_str()), Some(platform));
        }
    }

    #[test]
    fn link_codes_are_sixteen_unambiguous_letters_and_digits() {
        assert_eq!(link_code([0; 16]), "a".repeat(16));
        assert_eq!(link_code([31; 16]), "9".repeat(16));
        assert_eq!(
            link_code([32; 16]),
            "a".repeat(16),
            "each byte wraps evenly"
        );
        let code = link_code(*b"0123456789abcdef");
        assert_eq!(code.len(), 16);
        assert!(!code.contains(['l', 'o', '0', '1']), "{code}");
    }

    #[test]
    fn buttons_are_named_by_their_ids() {
        for button in ChatButton::ALL {
            assert_eq!(ChatButton::parse(button.id()), Some(button));
        }
        assert_eq!(ChatButton::parse("snooze"), None);
    }
}
