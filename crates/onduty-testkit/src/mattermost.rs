//! A local Mattermost for tests: the REST API (v4) calls onduty makes as a bot
//! (`POST /api/v4/posts`, `PUT /api/v4/posts/{id}`, `GET /api/v4/users/{id}`, each with
//! `Authorization: Bearer <token>`, answering as Mattermost does), and clicks on a post's
//! buttons made as the Mattermost server makes them: it looks up the button's
//! `integration` in the stored post and POSTs `{user_id, …, context}` to its URL.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::Request;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};

pub const BOT_TOKEN: &str = "mattermost-bot-token";
/// The bot's own user id.
pub const BOT_USER: &str = "botxxxxxxxxxxxxxxxxxxxxxxx";

/// A user as Mattermost knows them: their e-mail, and whether Mattermost verified it.
#[derive(Clone)]
struct MattermostUser {
    email: String,
    verified: bool,
}

#[derive(Default)]
struct Inner {
    /// Channels the bot is in.
    channels: Mutex<Vec<String>>,
    users: Mutex<HashMap<String, MattermostUser>>,
    /// Posts by id, as last written.
    posts: Mutex<HashMap<String, Value>>,
    /// Each post and update, in order: (`create` or `update`, the post).
    writes: Mutex<Vec<(String, Value)>>,
    clicks: Mutex<u64>,
    made: Mutex<usize>,
}

#[derive(Clone)]
pub struct MattermostServer {
    /// The server's URL, `http://127.0.0.1:<port>`.
    pub url: String,
    inner: Arc<Inner>,
}

/// A 26-character id, as Mattermost's are.
fn id(prefix: char, n: usize) -> String {
    format!("{prefix}{n:0>25}")
}

fn error(status: StatusCode, id: &str, message: &str) -> Response {
    (
        status,
        Json(json!({"id": id, "message": message, "status_code": status.as_u16()})),
    )
        .into_response()
}

impl MattermostServer {
    pub async fn start() -> MattermostServer {
        let inner: Arc<Inner> = Arc::default();
        let app = axum::Router::new()
            .route("/api/v4/posts", post(create_post))
            .route("/api/v4/posts/{id}", put(update_post).get(read_post))
            .route("/api/v4/users/{id}", get(user))
            .route("/api/v4/channels/direct", post(direct_channel))
            .layer(axum::middleware::from_fn(authorised))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Mattermost server");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        MattermostServer { url, inner }
    }

    /// The bot is in `channel`.
    pub fn join(&self, channel: &str) {
        self.inner.channels.lock().unwrap().push(channel.to_owned());
    }

    /// A user, with their e-mail address, verified by Mattermost or not.
    pub fn user(&self, user_id: &str, email: &str, verified: bool) {
        self.inner.users.lock().unwrap().insert(
            user_id.to_owned(),
            MattermostUser {
                email: email.to_owned(),
                verified,
            },
        );
    }

    /// Someone deletes a post.
    pub fn delete(&self, post_id: &str) {
        self.inner.posts.lock().unwrap().remove(post_id);
    }

    /// A post as last written, if it is there.
    pub fn post(&self, post_id: &str) -> Option<Value> {
        self.inner.posts.lock().unwrap().get(post_id).cloned()
    }

    /// The posts and updates so far, `("create" | "update", post)`, and forgets them.
    pub fn take(&self) -> Vec<(String, Value)> {
        std::mem::take(&mut *self.inner.writes.lock().unwrap())
    }

    /// `user_id` presses the button `action_id` of post `post_id`, as Mattermost does it:
    /// the request goes to the button's integration URL with its context. Returns the
    /// status and what onduty answered, or `None` if the post has no such button.
    pub async fn click(
        &self,
        post_id: &str,
        action_id: &str,
        user_id: &str,
    ) -> Option<(StatusCode, Value)> {
        let post = self.inner.posts.lock().unwrap().get(post_id)?.clone();
        let action = post["props"]["attachments"][0]["actions"]
            .as_array()?
            .iter()
            .find(|a| a["id"] == action_id)?
            .clone();
        let n = {
            let mut clicks = self.inner.clicks.lock().unwrap();
            *clicks += 1;
            *clicks
        };
        let body = json!({
            "user_id": user_id,
            "user_name": username(user_id),
            "channel_id": post["channel_id"],
            "team_id": id('t', 1),
            "post_id": post_id,
            "trigger_id": format!("trigger-{n}"),
            "type": "",
            "data_source": "",
            "context": action["integration"]["context"],
        });
        Some(
            self.send(action["integration"]["url"].as_str()?, &body)
                .await,
        )
    }

