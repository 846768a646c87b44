//! Logging in and out, the first-run set-up page, changing a password, and `Viewer`: the
//! signed-in person a page is for.
//!
//! A session is a random secret in the `onduty_session` cookie (HttpOnly, SameSite=Lax,
//! Secure when onduty is served over HTTPS); the store keeps only its SHA-256. Forms of
//! a session carry its CSRF token; the log-in and set-up forms, which come before any
//! session, carry the one in the `onduty_csrf` cookie instead (double submit).

use super::CsrfForm;
use std::time::Duration;

use askama::Template;
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Form, Router};
use onduty_core::account::{Email, Name, Password, Role, TokenSecret, User, password_matches};
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::cookies::{self, Sent, SetCookie};
use super::page;
use crate::SharedState;
use axum::Extension;
use axum::extract::ConnectInfo;
use std::net::{IpAddr, SocketAddr};

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/login", get(login_page).post(log_in))
        .route("/logout", axum::routing::post(log_out))
        .route("/setup", get(setup_page).post(set_up))
        .route(PASSWORD_PATH, get(password_page).post(change_password))
}

const SESSION_COOKIE: &str = "onduty_session";
const CSRF_COOKIE: &str = "onduty_csrf";
/// How long a session lasts.
const SESSION_LIFETIME: Duration = Duration::from_secs(14 * 24 * 3600);

/// 32 random bytes as hex.
fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("the system has randomness");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A hash no password matches, checked when the address is unknown.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        salted_hash(&Password::parse(&random_secret()).expect("64 characters is a valid password"))
    })
}

pub(super) use onduty_app::salted_hash;

/// The SHA-256 the store keeps of a session secret.
fn token_hash(secret: &str) -> String {
    TokenSecret::from_presented(secret).hash()
}

/// Equal, in time that does not depend on where they differ.
fn same(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The `Set-Cookie` header for `name`: the CSRF cookie travels only with onduty's own
/// requests, the others also with links from elsewhere (e-mail, chat).
pub(super) fn set_cookie(
    state: &SharedState,
    name: &str,
    value: &str,
    max_age: Duration,
) -> Option<HeaderValue> {
    SetCookie {
        name,
        value,
        max_age,
        sent: if name == CSRF_COOKIE {
            Sent::Strict
        } else {
            Sent::Lax
        },
        secure: state.config.public_url.starts_with("https://"),
    }
    .header()
}

/// Where people change their password.
const PASSWORD_PATH: &str = "/account/password";

/// The person a page is for. Pages that take it send anyone not logged in to `/login`.
pub(crate) struct Viewer {
    pub user: User,
    pub csrf: String,
    pub(crate) token_hash: String,
    /// The message the previous form left for this page (see [`super::flash`]).
    flash: Option<super::flash::Flash>,
    /// The part of the site the page is in (`incidents`, `oncall`…): its first path segment.
    section: String,
    /// They still have the first password an administrator gave them.
    password_change_required: bool,
    /// Where the request came from.
    address: Option<IpAddr>,
    /// Public incidents left open though their onduty incident is resolved.
    forgotten: Vec<onduty_store::status_links::Forgotten>,
}

impl Viewer {
    /// Whether a state-changing request's form carries this session's token; answer
    /// [`forbidden`] when it does not.
    pub(crate) fn csrf_ok(&self, presented: &str) -> bool {
        same(presented, &self.csrf)
    }

    pub(crate) fn name(&self) -> String {
        self.user.name.to_string()
    }

    /// The viewer, acting through the web UI.
    pub(crate) fn acting(&self) -> onduty_app::Acting {
        onduty_app::Acting::new(self.user.clone(), onduty_core::lifecycle::Via::WebUi)
            .from_address(self.address)
    }

    /// What was typed in field `name` of the form that just failed; empty if nothing.
    pub(crate) fn kept(&self, name: &str) -> String {
        self.flash
            .as_ref()
            .map_or(String::new(), |f| f.kept(name).to_owned())
    }

    /// The viewer's wall clock, for the times a page shows.
    pub(crate) fn zone(&self) -> jiff::tz::TimeZone {
        super::time::zone(self.user.time_zone.as_str())
    }

    /// What every signed-in page shows around its content.
    pub(crate) fn chrome(&self) -> super::Chrome {
        super::Chrome {
            viewer_name: self.name(),
            csrf: self.csrf.clone(),
            is_admin: self.user.role == onduty_core::account::Role::Admin,
            can_respond: self.user.role.can_respond(),
            flash: self.flash.clone(),
            section: self.section.clone(),
            forgotten: self.forgotten.clone(),
        }
    }
}

/// Forgotten public incidents named in the banner at most.
const MOST_FORGOTTEN_SHOWN: u32 = 3;

/// The answer to a form without the right CSRF token.
pub(crate) fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        "This form has expired or did not come from onduty. Go back, reload the page and try again.",
    )
        .into_response()
}

