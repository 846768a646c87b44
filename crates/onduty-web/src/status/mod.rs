//! Public status pages, served without log-in at `/status/<slug>`: the HTML page and
//! Statuspage's public API under `/status/<slug>/api/v2/`.
//!
//! Every document of a page is drawn from one [`Snapshot`] and kept in memory
//! ([`Copies`]): a request is served from the kept copy while it is fresh (a few seconds,
//! and no change made through this process since), with a weak `ETag` and
//! `Cache-Control`. When the database cannot be read in time, the last good copy is served
//! rather than an error: the status page stays up when the rest is in trouble.

mod feeds;
mod page;
mod subscribe;
pub(crate) use subscribe::SUBSCRIBES_PER_MINUTE_PER_CLIENT;

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use onduty_core::Timestamp;
use onduty_store::StoreError;
use serde::Serialize;

use crate::SharedState;
use crate::error::ApiError;
use onduty_statuspage::{Snapshot, Which};

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/status/{slug}", get(html_page))
        .route("/status/{slug}/api/v2/{*document}", get(api_document))
        .route(
            "/status/{slug}/subscribe",
            get(subscribe::subscribe_form).post(subscribe::subscribe),
        )
        .route(
            "/status/{slug}/subscriptions/{token}",
            get(subscribe::subscription).post(subscribe::confirm),
        )
        .route(
            "/status/{slug}/unsubscribe/{token}",
            get(subscribe::unsubscribe_page).post(subscribe::unsubscribe),
        )
        .layer(axum::extract::DefaultBodyLimit::max(subscribe::BODY_LIMIT))
        .route("/status/{slug}/{file}", get(page_file))
        .route("/static/status.css", get(stylesheet))
}

/// How long a kept copy is served without looking at the database again.
const FRESH_FOR: Duration = Duration::from_secs(5);
/// How long reading the database may take before the last good copy is served.
const READ_TIMEOUT: Duration = Duration::from_secs(2);
/// What browsers and proxies are told.
const CACHE_CONTROL: &str = "public, max-age=10, stale-if-error=86400";

const CSS: &str = include_str!("../../static/status.css");

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

/// One document, ready to send.
struct Doc {
    body: Bytes,
    etag: String,
    content_type: &'static str,
}

impl Doc {
    fn new(content_type: &'static str, body: Vec<u8>) -> Doc {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        body.hash(&mut hasher);
        Doc {
            etag: format!("W/\"{:016x}\"", hasher.finish()),
            body: Bytes::from(body),
            content_type,
        }
    }

    fn json(value: &impl Serialize) -> Doc {
        Doc::new(
            "application/json",
            serde_json::to_vec(value).unwrap_or_default(),
        )
    }
}

/// Every document of one page at one moment.
struct Rendered {
    /// On onduty's clock (a manual one in tests).
    made: Timestamp,
    /// `App::status_changes` when it was made.
    changes: u64,
    docs: HashMap<&'static str, Doc>,
}

/// The documents served by path under `api/v2/`, and the HTML page's key.
const DOCUMENTS: [&str; 8] = [
    "summary.json",
    "status.json",
    "components.json",
    "incidents.json",
    "incidents/unresolved.json",
    "scheduled-maintenances.json",
    "scheduled-maintenances/upcoming.json",
    "scheduled-maintenances/active.json",
];
const HTML: &str = "index.html";
/// The files beside the page: its feeds and badge.
const FILES: [&str; 3] = ["history.atom", "history.rss", "badge.svg"];

fn render(snapshot: &Snapshot, url: &str, changes: u64, subscribe: bool) -> Rendered {
    let made = snapshot.now;
    let mut docs = HashMap::new();
    for name in DOCUMENTS {
        let doc = match name {
            "summary.json" => Doc::json(&snapshot.summary(url)),
            "status.json" => Doc::json(&snapshot.status_doc(url)),
            "components.json" => Doc::json(&snapshot.components_doc(url)),
            "incidents.json" => Doc::json(&snapshot.incidents_doc(url, false)),
            "incidents/unresolved.json" => Doc::json(&snapshot.incidents_doc(url, true)),
            "scheduled-maintenances.json" => Doc::json(&snapshot.maintenances_doc(url, Which::All)),
            "scheduled-maintenances/upcoming.json" => {
                Doc::json(&snapshot.maintenances_doc(url, Which::Upcoming))
            }
            _ => Doc::json(&snapshot.maintenances_doc(url, Which::Active)),
        };
        docs.insert(name, doc);
    }
    docs.insert(
        "history.atom",
        Doc::new(
            "application/atom+xml",
            feeds::atom(snapshot, url).into_bytes(),
        ),
    );
    docs.insert(
        "history.rss",
        Doc::new(
            "application/rss+xml",
            feeds::rss(snapshot, url).into_bytes(),
        ),
    );
    docs.insert(
        "badge.svg",
        Doc::new("image/svg+xml", feeds::badge(snapshot).into_bytes()),
    );
    docs.insert(
        HTML,
        Doc::new(
            "text/html; charset=utf-8",
            page::html(snapshot, subscribe).into_bytes(),
        ),
    );
    Rendered {
        made,
        changes,
        docs,
    }
}