    /// Sends a click's JSON to `url` as Mattermost would (to forge or replay one).
    pub async fn send(&self, url: &str, body: &Value) -> (StatusCode, Value) {
        let response = reqwest::Client::new()
            .post(url)
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }
}

/// Every call must carry the bot's token, as Mattermost's API wants.
async fn authorised(request: Request, next: Next) -> Response {
    let header = request
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    if header != Some(&format!("Bearer {BOT_TOKEN}")) {
        return error(
            StatusCode::UNAUTHORIZED,
            "api.context.session_expired.app_error",
            "Invalid or expired session, please login again.",
        );
    }
    next.run(request).await
}

async fn create_post(State(inner): State<Arc<Inner>>, Json(mut body): Json<Value>) -> Response {
    let channel = body["channel_id"].as_str().unwrap_or_default().to_owned();
    if !inner.channels.lock().unwrap().contains(&channel) {
        return error(
            StatusCode::FORBIDDEN,
            "api.context.permissions.app_error",
            "You do not have the appropriate permissions.",
        );
    }
    let post_id = {
        let mut made = inner.made.lock().unwrap();
        *made += 1;
        id('p', *made)
    };
    let mut posts = inner.posts.lock().unwrap();
    body["id"] = json!(post_id);
    posts.insert(post_id, body.clone());
    inner
        .writes
        .lock()
        .unwrap()
        .push(("create".to_owned(), body.clone()));
    (StatusCode::CREATED, Json(body)).into_response()
}

async fn update_post(
    State(inner): State<Arc<Inner>>,
    Path(post_id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if body["id"] != post_id.as_str() {
        return error(
            StatusCode::BAD_REQUEST,
            "api.context.invalid_body_param.app_error",
            "Invalid or missing post in request body.",
        );
    }
    let mut posts = inner.posts.lock().unwrap();
    let Some(post) = posts.get_mut(&post_id) else {
        return error(
            StatusCode::NOT_FOUND,
            "app.post.get.app_error",
            "Unable to get the post.",
        );
    };
    let channel = post["channel_id"].clone();
    *post = body;
    post["channel_id"] = channel;
    inner
        .writes
        .lock()
        .unwrap()
        .push(("update".to_owned(), post.clone()));
    Json(post.clone()).into_response()
}

async fn read_post(State(inner): State<Arc<Inner>>, Path(post_id): Path<String>) -> Response {
    match inner.posts.lock().unwrap().get(&post_id) {
        Some(post) => Json(post.clone()).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "app.post.get.app_error",
            "Unable to get the post.",
        ),
    }
}

/// The direct channel between two users, made on first ask; its id is `dm` and the other
/// user's id's first 24 characters, and the bot is in it.
async fn direct_channel(
    State(inner): State<Arc<Inner>>,
    Json(users): Json<Vec<String>>,
) -> Response {
    let invalid = || {
        error(
            StatusCode::BAD_REQUEST,
            "api.context.invalid_body_param.app_error",
            "Invalid or missing user_ids in request body.",
        )
    };
    let [a, b] = users.as_slice() else {
        return invalid();
    };
    let other = if a == BOT_USER { b } else { a };
    let known = inner.users.lock().unwrap().contains_key(other);
    if !users.iter().any(|u| u == BOT_USER) || !known {
        return invalid();
    }
    let channel = format!("dm{}", &other[..24]);
    let mut channels = inner.channels.lock().unwrap();
    if !channels.contains(&channel) {
        channels.push(channel.clone());
    }
    (
        StatusCode::CREATED,
        Json(json!({"id": channel, "type": "D"})),
    )
        .into_response()
}

/// A user's name: their id without its padding (`bobxxx…` is `bob`).
pub fn username(user_id: &str) -> String {
    user_id.trim_end_matches('x').to_owned()
}

async fn user(State(inner): State<Arc<Inner>>, Path(user_id): Path<String>) -> Response {
    if user_id == "me" {
        return Json(json!({"id": BOT_USER, "username": "onduty", "is_bot": true})).into_response();
    }
    match inner.users.lock().unwrap().get(&user_id) {
        Some(u) => Json(json!({"id": user_id, "username": username(&user_id), "email": u.email, "email_verified": u.verified})).into_response(),
        None => error(StatusCode::NOT_FOUND, "app.user.missing_account.const", "Unable to find the user."),
    }
}