impl FromRequestParts<SharedState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &SharedState) -> Result<Self, Response> {
        // After logging in, back to the page asked for (a page's link, in a page).
        let asked = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let to_login = || match safe_next(asked) {
            Some(next) if parts.method == axum::http::Method::GET && next != "/" => {
                let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
                Redirect::to(&format!("/login?next={next}")).into_response()
            }
            _ => Redirect::to("/login").into_response(),
        };
        let Some(secret) = cookies::read(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login());
        };
        let hash = token_hash(&secret);
        match state.store.session(&hash, state.clock.now()).await {
            // Someone with a password an administrator chose chooses their own first;
            // logging out stays possible.
            Ok(Some(s))
                if s.password_change_required
                    && passwords_taken(state)
                    && !matches!(parts.uri.path(), PASSWORD_PATH | "/logout") =>
            {
                // Only a page can be gone back to (a form's address answers GET with 405).
                let next: String = safe_next(asked)
                    .filter(|_| parts.method == axum::http::Method::GET)
                    .map(|n| form_urlencoded::byte_serialize(n.as_bytes()).collect())
                    .unwrap_or_default();
                Err(Redirect::to(&format!("{PASSWORD_PATH}?next={next}")).into_response())
            }
            Ok(Some(s)) => Ok(Viewer {
                address: client_ip(state, parts),
                // Shown to whoever can act on them, on pages (not forms' answers).
                forgotten: if s.user.role.can_respond() && parts.method == axum::http::Method::GET {
                    state
                        .store
                        .forgotten_status_incidents(MOST_FORGOTTEN_SHOWN)
                        .await
                        .unwrap_or_default()
                } else {
                    Vec::new()
                },
                password_change_required: s.password_change_required,
                user: s.user,
                csrf: s.csrf_token,
                token_hash: hash,
                flash: cookies::read(&parts.headers, super::flash::COOKIE)
                    .and_then(|value| super::flash::Flash::read(&value)),
                section: parts
                    .uri
                    .path()
                    .split('/')
                    .nth(1)
                    .unwrap_or_default()
                    .to_owned(),
            }),
            Ok(None) => Err(to_login()),
            Err(e) => {
                tracing::error!(error = %e, "cannot read a web session");
                Err((
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the database is unavailable",
                )
                    .into_response())
            }
        }
    }
}

/// A page before any session: its CSRF token, from the cookie or new (then set).
fn pre_session_csrf(state: &SharedState, headers: &HeaderMap) -> (String, Option<HeaderValue>) {
    match cookies::read(headers, CSRF_COOKIE).filter(|c| c.len() == 64) {
        Some(c) => (c, None),
        None => {
            let fresh = random_secret();
            let header = set_cookie(state, CSRF_COOKIE, &fresh, Duration::from_secs(3600));
            (fresh, header)
        }
    }
}

/// The `onduty_csrf` cookie's token, if a form before any session carries it back.
fn pre_session_token(headers: &HeaderMap, presented: &str) -> Option<String> {
    cookies::read(headers, CSRF_COOKIE).filter(|expected| same(presented, expected))
}

