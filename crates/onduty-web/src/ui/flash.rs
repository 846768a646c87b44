//! One-time messages from a form to the page it redirects to ("Service created",
//! "'name': must not be empty"), carried in a short-lived cookie so that no link can put
//! words on a page.

use std::fmt::Display;
use std::time::Duration;

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use super::cookies::{self, Sent, SetCookie};
use crate::SharedState;
use crate::error::ApiError;

pub(super) const COOKIE: &str = "onduty_flash";

/// Longest message kept, in characters.
const MAX_CHARS: usize = 300;

#[derive(Clone, Debug)]
pub(crate) struct Flash {
    pub error: bool,
    pub text: String,
}

impl Flash {
    /// The message in a cookie's value (`error=…` or `notice=…`, form-encoded).
    pub(super) fn read(value: &str) -> Option<Flash> {
        let (kind, text) = form_urlencoded::parse(value.as_bytes()).next()?;
        let error = match kind.as_ref() {
            "error" => true,
            "notice" => false,
            _ => return None,
        };
        Some(Flash {
            error,
            text: text.chars().take(MAX_CHARS).collect(),
        })
    }

    fn cookie_value(&self) -> String {
        let text: String = self.text.chars().take(MAX_CHARS).collect();
        form_urlencoded::Serializer::new(String::new())
            .append_pair(if self.error { "error" } else { "notice" }, &text)
            .finish()
    }
}

/// A redirect to `to` that shows `flash` there once.
fn redirect_with(state: &SharedState, to: &str, flash: Flash) -> Response {
    let cookie = super::auth::set_cookie(
        state,
        COOKIE,
        &flash.cookie_value(),
        Duration::from_secs(60),
    );
    cookies::with(Redirect::to(to).into_response(), cookie)
}

/// Back to `to` after a form worked, saying so.
pub(crate) fn done(state: &SharedState, to: &str, notice: impl Into<String>) -> Response {
    redirect_with(
        state,
        to,
        Flash {
            error: false,
            text: notice.into(),
        },
    )
}

/// Back to `to` after a form failed, saying why.
pub(crate) fn failed(state: &SharedState, to: &str, error: impl Display) -> Response {
    redirect_with(
        state,
        to,
        Flash {
            error: true,
            text: error.to_string(),
        },
    )
}

/// Back to `to` after a form's change: saying `notice` if it worked, why not if not.
pub(crate) fn after<T, E: Into<ApiError>>(
    state: &SharedState,
    to: &str,
    result: Result<T, E>,
    notice: &str,
) -> Response {
    match result {
        Ok(_) => done(state, to, notice),
        Err(e) => failed(state, to, e.into()),
    }
}

/// Once a page has been shown with the message, the cookie goes.
pub(super) async fn clear_after_showing(request: Request, next: Next) -> Response {
    let had = cookies::read(request.headers(), COOKIE).is_some();
    let response = next.run(request).await;
    if had && response.status().is_success() {
        let gone = SetCookie {
            name: COOKIE,
            value: "",
            max_age: Duration::ZERO,
            sent: Sent::Lax,
            secure: false,
        };
        return gone.on(response);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_survives_its_cookie() {
        let flash = Flash {
            error: true,
            text: "'name': taken; try «another» = ok".to_owned(),
        };
        let back = Flash::read(&flash.cookie_value()).unwrap();
        assert!(back.error);
        assert_eq!(back.text, flash.text);
        assert!(!flash.cookie_value().contains([';', ' ', ',', '"']));
    }

    #[test]
    fn unknown_kinds_and_long_texts_are_refused_or_cut() {
        assert!(Flash::read("script=hi").is_none());
        let long = format!("notice={}", "a".repeat(1000));
        let read = Flash::read(&long).unwrap();
        assert!(!read.error);
        assert_eq!(read.text.len(), MAX_CHARS);
    }
}
