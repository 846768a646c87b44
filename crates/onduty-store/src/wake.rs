//! Waking the paging engine when work is added: an accepted event, an escalation asked
//! for. [`Wake::notify_one`] wakes this instance's engine at once. On PostgreSQL, several
//! instances share the database and only one holds the engine lease, so a wake made by
//! [`Store::wake`] also goes to every other instance through `NOTIFY onduty_wake`, and
//! theirs come to this one: the holder hears of an event any instance accepted within
//! milliseconds, instead of at its next look at the clock.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::Notify;

use crate::{Backend, Store};

/// The PostgreSQL channel wakes travel on.
const CHANNEL: &str = "onduty_wake";

/// The least time between two `NOTIFY`s from one instance: a burst of events costs one
/// notification per this span, not one per event, and a wake is late by this at most.
const NOTIFY_GAP: Duration = Duration::from_millis(50);

/// How long to wait before listening again after the listener failed.
const RELISTEN_AFTER: Duration = Duration::from_secs(1);

/// Wakes the engine early: a new incident or an action may have made something due now.
/// The HTTP side and the engine hold clones of the same `Wake`.
#[derive(Clone, Default)]
pub struct Wake {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    /// What this instance's engine waits on.
    local: Notify,
    /// What the sender task waits on; only a wake made by [`Store::wake`] on PostgreSQL
    /// has a sender.
    outgoing: Notify,
}

impl std::fmt::Debug for Wake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Wake")
    }
}

impl Wake {
    /// Wakes this instance's engine, and every other instance's if the wake is shared.
    /// Wakes that come before the engine waits again count as one.
    pub fn notify_one(&self) {
        self.inner.local.notify_one();
        self.inner.outgoing.notify_one();
    }

    /// Waits for the next wake, from this instance or (if shared) from another.
    pub async fn notified(&self) {
        self.inner.local.notified().await
    }
}

impl Store {
    /// A wake for this instance's engine. On PostgreSQL it is shared with every instance
    /// on the database (see the module's documentation); on SQLite only one process uses
    /// the database, and this is [`Wake::default`]. Starts background tasks on the
    /// current runtime, which end with it.
    pub fn wake(&self) -> Wake {
        let wake = Wake::default();
        let Some(url) = self.listen_url.clone() else {
            return wake;
        };
        debug_assert_eq!(self.backend, Backend::Postgres);
        // Each instance signs its notifications, so that it does not wake itself twice.
        let me = uuid::Uuid::new_v4().simple().to_string();
        tokio::spawn(send(self.clone(), wake.inner.clone(), me.clone()));
        tokio::spawn(listen(url, wake.inner.clone(), me));
        wake
    }
}

/// Tells the other instances, at most once per [`NOTIFY_GAP`], that this one was woken.
async fn send(store: Store, inner: Arc<Inner>, me: String) {
    loop {
        inner.outgoing.notified().await;
        let sent = sqlx::query("SELECT pg_notify($1, $2)")
            .bind(CHANNEL)
            .bind(&me)
            .execute(&store.write)
            .await;
        if let Err(e) = sent {
            tracing::warn!(error = %e, "cannot wake the other instances");
        }
        tokio::time::sleep(NOTIFY_GAP).await;
    }
}

/// Wakes this instance's engine when another instance notifies. After a lost connection
/// it wakes the engine once anyway: a notification may have been missed.
async fn listen(url: ListenUrl, inner: Arc<Inner>, me: String) {
    loop {
        let mut listener = match connect(&url).await {
            Ok(listener) => listener,
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for wakes from other instances");
                tokio::time::sleep(RELISTEN_AFTER).await;
                continue;
            }
        };
        loop {
            match listener.try_recv().await {
                Ok(Some(note)) if note.payload() == me => {}
                Ok(Some(_)) => inner.local.notify_one(),
                // The connection was lost; the listener listens again on the next call.
                Ok(None) => inner.local.notify_one(),
                Err(e) => {
                    tracing::warn!(error = %e, "stopped listening for wakes; listening again");
                    inner.local.notify_one();
                    tokio::time::sleep(RELISTEN_AFTER).await;
                    break;
                }
            }
        }
    }
}

async fn connect(url: &ListenUrl) -> Result<PgListener, sqlx::Error> {
    let mut listener = PgListener::connect(&url.0).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}

/// The database URL, kept for the listener's own connection. It may hold a password, so
/// `Debug` does not show it.
#[derive(Clone)]
pub(crate) struct ListenUrl(pub(crate) Arc<str>);

impl std::fmt::Debug for ListenUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ListenUrl(…)")
    }
}
