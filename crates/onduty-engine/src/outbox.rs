//! The outbox stage: messages due to be sent. Load the due rows and when each phone was
//! last sent to; plan the bundles (one message per contact method, several incidents in
//! it) and what waits for the per-number gap; then send the bundles, several contact
//! methods at a time, and record how each went in one transaction.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use onduty_core::chat::ChatPlatform;
use onduty_core::contact::Channel;
use onduty_core::signature::{LINK_KEY, LinkAction, LinkGrant, LinkOrigin, link_token};
use onduty_core::{ContactMethodId, IncidentId, IncidentRef, Timestamp};
use onduty_notify::{Content, Link, NotifyError, Outgoing, PageItem};
use onduty_store::direct_posts::PostedDirect;
use onduty_store::metrics as m;
use onduty_store::paging::{Delivery, Hold, OutboxItem, SentGroup};

use crate::chat::signed_buttons;
use crate::{BATCH, Engine, EngineError};

/// Attempts at a message before it is given up.
pub const MAX_ATTEMPTS: i64 = 5;
/// No more than one SMS or call to a number per 15 seconds: what falls due meanwhile is
/// bundled into the next message, so a page leaves at most 15 s after it is due.
pub const PER_NUMBER_GAP: Duration = Duration::from_secs(15);
/// Messages sent at the same time (each to a different contact method).
const SENDS_AT_ONCE: usize = 16;
/// How long a one-click link in an e-mail works.
pub const LINK_LIFETIME: Duration = Duration::from_secs(24 * 3600);

pub(crate) async fn run(engine: &Engine, now: Timestamp) -> Result<usize, EngineError> {
    let due = engine.store.due_outbox(now, BATCH).await?;
    let count = due.len();
    let phones: Vec<ContactMethodId> = due
        .iter()
        .filter(|i| matches!(i.method.channel, Channel::Sms | Channel::Voice))
        .map(|i| i.method.id)
        .collect();
    let last_sent = engine.store.last_sent_to(&phones).await?;
    let planned = plan(due, &last_sent, now);
    if !planned.wait.is_empty() {
        engine.store.hold_outbox(&planned.wait, now).await?;
    }
    let sent: Vec<SentGroup> = futures::stream::iter(planned.send)
        .map(|items| engine.send_group(items, now))
        .buffer_unordered(SENDS_AT_ONCE)
        .try_collect()
        .await?;
    engine.store.record_deliveries(&sent, now).await?;
    Ok(count)
}

/// What to do with the due messages.
#[derive(Debug, Default)]
pub(crate) struct Dispatch {
    /// Bundles to send now: each one message to one contact method.
    pub send: Vec<Vec<OutboxItem>>,
    /// Messages that wait for their number's gap, until when, and why (for the timeline).
    pub wait: Vec<Hold>,
}

/// What goes in one message: the contact method, notice or not, take-back or not, and in
/// chat the incident.
type Bundle = (ContactMethodId, bool, bool, Option<IncidentId>);

/// Pages to one contact method go as one message, notices as another; at most one SMS or
/// call per number per [`PER_NUMBER_GAP`]: what comes sooner waits.
pub(crate) fn plan(
    due: Vec<OutboxItem>,
    last_sent: &HashMap<ContactMethodId, Timestamp>,
    now: Timestamp,
) -> Dispatch {
    // Pages, notices and take-backs to one contact method are three messages; in chat,
    // each incident's page is a message of its own (its buttons act on it), so a retry
    // never sends again what went.
    let mut groups: BTreeMap<Bundle, Vec<OutboxItem>> = BTreeMap::new();
    for item in due {
        let chat = item.method.channel.is_chat();
        let own = item
            .incident
            .filter(|_| chat && item.notice.is_none() && !item.clears);
        groups
            .entry((item.method.id, item.notice.is_some(), item.clears, own))
            .or_default()
            .push(item);
    }
    let mut dispatch = Dispatch::default();
    for ((method, ..), items) in groups {
        let phone = matches!(items[0].method.channel, Channel::Sms | Channel::Voice);
        let allowed = last_sent
            .get(&method)
            .filter(|_| phone)
            .map(|last| last.saturating_add(PER_NUMBER_GAP));
        match allowed {
            Some(allowed) if allowed > now => {
                let held = allowed.since(now).as_secs().max(1);
                let reason = format!(
                    "{}: held {held} s, since the number was sent a message {} s ago; \
                     whatever else falls due for it by then goes in the same message",
                    items[0].method.to_owner(&items[0].user_name),
                    now.since(allowed.saturating_sub(PER_NUMBER_GAP)).as_secs()
                );
                dispatch.wait.push(Hold {
                    outbox: items.iter().map(|i| i.id).collect(),
                    incidents: items.iter().filter_map(|i| i.incident).collect(),
                    until: allowed,
                    reason,
                });
            }
            _ => dispatch.send.push(items),
        }
    }
    dispatch
}

