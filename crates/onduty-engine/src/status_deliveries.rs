//! The subscribers' outbox: what status pages tell their subscribers, sent and retried.
//! Load the due deliveries and what they tell (each page as its readers now see it, the
//! public incidents); plan each message (pure: the e-mail's words, or Statuspage's
//! webhook payload); send them, several at a time; record how each went in one
//! transaction.

use std::collections::HashMap;

use futures::StreamExt;
use jiff::tz::TimeZone;
use onduty_core::contact::Channel;
use onduty_core::status_page::{MaintenanceStatus, Stage};
use onduty_core::subscriber::Subscription;
use onduty_core::{StatusIncidentId, StatusPageId, Timestamp};
use onduty_notify::{Bulletin, Content, NotifyError, Outgoing};
use onduty_statuspage::{ComponentChange, Snapshot, public_address};
use onduty_store::StoreError;
use onduty_store::status_pages::StatusIncident;
use onduty_store::status_subscribers::{DeliveryResult, DueDelivery, Telling};

use crate::outbox::{MAX_ATTEMPTS, backoff};
use crate::{BATCH, Engine, EngineError};

/// Deliveries sent at the same time.
const SENDS_AT_ONCE: usize = 16;

pub(crate) async fn run(engine: &Engine, now: Timestamp) -> Result<usize, EngineError> {
    let due = engine.store.due_status_deliveries(now, BATCH).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let mut pages: HashMap<StatusPageId, Snapshot> = HashMap::new();
    let mut incidents: HashMap<StatusIncidentId, StatusIncident> = HashMap::new();
    for d in &due {
        if let std::collections::hash_map::Entry::Vacant(slot) = pages.entry(d.subscriber.page) {
            let page = engine.store.status_page(d.subscriber.page).await?;
            slot.insert(Snapshot::load(&engine.store, page, now).await?);
        }
        if let Telling::Update { incident, .. } = d.telling
            && !incidents.contains_key(&incident)
        {
            match engine.store.status_incident(incident).await {
                Ok(i) => {
                    incidents.insert(incident, i);
                }
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let base = &engine.config.public_url;
    let planned: Vec<(String, i64, Result<Outgoing, String>)> = due
        .iter()
        .map(|d| {
            let message = match pages.get(&d.subscriber.page) {
                Some(page) => message(d, page, &incidents, base, now),
                None => Err("the status page is gone".to_owned()),
            };
            (d.id.clone(), d.attempts, message)
        })
        .collect();
    let results: Vec<(String, DeliveryResult)> = futures::stream::iter(planned)
        .map(|(id, attempts, message)| async move {
            let result = match message {
                Ok(message) => match engine.providers.send(&message).await {
                    Ok(_) => DeliveryResult::Sent,
                    Err(e) => failed(e, attempts + 1, now),
                },
                Err(why) => DeliveryResult::Failed {
                    error: why,
                    retry_at: None,
                },
            };
            if let DeliveryResult::Failed { error, retry_at } = &result {
                tracing::warn!(delivery = %id, %error, retrying = retry_at.is_some(), "a status page's subscriber was not reached");
            }
            (id, result)
        })
        .buffer_unordered(SENDS_AT_ONCE)
        .collect()
        .await;
    engine.store.record_status_deliveries(&results, now).await?;
    Ok(due.len())
}

/// A failed send: tried again later if the failure may pass, else given up.
fn failed(e: NotifyError, attempts: i64, now: Timestamp) -> DeliveryResult {
    let retry_at = (e.is_transient() && attempts < MAX_ATTEMPTS)
        .then(|| now.saturating_add(backoff(attempts)));
    DeliveryResult::Failed {
        error: e.to_string(),
        retry_at,
    }
}

/// The message for one delivery, or why there is none to send.
pub(crate) fn message(
    d: &DueDelivery,
    page: &Snapshot,
    incidents: &HashMap<StatusIncidentId, StatusIncident>,
    base: &str,
    now: Timestamp,
) -> Result<Outgoing, String> {
    let url = public_address(base, &page.page);
    let links = format!("{url}/subscriptions/{}", d.subscriber.token.as_str());
    let unsubscribe = format!("{url}/unsubscribe/{}", d.subscriber.token.as_str());
    let name = &page.page.name;
    let bulletin = match &d.telling {
        Telling::Confirm => Bulletin {
            subject: format!("Confirm your subscription to {name}'s status"),
            text: format!(
                "Someone, we hope you, asked to be told by e-mail when {name}'s status page \
                 has news.\n\nTo confirm, open this link and press Confirm:\n{links}\n\n\
                 If it was not you, do nothing: you will get no more mail from this page."
            ),
            unsubscribe: None,
            payload: None,
        },
        Telling::Update { incident, update } => {
            let incident = incidents
                .get(incident)
                .ok_or("the public incident is gone")?;
            let posted = incident
                .updates
                .iter()
                .find(|u| u.id == *update)
                .ok_or("the update is gone")?;
            let tz = TimeZone::get(&page.page.time_zone).unwrap_or(TimeZone::UTC);
            let mut text = format!("{}: {}\n", posted.stage.label(), posted.body);
            if let (Stage::Maintenance(MaintenanceStatus::Scheduled), Some((from, until))) =
                (posted.stage, incident.scheduled)
            {
                text.push_str(&format!(
                    "\nScheduled from {} to {}.\n",
                    local(from, &tz),
                    local(until, &tz)
                ));
            }
            let named: Vec<String> = incident
                .components
                .iter()
                .filter_map(|c| page.component(*c))
                .map(|c| c.name.clone())
                .collect();
            if !named.is_empty() {
                text.push_str(&format!("\nAffects: {}\n", named.join(", ")));
            }
            text.push_str(&format!(
                "\nPosted {}.\nFollow it at {url}#incident-{}\n",
                local(posted.created_at, &tz),
                incident.id
            ));
            Bulletin {
                subject: format!("[{name}] {}: {}", incident.name, posted.stage.label()),
                text,
                unsubscribe: Some(unsubscribe.clone()),
                payload: matches!(d.subscriber.subscription, Subscription::Webhook(_))
                    .then(|| page.incident_payload(incident, &url, &unsubscribe)),
            }
        }
        Telling::Component {
            component,
            old,
            new,
            at,
        } => {
            let change = ComponentChange {
                id: d.id.clone(),
                component: *component,
                old: *old,
                new: *new,
                at: *at,
            };
            let payload = page
                .component_payload(&change, &unsubscribe)
                .ok_or("the component is gone")?;
            let component = page
                .component(*component)
                .map_or("A component", |c| &c.name);
            Bulletin {
                subject: format!("[{name}] {component}: {}", new.label()),
                text: format!("{component} is now {} (was {}).", new.label(), old.label()),
                unsubscribe: Some(unsubscribe),
                payload: Some(payload),
            }
        }
    };
    let channel = match d.subscriber.subscription {
        Subscription::Email(_) => Channel::Email,
        Subscription::Webhook(_) => Channel::Webhook,
    };
    Ok(Outgoing {
        channel,
        to: d.subscriber.subscription.address().to_owned(),
        secret: d.subscriber.secret.clone(),
        content: Content::Bulletin(bulletin),
        idempotency_key: d.id.clone(),
        at: now,
    })
}

/// "Dec 7, 2026 14:05 CET": a moment on the page's clock.
fn local(t: Timestamp, tz: &TimeZone) -> String {
    jiff::Timestamp::from_millisecond(t.as_millis())
        .map(|i| {
            i.to_zoned(tz.clone())
                .strftime("%b %-d, %Y %H:%M %Z")
                .to_string()
        })
        .unwrap_or_else(|_| t.to_rfc3339())
}