/// Starts a session for `user` and sends them on to `to`.
pub(super) async fn sign_in(state: &SharedState, user: &User, to: &str) -> Response {
    let secret = random_secret();
    let now = state.clock.now();
    let created = state
        .store
        .create_session(
            &token_hash(&secret),
            user.id,
            &random_secret(),
            now,
            now.saturating_add(SESSION_LIFETIME),
        )
        .await;
    if let Err(e) = created {
        tracing::error!(error = %e, "cannot start a web session");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "the database is unavailable",
        )
            .into_response();
    }
    let cookie = set_cookie(state, SESSION_COOKIE, &secret, SESSION_LIFETIME);
    cookies::with(Redirect::to(to).into_response(), cookie)
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    csrf: String,
    email: String,
    error: Option<String>,
    /// Where to go once logged in (empty: the incidents).
    next: String,
    /// Single sign-on is offered.
    sso: bool,
    /// Passwords are taken.
    passwords: bool,
}

/// Whether people may log in with a password here.
pub(super) fn passwords_taken(state: &SharedState) -> bool {
    state.config.sso.as_ref().is_none_or(|s| s.local_passwords)
}

/// The log-in page again, with `error`, answered `status` (a refused single sign-on).
pub(super) fn login_refused(
    state: &SharedState,
    headers: &HeaderMap,
    status: StatusCode,
    error: &str,
) -> Response {
    let (csrf, set) = pre_session_csrf(state, headers);
    let mut response = page(LoginPage {
        csrf,
        email: String::new(),
        error: Some(error.to_owned()),
        next: String::new(),
        sso: state.config.sso.is_some(),
        passwords: passwords_taken(state),
    });
    *response.status_mut() = status;
    cookies::with(response, set)
}

/// A page of onduty's own to return to after logging in: a path on this server (not
/// `//elsewhere`, not `/\elsewhere`, which browsers read as another host), of printable
/// characters, not too long. Anything else is `None`, and log-in goes to the incidents.
pub(super) fn safe_next(next: &str) -> Option<&str> {
    let own_path = next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 2048
        && !next.chars().any(|c| c.is_control() || c.is_whitespace());
    own_path.then_some(next)
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

async fn login_page(
    State(state): State<SharedState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<LoginQuery>,
) -> Response {
    // Before anyone has a password, the first administrator sets onduty up; with single
    // sign-on, people log in through their provider instead (`/setup` stays open).
    if state.config.sso.is_none() && !state.store.any_password_set().await.unwrap_or(true) {
        return Redirect::to("/setup").into_response();
    }
    let (csrf, set) = pre_session_csrf(&state, &headers);
    cookies::with(
        page(LoginPage {
            csrf,
            email: String::new(),
            error: None,
            sso: state.config.sso.is_some(),
            passwords: passwords_taken(&state),
            next: query
                .next
                .as_deref()
                .and_then(safe_next)
                .unwrap_or_default()
                .to_owned(),
        }),
        set,
    )
}

#[derive(Deserialize)]
struct LoginForm {
    email: String,
    password: String,
    csrf: String,
    #[serde(default)]
    next: String,
}

async fn log_in(
    State(state): State<SharedState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let Some(expected) = pre_session_token(&headers, &form.csrf) else {
        return forbidden();
    };
    let again = |status: StatusCode, error: &str| {
        let mut response = page(LoginPage {
            csrf: expected.to_owned(),
            email: form.email.clone(),
            error: Some(error.to_owned()),
            next: safe_next(&form.next).unwrap_or_default().to_owned(),
            sso: state.config.sso.is_some(),
            passwords: passwords_taken(&state),
        });
        *response.status_mut() = status;
        response
    };
    if !passwords_taken(&state) {
        return again(
            StatusCode::FORBIDDEN,
            "Logging in with a password is turned off here: log in with single sign-on.",
        );
    }
    let now = state.clock.now();
    // Attempts are counted per client address, per e-mail address from that client (so
    // someone guessing elsewhere does not use up a person's own tries), and per e-mail
    // address from everywhere, at a higher limit, against guessing from many addresses.
    let ip = client_of(&state, peer.map(|p| p.0.0.ip()), &headers);
    let email: String = form.email.trim().to_lowercase().chars().take(254).collect();
    let limited = state
        .login_client_limiter
        .check(&ip, now)
        .and_then(|()| state.login_limiter.check(&format!("{ip} {email}"), now))
        .and_then(|()| state.login_account_limiter.check(&email, now));
    if let Err(wait) = limited {
        return again(
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "Too many attempts. Try again in {} seconds.",
                wait.as_secs().max(1)
            ),
        );
    }
    let user = match Email::parse(&form.email) {
        Ok(email) => state.store.user_by_email(&email).await.ok().flatten(),
        Err(_) => None,
    };
    let hash = match &user {
        Some(u) => state.store.password_hash(u.id).await.ok().flatten(),
        None => None,
    };
    // Unknown addresses cost the same argon2 check, so timing does not tell who exists.
    let matches = match &hash {
        Some(h) => password_matches(&form.password, h),
        None => password_matches(&form.password, dummy_hash()),
    };
    match (user, hash) {
        (Some(user), Some(_)) if matches => {
            let to = safe_next(&form.next).unwrap_or("/");
            state
                .app
                .own_account(
                    &user,
                    ip.parse().ok(),
                    onduty_app::OwnAccount::PasswordLogIn,
                )
                .await;
            sign_in(&state, &user, to).await
        }
        _ => again(
            StatusCode::UNAUTHORIZED,
            "That e-mail address and password do not match.",
        ),
    }
}

