//! What makes the web UI an installable app: its manifest, its icon, the service worker
//! (`/sw.js`: keeps the app shell for when the network is gone, and shows Web Push
//! notifications, whose Acknowledge and Resolve act without opening a page), and the
//! script that subscribes a browser on its person's page (`/static/push.js`).

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::SharedState;

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/manifest.webmanifest", get(manifest))
        .route("/sw.js", get(service_worker))
        .route("/static/push.js", get(push_script))
        .route("/static/icon.svg", get(icon))
        .route("/static/icon-paging.svg", get(icon_paging))
}

const MANIFEST: &str = include_str!("../../static/manifest.webmanifest");
const SERVICE_WORKER: &str = include_str!("../../static/sw.js");
const PUSH_SCRIPT: &str = include_str!("../../static/push.js");
const ICON: &str = include_str!("../../static/icon.svg");
/// The icon with a badge: something is waiting for you.
const ICON_PAGING: &str = include_str!("../../static/icon-paging.svg");

async fn manifest() -> Response {
    super::asset("application/manifest+json", MANIFEST)
}

async fn push_script() -> Response {
    super::asset("text/javascript; charset=utf-8", PUSH_SCRIPT)
}

async fn icon() -> Response {
    super::asset("image/svg+xml", ICON)
}

async fn icon_paging() -> Response {
    super::asset("image/svg+xml", ICON_PAGING)
}

/// Served from the root, so that it controls every page; never cached by HTTP, so that
/// a new version takes over at once.
async fn service_worker() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        SERVICE_WORKER,
    )
        .into_response()
}
