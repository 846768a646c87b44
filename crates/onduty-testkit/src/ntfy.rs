//! A local ntfy server for tests, speaking the part of ntfy's HTTP API onduty uses:
//! publishing as JSON (`POST /` with `topic`, `title`, `message`, `priority`, `tags`,
//! `click`, `actions`, `sequence_id`) and clearing a notification by its sequence id
//! (`PUT /<topic>/<sequence id>/clear`). A topic may require an access token
//! (`Authorization: Bearer tk_…`); without it the server answers 403 as ntfy does
//! (`{"code":40301,"http":403,"error":"forbidden"}`). It can be told to answer every
//! request with a status instead, to stand in for a server that is down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use serde_json::{Value, json};

/// What reached the server.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// A published message, as its JSON.
    Published(Value),
    /// `PUT /<topic>/<sequence id>/clear`.
    Cleared { topic: String, sequence_id: String },
}

#[derive(Default)]
struct Inner {
    received: Mutex<Vec<Received>>,
    /// Topic → the token it requires.
    tokens: Mutex<HashMap<String, String>>,
    /// Answer everything with this status (a server that is down or refuses).
    failing: Mutex<Option<StatusCode>>,
}

#[derive(Clone)]
pub struct NtfyServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    inner: Arc<Inner>,
}

impl NtfyServer {
    pub async fn start() -> NtfyServer {
        let inner: Arc<Inner> = Arc::default();
        let app = axum::Router::new()
            .route("/", post(publish))
            .route("/{topic}/{sequence_id}/clear", put(clear))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the ntfy server");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        NtfyServer { base, inner }
    }

    /// The URL of `topic` on this server.
    pub fn topic_url(&self, topic: &str) -> String {
        format!("{}/{topic}", self.base)
    }

    /// From now on `topic` takes only requests with this access token.
    pub fn protect(&self, topic: &str, token: &str) {
        self.inner
            .tokens
            .lock()
            .unwrap()
            .insert(topic.to_owned(), token.to_owned());
    }

    /// Answer every request with `status` (`None`: work again).
    pub fn fail_with(&self, status: Option<StatusCode>) {
        *self.inner.failing.lock().unwrap() = status;
    }

    /// Everything received so far, and forgets it.
    pub fn take(&self) -> Vec<Received> {
        std::mem::take(&mut *self.inner.received.lock().unwrap())
    }

    /// The messages published so far, and forgets everything received.
    pub fn take_published(&self) -> Vec<Value> {
        self.take()
            .into_iter()
            .filter_map(|r| match r {
                Received::Published(body) => Some(body),
                Received::Cleared { .. } => None,
            })
            .collect()
    }
}

fn refused(inner: &Inner, topic: &str, headers: &HeaderMap) -> Option<Response> {
    if let Some(status) = *inner.failing.lock().unwrap() {
        let body = json!({"code": u32::from(status.as_u16()) * 100, "http": status.as_u16(), "error": "failing on purpose"});
        return Some((status, Json(body)).into_response());
    }
    let required = inner.tokens.lock().unwrap().get(topic).cloned()?;
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    (given != Some(required.as_str())).then(|| {
        let body = json!({"code": 40301, "http": 403, "error": "forbidden"});
        (StatusCode::FORBIDDEN, Json(body)).into_response()
    })
}

async fn publish(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let Some(topic) = body["topic"].as_str().map(str::to_owned) else {
        let error = json!({"code": 40001, "http": 400, "error": "invalid request: topic missing"});
        return (StatusCode::BAD_REQUEST, Json(error)).into_response();
    };
    if let Some(refusal) = refused(&inner, &topic, &headers) {
        return refusal;
    }
    inner
        .received
        .lock()
        .unwrap()
        .push(Received::Published(body.clone()));
    let count = inner.received.lock().unwrap().len();
    Json(json!({
        "id": format!("msg{count}"),
        "time": 0,
        "event": "message",
        "topic": topic,
        "message": body["message"],
        "sequence_id": body.get("sequence_id").cloned().unwrap_or(Value::Null),
    }))
    .into_response()
}

async fn clear(
    State(inner): State<Arc<Inner>>,
    headers: HeaderMap,
    Path((topic, sequence_id)): Path<(String, String)>,
) -> Response {
    if let Some(refusal) = refused(&inner, &topic, &headers) {
        return refusal;
    }
    inner.received.lock().unwrap().push(Received::Cleared {
        topic: topic.clone(),
        sequence_id: sequence_id.clone(),
    });
    Json(json!({"id": "clear", "event": "message_clear", "topic": topic, "sequence_id": sequence_id}))
        .into_response()
}
