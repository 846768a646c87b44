//! Subscribers of a public status page and their outbox. E-mail subscribers are kept
//! unconfirmed until they follow the link in the confirmation mail; webhooks are added by
//! an admin. What a page tells is queued for each subscriber who hears of it
//! (`onduty_core::subscriber::hears`) in the same transaction as the news itself, and the
//! engine sends it, retrying.

use onduty_core::status_page::ComponentStatus;
use onduty_core::subscriber::{CONFIRM_AGAIN_AFTER_MS, News, SubscriberToken, Subscription, hears};
use onduty_core::{
    ComponentChangeId, ComponentId, StatusIncidentId, StatusPageId, StatusUpdateId, SubscriberId,
    Timestamp,
};
use sqlx::any::AnyRow;

use crate::sql::{Val, col, execute_writes, multi_row, parse_col};
use crate::status_components::Tx;
use crate::{Backend, Store, StoreError, begin};

/// A subscriber as onduty keeps it. The secret and token are not shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct Subscriber {
    pub id: SubscriberId,
    pub page: StatusPageId,
    pub subscription: Subscription,
    /// A webhook's signing secret.
    pub secret: Option<String>,
    pub token: SubscriberToken,
    pub created_at: Timestamp,
    pub confirmed_at: Option<Timestamp>,
    /// The components chosen; none: the whole page.
    pub components: Vec<ComponentId>,
}

impl std::fmt::Debug for Subscriber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscriber")
            .field("id", &self.id)
            .field("page", &self.page)
            .field("kind", &self.subscription.kind())
            .field("confirmed_at", &self.confirmed_at)
            .field("components", &self.components)
            .finish_non_exhaustive()
    }
}

/// A subscriber to add.
pub struct NewSubscriber {
    pub page: StatusPageId,
    pub subscription: Subscription,
    pub secret: Option<String>,
    pub token: SubscriberToken,
    pub components: Vec<ComponentId>,
    /// Confirmed at once (a webhook an admin adds), or waiting for the person.
    pub confirmed: bool,
}

/// What asking to subscribe did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscribed {
    /// A new subscriber; a confirmation is queued when it waits for one.
    New(SubscriberId),
    /// Not confirmed yet: the confirmation is queued again (at most once an hour), with
    /// the components now chosen.
    AskedAgain { queued: bool },
    /// Subscribed already; nothing changes (an e-mail subscriber is sent a reminder of
    /// their links, at most once an hour, so that asking takes the same path either way).
    Already,
}

/// What a delivery tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Telling {
    /// The mail asking a person to confirm.
    Confirm,
    /// An update posted on a public incident or maintenance.
    Update {
        incident: StatusIncidentId,
        update: StatusUpdateId,
    },
    /// A component's new state.
    Component {
        change: ComponentChangeId,
        component: ComponentId,
        old: ComponentStatus,
        new: ComponentStatus,
        at: Timestamp,
    },
}

/// A message due to a subscriber.
#[derive(Debug, Clone)]
pub struct DueDelivery {
    /// Names the subscriber and what is told: the idempotency key of every attempt.
    pub id: String,
    pub subscriber: Subscriber,
    pub telling: Telling,
    pub attempts: i64,
    /// When it was queued: a subscriber's deliveries go in this order.
    pub created_at: Timestamp,
}

/// How sending a delivery went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryResult {
    Sent,
    /// Tried again at `retry_at`, or given up (`None`).
    Failed {
        error: String,
        retry_at: Option<Timestamp>,
    },
}

const SUBSCRIBER_COLUMNS: &str = "SELECT id, page_id, kind, address, secret, token, created_at, \
     confirmed_at FROM status_subscribers";

