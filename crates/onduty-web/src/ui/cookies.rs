//! The cookies pages read and set, written and parsed by the `cookie` crate.
//!
//! Every cookie onduty sets is for the whole site, hidden from scripts (HttpOnly) and,
//! when onduty is served over HTTPS, sent only over HTTPS (Secure).

use std::time::Duration;

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use cookie::{Cookie, SameSite};

/// A cookie's value from the request, if it came.
pub(crate) fn read(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_owned())
}

/// How a cookie travels with requests from other sites.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Sent {
    /// With top-level navigation from other sites too (a session: links in e-mail work).
    Lax,
    /// Only with requests from onduty's own pages.
    Strict,
}

/// The cookie to set.
pub(crate) struct SetCookie<'a> {
    pub name: &'a str,
    pub value: &'a str,
    /// Zero removes the cookie.
    pub max_age: Duration,
    pub sent: Sent,
    pub secure: bool,
}

impl SetCookie<'_> {
    /// The `Set-Cookie` header's value.
    pub(crate) fn header(&self) -> Option<HeaderValue> {
        let seconds = i64::try_from(self.max_age.as_secs()).unwrap_or(i64::MAX);
        let cookie = Cookie::build((self.name, self.value))
            .path("/")
            .http_only(true)
            .same_site(match self.sent {
                Sent::Lax => SameSite::Lax,
                Sent::Strict => SameSite::Strict,
            })
            .max_age(cookie::time::Duration::seconds(seconds))
            .secure(self.secure)
            .build();
        HeaderValue::from_str(&cookie.to_string()).ok()
    }

    /// `response` with this cookie set.
    pub(crate) fn on(&self, response: Response) -> Response {
        with(response, self.header())
    }
}

/// `response` with a `Set-Cookie` header, if there is one.
pub(crate) fn with(mut response: Response, set: Option<HeaderValue>) -> Response {
    if let Some(value) = set {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_cookie_among_several_headers() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; onduty_flash=x%3Dy"),
        );
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("onduty_session=abc"),
        );
        assert_eq!(read(&headers, "onduty_session").as_deref(), Some("abc"));
        assert_eq!(read(&headers, "onduty_flash").as_deref(), Some("x%3Dy"));
        assert_eq!(read(&headers, "onduty"), None);
    }

    #[test]
    fn sets_the_attributes_every_cookie_needs() {
        let set = |secure, max_age| {
            SetCookie {
                name: "onduty_session",
                value: "abc",
                max_age,
                sent: Sent::Lax,
                secure,
            }
            .header()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned()
        };
        let plain = set(false, Duration::from_secs(60));
        for part in [
            "onduty_session=abc",
            "HttpOnly",
            "SameSite=Lax",
            "Path=/",
            "Max-Age=60",
        ] {
            assert!(plain.contains(part), "{plain} lacks {part}");
        }
        assert!(!plain.contains("Secure"), "{plain}");
        assert!(set(true, Duration::ZERO).contains("Secure"));
        assert!(set(true, Duration::ZERO).contains("Max-Age=0"));
    }
}