impl Engine {
    /// Sends one message for a group of outbox rows to the same contact method.
    async fn send_group(
        &self,
        mut items: Vec<OutboxItem>,
        now: Timestamp,
    ) -> Result<SentGroup, EngineError> {
        // A bundle reads in incident order.
        items.sort_by_key(|i| i.number);
        let method = items[0].method.clone();
        let content = if items[0].notice.is_some() {
            let lines: Vec<&str> = items.iter().filter_map(|i| i.notice.as_deref()).collect();
            Content::Notice {
                text: lines.join("\n"),
            }
        } else if items[0].clears {
            Content::Settled {
                numbers: items.iter().filter_map(|i| i.number).collect(),
            }
        } else {
            let mut page_items = Vec::with_capacity(items.len());
            for item in &items {
                if let Some(page) = self.page_item(item, method.channel, now).await? {
                    page_items.push(page);
                }
            }
            Content::Page { items: page_items }
        };
        let message = Outgoing {
            channel: method.channel,
            to: method.address.as_str().to_owned(),
            secret: items[0].secret.clone(),
            content,
            idempotency_key: items
                .iter()
                .map(|i| i.id.to_string())
                .collect::<Vec<_>>()
                .join("+"),
            at: now,
        };
        let to = method.to_owner(&items[0].user_name);
        let attempts = items.iter().map(|i| i.attempts).max().unwrap_or(0) + 1;
        let sent = self.providers.send(&message).await;
        let provider_error = sent.as_ref().err().map(NotifyError::kind);
        let (delivery, line) = match sent {
            Ok(sent) => (
                Delivery::Sent {
                    provider_ref: sent.provider_ref,
                    posts: sent
                        .posts
                        .into_iter()
                        .filter_map(|p| {
                            Some(PostedDirect {
                                incident: p.incident.parse().ok()?,
                                channel: p.channel,
                                message_ref: p.message_ref,
                            })
                        })
                        .collect(),
                },
                format!("{to}: sent"),
            ),
            Err(NotifyError::Transient(e)) if attempts < MAX_ATTEMPTS => (
                Delivery::Retry {
                    error: e.clone(),
                    retry_at: Some(now.saturating_add(backoff(attempts))),
                },
                format!("{to}: failed ({e}); trying again"),
            ),
            Err(e @ NotifyError::Transient(_)) | Err(e @ NotifyError::NotConfigured(_)) => (
                Delivery::Retry {
                    error: e.to_string(),
                    retry_at: None,
                },
                format!("{to}: failed ({e}); gave up"),
            ),
            Err(NotifyError::Permanent(e) | NotifyError::Blocked(e)) => (
                Delivery::Refused { error: e.clone() },
                format!(
                    "{to}: refused ({e}); the contact method is marked failing and the next rule goes now"
                ),
            ),
        };
        log_delivery(method.channel, &items, &delivery);
        count_delivery(method.channel, &delivery, provider_error);
        Ok(SentGroup {
            items,
            delivery,
            line,
        })
    }

