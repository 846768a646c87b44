//! Live pages: `/live/incidents` is a server-sent event stream that says `changed`
//! whenever an incident is opened or changes (on any instance: one watcher reads the
//! database for all pages) since the page was drawn, and ends when the page's session
//! does; `static/live.js` reloads the page's content when it hears it. Pages work
//! without it.

use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::routing::get;
use futures::Stream;
use serde::Deserialize;

use super::Viewer;
use crate::SharedState;

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/live/incidents", get(incidents))
        .route("/static/live.js", get(script))
}

/// How often a live page's stream looks at the database.
const LOOK_EVERY: Duration = Duration::from_secs(1);

const SCRIPT: &str = include_str!("../../static/live.js");

async fn script() -> Response {
    super::asset("text/javascript; charset=utf-8", SCRIPT)
}

/// Where the incidents stood when a page was drawn, for the page to carry (as
/// `data-since`) and hand back when it starts listening: what changed in between is not
/// missed. Empty if the database cannot say.
pub(super) async fn since(state: &SharedState) -> String {
    match state.store.incidents_version().await {
        Ok((count, last)) => format!("{count}-{last}"),
        Err(_) => String::new(),
    }
}

#[derive(Deserialize)]
struct SinceQuery {
    #[serde(default)]
    since: String,
}

fn parse_since(text: &str) -> Option<(i64, i64)> {
    let (count, last) = text.split_once('-')?;
    Some((count.parse().ok()?, last.parse().ok()?))
}

/// The one watcher behind every live page: while any page listens, it reads where the
/// incidents stand once a second and tells the listeners when that moves; with nobody
/// listening it reads nothing. Ends when shutdown begins.
pub(crate) async fn watch_incidents(state: SharedState) {
    let mut closing = state.closing.subscribe();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(LOOK_EVERY) => {}
            _ = closing.changed() => return,
        }
        if *closing.borrow() {
            return;
        }
        if state.incidents_seen.receiver_count() == 0 {
            // Forget what was seen: a page that starts listening later compares with
            // what it drew, not with an old reading.
            state
                .incidents_seen
                .send_if_modified(|seen| seen.take().is_some());
            continue;
        }
        match state.store.incidents_version().await {
            Ok(now) => {
                state.incidents_seen.send_if_modified(|seen| {
                    let moved = *seen != Some(now);
                    *seen = Some(now);
                    moved
                });
            }
            Err(e) => tracing::debug!(error = %e, "live pages cannot read the database"),
        }
    }
}

/// How often an idle live page's stream checks that its session still stands (a
/// log-out, a password change, or an admin resetting it ends the stream); it also checks
/// before telling of each change.
const SESSION_CHECK: Duration = Duration::from_secs(30);

async fn incidents(
    State(state): State<SharedState>,
    viewer: Viewer,
    Query(q): Query<SinceQuery>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let first = match parse_since(&q.since) {
        Some(drawn) => Some(drawn),
        None => state.store.incidents_version().await.ok(),
    };
    let watching = Watching {
        seen: first,
        updates: state.incidents_seen.subscribe(),
        closing: state.closing.subscribe(),
        session: viewer.token_hash,
        checked: tokio::time::Instant::now(),
        store: state.store.clone(),
        clock: state.clock.clone(),
    };
    let stream = futures::stream::unfold(watching, |mut w| async move {
        loop {
            // What the watcher saw since this page was drawn counts at once.
            let latest = *w.updates.borrow_and_update();
            if let Some(now) = latest
                && Some(now) != w.seen
            {
                // Only for a session that still stands.
                if !w.session_stands().await {
                    return None;
                }
                w.seen = Some(now);
                let event = Event::default().event("changed").data("incidents");
                return Some((Ok(event), w));
            }
            let check_at = w.checked + SESSION_CHECK;
            tokio::select! {
                changed = w.updates.changed() => if changed.is_err() { return None },
                _ = w.closing.changed() => return None,
                _ = tokio::time::sleep_until(check_at) => {
                    if !w.session_stands().await {
                        return None;
                    }
                }
            }
            if *w.closing.borrow() {
                return None;
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

/// A live page's stream: what it has told the page, and how to hear more.
struct Watching {
    seen: Option<(i64, i64)>,
    updates: tokio::sync::watch::Receiver<Option<(i64, i64)>>,
    closing: tokio::sync::watch::Receiver<bool>,
    /// The page's session, checked every [`SESSION_CHECK`].
    session: String,
    checked: tokio::time::Instant,
    // The store and clock, not the whole state: the stream ends at shutdown and must not
    // keep more alive meanwhile.
    store: onduty_store::Store,
    clock: std::sync::Arc<dyn onduty_core::Clock>,
}

impl Watching {
    /// Whether the page's session still stands (a database that cannot say is given the
    /// benefit of the doubt: the page's next load asks again).
    async fn session_stands(&mut self) -> bool {
        self.checked = tokio::time::Instant::now();
        !matches!(
            self.store.session(&self.session, self.clock.now()).await,
            Ok(None)
        )
    }
}
