//! A local Teams Workflows webhook for tests: `POST /workflows/<name>` takes a message
//! with one Adaptive Card attachment, as the "Post to a channel when a webhook request is
//! received" workflow does, and answers `202 Accepted`; anything else is `400`. It can be
//! told to fail (a deleted workflow answers `404`).

use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;

#[derive(Default)]
struct Inner {
    /// The cards posted, in order (the Adaptive Card itself).
    cards: Mutex<Vec<Value>>,
    /// The next requests are answered with this status.
    failing: Mutex<(u32, u16)>,
}

#[derive(Clone)]
pub struct TeamsServer {
    base: String,
    inner: Arc<Inner>,
}

impl TeamsServer {
    pub async fn start() -> TeamsServer {
        let inner: Arc<Inner> = Arc::default();
        let app = axum::Router::new()
            .route("/workflows/ops", post(workflow))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Teams server");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        TeamsServer { base, inner }
    }

    /// The channel's webhook URL (its `sig` is the credential a real one carries).
    pub fn webhook(&self) -> String {
        format!(
            "{}/workflows/ops?api-version=2016-06-01&sig=s3cret-signature",
            self.base
        )
    }

    /// The next `requests` are answered `status`.
    pub fn fail(&self, requests: u32, status: u16) {
        *self.inner.failing.lock().unwrap() = (requests, status);
    }

    /// The cards posted so far, and forgets them.
    pub fn take(&self) -> Vec<Value> {
        std::mem::take(&mut *self.inner.cards.lock().unwrap())
    }
}

async fn workflow(
    State(inner): State<Arc<Inner>>,
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Response {
    if query.get("sig").map(String::as_str) != Some("s3cret-signature") {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    {
        let mut failing = inner.failing.lock().unwrap();
        if failing.0 > 0 {
            failing.0 -= 1;
            return StatusCode::from_u16(failing.1).unwrap().into_response();
        }
    }
    let attachment = &body["attachments"][0];
    let card = &attachment["content"];
    let well_formed = body["type"] == "message"
        && attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        && card["type"] == "AdaptiveCard"
        && card["version"].is_string()
        && card["body"].is_array();
    if !well_formed {
        return (
            StatusCode::BAD_REQUEST,
            "not a message with an Adaptive Card",
        )
            .into_response();
    }
    inner.cards.lock().unwrap().push(card.clone());
    StatusCode::ACCEPTED.into_response()
}
