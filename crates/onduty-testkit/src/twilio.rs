//! A local stand-in for Twilio's REST API: the `Messages.json` and `Calls.json`
//! resources with Twilio's request and response shapes (form fields in, JSON out, HTTP
//! basic auth, Twilio's error bodies), recording what it was asked to send. Also signs
//! webhooks the way Twilio does, to post them to onduty.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use serde_json::json;

pub const ACCOUNT_SID: &str = "AC00000000000000000000000000000001";
pub const AUTH_TOKEN: &str = "test-auth-token-0123456789abcdef";
pub const FROM: &str = "+15005550006";

/// One request Twilio accepted.
#[derive(Debug, Clone)]
pub struct Request {
    /// `Messages` or `Calls`.
    pub resource: String,
    pub sid: String,
    pub form: Vec<(String, String)>,
}

impl Request {
    pub fn field(&self, name: &str) -> &str {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    }
}

#[derive(Default)]
struct Inner {
    accepted: Vec<Request>,
    /// Numbers Twilio refuses as invalid (error 21211).
    invalid: HashSet<String>,
    /// Statuses to answer the next requests with (a 500, say), first first.
    fail: Vec<StatusCode>,
    next: u64,
}

#[derive(Clone)]
pub struct FakeTwilio {
    /// `http://127.0.0.1:<port>`: the API base URL to configure.
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

impl FakeTwilio {
    pub async fn start() -> FakeTwilio {
        let inner: Arc<Mutex<Inner>> = Arc::default();
        let app = Router::new()
            .route("/2010-04-01/Accounts/{sid}/{resource}", post(create))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        FakeTwilio { url, inner }
    }

    /// What was accepted since the last look.
    pub fn take(&self) -> Vec<Request> {
        std::mem::take(&mut self.inner.lock().unwrap().accepted)
    }

    pub fn refuse_number(&self, number: &str) {
        self.inner.lock().unwrap().invalid.insert(number.to_owned());
    }

    pub fn fail_next(&self, status: StatusCode) {
        self.inner.lock().unwrap().fail.push(status);
    }
}

fn twilio_error(status: StatusCode, code: u32, message: &str) -> Response {
    (
        status,
        axum::Json(json!({
            "code": code,
            "message": message,
            "more_info": format!("https://www.twilio.com/docs/errors/{code}"),
            "status": status.as_u16(),
        })),
    )
        .into_response()
}

async fn create(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path((sid, resource)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{ACCOUNT_SID}:{AUTH_TOKEN}"))
    );
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if sid != ACCOUNT_SID || auth != expected {
        return twilio_error(StatusCode::UNAUTHORIZED, 20003, "Authenticate");
    }
    let resource = match resource.as_str() {
        "Messages.json" => "Messages",
        "Calls.json" => "Calls",
        _ => {
            return twilio_error(
                StatusCode::NOT_FOUND,
                20404,
                "The requested resource was not found",
            );
        }
    };
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("application/x-www-form-urlencoded") {
        return twilio_error(StatusCode::BAD_REQUEST, 20001, "Expected a form body");
    }
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let get = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut inner = inner.lock().unwrap();
    if !inner.fail.is_empty() {
        let status = inner.fail.remove(0);
        return twilio_error(status, 20500, "Internal Server Error");
    }
    let to = get("To");
    if to.is_empty() {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21604,
            "A 'To' phone number is required.",
        );
    }
    if get("From") != FROM {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21606,
            "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination/account.",
        );
    }
    let e164 = to.starts_with('+') && to.len() > 8 && to[1..].chars().all(|c| c.is_ascii_digit());
    if !e164 || inner.invalid.contains(&to) {
        return twilio_error(
            StatusCode::BAD_REQUEST,
            21211,
            &format!("The 'To' number {to} is not a valid phone number."),
        );
    }
    let missing = match resource {
        "Messages" if get("Body").is_empty() => Some((21602, "Message body is required.")),
        "Calls" if get("Url").is_empty() && get("Twiml").is_empty() => {
            Some((21205, "Url parameter is required."))
        }
        _ => None,
    };
    if let Some((code, message)) = missing {
        return twilio_error(StatusCode::BAD_REQUEST, code, message);
    }
    inner.next += 1;
    let prefix = if resource == "Messages" { "SM" } else { "CA" };
    let sid = format!("{prefix}{:032x}", inner.next);
    inner.accepted.push(Request {
        resource: resource.to_owned(),
        sid: sid.clone(),
        form: form.clone(),
    });
    (
        StatusCode::CREATED,
        axum::Json(json!({
            "sid": sid,
            "account_sid": ACCOUNT_SID,
            "to": to,
            "from": get("From"),
            "body": get("Body"),
            "status": "queued",
            "uri": format!("/2010-04-01/Accounts/{ACCOUNT_SID}/{resource}/{sid}.json"),
        })),
    )
        .into_response()
}
