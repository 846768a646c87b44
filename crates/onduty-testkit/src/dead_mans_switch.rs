//! A dead-man's switch standing in for healthchecks.io: it counts the pings it gets at
//! `/ping/<check>` and answers `OK`, as healthchecks.io does.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::routing::get;

pub struct DeadMansSwitch {
    /// The check's ping URL: `http://127.0.0.1:<port>/ping/<check>`.
    pub url: String,
    pings: Arc<AtomicUsize>,
}

impl DeadMansSwitch {
    pub async fn start() -> DeadMansSwitch {
        let pings = Arc::new(AtomicUsize::new(0));
        let counted = pings.clone();
        let app = axum::Router::new().route(
            "/ping/{check}",
            get(move || async move {
                counted.fetch_add(1, Ordering::SeqCst);
                "OK"
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://{}/ping/5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278",
            listener.local_addr().unwrap()
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        DeadMansSwitch { url, pings }
    }

    /// Pings received so far.
    pub fn pings(&self) -> usize {
        self.pings.load(Ordering::SeqCst)
    }
}