fn subscriber_from_row(row: &AnyRow, prefix: &str) -> Result<Subscriber, StoreError> {
    let c = |name: &str| format!("{prefix}{name}");
    let kind: String = col(row, &c("kind"))?;
    let address: String = col(row, &c("address"))?;
    let token: String = col(row, &c("token"))?;
    Ok(Subscriber {
        id: parse_col(row, &c("id"), str::parse)?,
        page: parse_col(row, &c("page_id"), str::parse)?,
        subscription: Subscription::parse(&kind, &address).map_err(StoreError::corrupt)?,
        secret: col(row, &c("secret"))?,
        token: SubscriberToken::parse(&token)
            .ok_or_else(|| StoreError::corrupt("a subscriber's token is not one"))?,
        created_at: Timestamp::from_millis(col(row, &c("created_at"))?),
        confirmed_at: col::<Option<i64>>(row, &c("confirmed_at"))?.map(Timestamp::from_millis),
        components: Vec::new(),
    })
}

impl Store {
    /// Adds a subscriber, or, for an address subscribed already, says so (a person who
    /// has not confirmed yet is sent the confirmation again, at most once an hour).
    pub async fn subscribe(
        &self,
        new: &NewSubscriber,
        now: Timestamp,
    ) -> Result<Subscribed, StoreError> {
        let d = self.backend;
        let mut conn = self.write_conn().await?;
        let mut tx = begin(&mut conn, d).await?;
        forget_unconfirmed(&mut tx, new.page, now).await?;
        let known = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SUBSCRIBER_COLUMNS} WHERE page_id = $1 AND kind = $2 AND address = $3"
        )))
        .bind(new.page.to_string())
        .bind(new.subscription.kind())
        .bind(new.subscription.address().to_owned())
        .fetch_optional(&mut *tx)
        .await?;
        let said = match known {
            Some(row) => {
                let known = subscriber_from_row(&row, "")?;
                let confirmed = known.confirmed_at.is_some();
                if confirmed && matches!(known.subscription, Subscription::Webhook(_)) {
                    return Ok(Subscribed::Already);
                }
                let last: Option<i64> = sqlx::query_scalar(
                    "SELECT MAX(created_at) FROM status_deliveries \
                     WHERE subscriber_id = $1 AND kind = 'confirm'",
                )
                .bind(known.id.to_string())
                .fetch_one(&mut *tx)
                .await?;
                let queued = last.is_none_or(|t| now.as_millis() - t >= CONFIRM_AGAIN_AFTER_MS);
                if !confirmed {
                    set_components(&mut tx, d, known.id, &new.components).await?;
                }
                if queued {
                    queue_confirmation(&mut tx, known.id, now).await?;
                }
                if confirmed {
                    Subscribed::Already
                } else {
                    Subscribed::AskedAgain { queued }
                }
            }
            None => {
                let id = SubscriberId::new(now);
                let inserted = sqlx::query(
                    "INSERT INTO status_subscribers (id, page_id, kind, address, secret, token, \
                     created_at, confirmed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
                     ON CONFLICT (page_id, kind, address) DO NOTHING",
                )
                .bind(id.to_string())
                .bind(new.page.to_string())
                .bind(new.subscription.kind())
                .bind(new.subscription.address().to_owned())
                .bind(new.secret.clone())
                .bind(new.token.as_str().to_owned())
                .bind(now.as_millis())
                .bind(new.confirmed.then_some(now.as_millis()))
                .execute(&mut *tx)
                .await?;
                if inserted.rows_affected() == 0 {
                    // Another request added the same address a moment ago, and queued
                    // what it needs.
                    return Ok(Subscribed::Already);
                }
                set_components(&mut tx, d, id, &new.components).await?;
                if !new.confirmed {
                    queue_confirmation(&mut tx, id, now).await?;
                }
                Subscribed::New(id)
            }
        };
        tx.commit().await?;
        Ok(said)
    }

    /// The subscriber whose link holds `token`.
    pub async fn subscriber_by_token(
        &self,
        token: &SubscriberToken,
    ) -> Result<Subscriber, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SUBSCRIBER_COLUMNS} WHERE token = $1"
        )))
        .bind(token.as_str().to_owned())
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StoreError::NotFound("subscription (it may have ended)".to_owned()))?;
        let mut s = subscriber_from_row(&row, "")?;
        s.components = self.subscriber_components(s.id).await?;
        Ok(s)
    }

    pub async fn subscriber(&self, id: SubscriberId) -> Result<Subscriber, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SUBSCRIBER_COLUMNS} WHERE id = $1"
        )))
        .bind(id.to_string())
        .fetch_optional(&self.read)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("subscriber {id}")))?;
        let mut s = subscriber_from_row(&row, "")?;
        s.components = self.subscriber_components(s.id).await?;
        Ok(s)
    }

    /// The person followed the confirmation link: news reaches them from now on.
    pub async fn confirm_subscriber(
        &self,
        token: &SubscriberToken,
        now: Timestamp,
    ) -> Result<Subscriber, StoreError> {
        let mut conn = self.write_conn().await?;
        sqlx::query(
            "UPDATE status_subscribers SET confirmed_at = $2 WHERE token = $1 AND confirmed_at IS NULL",
        )
        .bind(token.as_str().to_owned())
        .bind(now.as_millis())
        .execute(&mut *conn)
        .await?;
        drop(conn);
        self.subscriber_by_token(token).await
    }

    /// Ends a subscription: the subscriber and whatever was still to be sent to them go.
    pub async fn unsubscribe(&self, token: &SubscriberToken) -> Result<Subscriber, StoreError> {
        let subscriber = self.subscriber_by_token(token).await?;
        self.remove_subscriber(subscriber.id).await?;
        Ok(subscriber)
    }

    pub async fn remove_subscriber(&self, id: SubscriberId) -> Result<(), StoreError> {
        let mut conn = self.write_conn().await?;
        let mut tx = begin(&mut conn, self.backend).await?;
        for sql in [
            "DELETE FROM status_deliveries WHERE subscriber_id = $1",
            "DELETE FROM status_subscriber_components WHERE subscriber_id = $1",
        ] {
            sqlx::query(sql)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
        }
        let gone = sqlx::query("DELETE FROM status_subscribers WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        if gone.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("subscriber {id}")));
        }
        tx.commit().await?;
        Ok(())
    }

    /// A page's subscribers, confirmed or not, oldest first (for its admins).
    pub async fn subscribers(&self, page: StatusPageId) -> Result<Vec<Subscriber>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SUBSCRIBER_COLUMNS} WHERE page_id = $1 ORDER BY created_at, id"
        )))
        .bind(page.to_string())
        .fetch_all(&self.read)
        .await?;
        let chosen = sqlx::query(
            "SELECT sc.subscriber_id, sc.component_id FROM status_subscriber_components sc \
             JOIN status_subscribers s ON s.id = sc.subscriber_id WHERE s.page_id = $1 \
             ORDER BY sc.component_id",
        )
        .bind(page.to_string())
        .fetch_all(&self.read)
        .await?;
        let mut components: std::collections::HashMap<SubscriberId, Vec<ComponentId>> =
            std::collections::HashMap::new();
        for row in &chosen {
            components
                .entry(parse_col(row, "subscriber_id", str::parse)?)
                .or_default()
                .push(parse_col(row, "component_id", str::parse)?);
        }
        rows.iter()
            .map(|row| {
                let mut s = subscriber_from_row(row, "")?;
                s.components = components.remove(&s.id).unwrap_or_default();
                Ok(s)
            })
            .collect()
    }

    async fn subscriber_components(
        &self,
        id: SubscriberId,
    ) -> Result<Vec<ComponentId>, StoreError> {
        let rows = sqlx::query(
            "SELECT component_id FROM status_subscriber_components WHERE subscriber_id = $1 \
             ORDER BY component_id",
        )
        .bind(id.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| parse_col(r, "component_id", str::parse))
            .collect()
    }

    /// Deliveries due at `now`, oldest first.
    pub async fn due_status_deliveries(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let rows = sqlx::query(
            "SELECT d.id AS d_id, d.kind AS d_kind, d.status_incident_id, d.update_id, \
             d.component_id, d.change_id, d.old_status, d.new_status, d.created_at AS d_created_at, \
             d.attempts, s.id AS s_id, s.page_id AS s_page_id, s.kind AS s_kind, \
             s.address AS s_address, s.secret AS s_secret, s.token AS s_token, \
             s.created_at AS s_created_at, s.confirmed_at AS s_confirmed_at \
             FROM status_deliveries d JOIN status_subscribers s ON s.id = d.subscriber_id \
             WHERE d.status = 'pending' AND d.next_attempt_at <= $1 \
             ORDER BY d.next_attempt_at, d.id LIMIT $2",
        )
        .bind(now.as_millis())
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        let mut due = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: String = col(row, "d_id")?;
            match delivery_from_row(row) {
                Ok(d) => due.push(d),
                Err(e) => {
                    // One unreadable row does not stop the others: it is set aside.
                    tracing::error!(delivery = %id, error = %e, "a subscriber's delivery cannot be read; set aside");
                    let mut conn = self.write_conn().await?;
                    sqlx::query(
                        "UPDATE status_deliveries SET status = 'failed', \
                         last_error = 'onduty could not read this delivery', next_attempt_at = NULL \
                         WHERE id = $1",
                    )
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                }
            }
        }
        Ok(due)
    }

    /// Claims deliveries about to be sent until `until`: no tick takes them meanwhile.
    pub async fn claim_status_deliveries(
        &self,
        ids: &[String],
        until: Timestamp,
    ) -> Result<(), StoreError> {
        let d = self.backend;
        let writes = ids
            .chunks(500)
            .map(|chunk| {
                let mut values = vec![Val::Int(until.as_millis())];
                values.extend(chunk.iter().map(|id| Val::Text(id.clone())));
                crate::sql::write(
                    d,
                    &format!(
                        "UPDATE status_deliveries SET next_attempt_at = ? \
                         WHERE status = 'pending' AND id IN ({})",
                        vec!["?"; chunk.len()].join(",")
                    ),
                    values,
                )
            })
            .collect();
        let mut conn = self.write_conn().await?;
        let mut tx = begin(&mut conn, d).await?;
        execute_writes(&mut tx, d, writes).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Records how each delivery went, in one transaction.
    pub async fn record_status_deliveries(
        &self,
        results: &[(String, DeliveryResult)],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if results.is_empty() {
            return Ok(());
        }
        let mut conn = self.write_conn().await?;
        let mut tx = begin(&mut conn, self.backend).await?;
        for (id, result) in results {
            let query = match result {
                DeliveryResult::Sent => sqlx::query(
                    "UPDATE status_deliveries SET status = 'sent', sent_at = $2, \
                     attempts = attempts + 1, next_attempt_at = NULL, last_error = NULL WHERE id = $1",
                )
                .bind(id.clone())
                .bind(now.as_millis()),
                DeliveryResult::Failed { error, retry_at } => sqlx::query(
                    "UPDATE status_deliveries SET status = $2, attempts = attempts + 1, \
                     next_attempt_at = $3, last_error = $4 WHERE id = $1",
                )
                .bind(id.clone())
                .bind(if retry_at.is_some() { "pending" } else { "failed" })
                .bind(retry_at.map(|t| t.as_millis()))
                .bind(error.chars().take(500).collect::<String>()),
            };
            query.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// When the next subscriber's delivery falls due.
    pub async fn next_status_delivery(&self) -> Result<Option<Timestamp>, StoreError> {
        let next: Option<i64> = sqlx::query_scalar(
            "SELECT MIN(next_attempt_at) FROM status_deliveries WHERE status = 'pending'",
        )
        .fetch_one(&self.read)
        .await?;
        Ok(next.map(Timestamp::from_millis))
    }

    /// How deliveries to a subscriber went: sent, waiting, failed (for its admins).
    pub async fn subscriber_deliveries(
        &self,
        id: SubscriberId,
    ) -> Result<Vec<(String, String, Option<String>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, status, last_error FROM status_deliveries WHERE subscriber_id = $1 \
             ORDER BY created_at, id",
        )
        .bind(id.to_string())
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| Ok((col(r, "id")?, col(r, "status")?, col(r, "last_error")?)))
            .collect()
    }
}

