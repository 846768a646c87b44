//! Live pages: `/live/incidents` is a server-sent event stream that says `changed`
//! whenever an incident is opened or changes (on any instance: it watches the database)
//! since the page was drawn,
//! and `static/live.js` reloads the page's content when it hears it. Pages work without it.

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

async fn incidents(
    State(state): State<SharedState>,
    _viewer: Viewer,
    Query(q): Query<SinceQuery>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // The stream holds the store and the shutdown signal, not the whole state: it ends
    // when shutdown begins, so that a live page never holds the server up.
    let store = state.store.clone();
    let closing = state.closing.subscribe();
    let first = match parse_since(&q.since) {
        Some(drawn) => Some(drawn),
        None => store.incidents_version().await.ok(),
    };
    let stream = futures::stream::unfold(
        (store, closing, first),
        |(store, mut closing, mut seen)| async move {
            loop {
                if *closing.borrow() {
                    return None;
                }
                tokio::select! {
                    _ = tokio::time::sleep(LOOK_EVERY) => {}
                    _ = closing.changed() => return None,
                }
                match store.incidents_version().await {
                    Ok(now) if Some(now) != seen => {
                        seen = Some(now);
                        let event = Event::default().event("changed").data("incidents");
                        return Some((Ok(event), (store, closing, seen)));
                    }
                    Ok(_) => {}
                    Err(e) => tracing::debug!(error = %e, "a live page cannot read the database"),
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}
