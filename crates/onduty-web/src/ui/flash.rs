//! One-time messages from a form to the page it redirects to ("Service created",
//! "Name: must not be empty"), carried in a short-lived cookie so that no link can put
//! words on a page. A form that failed also carries back what was typed in it (never a
//! password), so that the page shows it again.

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
/// Longest cookie value, encoded: browsers keep cookies up to 4 KB, name and attributes
/// included. What was typed is carried back while it fits.
const MAX_COOKIE_CHARS: usize = 3500;

#[derive(Clone, Debug, Default)]
pub(crate) struct Flash {
    pub error: bool,
    pub text: String,
    /// What was typed in the form, by field name, to show again.
    pub kept: Vec<(String, String)>,
}

impl Flash {
    /// The message in a cookie's value (`error=…` or `notice=…`, form-encoded).
    pub(super) fn read(value: &str) -> Option<Flash> {
        let mut pairs = form_urlencoded::parse(value.as_bytes());
        let (kind, text) = pairs.next()?;
        let error = match kind.as_ref() {
            "error" => true,
            "notice" => false,
            _ => return None,
        };
        let kept = pairs
            .filter_map(|(name, value)| {
                let name = name.strip_prefix("kept.")?.to_owned();
                Some((name, value.into_owned()))
            })
            .collect();
        Some(Flash {
            error,
            text: text.chars().take(MAX_CHARS).collect(),
            kept,
        })
    }

    fn cookie_value(&self) -> String {
        let text: String = self.text.chars().take(MAX_CHARS).collect();
        let mut value = form_urlencoded::Serializer::new(String::new());
        value.append_pair(if self.error { "error" } else { "notice" }, &text);
        let mut value = value.finish();
        for (name, typed) in &self.kept {
            // Measured encoded: a cookie over 4 KB would be dropped whole.
            let field = form_urlencoded::Serializer::new(String::new())
                .append_pair(&format!("kept.{name}"), typed)
                .finish();
            if value.len() + 1 + field.len() <= MAX_COOKIE_CHARS {
                value.push('&');
                value.push_str(&field);
            }
        }
        value
    }

    /// What was typed in field `name` before the form failed; empty if nothing.
    pub(crate) fn kept(&self, name: &str) -> &str {
        self.kept
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// An error as a form's reader says it: the API's `'time_zone': …` names the field by its
/// label instead ("Time zone: …").
pub(crate) fn in_plain_words(error: &str) -> String {
    let Some(rest) = error.strip_prefix('\'') else {
        return error.to_owned();
    };
    let Some((field, said)) = rest.split_once("': ") else {
        return error.to_owned();
    };
    let mut label = field.replace(['_', '.'], " ");
    if let Some(first) = label.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    if label == "Email" {
        label = "E-mail".to_owned();
    }
    format!("{label}: {said}")
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
            kept: Vec::new(),
        },
    )
}

/// Back to `to` after a form failed, saying why.
pub(crate) fn failed(state: &SharedState, to: &str, error: impl Display) -> Response {
    failed_keeping(state, to, error, &[])
}

/// Back to `to` after a form failed, saying why, with what was typed in `fields` (by
/// name) to show again.
pub(crate) fn failed_keeping(
    state: &SharedState,
    to: &str,
    error: impl Display,
    fields: &[(&str, &str)],
) -> Response {
    redirect_with(
        state,
        to,
        Flash {
            error: true,
            text: in_plain_words(&error.to_string()),
            kept: fields
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
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
    fn a_message_and_what_was_typed_survive_their_cookie() {
        let flash = Flash {
            error: true,
            text: "'name': taken; try «another» = ok".to_owned(),
            kept: vec![
                ("name".to_owned(), "Ada; \"Lovelace\" = <b>".to_owned()),
                ("time_zone".to_owned(), "Europe/Lodnon".to_owned()),
            ],
        };
        let back = Flash::read(&flash.cookie_value()).unwrap();
        assert!(back.error);
        assert_eq!(back.text, flash.text);
        assert_eq!(back.kept("name"), "Ada; \"Lovelace\" = <b>");
        assert_eq!(back.kept("time_zone"), "Europe/Lodnon");
        assert_eq!(back.kept("email"), "");
        assert!(!flash.cookie_value().contains([';', ' ', ',', '"']));
        // What does not fit is left out, not cut; what fits after it is kept.
        let long = Flash {
            kept: vec![
                ("notes".to_owned(), "й".repeat(1000)),
                ("name".to_owned(), "Ada".to_owned()),
            ],
            ..flash
        };
        let value = long.cookie_value();
        assert!(value.len() <= MAX_COOKIE_CHARS, "{}", value.len());
        let back = Flash::read(&value).unwrap();
        assert_eq!(back.kept("notes"), "");
        assert_eq!(back.kept("name"), "Ada");
    }

    #[test]
    fn errors_name_fields_by_their_labels() {
        assert_eq!(
            in_plain_words("'time_zone': 'Europe/Lodnon' is not a time zone"),
            "Time zone: 'Europe/Lodnon' is not a time zone"
        );
        assert_eq!(in_plain_words("'email': taken"), "E-mail: taken");
        assert_eq!(in_plain_words("no field here"), "no field here");
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
