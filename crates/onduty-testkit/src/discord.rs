//! A local Discord for tests: a channel's webhook, `POST /api/webhooks/<id>/<token>`
//! (`?wait=true` answers the message, with its id; without it, `204`), and
//! `PATCH /api/webhooks/<id>/<token>/messages/<message id>` to edit one, answering as
//! Discord does: `404 {"code": 10008}` for an unknown message, `401 {"code": 50027}` for a
//! wrong token, and `429` with `Retry-After` and `retry_after` when told to.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post};
use serde_json::{Value, json};

const WEBHOOK_ID: &str = "1234567890";
const WEBHOOK_TOKEN: &str = "s3cret-webhook-token";

#[derive(Default)]
struct Inner {
    /// Messages by id, as last written.
    messages: Mutex<HashMap<String, Value>>,
    /// Each post and edit, in order: (`post` or `edit`, the body).
    writes: Mutex<Vec<(String, Value)>>,
    /// The next requests are answered `429`, asking to wait these seconds.
    rate_limited: Mutex<(u32, f64)>,
    made: Mutex<u64>,
}

#[derive(Clone)]
pub struct DiscordServer {
    base: String,
    inner: Arc<Inner>,
}

fn error(status: StatusCode, code: i64, message: &str) -> Response {
    (status, Json(json!({"code": code, "message": message}))).into_response()
}

impl DiscordServer {
    pub async fn start() -> DiscordServer {
        let inner: Arc<Inner> = Arc::default();
        let app = axum::Router::new()
            .route("/api/webhooks/{id}/{token}", post(execute))
            .route("/api/webhooks/{id}/{token}/messages/{message}", patch(edit))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Discord server");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        DiscordServer { base, inner }
    }

    /// The channel's webhook URL.
    pub fn webhook(&self) -> String {
        format!("{}/api/webhooks/{WEBHOOK_ID}/{WEBHOOK_TOKEN}", self.base)
    }

    /// Someone deletes a message.
    pub fn delete(&self, message_id: &str) {
        self.inner.messages.lock().unwrap().remove(message_id);
    }

    /// The next `requests` are answered `429`, asking to wait `seconds`.
    pub fn rate_limit(&self, requests: u32, seconds: f64) {
        *self.inner.rate_limited.lock().unwrap() = (requests, seconds);
    }

    /// The posts and edits so far, `("post" | "edit", body)`, and forgets them.
    pub fn take(&self) -> Vec<(String, Value)> {
        std::mem::take(&mut *self.inner.writes.lock().unwrap())
    }
}

/// The refusal for a wrong webhook or a rate limit, if one applies.
fn refusal(inner: &Inner, id: &str, token: &str) -> Option<Response> {
    if id != WEBHOOK_ID || token != WEBHOOK_TOKEN {
        return Some(error(
            StatusCode::UNAUTHORIZED,
            50027,
            "Invalid Webhook Token",
        ));
    }
    let mut limited = inner.rate_limited.lock().unwrap();
    if limited.0 > 0 {
        limited.0 -= 1;
        let headers = [("retry-after", format!("{}", limited.1.ceil()))];
        let body = json!({"message": "You are being rate limited.", "retry_after": limited.1, "global": false});
        return Some((StatusCode::TOO_MANY_REQUESTS, headers, Json(body)).into_response());
    }
    None
}

async fn execute(
    State(inner): State<Arc<Inner>>,
    Path((id, token)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refused) = refusal(&inner, &id, &token) {
        return refused;
    }
    if body["embeds"]
        .as_array()
        .is_none_or(|e| e.is_empty() || e.len() > 10)
    {
        return error(
            StatusCode::BAD_REQUEST,
            50006,
            "Cannot send an empty message",
        );
    }
    let message_id = {
        let mut made = inner.made.lock().unwrap();
        *made += 1;
        format!("11{:0>16}", *made)
    };
    let mut message = body.clone();
    message["id"] = json!(message_id);
    message["webhook_id"] = json!(WEBHOOK_ID);
    inner
        .messages
        .lock()
        .unwrap()
        .insert(message_id, message.clone());
    inner.writes.lock().unwrap().push(("post".to_owned(), body));
    if query.get("wait").map(String::as_str) == Some("true") {
        Json(message).into_response()
    } else {
        StatusCode::NO_CONTENT.into_response()
    }
}

async fn edit(
    State(inner): State<Arc<Inner>>,
    Path((id, token, message_id)): Path<(String, String, String)>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refused) = refusal(&inner, &id, &token) {
        return refused;
    }
    let mut messages = inner.messages.lock().unwrap();
    let Some(message) = messages.get_mut(&message_id) else {
        return error(StatusCode::NOT_FOUND, 10008, "Unknown Message");
    };
    *message = body.clone();
    message["id"] = json!(message_id);
    inner.writes.lock().unwrap().push(("edit".to_owned(), body));
    Json(message.clone()).into_response()
}
