//! The audit log page (admins): who changed what, when, through which door and from
//! where, with before → after; filtered by person or action, older entries a page at a
//! time. The same use case as `/api/v1/audit-log`; nothing here changes an entry.

use askama::Template;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::{Viewer, page};
use crate::SharedState;
use crate::error::ApiError;

pub(super) fn routes() -> Router<SharedState> {
    Router::new().route("/audit", get(show))
}

/// Entries per page.
const PAGE: u32 = 50;

#[derive(Debug, Deserialize)]
struct Filter {
    #[serde(default)]
    user: String,
    #[serde(default)]
    action: String,
    before: Option<i64>,
}

/// One line of the page.
struct Line {
    when: String,
    who: String,
    door: String,
    address: String,
    action: String,
    target: String,
    before: Option<String>,
    after: Option<String>,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    chrome: super::Chrome,
    user: String,
    action: String,
    lines: Vec<Line>,
    /// The link to older entries.
    older: Option<String>,
}

fn pretty(value: Option<serde_json::Value>) -> Option<String> {
    value.map(|v| serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string()))
}

async fn show(
    State(state): State<SharedState>,
    viewer: Viewer,
    Query(filter): Query<Filter>,
) -> Response {
    let found = state
        .app
        .audit_log(
            &viewer.acting(),
            filter.before,
            Some(filter.user.as_str()),
            Some(filter.action.as_str()),
            PAGE,
        )
        .await;
    let found = match found {
        Ok(found) => found,
        Err(e) => return super::error_page(ApiError::from(e)),
    };
    let zone = viewer.zone();
    let lines = found
        .entries
        .into_iter()
        .map(|e| {
            let r = e.record;
            Line {
                when: super::time::when(r.at, &zone),
                who: r.who,
                door: match r.token {
                    Some(token) => format!("{} (token “{token}”)", r.door),
                    None => r.door,
                },
                address: r.address.map_or_else(String::new, |a| a.to_string()),
                action: r.action,
                target: r.target,
                before: pretty(r.change.before),
                after: pretty(r.change.after),
            }
        })
        .collect();
    let older = found.next.map(|id| {
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("user", &filter.user)
            .append_pair("action", &filter.action)
            .append_pair("before", &id.to_string())
            .finish();
        format!("/audit?{query}")
    });
    let mut chrome = viewer.chrome();
    chrome.section = "reports".to_owned();
    page(AuditPage {
        chrome,
        user: filter.user,
        action: filter.action,
        lines,
        older,
    })
}
