//! A local Telegram Bot API for tests: `POST /bot<token>/<method>` for the methods onduty
//! calls (`sendMessage`, `editMessageText`, `answerCallbackQuery`), answering
//! `{"ok": true, "result": …}` or `{"ok": false, "error_code": …, "description": …}` as
//! Telegram does; and updates (a button pressed, `/start <code>`) shaped as Telegram sends
//! them to a bot's webhook.

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

pub const BOT_TOKEN: &str = "123456:test-token";
pub const WEBHOOK_SECRET: &str = "telegram-webhook-secret";

/// A call onduty made.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub method: String,
    pub body: Value,
}

#[derive(Default)]
struct Inner {
    calls: Mutex<Vec<Call>>,
    /// Chats the bot is in.
    chats: Mutex<Vec<String>>,
    sent: Mutex<i64>,
    /// The next calls answered `429` with `retry_after`.
    rate_limited: Mutex<(u32, u64)>,
    /// Groups upgraded to supergroups: old id → new id.
    upgraded: Mutex<Vec<(String, i64)>>,
}

#[derive(Clone)]
pub struct TelegramServer {
    /// `http://127.0.0.1:<port>`.
    pub api_base: String,
    inner: Arc<Inner>,
}

impl TelegramServer {
    pub async fn start() -> TelegramServer {
        let inner: Arc<Inner> = Arc::default();
        let app = axum::Router::new()
            .route("/{bot}/{method}", post(bot_api))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Telegram server");
        let api_base = format!("http://{}", listener.local_addr().expect("an address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        TelegramServer { api_base, inner }
    }

    /// The bot is in `chat` (a group's id, or a person's for their private chat).
    pub fn join(&self, chat: &str) {
        self.inner.chats.lock().unwrap().push(chat.to_owned());
    }

    /// The next `calls` are answered `429` with `retry_after: seconds`.
    pub fn rate_limit(&self, calls: u32, seconds: u64) {
        *self.inner.rate_limited.lock().unwrap() = (calls, seconds);
    }

    /// The group `chat` becomes a supergroup with id `new_id`, the bot in it: messages to
    /// the old id are refused with `migrate_to_chat_id`, as Telegram does.
    pub fn upgrade(&self, chat: &str, new_id: i64) {
        self.join(&new_id.to_string());
        self.inner
            .upgraded
            .lock()
            .unwrap()
            .push((chat.to_owned(), new_id));
    }

    /// The `message_id` of the last message sent.
    pub fn last_message_id(&self) -> i64 {
        *self.inner.sent.lock().unwrap()
    }

    /// The calls so far, and forgets them.
    pub fn take(&self) -> Vec<Call> {
        std::mem::take(&mut *self.inner.calls.lock().unwrap())
    }
}

fn error(status: StatusCode, description: &str) -> Response {
    let body = json!({"ok": false, "error_code": status.as_u16(), "description": description});
    (status, Json(body)).into_response()
}

async fn bot_api(
    State(inner): State<Arc<Inner>>,
    Path((bot, method)): Path<(String, String)>,
    Json(body): Json<Value>,
) -> Response {
    if bot != format!("bot{BOT_TOKEN}") {
        return error(StatusCode::UNAUTHORIZED, "Unauthorized");
    }
    {
        let mut limited = inner.rate_limited.lock().unwrap();
        if limited.0 > 0 {
            limited.0 -= 1;
            let body = json!({"ok": false, "error_code": 429,
                "description": format!("Too Many Requests: retry after {}", limited.1),
                "parameters": {"retry_after": limited.1}});
            return (StatusCode::TOO_MANY_REQUESTS, Json(body)).into_response();
        }
    }
    inner.calls.lock().unwrap().push(Call {
        method: method.clone(),
        body: body.clone(),
    });
    let chat = match &body["chat_id"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let known = inner.chats.lock().unwrap().contains(&chat);
    let moved = inner
        .upgraded
        .lock()
        .unwrap()
        .iter()
        .find(|(old, _)| *old == chat)
        .map(|(_, new)| *new);
    if let Some(new_id) = moved {
        let body = json!({"ok": false, "error_code": 400,
            "description": "Bad Request: group chat was upgraded to a supergroup chat",
            "parameters": {"migrate_to_chat_id": new_id}});
        return (StatusCode::BAD_REQUEST, Json(body)).into_response();
    }
    match method.as_str() {
        "sendMessage" if known => {
            let mut sent = inner.sent.lock().unwrap();
            *sent += 1;
            Json(json!({"ok": true, "result": {"message_id": *sent, "chat": {"id": chat}, "text": body["text"]}}))
                .into_response()
        }
        "editMessageText" if known => {
            Json(json!({"ok": true, "result": {"message_id": body["message_id"]}})).into_response()
        }
        "sendMessage" | "editMessageText" => {
            error(StatusCode::BAD_REQUEST, "Bad Request: chat not found")
        }
        "answerCallbackQuery" => Json(json!({"ok": true, "result": true})).into_response(),
        _ => error(StatusCode::NOT_FOUND, "Not Found: method not found"),
    }
}

/// A button pressed by Telegram user `from` on a message in `chat`, as an update.
pub fn pressed(update_id: i64, from: i64, chat: &str, data: &str) -> Value {
    json!({
        "update_id": update_id,
        "callback_query": {
            "id": format!("cb{update_id}"),
            "from": {"id": from, "is_bot": false, "first_name": "Someone"},
            "message": {"message_id": 1, "chat": {"id": chat.parse::<i64>().unwrap_or_default(), "type": "supergroup"}},
            "chat_instance": "1",
            "data": data,
        }
    })
}

/// `text` sent to the bot by Telegram user `from` in their private chat, as an update.
pub fn said(update_id: i64, from: i64, text: &str) -> Value {
    json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "from": {"id": from, "is_bot": false, "first_name": "Someone"},
            "chat": {"id": from, "type": "private"},
            "date": 1_700_000_000,
            "text": text,
        }
    })
}