async fn log_out(
    State(state): State<SharedState>,
    viewer: Viewer,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    if let Err(e) = state.store.delete_session(&viewer.token_hash).await {
        tracing::error!(error = %e, "cannot end a web session");
    }
    state
        .app
        .own_account(&viewer.user, viewer.address, onduty_app::OwnAccount::LogOut)
        .await;
    let gone = set_cookie(&state, SESSION_COOKIE, "", Duration::ZERO);
    cookies::with(Redirect::to("/login").into_response(), gone)
}

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupPage {
    csrf: String,
    name: String,
    email: String,
    error: Option<String>,
}

async fn setup_page(State(state): State<SharedState>, headers: HeaderMap) -> Response {
    if !passwords_taken(&state) || state.store.any_password_set().await.unwrap_or(true) {
        return Redirect::to("/login").into_response();
    }
    let (csrf, set) = pre_session_csrf(&state, &headers);
    cookies::with(
        page(SetupPage {
            csrf,
            name: String::new(),
            email: String::new(),
            error: None,
        }),
        set,
    )
}

#[derive(Deserialize)]
struct SetupForm {
    /// An administrator's API token (`onduty serve` prints one on first start): proof
    /// that whoever sets up also runs the server.
    token: String,
    name: String,
    email: String,
    password: String,
    csrf: String,
}

/// Creates the first administrator (or gives a password to the one `onduty serve`
/// made on first start, when the address is theirs). Only while nobody has a password.
async fn set_up(
    State(state): State<SharedState>,
    headers: HeaderMap,
    Form(form): Form<SetupForm>,
) -> Response {
    let Some(expected) = pre_session_token(&headers, &form.csrf) else {
        return forbidden();
    };
    if !passwords_taken(&state) || state.store.any_password_set().await.unwrap_or(true) {
        return Redirect::to("/login").into_response();
    }
    let again = |error: String| {
        let mut response = page(SetupPage {
            csrf: expected.to_owned(),
            name: form.name.clone(),
            email: form.email.clone(),
            error: Some(error),
        });
        *response.status_mut() = StatusCode::BAD_REQUEST;
        response
    };
    let by_token = state
        .store
        .user_by_token(&TokenSecret::from_presented(&form.token))
        .await;
    if !matches!(&by_token, Ok(Some(u)) if u.role == Role::Admin) {
        return again(
            "That is not an administrator's API token. onduty prints one when it first starts; \
             `onduty admin token create --email <admin>` makes another."
                .to_owned(),
        );
    }
    let parsed = (
        Name::parse(&form.name),
        Email::parse(&form.email),
        Password::parse(&form.password),
    );
    let (name, email, password) = match parsed {
        (Ok(n), Ok(e), Ok(p)) => (n, e, p),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => {
            return again(capitalised(&e.to_string()));
        }
    };
    // The token's owner (the first start's admin@localhost, say) becomes this person,
    // unless the address is already someone's.
    let token_owner = by_token.ok().flatten().expect("checked above");
    let user = match state.store.user_by_email(&email).await {
        Ok(Some(existing)) => existing,
        Ok(None) => {
            let patch = onduty_store::users::UserPatch {
                email: Some(email),
                name: Some(name),
                ..Default::default()
            };
            match state.store.update_user(token_owner.id, patch).await {
                Ok(u) => u,
                Err(e) => return again(format!("Cannot set up the administrator: {e}")),
            }
        }
        Err(e) => return again(format!("Cannot set up the administrator: {e}")),
    };
    if user.role != Role::Admin {
        return again("That address belongs to someone who is not an administrator.".to_owned());
    }
    match state
        .store
        .set_first_password_hash(user.id, &salted_hash(&password))
        .await
    {
        Ok(true) => sign_in(&state, &user, "/").await,
        // Someone else finished setting up meanwhile.
        Ok(false) => Redirect::to("/login").into_response(),
        Err(e) => again(format!("Cannot save the password: {e}")),
    }
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    chrome: super::Chrome,
    error: Option<String>,
    done: bool,
    /// Their password is still an administrator's: they choose their own before going on.
    required: bool,
    /// Where they were going, once it is changed.
    next: String,
}

