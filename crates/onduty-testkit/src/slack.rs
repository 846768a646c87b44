//! A local Slack for tests: the Web API methods onduty calls (`chat.postMessage` and
//! `chat.update` with JSON bodies, `users.info` and `users.lookupByEmail` with form bodies,
//! each with `Authorization: Bearer <bot token>`, answering
//! `{"ok": true, …}` or `{"ok": false, "error": "…"}` as Slack does), `response_url`s that
//! note what onduty answered, and requests signed as Slack signs them, to send to onduty.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

pub const BOT_TOKEN: &str = "xoxb-test-token";
pub const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
/// The workspace the requests below come from.
pub const TEAM_ID: &str = "T0ONDUTY";

/// A call onduty made.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// `chat.postMessage`, `chat.update`, `users.info` or `respond`.
    pub method: String,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    calls: Mutex<Vec<Call>>,
    /// Channels the bot is in.
    channels: Mutex<Vec<String>>,
    /// Slack user id → the e-mail on their profile.
    users: Mutex<HashMap<String, String>>,
    /// The next calls answered `429` (with `Retry-After`).
    rate_limited: Mutex<(u32, u64)>,
    posted: Mutex<u64>,
}

#[derive(Clone)]
pub struct SlackServer {
    /// The Web API base, `http://127.0.0.1:<port>/api`.
    pub api_base: String,
    base: String,
    inner: Arc<Inner>,
}

impl SlackServer {
    pub async fn start() -> SlackServer {
        let inner: Arc<Inner> = Arc::default();
        let app = axum::Router::new()
            .route("/api/{method}", post(web_api))
            .route("/respond/{n}", post(respond))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Slack server");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        SlackServer {
            api_base: format!("{base}/api"),
            base,
            inner,
        }
    }

    /// The bot is in `channel`.
    pub fn join(&self, channel: &str) {
        self.inner.channels.lock().unwrap().push(channel.to_owned());
    }

    /// A workspace member, with the e-mail Slack verified for them.
    pub fn member(&self, id: &str, email: &str) {
        self.inner
            .users
            .lock()
            .unwrap()
            .insert(id.to_owned(), email.to_owned());
    }

    /// The next `calls` are answered `429 Too Many Requests`, `Retry-After: <seconds>`.
    pub fn rate_limit(&self, calls: u32, seconds: u64) {
        *self.inner.rate_limited.lock().unwrap() = (calls, seconds);
    }

    /// A `response_url` for an interaction or a command.
    pub fn response_url(&self, n: u32) -> String {
        format!("{}/respond/{n}", self.base)
    }

    /// The calls so far, and forgets them.
    pub fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.inner.calls.lock().unwrap())
    }
}