fn delivery_from_row(row: &AnyRow) -> Result<DueDelivery, StoreError> {
    let kind: String = col(row, "d_kind")?;
    let telling = match kind.as_str() {
        "confirm" => Telling::Confirm,
        "incident" => Telling::Update {
            incident: parse_col(row, "status_incident_id", str::parse)?,
            update: parse_col(row, "update_id", str::parse)?,
        },
        "component" => Telling::Component {
            change: parse_col(row, "change_id", str::parse)?,
            component: parse_col(row, "component_id", str::parse)?,
            old: parse_col(row, "old_status", ComponentStatus::parse)?,
            new: parse_col(row, "new_status", ComponentStatus::parse)?,
            at: Timestamp::from_millis(col(row, "d_created_at")?),
        },
        other => return Err(StoreError::corrupt(format!("delivery kind '{other}'"))),
    };
    Ok(DueDelivery {
        id: col(row, "d_id")?,
        subscriber: subscriber_from_row(row, "s_")?,
        telling,
        attempts: col(row, "attempts")?,
        created_at: Timestamp::from_millis(col(row, "d_created_at")?),
    })
}

/// Addresses never confirmed are forgotten after [`FORGET_UNCONFIRMED_AFTER_MS`] (when
/// the page is next asked to subscribe someone), with what waited for them.
async fn forget_unconfirmed(
    tx: &mut Tx<'_>,
    page: StatusPageId,
    now: Timestamp,
) -> Result<(), StoreError> {
    let before = now.as_millis() - FORGET_UNCONFIRMED_AFTER_MS;
    let old = "SELECT id FROM status_subscribers WHERE page_id = $1 AND confirmed_at IS NULL \
               AND created_at < $2";
    for table in ["status_deliveries", "status_subscriber_components"] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE subscriber_id IN ({old})"
        )))
        .bind(page.to_string())
        .bind(before)
        .execute(&mut **tx)
        .await?;
    }
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DELETE FROM status_subscribers WHERE id IN ({old})"
    )))
    .bind(page.to_string())
    .bind(before)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// How long an address that was never confirmed is kept.
