//! onduty's notification providers, behind one [`Notifier`] trait: a signed webhook,
//! e-mail, SMS and voice (as they are added), and a [`fake::FakeNotifier`] for tests.
//!
//! A provider only sends. Deciding whom to page and when is the engine's; what a failure
//! means for the page is decided from the error's kind: [`NotifyError::Transient`]
//! (retry later) or [`NotifyError::Permanent`] (this address will not work).

pub mod chat;
pub mod discord;
pub mod email;
pub mod fake;
pub mod mattermost;
pub mod ntfy;
pub mod outbound;
pub mod render;
pub mod slack;
pub mod teams;
pub mod telegram;
pub mod twilio;
pub mod watchdog;
pub mod webhook;
pub mod webpush;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use onduty_core::Timestamp;
use onduty_core::contact::Channel;
use serde::Serialize;

pub use chat::{BotConfig, ChatFailure, IncidentMessage, SignedButton};

/// One incident in a page (several are bundled into one message when they come at once).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PageItem {
    /// The incident's id (buttons in chat carry it).
    pub id: String,
    pub number: i64,
    pub summary: String,
    pub service: String,
    pub severity: String,
    pub urgency: String,
    /// Where to see it: the incident's web page.
    pub url: String,
    /// The trigger's custom details, shown in e-mails.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
    /// The trigger's links (a runbook, a dashboard), shown in e-mails.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    /// The runbook: the alert's own runbook link, or one kept in onduty for it. An SMS
    /// carries onduty's short link to it (`/r/<number>`), every other message its link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runbook: Option<Link>,
    /// One-click links for e-mail and push (signed for the person paged), when the engine
    /// has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolve_url: Option<String>,
    /// Buttons' signed tokens, for chat platforms that do not sign their callbacks
    /// (Mattermost), and onduty's public URL they call back.
    #[serde(skip)]
    pub signed: Vec<SignedButton>,
    #[serde(skip)]
    pub server: String,
}

/// A link carried by an event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Link {
    pub href: String,
    pub text: Option<String>,
}

/// What a message says.
#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// One or more incidents need someone.
    Page { items: Vec<PageItem> },
    /// A code proving the person owns the address.
    Verification { code: String },
    /// "This is a test": sent when a person asks.
    Test,
    /// A line for the person that is not about an incident ("your on-call shift in Ops
    /// rota starts at 09:00").
    Notice { text: String },
    /// These incidents no longer need the person: take back what was pushed about them
    /// (an ntfy clear). Queued only for channels that can take a message back.
    Settled { numbers: Vec<i64> },
    /// News of a public status page for one of its subscribers.
    Bulletin(Bulletin),
}

/// News of a public status page for a subscriber: an e-mail with an unsubscribe link
/// (and `List-Unsubscribe`), or Statuspage's JSON payload to a webhook.
#[derive(Debug, Clone, PartialEq)]
pub struct Bulletin {
    pub subject: String,
    pub text: String,
    /// Where one click ends the subscription (`List-Unsubscribe`, RFC 8058).
    pub unsubscribe: Option<String>,
    /// What a webhook receives, as it is.
    pub payload: Option<serde_json::Value>,
}

/// A message to send through one contact method.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub channel: Channel,
    /// The e-mail address, phone number or URL.
    pub to: String,
    /// For webhooks: the secret the receiver checks the signature with.
    pub secret: Option<String>,
    pub content: Content,
    /// The same for every attempt at the same message, so receivers can drop repeats
    /// (delivery is at least once).
    pub idempotency_key: String,
    /// When the message is sent (signatures carry it).
    pub at: Timestamp,
}

/// What a provider says about a message it accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sent {
    /// The provider's id for the message (a Twilio SID, an SMTP queue id), if any.
    pub provider_ref: Option<String>,
    /// The chat messages a page was posted as (direct messages in Slack, Telegram,
    /// Mattermost), one per incident, to be kept up to date in place.
    pub posts: Vec<DirectPost>,
}

/// An incident's message in a person's direct conversation with the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectPost {
    /// The incident's id ([`PageItem::id`]).
    pub incident: String,
    /// The conversation as the platform names it (Slack's `D…` channel, Telegram's chat
    /// id, Mattermost's direct channel).
    pub channel: String,
    /// The message's id there (Slack's `ts`, Telegram's `message_id`, Mattermost's post id).
    pub message_ref: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    /// Worth retrying: a timeout, a 5xx, the provider is down.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Retrying will not help: the number is invalid, the address refused.
    #[error("permanent failure: {0}")]
    Permanent(String),
    /// No provider is configured for this channel on this server.
    #[error("{0} is not configured on this server")]
    NotConfigured(&'static str),
    /// The outbound address policy does not allow the destination; never retried.
    #[error("{0}")]
    Blocked(String),
}

impl NotifyError {
    pub fn is_transient(&self) -> bool {
        matches!(self, NotifyError::Transient(_))
    }

    /// A short word for the kind of failure, for counting.
    pub fn kind(&self) -> &'static str {
        match self {
            NotifyError::Transient(_) => "transient",
            NotifyError::Permanent(_) => "permanent",
            NotifyError::NotConfigured(_) => "not_configured",
            NotifyError::Blocked(_) => "blocked",
        }
    }
}

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<Sent, NotifyError>> + Send + 'a>>;