/// The kept copies, by page slug, and one lock per page so that one request rebuilds a
/// stale copy while the others are served the old one; and which page answers on which
/// host name.
#[derive(Default)]
pub(crate) struct Copies {
    pages: Mutex<HashMap<String, Arc<Kept>>>,
    /// Host name → the slug of the page served there (`None`: no page), and when that
    /// was read.
    hosts: Mutex<HashMap<String, (Option<String>, Timestamp)>>,
}

/// How long a host name's page is remembered.
const HOST_KEPT_FOR: Duration = Duration::from_secs(60);
/// Host names remembered at most (any name can be sent in a `Host` header).
const MOST_HOSTS: usize = 1_000;

#[derive(Default)]
struct Kept {
    rendered: Mutex<Option<Arc<Rendered>>>,
    rebuilding: tokio::sync::Mutex<()>,
}

impl Copies {
    fn kept(&self, slug: &str) -> Arc<Kept> {
        let mut pages = self.pages.lock().unwrap_or_else(|p| p.into_inner());
        pages.entry(slug.to_owned()).or_default().clone()
    }

    /// The slug of the page served on `host` as last read, and whether that was recently.
    fn host(&self, host: &str, now: Timestamp) -> Option<(Option<String>, bool)> {
        let hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        let (slug, read) = hosts.get(host)?;
        Some((
            slug.clone(),
            *read <= now && now.since(*read) < HOST_KEPT_FOR,
        ))
    }

    fn remember_host(&self, host: &str, slug: Option<String>, now: Timestamp) {
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        if hosts.len() >= MOST_HOSTS {
            hosts.clear();
        }
        hosts.insert(host.to_owned(), (slug, now));
    }

    fn forget(&self, slug: &str) {
        let mut pages = self.pages.lock().unwrap_or_else(|p| p.into_inner());
        pages.remove(slug);
    }
}

impl Kept {
    fn current(&self) -> Option<Arc<Rendered>> {
        self.rendered
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// The page's documents: the kept copy while fresh, else a new one (or, when the
/// database fails, the last good one).
async fn documents(state: &SharedState, slug: &str) -> Result<Arc<Rendered>, ApiError> {
    // Only a name a page could have is remembered.
    if onduty_core::status_page::Slug::parse(slug).is_err() {
        return Err(ApiError::NotFound(format!(
            "no status page '{}'",
            slug.chars().take(64).collect::<String>()
        )));
    }
    let kept = state.status_copies.kept(slug);
    let changes = state.app.status_changes();
    let now = state.clock.now();
    let fresh =
        |r: &Rendered| r.changes == changes && r.made <= now && now.since(r.made) < FRESH_FOR;
    let old = kept.current();
    if let Some(r) = old.as_ref().filter(|r| fresh(r)) {
        return Ok(r.clone());
    }
    // Someone else is making a new copy: the old one will do meanwhile.
    let _rebuilding = match (kept.rebuilding.try_lock(), &old) {
        (Ok(guard), _) => guard,
        (Err(_), Some(old)) => return Ok(old.clone()),
        (Err(_), None) => kept.rebuilding.lock().await,
    };
    if let Some(r) = kept.current().filter(|r| fresh(r)) {
        return Ok(r);
    }
    let made = tokio::time::timeout(READ_TIMEOUT, build(state, slug, changes)).await;
    match made {
        Ok(Ok(rendered)) => {
            let rendered = Arc::new(rendered);
            *kept.rendered.lock().unwrap_or_else(|p| p.into_inner()) = Some(rendered.clone());
            Ok(rendered)
        }
        Ok(Err(StoreError::NotFound(_))) => {
            state.status_copies.forget(slug);
            Err(ApiError::NotFound(format!("no status page '{slug}'")))
        }
        failed => {
            let why = match failed {
                Ok(Err(e)) => e.to_string(),
                _ => "the database did not answer in time".to_owned(),
            };
            match old {
                Some(old) => {
                    tracing::warn!(page = slug, error = %why, "serving the last good copy of a status page");
                    Ok(old)
                }
                None => {
                    tracing::warn!(page = slug, error = %why, "a status page cannot be read");
                    Err(ApiError::Unavailable(
                        "the status page cannot be read just now; try again shortly".to_owned(),
                    ))
                }
            }
        }
    }
}

/// Where the public reads a page: its own host name, or `/status/<slug>` under onduty's
/// public URL.
pub(crate) fn public_address(
    state: &SharedState,
    page: &onduty_store::status_pages::StatusPage,
) -> String {
    onduty_statuspage::public_address(&state.config.public_url, page)
}

async fn build(state: &SharedState, slug: &str, changes: u64) -> Result<Rendered, StoreError> {
    let page = state.store.status_page_by_slug(slug).await?;
    let url = public_address(state, &page);
    let snapshot = Snapshot::load(&state.store, page, state.clock.now()).await?;
    Ok(render(
        &snapshot,
        &url,
        changes,
        state.providers.email.is_some(),
    ))
}

/// A kept document, or 304 when the client has it already.
fn send(doc: &Doc, request: &HeaderMap) -> Response {
    let matches = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| {
            tags.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == "*" || t == doc.etag.trim_start_matches("W/"))
        });
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(header::CONTENT_TYPE, doc.content_type)], doc.body.clone()).into_response()
    };
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&doc.etag) {
        headers.insert(header::ETAG, etag);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_CONTROL),
    );
    headers.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