pub const FORGET_UNCONFIRMED_AFTER_MS: i64 = 7 * 24 * 3_600_000;

async fn set_components(
    tx: &mut Tx<'_>,
    d: Backend,
    id: SubscriberId,
    components: &[ComponentId],
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM status_subscriber_components WHERE subscriber_id = $1")
        .bind(id.to_string())
        .execute(&mut **tx)
        .await?;
    let rows = components
        .iter()
        .map(|c| vec![Val::Text(id.to_string()), Val::Text(c.to_string())])
        .collect();
    execute_writes(
        tx,
        d,
        multi_row(
            d,
            "INSERT INTO status_subscriber_components (subscriber_id, component_id)",
            "ON CONFLICT DO NOTHING",
            rows,
        ),
    )
    .await
}

async fn queue_confirmation(
    tx: &mut Tx<'_>,
    id: SubscriberId,
    now: Timestamp,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO status_deliveries (id, subscriber_id, kind, status, attempts, \
         next_attempt_at, created_at) VALUES ($1, $2, 'confirm', 'pending', 0, $3, $3)",
    )
    .bind(format!("{id}.confirm.{}", now.as_millis()))
    .bind(id.to_string())
    .bind(now.as_millis())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Queues `news` of `page` for every confirmed subscriber who hears of it, inside the