/// Something that delivers messages on one channel.
pub trait Notifier: Send + Sync {
    fn send<'a>(&'a self, message: &'a Outgoing) -> SendFuture<'a>;
}

/// The configured provider of each channel, and where user-given addresses may point.
#[derive(Clone, Default)]
pub struct Providers {
    pub email: Option<Arc<dyn Notifier>>,
    pub sms: Option<Arc<dyn Notifier>>,
    pub voice: Option<Arc<dyn Notifier>>,
    pub webhook: Option<Arc<dyn Notifier>>,
    pub ntfy: Option<Arc<dyn Notifier>>,
    /// Web Push to browsers that subscribed; set up at start, with the server's VAPID key.
    pub web_push: Option<Arc<webpush::WebPushNotifier>>,
    /// Slack: channels that get every incident of a service or team, and direct messages.
    pub slack: Option<Arc<slack::SlackClient>>,
    /// Telegram: groups that get every incident of a service or team, and private messages.
    pub telegram: Option<Arc<telegram::TelegramClient>>,
    /// Mattermost: channels that get every incident of a service or team.
    pub mattermost: Option<Arc<mattermost::MattermostClient>>,
    /// Teams and Discord channels, by their webhooks: these work without set-up, within
    /// `outbound`.
    pub teams: Option<Arc<teams::TeamsClient>>,
    pub discord: Option<Arc<discord::DiscordClient>>,
    /// Checked again when an address is added, so an internal one is refused at once.
    pub outbound: outbound::OutboundPolicy,
}

impl Providers {
    /// Real providers where configured; webhooks, ntfy, Teams and Discord always work,
    /// within `outbound`.
    pub fn new(outbound: outbound::OutboundPolicy) -> Providers {
        Providers {
            webhook: Some(Arc::new(webhook::WebhookNotifier::new(outbound.clone()))),
            ntfy: Some(Arc::new(ntfy::NtfyNotifier::new(outbound.clone()))),
            teams: Some(Arc::new(teams::TeamsClient::new(outbound.clone()))),
            discord: Some(Arc::new(discord::DiscordClient::new(outbound.clone()))),
            outbound,
            ..Providers::default()
        }
    }

    /// Every channel through one notifier (tests).
    pub fn all(notifier: Arc<dyn Notifier>) -> Providers {
        Providers {
            email: Some(notifier.clone()),
            sms: Some(notifier.clone()),
            voice: Some(notifier.clone()),
            webhook: Some(notifier.clone()),
            ntfy: Some(notifier),
            web_push: None,
            slack: None,
            telegram: None,
            mattermost: None,
            teams: None,
            discord: None,
            outbound: outbound::OutboundPolicy::default(),
        }
    }

    pub fn for_channel(&self, channel: Channel) -> Option<&dyn Notifier> {
        match channel {
            Channel::Email => self.email.as_deref(),
            Channel::Sms => self.sms.as_deref(),
            Channel::Voice => self.voice.as_deref(),
            Channel::Webhook => self.webhook.as_deref(),
            Channel::Ntfy => self.ntfy.as_deref(),
            Channel::Slack => self.slack.as_deref().map(|c| c as &dyn Notifier),
            Channel::Telegram => self.telegram.as_deref().map(|c| c as &dyn Notifier),
            Channel::Mattermost => self.mattermost.as_deref().map(|c| c as &dyn Notifier),
            Channel::WebPush => self.web_push.as_deref().map(|c| c as &dyn Notifier),
        }
    }

    /// A plain line of text to a chat channel of `platform` (a conversation id, or a
    /// webhook's URL for Teams and Discord).
    pub async fn post_chat_text(
        &self,
        platform: onduty_core::chat::ChatPlatform,
        channel: &str,
        text: &str,
    ) -> Result<(), ChatFailure> {
        use onduty_core::chat::ChatPlatform;
        let missing =
            || ChatFailure::Refused(format!("{} is not set up on this server", platform.label()));
        match platform {
            ChatPlatform::Slack => {
                self.slack
                    .as_ref()
                    .ok_or_else(missing)?
                    .post_text(channel, text)
                    .await
            }
            ChatPlatform::Telegram => {
                self.telegram
                    .as_ref()
                    .ok_or_else(missing)?
                    .send_text(channel, text)
                    .await
            }
            ChatPlatform::Mattermost => {
                self.mattermost
                    .as_ref()
                    .ok_or_else(missing)?
                    .post_text(channel, text)
                    .await
            }
            ChatPlatform::Teams => {
                self.teams
                    .as_ref()
                    .ok_or_else(missing)?
                    .post_text(channel, text)
                    .await
            }
            ChatPlatform::Discord => {
                self.discord
                    .as_ref()
                    .ok_or_else(missing)?
                    .post_text(channel, text)
                    .await
            }
        }
    }

    /// Sends through the channel's provider, or says it has none.
    pub async fn send(&self, message: &Outgoing) -> Result<Sent, NotifyError> {
        match self.for_channel(message.channel) {
            Some(n) => n.send(message).await,
            None => Err(NotifyError::NotConfigured(message.channel.label())),
        }
    }
}