    /// One incident as a message shows it. E-mails also get the trigger's details and
    /// links; e-mails and pushes get one-click links signed for the person paged.
    async fn page_item(
        &self,
        item: &OutboxItem,
        channel: Channel,
        now: Timestamp,
    ) -> Result<Option<PageItem>, EngineError> {
        let (Some(number), Some(incident)) = (item.number, item.incident) else {
            return Ok(None);
        };
        let base = self.config.public_url.trim_end_matches('/');
        let mut page = PageItem {
            id: incident.to_string(),
            number,
            summary: item.summary.clone(),
            service: item.service.clone(),
            severity: item.severity.clone(),
            urgency: item.urgency.clone(),
            url: format!("{base}/incidents/{number}"),
            details: None,
            links: Vec::new(),
            ack_url: None,
            resolve_url: None,
            runbook: None,
            signed: Vec::new(),
            server: base.to_owned(),
        };
        // What to do, on every channel that can carry a link; e-mails also show the
        // trigger's details and links. The incident is read once for both.
        // Only e-mail needs it to be sent at all: others go without a runbook.
        let full = match channel {
            Channel::Voice => None,
            Channel::Email => Some(self.store.incident(IncidentRef::Id(incident)).await?),
            _ => match self.store.incident(IncidentRef::Id(incident)).await {
                Ok(found) => Some(found),
                Err(e) => {
                    tracing::warn!(error = %e, %incident, "the incident could not be read; the message goes without its runbook");
                    None
                }
            },
        };
        if let Some(full) = &full {
            page.runbook = self.runbook_of(full).await;
        }
        // Mattermost does not sign its callbacks: its buttons carry tokens onduty signed.
        if channel == Channel::Mattermost {
            let key = self.link_key().await?;
            page.signed = signed_buttons(&key, ChatPlatform::Mattermost, incident, now);
        }
        if !matches!(channel, Channel::Email | Channel::Ntfy | Channel::WebPush) {
            return Ok(Some(page));
        }
        if let (Channel::Email, Some(full)) = (channel, &full) {
            page.details = full.details.alert().and_then(|a| a.custom_details.clone());
            page.links = full
                .details
                .links
                .iter()
                .map(|l| Link {
                    href: l.href.clone(),
                    text: l.text.clone(),
                })
                .collect();
        }
        let key = self.link_key().await?;
        let expires = now.saturating_add(LINK_LIFETIME);
        let url = |action| {
            let token = link_token(
                &key,
                &LinkGrant {
                    incident,
                    user: item.user,
                    action,
                    expires,
                    from: match channel {
                        Channel::Ntfy | Channel::WebPush => LinkOrigin::Push,
                        _ => LinkOrigin::Email,
                    },
                },
            );
            format!("{base}/actions/{token}")
        };
        page.ack_url = Some(url(LinkAction::Acknowledge));
        page.resolve_url = Some(url(LinkAction::Resolve));
        Ok(Some(page))
    }

    pub(crate) async fn link_key(&self) -> Result<Arc<Vec<u8>>, EngineError> {
        let key = self
            .link_key
            .get_or_try_init(|| async { self.store.server_key(LINK_KEY).await.map(Arc::new) })
            .await?;
        Ok(key.clone())
    }
}

/// Waits between attempts at a message: 30 s, 1, 2, 4 minutes.
pub(crate) fn backoff(attempts: i64) -> Duration {
    let exp = u32::try_from(attempts.clamp(1, 5) - 1).unwrap_or(0);
    Duration::from_secs(30 * 2u64.pow(exp))
}

#[cfg(test)]
mod tests;

/// Counts a message by channel and outcome, and the provider's error by its kind.
fn count_delivery(channel: Channel, delivery: &Delivery, provider_error: Option<&'static str>) {
    let outcome = match delivery {
        Delivery::Sent { .. } => "sent",
        Delivery::Retry {
            retry_at: Some(_), ..
        } => "retrying",
        Delivery::Retry { retry_at: None, .. } => "gave_up",
        Delivery::Refused { .. } => "refused",
    };
    let channel = channel.as_str();
    metrics::counter!(m::PAGES, "channel" => channel, "outcome" => outcome).increment(1);
    if let Some(kind) = provider_error {
        metrics::counter!(m::PROVIDER_ERRORS, "channel" => channel, "kind" => kind).increment(1);
    }
}

/// One log line per message: the channel, whose it is and the incidents, never the
/// address or the message (a webhook's URL may hold a token).
fn log_delivery(channel: Channel, items: &[OutboxItem], delivery: &Delivery) {
    let person = items[0].user_name.as_str();
    let incidents: Vec<i64> = items.iter().filter_map(|i| i.number).collect();
    let channel = channel.label();
    match delivery {
        Delivery::Sent { .. } => {
            tracing::info!(channel, person, ?incidents, "message sent")
        }
        Delivery::Retry {
            error,
            retry_at: Some(_),
        } => {
            tracing::warn!(channel, person, ?incidents, error = %error, "message not sent; trying again")
        }
        Delivery::Retry {
            error,
            retry_at: None,
        } => {
            tracing::error!(channel, person, ?incidents, error = %error, "message not sent; gave up")
        }
        Delivery::Refused { error } => {
            tracing::error!(channel, person, ?incidents, error = %error, "message refused by the provider")
        }
    }
}