/// transaction that makes the news.
pub(crate) async fn queue_news(
    tx: &mut Tx<'_>,
    d: Backend,
    page: StatusPageId,
    news: &News<'_>,
    telling: &Telling,
    now: Timestamp,
) -> Result<(), StoreError> {
    let rows = sqlx::query(
        "SELECT s.id, s.kind, sc.component_id FROM status_subscribers s \
         LEFT JOIN status_subscriber_components sc ON sc.subscriber_id = s.id \
         WHERE s.page_id = $1 AND s.confirmed_at IS NOT NULL ORDER BY s.id",
    )
    .bind(page.to_string())
    .fetch_all(&mut **tx)
    .await?;
    // Each subscriber with the components it chose.
    let mut subscribers: Vec<(String, String, Vec<ComponentId>)> = Vec::new();
    for row in &rows {
        let id: String = col(row, "id")?;
        let chosen: Option<ComponentId> = crate::sql::opt_id(row, "component_id")?;
        match subscribers.last_mut() {
            Some((last, _, components)) if *last == id => components.extend(chosen),
            _ => subscribers.push((id, col(row, "kind")?, chosen.into_iter().collect())),
        }
    }
    // What is told: its kind, the id naming it in the delivery's, and its columns.
    let (kind, what, incident, update, component, change, old, new) = match telling {
        Telling::Confirm => return Ok(()),
        Telling::Update { incident, update } => (
            "incident",
            update.to_string(),
            Some(incident.to_string()),
            Some(update.to_string()),
            None,
            None,
            None,
            None,
        ),
        Telling::Component {
            change,
            component,
            old,
            new,
            ..
        } => (
            "component",
            change.to_string(),
            None,
            None,
            Some(component.to_string()),
            Some(change.to_string()),
            Some(old.as_str().to_owned()),
            Some(new.as_str().to_owned()),
        ),
    };
    let values: Vec<Vec<Val>> = subscribers
        .iter()
        .filter(|(_, sub_kind, chosen)| hears(sub_kind, chosen, news))
        .map(|(id, _, _)| {
            vec![
                Val::Text(format!("{id}.{what}")),
                Val::Text(id.clone()),
                Val::Text(kind.to_owned()),
                Val::OptText(incident.clone()),
                Val::OptText(update.clone()),
                Val::OptText(component.clone()),
                Val::OptText(change.clone()),
                Val::OptText(old.clone()),
                Val::OptText(new.clone()),
                Val::Text("pending".to_owned()),
                Val::Int(0),
                Val::Int(now.as_millis()),
                Val::Int(now.as_millis()),
            ]
        })
        .collect();
    execute_writes(
        tx,
        d,
        multi_row(
            d,
            "INSERT INTO status_deliveries (id, subscriber_id, kind, status_incident_id, \
             update_id, component_id, change_id, old_status, new_status, status, attempts, \
             next_attempt_at, created_at)",
            "ON CONFLICT DO NOTHING",
            values,
        ),
    )
    .await
}

