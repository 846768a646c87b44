//! A local webhook receiver standing in for people's phones in process-level stories:
//! each person's webhook contact method posts to `/<name>`, and the sink notes which
//! incidents each page carried and when it arrived (wall clock), and the verification
//! code each method was sent.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::routing::post;
use onduty_core::{Clock, SystemClock, Timestamp};
use serde_json::Value;
use tokio::sync::Notify;

/// One page as it reached the sink.
#[derive(Debug, Clone)]
pub struct Page {
    pub numbers: Vec<i64>,
    pub arrived: Timestamp,
}

#[derive(Default)]
struct Inner {
    pages: Mutex<HashMap<String, Vec<Page>>>,
    codes: Mutex<HashMap<String, String>>,
    arrived: Notify,
}

#[derive(Clone)]
pub struct WebhookSink {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    inner: Arc<Inner>,
}

impl WebhookSink {
    pub async fn start() -> WebhookSink {
        let inner: Arc<Inner> = Arc::default();
        let app = axum::Router::new()
            .route(
                "/{name}",
                post(
                    |State(inner): State<Arc<Inner>>,
                     Path(name): Path<String>,
                     Json(body): Json<Value>| async move {
                        if let Some(code) = body["code"].as_str() {
                            inner.codes.lock().unwrap().insert(name, code.to_owned());
                            return "ok";
                        }
                        let numbers = body["incidents"]
                            .as_array()
                            .map(|items| {
                                items.iter().filter_map(|i| i["number"].as_i64()).collect()
                            })
                            .unwrap_or_default();
                        let page = Page {
                            numbers,
                            arrived: SystemClock.now(),
                        };
                        inner
                            .pages
                            .lock()
                            .unwrap()
                            .entry(name)
                            .or_default()
                            .push(page);
                        inner.arrived.notify_waiters();
                        "ok"
                    },
                ),
            )
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the webhook sink");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        WebhookSink { base, inner }
    }

    /// The webhook address for `name`'s pages.
    pub fn url(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }

    /// The last verification code `name`'s method was sent.
    pub fn code(&self, name: &str) -> Option<String> {
        self.inner.codes.lock().unwrap().get(name).cloned()
    }

    /// The pages `name` got so far.
    pub fn pages(&self, name: &str) -> Vec<Page> {
        self.inner
            .pages
            .lock()
            .unwrap()
            .get(name)
            .cloned()
            .unwrap_or_default()
    }

    /// Waits until `name` has had `count` pages (panics after `patience`); returns them.
    pub async fn wait_for(&self, name: &str, count: usize, patience: Duration) -> Vec<Page> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let arrived = self.inner.arrived.notified();
            let pages = self.pages(name);
            if pages.len() >= count {
                return pages;
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                panic!(
                    "{name} got {} pages, not {count}, within {patience:?}",
                    pages.len()
                );
            }
        }
    }
}
