//! Reading a product's REST API: JSON GETs with its authentication, waiting as its rate
//! limit asks (429 with `ratelimit-reset` or `Retry-After`), and a clear error for
//! anything else it refuses.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{product} refused the credentials ({status}): {message}")]
    Unauthorized {
        product: &'static str,
        status: u16,
        message: String,
    },
    #[error("{product} answered {status} to GET {path}: {message}")]
    Api {
        product: &'static str,
        status: u16,
        path: String,
        message: String,
    },
    #[error("{product} kept answering 429 (too many requests) to GET {path}; try again later")]
    RateLimited { product: &'static str, path: String },
    #[error("cannot reach {product} at {url}: {message}")]
    Unreachable {
        product: &'static str,
        url: String,
        message: String,
    },
    #[error("{product}'s answer to GET {path} cannot be read: {message}")]
    Unreadable {
        product: &'static str,
        path: String,
        message: String,
    },
    #[error("{0}")]
    Invalid(String),
}

/// How to wait before trying again (the clock in production; a recorder in tests).
pub type Wait = Arc<dyn Fn(Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> + Send + Sync>;

/// Waits on the real clock.
pub fn sleeping() -> Wait {
    Arc::new(|d| Box::pin(tokio::time::sleep(d)))
}

/// Tries a rate-limited GET this many times.
const ATTEMPTS: u32 = 6;
/// The longest wait a rate limit may ask for.
const LONGEST_WAIT: Duration = Duration::from_secs(120);

/// One product's API: its base URL and the headers each request carries.
#[derive(Clone)]
pub struct Api {
    pub product: &'static str,
    base: String,
    headers: HeaderMap,
    http: reqwest::Client,
    wait: Wait,
}

impl std::fmt::Debug for Api {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The headers hold the credentials.
        f.debug_struct("Api")
            .field("product", &self.product)
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl Api {
    /// `base` without a trailing slash (`https://api.pagerduty.com`); `headers` as
    /// `(name, value)`, the credentials among them.
    pub fn new(
        product: &'static str,
        base: &str,
        headers: &[(&str, String)],
        wait: Wait,
    ) -> Result<Api, ImportError> {
        let url = url::Url::parse(base)
            .map_err(|e| ImportError::Invalid(format!("'{base}' is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ImportError::Invalid(format!(
                "'{base}' is not an http(s) URL"
            )));
        }
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| ImportError::Invalid(e.to_string()))?;
            let mut value = HeaderValue::from_str(value)
                .map_err(|_| ImportError::Invalid(format!("the {name} header cannot be sent")))?;
            value.set_sensitive(true);
            map.insert(name, value);
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ImportError::Invalid(e.to_string()))?;
        Ok(Api {
            product,
            base: base.trim_end_matches('/').to_owned(),
            headers: map,
            http,
            wait,
        })
    }

    /// `GET path?query` as JSON.
    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<Value, ImportError> {
        let mut url = url::Url::parse(&format!("{}{path}", self.base))
            .map_err(|e| ImportError::Invalid(format!("'{path}': {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        for _ in 0..ATTEMPTS {
            let answer = self
                .http
                .get(url.clone())
                .headers(self.headers.clone())
                .send()
                .await
                .map_err(|e| ImportError::Unreachable {
                    product: self.product,
                    url: self.base.clone(),
                    message: e.to_string(),
                })?;
            let status = answer.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                (self.wait)(retry_after(answer.headers())).await;
                continue;
            }
            let text = answer.text().await.unwrap_or_default();
            if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
                return Err(ImportError::Unauthorized {
                    product: self.product,
                    status: status.as_u16(),
                    message: message_of(&text),
                });
            }
            if !status.is_success() {
                return Err(ImportError::Api {
                    product: self.product,
                    status: status.as_u16(),
                    path: path.to_owned(),
                    message: message_of(&text),
                });
            }
            return serde_json::from_str(&text).map_err(|e| ImportError::Unreadable {
                product: self.product,
                path: path.to_owned(),
                message: e.to_string(),
            });
        }
        Err(ImportError::RateLimited {
            product: self.product,
            path: path.to_owned(),
        })
    }
}

/// How long a 429 asks to wait: `ratelimit-reset` (PagerDuty, Opsgenie: seconds) or
/// `Retry-After` (seconds), else a second; at least a second, at most [`LONGEST_WAIT`].
fn retry_after(headers: &HeaderMap) -> Duration {
    [
        "ratelimit-reset",
        "retry-after",
        "x-ratelimit-period-in-sec",
    ]
    .iter()
    .find_map(|h| {
        headers
            .get(*h)?
            .to_str()
            .ok()?
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|s| s.is_finite() && *s >= 0.0)
    })
    .map_or(Duration::from_secs(1), Duration::from_secs_f64)
    // A reset of 0 would retry at once, in a burst.
    .clamp(Duration::from_secs(1), LONGEST_WAIT)
}

/// The sentence in an error body (`{"error": {"message": …}}`, `{"message": …}`), else
/// the body's start.
fn message_of(body: &str) -> String {
    let parsed: Option<Value> = serde_json::from_str(body).ok();
    let found = parsed.as_ref().and_then(|v| {
        v.pointer("/error/message")
            .or_else(|| v.get("message"))
            .or_else(|| v.get("detail"))
            .or_else(|| v.get("error"))
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    found.unwrap_or_else(|| body.chars().take(200).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rate_limit_says_how_long_to_wait() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), Duration::from_secs(1));
        h.insert("retry-after", HeaderValue::from_static("0"));
        assert_eq!(retry_after(&h), Duration::from_secs(1), "never a burst");
        h.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&h), Duration::from_secs(3));
        h.insert("ratelimit-reset", HeaderValue::from_static("7"));
        assert_eq!(retry_after(&h), Duration::from_secs(7));
        h.insert("ratelimit-reset", HeaderValue::from_static("100000"));
        assert_eq!(retry_after(&h), LONGEST_WAIT);
    }

    #[test]
    fn an_error_body_gives_its_sentence() {
        assert_eq!(
            message_of(r#"{"error":{"message":"Invalid Input Provided","code":2001}}"#),
            "Invalid Input Provided"
        );
        assert_eq!(
            message_of(r#"{"message":"Key is invalid"}"#),
            "Key is invalid"
        );
        assert_eq!(message_of("Bad Gateway"), "Bad Gateway");
    }
}