/// Queues an update just posted on a public incident for its subscribers.
pub(crate) async fn tell_update(
    tx: &mut Tx<'_>,
    d: Backend,
    page: StatusPageId,
    incident: StatusIncidentId,
    update: StatusUpdateId,
    now: Timestamp,
) -> Result<(), StoreError> {
    let rows = sqlx::query(
        "SELECT component_id FROM status_incident_components WHERE status_incident_id = $1",
    )
    .bind(incident.to_string())
    .fetch_all(&mut **tx)
    .await?;
    let components = rows
        .iter()
        .map(|r| parse_col(r, "component_id", str::parse))
        .collect::<Result<Vec<ComponentId>, StoreError>>()?;
    let news = News::Update {
        components: &components,
    };
    queue_news(
        tx,
        d,
        page,
        &news,
        &Telling::Update { incident, update },
        now,
    )
    .await
}

/// Queues a component's new state for the subscribers who hear of it.
pub(crate) async fn tell_component(
    tx: &mut Tx<'_>,
    d: Backend,
    page: StatusPageId,
    component: ComponentId,
    old: ComponentStatus,
    new: ComponentStatus,
    now: Timestamp,
) -> Result<(), StoreError> {
    let telling = Telling::Component {
        change: ComponentChangeId::new(now),
        component,
        old,
        new,
        at: now,
    };
    queue_news(tx, d, page, &News::Component(component), &telling, now).await
}
