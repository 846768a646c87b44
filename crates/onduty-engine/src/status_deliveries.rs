//! The subscribers' outbox: what status pages tell their subscribers, sent and retried.
//! Load the due deliveries and what they tell (each page as its readers now see it, the
//! public incidents); plan each message (pure: the e-mail's words, or Statuspage's
//! webhook payload); claim them for a while, so no other tick sends them meanwhile; send
//! them, each subscriber's in the order they were queued and several subscribers at once,
//! each result recorded as it comes. A tick waits for the sends only so long: a slow
//! receiver finishes in the background and never holds up paging.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use jiff::tz::TimeZone;
use onduty_core::contact::Channel;
use onduty_core::status_page::{MaintenanceStatus, Stage};
use onduty_core::subscriber::Subscription;
use onduty_core::{StatusIncidentId, StatusPageId, SubscriberId, Timestamp};
use onduty_notify::{Bulletin, Content, NotifyError, Outgoing, Providers};
use onduty_statuspage::{ComponentChange, Snapshot, public_address};
use onduty_store::status_pages::StatusIncident;
use onduty_store::status_subscribers::{DeliveryResult, DueDelivery, Telling};
use onduty_store::{Store, StoreError};

use crate::outbox::{MAX_ATTEMPTS, backoff};
use crate::{Engine, EngineError};

/// Deliveries looked at per tick.
const BATCH: u32 = 200;
/// Subscribers sent to at the same time.
const SENDS_AT_ONCE: usize = 16;
/// How long a tick waits for its sends; the rest finish on their own.
const TICK_BUDGET: Duration = Duration::from_secs(2);
/// How long claimed deliveries are left to their sends before they are due again (a
/// crash mid-send sends them again then: delivery is at least once).
const CLAIMED_FOR: Duration = Duration::from_secs(120);

pub(crate) async fn run(engine: &Engine, now: Timestamp) -> Result<usize, EngineError> {
    let due = engine.store.due_status_deliveries(now, BATCH).await?;
    if due.is_empty() {
        return Ok(0);
    }
    // Load: each page once, each incident once. One that cannot be read fails only its
    // own deliveries, tried again later.
    let mut pages: HashMap<StatusPageId, Result<Snapshot, String>> = HashMap::new();
    let mut incidents: HashMap<StatusIncidentId, StatusIncident> = HashMap::new();
    let mut unreadable: HashMap<StatusIncidentId, String> = HashMap::new();
    for d in &due {
        if let std::collections::hash_map::Entry::Vacant(slot) = pages.entry(d.subscriber.page) {
            slot.insert(load_page(&engine.store, d.subscriber.page, now).await);
        }
        if let Telling::Update { incident, .. } = d.telling
            && !incidents.contains_key(&incident)
            && !unreadable.contains_key(&incident)
        {
            match engine.store.status_incident(incident).await {
                Ok(mut i) => {
                    i.stage = i.stage_at(now);
                    incidents.insert(incident, i);
                }
                Err(StoreError::NotFound(_)) => {}
                Err(e) => {
                    unreadable.insert(incident, e.to_string());
                }
            }
        }
    }
    // Plan.
    let base = &engine.config.public_url;
    let mut by_subscriber: BTreeMap<SubscriberId, Vec<(&DueDelivery, Planned)>> = BTreeMap::new();
    for d in &due {
        let planned = match (&pages[&d.subscriber.page], &d.telling) {
            (Err(why), _) => Planned::Later(why.clone()),
            (_, Telling::Update { incident, .. }) if unreadable.contains_key(incident) => {
                Planned::Later(unreadable[incident].clone())
            }
            (Ok(page), _) => match message(d, page, &incidents, base, now) {
                Ok(message) => Planned::Send(Box::new(message)),
                Err(why) => Planned::Never(why),
            },
        };
        by_subscriber
            .entry(d.subscriber.id)
            .or_default()
            .push((d, planned));
    }
    // Apply: claim, then send each subscriber's in turn.
    let ids: Vec<String> = due.iter().map(|d| d.id.clone()).collect();
    engine
        .store
        .claim_status_deliveries(&ids, now.saturating_add(CLAIMED_FOR))
        .await?;
    let mut queues: Vec<Vec<(String, i64, Planned)>> = by_subscriber
        .into_values()
        .map(|mut queue| {
            queue.sort_by(|a, b| (a.0.created_at, &a.0.id).cmp(&(b.0.created_at, &b.0.id)));
            queue
                .into_iter()
                .map(|(d, planned)| (d.id.clone(), d.attempts, planned))
                .collect()
        })
        .collect();
    let limit = std::sync::Arc::new(tokio::sync::Semaphore::new(SENDS_AT_ONCE));
    let mut sending = tokio::task::JoinSet::new();
    for queue in queues.drain(..) {
        let (store, providers, limit) = (
            engine.store.clone(),
            engine.providers.clone(),
            limit.clone(),
        );
        sending.spawn(async move {
            let Ok(_turn) = limit.acquire_owned().await else {
                return;
            };
            send_in_turn(&store, &providers, queue, now).await;
        });
    }
    // Wait a little; what is still sending records itself when done.
    let _ = tokio::time::timeout(TICK_BUDGET, async {
        while sending.join_next().await.is_some() {}
    })
    .await;
    sending.detach_all();
    Ok(due.len())
}

/// What to do with one delivery.
enum Planned {
    Send(Box<Outgoing>),
    /// What it tells cannot be read now: tried again later.
    Later(String),
    /// What it told is gone: given up.
    Never(String),
}

async fn load_page(store: &Store, page: StatusPageId, now: Timestamp) -> Result<Snapshot, String> {
    let page = store.status_page(page).await.map_err(|e| e.to_string())?;
    Snapshot::load(store, page, now)
        .await
        .map_err(|e| e.to_string())
}

/// Sends one subscriber's deliveries one after the other, recording each.
async fn send_in_turn(
    store: &Store,
    providers: &Providers,
    queue: Vec<(String, i64, Planned)>,
    now: Timestamp,
) {
    for (id, attempts, planned) in queue {
        let result = match planned {
            Planned::Send(message) => match providers.send(&message).await {
                Ok(_) => DeliveryResult::Sent,
                Err(e) => failed(e, attempts + 1, now),
            },
            Planned::Later(why) => failed(NotifyError::Transient(why), attempts + 1, now),
            Planned::Never(why) => DeliveryResult::Failed {
                error: why,
                retry_at: None,
            },
        };
        if let DeliveryResult::Failed { retry_at, .. } = &result {
            // The error stays with the delivery, for admins: a mail server's refusal can
            // quote the address.
            tracing::warn!(delivery = %id, retrying = retry_at.is_some(), "a status page's subscriber was not reached");
        }
        if let Err(e) = store
            .record_status_deliveries(&[(id.clone(), result)], now)
            .await
        {
            tracing::error!(delivery = %id, error = %e, "a subscriber's delivery could not be recorded; it is sent again later");
        }
    }
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
        // Asked again by someone subscribed already: their links, again.
        Telling::Confirm if d.subscriber.confirmed_at.is_some() => Bulletin {
            subject: format!("Your subscription to {name}'s status"),
            text: format!(
                "Someone, we hope you, asked again to be told by e-mail when {name}'s status \
                 page has news. You are subscribed already; nothing changed.\n\n\
                 To see or end your subscription:\n{links}"
            ),
            unsubscribe: Some(unsubscribe.clone()),
            payload: None,
        },
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
            change,
            component,
            old,
            new,
            at,
        } => {
            let change = ComponentChange {
                id: change.to_string(),
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