#[derive(Deserialize)]
struct NextQuery {
    #[serde(default)]
    next: String,
}

async fn password_page(viewer: Viewer, Query(q): Query<NextQuery>) -> Response {
    page(PasswordPage {
        chrome: viewer.chrome(),
        error: None,
        done: false,
        required: viewer.password_change_required,
        next: safe_next(&q.next).unwrap_or_default().to_owned(),
    })
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current: String,
    new: String,
    csrf: String,
    #[serde(default)]
    next: String,
}

/// Changes the viewer's password (checking the current one, if they have one) and ends
/// their other sessions.
async fn change_password(
    State(state): State<SharedState>,
    viewer: Viewer,
    Form(form): Form<PasswordForm>,
) -> Response {
    if !viewer.csrf_ok(&form.csrf) {
        return forbidden();
    }
    let answer = |status: StatusCode, error: Option<String>| {
        let mut response = page(PasswordPage {
            chrome: viewer.chrome(),
            done: error.is_none(),
            error,
            required: viewer.password_change_required,
            next: safe_next(&form.next).unwrap_or_default().to_owned(),
        });
        *response.status_mut() = status;
        response
    };
    let current = match state.store.password_hash(viewer.user.id).await {
        Ok(h) => h,
        Err(e) => return answer(StatusCode::SERVICE_UNAVAILABLE, Some(e.to_string())),
    };
    // Someone who signs in through the identity provider does not give themselves a
    // password beside it (it would outlive their account there): an administrator can.
    if current.is_none() && state.config.sso.is_some() {
        return answer(
            StatusCode::FORBIDDEN,
            Some(
                "You sign in through single sign-on; only an administrator can give you a password."
                    .to_owned(),
            ),
        );
    }
    if let Some(hash) = &current
        && !password_matches(&form.current, hash)
    {
        return answer(
            StatusCode::BAD_REQUEST,
            Some("The current password is not right.".to_owned()),
        );
    }
    let new = match Password::parse(&form.new) {
        Ok(p) => p,
        Err(e) => return answer(StatusCode::BAD_REQUEST, Some(capitalised(&e.to_string()))),
    };
    // The administrator knows the password they gave: it cannot be kept as one's own.
    if viewer.password_change_required
        && let Some(hash) = &current
        && password_matches(&form.new, hash)
    {
        return answer(
            StatusCode::BAD_REQUEST,
            Some("Choose a password other than the one you were given.".to_owned()),
        );
    }
    let saved = state
        .store
        .set_password_hash(
            viewer.user.id,
            &salted_hash(&new),
            onduty_store::sessions::PasswordBy::Themselves,
        )
        .await;
    if saved.is_ok() {
        state
            .app
            .own_account(
                &viewer.user,
                viewer.address,
                onduty_app::OwnAccount::PasswordChanged,
            )
            .await;
    }
    let others = state
        .store
        .delete_other_sessions(viewer.user.id, &viewer.token_hash)
        .await;
    match saved.and(others) {
        // Chosen at last: on to where they were going.
        Ok(()) if viewer.password_change_required => super::flash::done(
            &state,
            safe_next(&form.next).unwrap_or("/"),
            "Your password is changed.",
        ),
        Ok(()) => answer(StatusCode::OK, None),
        Err(e) => answer(StatusCode::SERVICE_UNAVAILABLE, Some(e.to_string())),
    }
}

