//! Single sign-on's pages: `/auth/oidc/start` sends the person to the identity provider
//! with a fresh state, nonce and PKCE verifier (kept in a short-lived cookie), and
//! `/auth/oidc/callback` takes them back: the state checked, the code exchanged and the
//! ID token verified (`crate::sso`), then `App::sign_in_with_sso` says who they are and a
//! session starts. Every refusal is the log-in page with the reason; nothing is changed.

use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use super::auth::{login_refused, safe_next, sign_in};
use super::cookies::{self, Sent, SetCookie};
use crate::SharedState;
use crate::sso::{self, Pending};

pub(super) fn routes() -> Router<SharedState> {
    Router::new()
        .route("/auth/oidc/start", get(start))
        .route("/auth/oidc/callback", get(callback))
}

/// The cookie holding a sign-in under way; over HTTPS with the `__Host-` prefix, which
/// browsers take only from this host, over a secure connection, for every path (so a
/// neighbouring host cannot plant a sign-in of its own).
fn pending_name(state: &SharedState) -> &'static str {
    if secure(state) {
        "__Host-onduty_sso"
    } else {
        "onduty_sso"
    }
}

fn secure(state: &SharedState) -> bool {
    state.config.public_url.starts_with("https://")
}
/// How long a person may take at the provider.
const PENDING_FOR: Duration = Duration::from_secs(10 * 60);

/// Where the provider sends people back.
fn redirect_uri(state: &SharedState) -> String {
    format!(
        "{}/auth/oidc/callback",
        state.config.public_url.trim_end_matches('/')
    )
}

fn pending_cookie(state: &SharedState, value: &str, max_age: Duration) -> Option<HeaderValue> {
    SetCookie {
        name: pending_name(state),
        value,
        max_age,
        // Sent with the provider's redirect back (a top-level navigation from elsewhere).
        sent: Sent::Lax,
        secure: secure(state),
    }
    .header()
}

#[derive(Deserialize)]
struct StartQuery {
    next: Option<String>,
}

async fn start(
    State(state): State<SharedState>,
    headers: HeaderMap,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    Query(query): Query<StartQuery>,
) -> Response {
    let Some(settings) = &state.config.sso else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Each start asks the provider: counted per client as password attempts are.
    let ip = super::auth::client_of(&state, peer.map(|p| p.0.0.ip()), &headers);
    if let Err(wait) = state.login_client_limiter.check(&ip, state.clock.now()) {
        return login_refused(
            &state,
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            &format!(
                "Too many attempts. Try again in {} seconds.",
                wait.as_secs().max(1)
            ),
        );
    }
    let next = query
        .next
        .as_deref()
        .and_then(safe_next)
        .unwrap_or("/")
        .to_owned();
    let http = sso::http_client();
    match sso::begin(settings, &http, &redirect_uri(&state), &next).await {
        Ok((url, pending)) => {
            let value = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&pending).unwrap_or_default());
            let set = pending_cookie(&state, &value, PENDING_FOR);
            cookies::with(Redirect::to(&url).into_response(), set)
        }
        Err(e) => {
            tracing::warn!(error = %e, "single sign-on could not start");
            login_refused(&state, &headers, StatusCode::BAD_GATEWAY, &e.to_string())
        }
    }
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    /// The issuer of the answer (RFC 9207), when the provider says.
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// The sign-in under way in this browser, if its cookie reads.
fn pending(state: &SharedState, headers: &HeaderMap) -> Option<Pending> {
    let text = cookies::read(headers, pending_name(state))?;
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    serde_json::from_slice(&bytes).ok()
}

async fn callback(
    State(state): State<SharedState>,
    headers: HeaderMap,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<std::net::SocketAddr>>>,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let Some(settings) = &state.config.sso else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // Whatever happens, the sign-in under way is over.
    let clear = pending_cookie(&state, "", Duration::ZERO);
    let refuse = |status: StatusCode, why: &str| {
        cookies::with(login_refused(&state, &headers, status, why), clear.clone())
    };
    let Some(pending) = pending(&state, &headers) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "This sign-in was not started in this browser, or took longer than 10 minutes: start again.",
        );
    };
    let same_state = query
        .state
        .as_deref()
        .is_some_and(|s| bool::from(s.as_bytes().ct_eq(pending.state.as_bytes())));
    if !same_state {
        return refuse(
            StatusCode::BAD_REQUEST,
            "This answer does not belong to the sign-in started in this browser: start again.",
        );
    }
    if let Some(error) = &query.error {
        let detail = query.error_description.as_deref().unwrap_or_default();
        let detail: String = format!("{error} {detail}").chars().take(300).collect();
        return refuse(
            StatusCode::FORBIDDEN,
            &format!(
                "The identity provider refused the sign-in: {}",
                detail.trim()
            ),
        );
    }
    if let Some(iss) = &query.iss
        && iss != &settings.issuer
    {
        let iss: String = iss.chars().take(200).collect();
        return refuse(
            StatusCode::BAD_GATEWAY,
            &sso::SsoError::WrongIssuer {
                expected: settings.issuer.clone(),
                found: iss,
            }
            .to_string(),
        );
    }
    let Some(code) = &query.code else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "The identity provider sent no code: start again.",
        );
    };
    let http = sso::http_client();
    let now = state.clock.now();
    let identity =
        match sso::finish(settings, &http, &redirect_uri(&state), &pending, code, now).await {
            Ok(identity) => identity,
            Err(e) => {
                tracing::warn!(error = %e, "a single sign-on was refused");
                return refuse(StatusCode::BAD_GATEWAY, &e.to_string());
            }
        };
    let address = super::auth::client_ip_of(&state, peer.map(|p| p.0.0.ip()), &headers);
    match state
        .app
        .sign_in_with_sso(&identity, &settings.policy, address)
        .await
    {
        Ok(user) => {
            let to = safe_next(&pending.next).unwrap_or("/");
            cookies::with(sign_in(&state, &user, to).await, clear)
        }
        Err(onduty_app::AppError::Forbidden(why)) => refuse(StatusCode::FORBIDDEN, &why),
        Err(e) => {
            tracing::error!(error = %e, "a single sign-on could not be carried out");
            refuse(
                StatusCode::SERVICE_UNAVAILABLE,
                "onduty could not sign you in just now; try again.",
            )
        }
    }
}
