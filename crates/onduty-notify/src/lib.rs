//! onduty's notification providers, behind one [`Notifier`] trait: a signed webhook,
//! e-mail, SMS and voice (as they are added), and a [`fake::FakeNotifier`] for tests.
//!
//! A provider only sends. Deciding whom to page and when is the engine's; what a failure
//! means for the page is decided from the error's kind: [`NotifyError::Transient`]
//! (retry later) or [`NotifyError::Permanent`] (this address will not work).

pub mod email;
pub mod fake;
pub mod ntfy;
pub mod outbound;
pub mod render;
pub mod slack;
pub mod telegram;
pub mod twilio;
pub mod webhook;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use onduty_core::Timestamp;
use onduty_core::contact::Channel;
use serde::Serialize;

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
    /// One-click links for e-mail and push (signed for the person paged), when the engine
    /// has them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ack_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolve_url: Option<String>,
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
    pub status: onduty_core::incident::IncidentStatus,
    /// The incident's web page.
    pub url: String,
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
            status: onduty_core::incident::IncidentStatus::Triggered,
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
        after: Option<std::time::Duration>,
    },
    /// The platform will not take it: the channel is gone, the bot is not in it, the
    /// token was revoked.
    #[error("{0}")]
    Refused(String),
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
    /// Slack, for channels that get every incident of a service or team.
    pub slack: Option<Arc<slack::SlackClient>>,
    /// The same Slack client, for direct messages to people (see [`Providers::with_slack`]).
    pub slack_notifier: Option<Arc<dyn Notifier>>,
    /// Telegram, for groups that get every incident of a service or team.
    pub telegram: Option<Arc<telegram::TelegramClient>>,
    /// The same Telegram client, for private messages (see [`Providers::with_telegram`]).
    pub telegram_notifier: Option<Arc<dyn Notifier>>,
    /// Checked again when an address is added, so an internal one is refused at once.
    pub outbound: outbound::OutboundPolicy,
}

impl Providers {
    /// Real providers where configured; webhooks and ntfy always work, within `outbound`.
    pub fn new(outbound: outbound::OutboundPolicy) -> Providers {
        Providers {
            webhook: Some(Arc::new(webhook::WebhookNotifier::new(outbound.clone()))),
            ntfy: Some(Arc::new(ntfy::NtfyNotifier::new(outbound.clone()))),
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
            slack: None,
            slack_notifier: None,
            telegram: None,
            telegram_notifier: None,
            outbound: outbound::OutboundPolicy::default(),
        }
    }

    /// Slack for channels and for direct messages.
    pub fn with_slack(mut self, client: slack::SlackClient) -> Providers {
        let client = Arc::new(client);
        self.slack_notifier = Some(client.clone());
        self.slack = Some(client);
        self
    }

    /// Telegram for groups and for private messages.
    pub fn with_telegram(mut self, client: telegram::TelegramClient) -> Providers {
        let client = Arc::new(client);
        self.telegram_notifier = Some(client.clone());
        self.telegram = Some(client);
        self
    }

    pub fn for_channel(&self, channel: Channel) -> Option<&Arc<dyn Notifier>> {
        match channel {
            Channel::Email => self.email.as_ref(),
            Channel::Sms => self.sms.as_ref(),
            Channel::Voice => self.voice.as_ref(),
            Channel::Webhook => self.webhook.as_ref(),
            Channel::Ntfy => self.ntfy.as_ref(),
            Channel::Slack => self.slack_notifier.as_ref(),
            Channel::Telegram => self.telegram_notifier.as_ref(),
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