async fn web_api(
    State(inner): State<Arc<Inner>>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let body: Value = if form {
        form_urlencoded::parse(&body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect::<serde_json::Map<_, _>>()
            .into()
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(_) => return Json(json!({"ok": false, "error": "invalid_json"})).into_response(),
        }
    };
    let reads = matches!(method.as_str(), "users.info" | "users.lookupByEmail");
    if reads != form {
        // Slack takes reads form-encoded only, and onduty sends writes as JSON.
        return Json(json!({"ok": false, "error": "invalid_arguments"})).into_response();
    }
    {
        let mut limited = inner.rate_limited.lock().unwrap();
        if limited.0 > 0 {
            limited.0 -= 1;
            let headers = [("retry-after", limited.1.to_string())];
            return (StatusCode::TOO_MANY_REQUESTS, headers, "").into_response();
        }
    }
    let authorised = headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {BOT_TOKEN}"));
    if !authorised {
        return Json(json!({"ok": false, "error": "invalid_auth"})).into_response();
    }
    inner.calls.lock().unwrap().push(Call {
        method: method.clone(),
        body: body.clone(),
    });
    // Where a message goes: a channel the bot is in, or a member's direct conversation
    // with the app (`D…`), which a post may also name by the member's id (`U…`); an
    // update must name the conversation, as Slack's documentation says.
    let channel = body["channel"].as_str().unwrap_or_default().to_owned();
    let joined = inner.channels.lock().unwrap().contains(&channel);
    let direct = {
        let users = inner.users.lock().unwrap();
        if users.contains_key(&channel) {
            Some((format!("D{}", &channel[1..]), false))
        } else {
            channel
                .strip_prefix('D')
                .filter(|rest| users.contains_key(&format!("U{rest}")))
                .map(|_| (channel.clone(), true))
        }
    };
    let named_by_conversation = direct.as_ref().map(|(_, named)| *named);
    let answer = match (method.as_str(), joined, named_by_conversation) {
        ("chat.postMessage", true, _) | ("chat.postMessage", _, Some(_)) => {
            let mut posted = inner.posted.lock().unwrap();
            *posted += 1;
            let channel = direct.map_or(channel, |(d, _)| d);
            json!({"ok": true, "channel": channel, "ts": format!("1700000000.{:06}", *posted)})
        }
        ("chat.update", true, _) | ("chat.update", _, Some(true)) => {
            json!({"ok": true, "channel": channel, "ts": body["ts"]})
        }
        ("chat.update", _, Some(false)) => {
            json!({"ok": false, "error": "channel_not_found"})
        }
        ("chat.postMessage" | "chat.update", ..) => {
            json!({"ok": false, "error": "not_in_channel"})
        }
        ("users.info", ..) => {
            let user = body["user"].as_str().unwrap_or_default();
            match inner.users.lock().unwrap().get(user) {
                Some(email) => {
                    json!({"ok": true, "user": {"id": user, "profile": {"email": email}}})
                }
                None => json!({"ok": false, "error": "user_not_found"}),
            }
        }
        ("users.lookupByEmail", ..) => {
            let email = body["email"].as_str().unwrap_or_default();
            let users = inner.users.lock().unwrap();
            match users.iter().find(|(_, e)| e.as_str() == email) {
                Some((id, _)) => json!({"ok": true, "user": {"id": id}}),
                None => json!({"ok": false, "error": "users_not_found"}),
            }
        }
        _ => json!({"ok": false, "error": "unknown_method"}),
    };
    Json(answer).into_response()
}

async fn respond(State(inner): State<Arc<Inner>>, Json(body): Json<Value>) -> &'static str {
    inner.calls.lock().unwrap().push(Call {
        method: "respond".to_owned(),
        body,
    });
    "ok"
}

/// The headers Slack sends with `body` at `timestamp` (Unix seconds).
pub fn signed_headers(timestamp: i64, body: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            "x-slack-signature",
            onduty_core::signature::slack_signature(SIGNING_SECRET, timestamp, body.as_bytes()),
        ),
        ("x-slack-request-timestamp", timestamp.to_string()),
        (
            "content-type",
            "application/x-www-form-urlencoded".to_owned(),
        ),
    ]
}

/// A user's name: their id without Slack's `U0`, in small letters (`U0BOB` is `bob`).
pub fn username(user: &str) -> String {
    user.trim_start_matches("U0").to_lowercase()
}

/// A click on an incident message's button, as Slack posts it (`payload=<JSON>`).
pub fn click_body(user: &str, action_id: &str, incident_id: &str, response_url: &str) -> String {
    let payload = json!({
        "type": "block_actions",
        "team": {"id": TEAM_ID},
        "user": {"id": user, "username": username(user)},
        "response_url": response_url,
        "actions": [{"type": "button", "block_id": "onduty", "action_id": action_id, "value": incident_id}],
    });
    form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", &payload.to_string())
        .finish()
}

/// A `/onduty <text>` slash command, as Slack posts it.
pub fn command_body(user: &str, text: &str, response_url: &str) -> String {
    form_urlencoded::Serializer::new(String::new())
        .append_pair("command", "/onduty")
        .append_pair("team_id", TEAM_ID)
        .append_pair("text", text)
        .append_pair("user_id", user)
        .append_pair("user_name", &username(user))
        .append_pair("response_url", response_url)
        .finish()
}