/// The client's address, from the peer's and the `X-Forwarded-For` headers of trusted
/// proxies, for a request's parts.
pub(crate) fn client_ip(state: &SharedState, parts: &Parts) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    client_ip_of(state, peer, &parts.headers)
}

/// The client's address as text ("unknown" when there is none), from the peer's and the
/// `X-Forwarded-For` headers of trusted proxies.
pub(crate) fn client_of(state: &SharedState, peer: Option<IpAddr>, headers: &HeaderMap) -> String {
    client_ip_of(state, peer, headers).map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
}

/// The client's address from the peer's and the headers.
pub(super) fn client_ip_of(
    state: &SharedState,
    peer: Option<IpAddr>,
    headers: &HeaderMap,
) -> Option<IpAddr> {
    // Every X-Forwarded-For header, in order: some proxies add one rather than append.
    let forwarded: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    let forwarded = forwarded.join(",");
    client_address(
        peer,
        (!forwarded.is_empty()).then_some(forwarded.as_str()),
        &state.config.trusted_proxies,
    )
}

/// The client's address: the peer's, or, when the peer is a trusted proxy, the nearest
/// address in `X-Forwarded-For` that is not a trusted proxy itself (proxies append the
/// address they heard from, so what lies left of that could be made up by the client).
fn client_address(
    peer: Option<IpAddr>,
    forwarded_for: Option<&str>,
    trusted: &[ipnet::IpNet],
) -> Option<IpAddr> {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let peer = peer?;
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let Some(header) = forwarded_for else {
        return Some(peer);
    };
    // From the nearest hop outwards: the first one not a trusted proxy is the client.
    // Only the hops reached must be readable; what lies beyond is the client's to make up.
    let mut last = peer;
    for hop in header.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if is_trusted(&ip) => last = ip,
            Ok(ip) => return Some(ip),
            // Unreadable where it matters: count the nearest trusted proxy.
            Err(_) => return Some(last),
        }
    }
    // Every hop a trusted proxy: the farthest one.
    Some(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn log_in_returns_only_to_onduty_s_own_pages() {
        for ok in ["/incidents/3", "/chat/act/abc.def?x=1", "/"] {
            assert_eq!(safe_next(ok), Some(ok));
        }
        for elsewhere in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example/",
            "incidents",
            "/incidents\n/x",
            "/a b",
            "",
        ] {
            assert_eq!(safe_next(elsewhere), None, "{elsewhere:?}");
        }
    }

    #[test]
    fn the_client_is_the_nearest_untrusted_hop_behind_trusted_proxies() {
        let proxies: Vec<ipnet::IpNet> = vec![
            "127.0.0.1/32".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ];
        let none: Vec<ipnet::IpNet> = Vec::new();
        let peer = Some(ip("127.0.0.1"));
        // No trusted proxies: the header is ignored.
        assert_eq!(client_address(peer, Some("203.0.113.9"), &none), peer);
        // Behind a trusted proxy: the address it heard from.
        assert_eq!(
            client_address(peer, Some("203.0.113.9"), &proxies),
            Some(ip("203.0.113.9"))
        );
        // A client making up hops on the left gains nothing.
        assert_eq!(
            client_address(peer, Some("198.51.100.1, 203.0.113.9, 10.1.2.3"), &proxies),
            Some(ip("203.0.113.9"))
        );
        // An untrusted peer's header means nothing.
        let stranger = Some(ip("192.0.2.7"));
        assert_eq!(
            client_address(stranger, Some("203.0.113.9"), &proxies),
            stranger
        );
        // Unreadable, absent, or all trusted.
        assert_eq!(client_address(peer, Some("nonsense"), &proxies), peer);
        // Rubbish beyond the client is no matter; rubbish before it stops at the proxy.
        assert_eq!(
            client_address(peer, Some("rubbish, 203.0.113.9"), &proxies),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(
            client_address(peer, Some("203.0.113.9, rubbish, 10.0.0.7"), &proxies),
            Some(ip("10.0.0.7"))
        );
        assert_eq!(client_address(peer, None, &proxies), peer);
        assert_eq!(
            client_address(peer, Some("10.0.0.5"), &proxies),
            Some(ip("10.0.0.5"))
        );
        assert_eq!(client_address(None, Some("203.0.113.9"), &proxies), None);
    }
}
