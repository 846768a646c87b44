//! The web UI: server-rendered pages (askama templates, escaped by default), signed-in
//! browser sessions in an HttpOnly cookie, a CSRF token on every form, and strict
//! security headers. The first visit to a server nobody can log in to shows the set-up
//! page that creates the first administrator.

mod access;
mod app_shell;
mod audit;
pub(crate) mod auth;
mod chat;
mod chat_links;
pub(crate) use chat_links::chat_link_url;
mod charts;
mod cookies;
mod flash;
mod home;
mod incident;
mod incident_public;
mod incidents;
mod live;
mod oncall;
mod people;
mod policies;
mod postmortems;
mod reports;
mod runbooks;
mod schedules;
mod services;
mod settings;
mod sso;
mod status_page_extras;
mod status_pages;
pub(crate) mod time;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::{ApiError, SharedState};
use askama::Template;

pub(crate) use auth::Viewer;
pub(crate) use live::watch_incidents;

/// A form that carries nothing but its CSRF token: a button that does one thing.
#[derive(serde::Deserialize)]
pub(crate) struct CsrfForm {
    csrf: String,
}

/// Log-in attempts allowed a minute for one e-mail address from one client address (a
/// burst of this many, then one every 60/N seconds).
pub(crate) const LOGINS_PER_MINUTE: u32 = 5;

/// Log-in attempts allowed a minute from one client address, whatever the e-mail address.
/// Behind a reverse proxy every client has the proxy's address, so this is generous.
pub(crate) const LOGINS_PER_MINUTE_PER_CLIENT: u32 = 30;

/// Log-in attempts allowed a minute for one e-mail address, from all client addresses
/// together: guessing one person's password from many addresses is slowed to this pace.
pub(crate) const LOGINS_PER_MINUTE_PER_ACCOUNT: u32 = 10;

/// Largest form a page posts: a 10,000-character note, percent-encoded, fits.
const FORM_LIMIT: usize = 128 * 1024;

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/static/onduty.css", get(stylesheet))
        .merge(app_shell::routes())
        .merge(auth::routes())
        .merge(sso::routes())
        .merge(home::routes())
        .merge(incidents::routes())
        .merge(incident::routes())
        .merge(live::routes())
        .merge(oncall::routes())
        .merge(services::routes())
        .merge(runbooks::routes())
        .merge(postmortems::routes())
        .merge(reports::routes())
        .merge(settings::routes())
        .merge(chat::routes())
        .merge(chat_links::routes())
        .merge(policies::routes())
        .merge(schedules::routes())
        .merge(people::routes())
        .merge(status_pages::routes())
        .merge(status_page_extras::routes())
        .merge(access::routes())
        .merge(audit::routes())
        // Whatever nothing answers, inside the pages' security headers.
        .fallback(not_found)
        .layer(axum::extract::DefaultBodyLimit::max(FORM_LIMIT))
        .layer(axum::middleware::from_fn(flash::clear_after_showing))
        .layer(axum::middleware::map_response(security_headers))
}

const CSS: &str = include_str!("../../static/onduty.css");

async fn stylesheet() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

/// A file served from the binary, cached for an hour.
fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

/// No inline scripts or styles, nothing from elsewhere, no framing; pages are not cached.
pub(crate) async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// A choice in a `<select>`: its value, its label, and whether it is chosen.
pub(crate) struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

impl Choice {
    /// `(value, label)` pairs as choices, the one whose value is `selected` chosen.
    pub(crate) fn list<V: ToString, L: ToString>(
        items: impl IntoIterator<Item = (V, L)>,
        selected: Option<String>,
    ) -> Vec<Choice> {
        items
            .into_iter()
            .map(|(v, l)| {
                let value = v.to_string();
                let chosen = selected.as_deref() == Some(value.as_str());
                Choice::new(value, l.to_string(), chosen)
            })
            .collect()
    }

    pub(crate) fn new(
        value: impl Into<String>,
        label: impl Into<String>,
        selected: bool,
    ) -> Choice {
        Choice {
            value: value.into(),
            label: label.into(),
            selected,
        }
    }
}

/// What every signed-in page shows around its content: who is signed in, the log-out
/// form's CSRF token, what they may do, and the message a form left.
pub(crate) struct Chrome {
    pub viewer_name: String,
    pub csrf: String,
    pub is_admin: bool,
    pub can_respond: bool,
    pub flash: Option<flash::Flash>,
    /// The navigation's entry for this page (`incidents`, `profile`…), marked current.
    pub section: String,
    /// Public incidents still open though their onduty incident is resolved (for
    /// responders): a banner on every page until they are resolved or kept open.
    pub forgotten: Vec<onduty_store::status_links::Forgotten>,
}

impl Chrome {
    /// What was typed in field `name` of the form that just failed; empty if nothing.
    pub(crate) fn kept(&self, name: &str) -> &str {
        self.flash.as_ref().map_or("", |f| f.kept(name))
    }

    /// What was typed in field `name`, or `default` when nothing was.
    pub(crate) fn kept_or<'a>(&'a self, name: &str, default: &'a str) -> &'a str {
        match self.kept(name) {
            "" => default,
            typed => typed,
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    title: &'static str,
    message: String,
}

/// A failed page request as a page, with the API's status and sentence (the details of
/// an internal error stay in the server log).
pub(crate) fn error_page(e: impl Into<ApiError>) -> Response {
    let e = e.into();
    let (status, _) = e.status_and_code();
    let message = match &e {
        ApiError::Internal(detail) => {
            tracing::error!(error = %detail, "a page failed");
            "Something went wrong on the server; its log says what.".to_owned()
        }
        other => other.to_string(),
    };
    let mut response = page(ErrorPage {
        title: status.canonical_reason().unwrap_or("Error"),
        message,
    });
    *response.status_mut() = status;
    response
}

/// Paths nothing answers (the whole server's fallback): JSON where tools call, a page
/// for people everywhere else.
async fn not_found(uri: axum::http::Uri) -> Response {
    let path = uri.path();
    if ["/api/", "/v2/", "/integrations/"]
        .iter()
        .any(|p| path.starts_with(p))
    {
        ApiError::NotFound(format!("no such endpoint: {path}")).into_response()
    } else {
        error_page(ApiError::NotFound(format!("{path} is not a page here")))
    }
}

/// A rendered page, or a plain 500 if a template fails (it cannot, short of a bug).
fn page(template: impl askama::Template) -> Response {
    match template.render() {
        Ok(html) => axum::response::Html(html).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "a page failed to render");
            (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; see the server log",
            )
                .into_response()
        }
    }
}