async fn html_page(
    State(state): State<SharedState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
) -> Response {
    let rendered = match documents(&state, &slug).await {
        Ok(r) => r,
        Err(e) => return crate::ui::error_page(e),
    };
    let mut response = send(&rendered.docs[HTML], &headers);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    response
}

async fn api_document(
    State(state): State<SharedState>,
    Path((slug, document)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(name) = DOCUMENTS.iter().find(|d| **d == document) else {
        return ApiError::NotFound(format!(
            "no such document: /api/v2/{}",
            document.chars().take(100).collect::<String>()
        ))
        .into_response();
    };
    match documents(&state, &slug).await {
        Ok(rendered) => {
            let mut response = send(&rendered.docs[name], &headers);
            // Statuspage's API is read from other sites' pages (widgets).
            response.headers_mut().insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            response
        }
        Err(e) => e.into_response(),
    }
}

async fn page_file(
    State(state): State<SharedState>,
    Path((slug, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let Some(name) = FILES.iter().find(|f| **f == file) else {
        return crate::ui::error_page(ApiError::NotFound(format!(
            "/status/{slug}/{} is not a page here",
            file.chars().take(100).collect::<String>()
        )));
    };
    match documents(&state, &slug).await {
        Ok(rendered) => {
            let mut response = send(&rendered.docs[name], &headers);
            response.headers_mut().insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'"),
            );
            response
        }
        Err(e) => e.into_response(),
    }
}

/// A request to a status page's own host name (`status.example.com`) is served as its
/// page: `/` is `/status/<slug>`, and its API, feeds and badge follow. Runs before
/// routing; other host names pass untouched.
pub(crate) async fn by_host(
    State(state): State<SharedState>,
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let named = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().host())
        .map(str::to_owned);
    if let Some(slug) = page_on_host(&state, named).await {
        let path = request.uri().path();
        let served = path == "/"
            || path == "/subscribe"
            || ["/api/v2/", "/subscriptions/", "/unsubscribe/"]
                .iter()
                .any(|p| path.starts_with(p))
            || FILES.iter().any(|f| path.strip_prefix('/') == Some(f));
        if !served && !path.starts_with("/static/") && !path.starts_with("/status/") {
            // A status page's host name serves the page, not onduty.
            return ApiError::NotFound(format!(
                "{} is not a page here",
                path.chars().take(100).collect::<String>()
            ))
            .into_response();
        }
        if served {
            let rest = if path == "/" { "" } else { path };
            let query = request
                .uri()
                .query()
                .map_or(String::new(), |q| format!("?{q}"));
            if let Ok(uri) = format!("/status/{slug}{rest}{query}").parse() {
                *request.uri_mut() = uri;
            }
        }
    }
    next.run(request).await
}

/// The slug of the page served on the host name `named` (a `Host` header), if any.
async fn page_on_host(state: &SharedState, named: Option<String>) -> Option<String> {
    let named = named?;
    let named = named.as_str();
    // Without the port; lower-case, as pages keep them.
    let host = named
        .rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(named, |(h, _)| h)
        .to_ascii_lowercase();
    let own = state
        .config
        .public_url
        .split_once("://")
        .map(|(_, rest)| rest.split(['/', ':']).next().unwrap_or_default());
    if own == Some(host.as_str()) || host.parse::<std::net::IpAddr>().is_ok() || host == "localhost"
    {
        return None;
    }
    let now = state.clock.now();
    let known = state.status_copies.host(&host, now);
    if let Some((slug, true)) = known {
        return slug;
    }
    let slug = match state.store.status_page_by_host(&host).await {
        Ok(page) => Some(page.slug),
        Err(StoreError::NotFound(_)) => None,
        // The database is in trouble: what was known still holds (its page is served
        // from the last good copy); asked again next time.
        Err(_) => return known.and_then(|(slug, _)| slug),
    };
    state.status_copies.remember_host(&host, slug.clone(), now);
    slug
}
