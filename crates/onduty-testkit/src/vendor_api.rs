//! What every local stand-in for another product's REST API does alike: listen on
//! 127.0.0.1, check the credentials each request carries, remember the paths asked for,
//! and on request answer one path 429 once (with the product's rate-limit headers), 500
//! or 403 always, each in the product's own error shape.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

/// How a product answers what every stand-in does.
pub(crate) struct Manners {
    /// Whether a request carries the credentials.
    pub accepts: fn(&HeaderMap) -> bool,
    /// An error answer in the product's shape.
    pub error: fn(StatusCode, &str) -> Response,
    pub unauthorized: &'static str,
    pub throttled: &'static str,
    /// Sent with the 429.
    pub throttle_headers: &'static [(&'static str, &'static str)],
    pub failed: &'static str,
}

#[derive(Default)]
struct Tricks {
    /// Answer 429 once to the next GET of this path.
    rate_limit: Option<String>,
    /// Answer 500 to every GET of this path.
    fail: Option<String>,
    /// Answer 403 to every GET of this path (a feature the account lacks).
    forbid: Option<String>,
    /// Every path asked for, in order.
    seen: Vec<String>,
}

#[derive(Clone)]
struct Gate {
    tricks: Arc<Mutex<Tricks>>,
    manners: &'static Manners,
}

/// A running stand-in; stops when dropped.
pub struct VendorApi {
    pub url: String,
    tricks: Arc<Mutex<Tricks>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for VendorApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl VendorApi {
    pub(crate) async fn start(routes: Router, manners: &'static Manners) -> VendorApi {
        let tricks = Arc::new(Mutex::new(Tricks::default()));
        let gate = Gate {
            tricks: tricks.clone(),
            manners,
        };
        let app = routes.layer(axum::middleware::from_fn_with_state(gate, check));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        VendorApi { url, tricks, task }
    }

    /// The next GET of `path` is answered 429, once.
    pub fn rate_limit_once(&self, path: &str) {
        self.tricks.lock().unwrap().rate_limit = Some(path.to_owned());
    }

    /// GETs of `path` are answered 500.
    pub fn fail(&self, path: &str) {
        self.tricks.lock().unwrap().fail = Some(path.to_owned());
    }

    /// GETs of `path` are answered 403.
    pub fn forbid(&self, path: &str) {
        self.tricks.lock().unwrap().forbid = Some(path.to_owned());
    }

    /// Every path asked for so far.
    pub fn seen(&self) -> Vec<String> {
        self.tricks.lock().unwrap().seen.clone()
    }
}

async fn check(
    State(gate): State<Gate>,
    headers: HeaderMap,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let m = gate.manners;
    if !(m.accepts)(&headers) {
        return (m.error)(StatusCode::UNAUTHORIZED, m.unauthorized);
    }
    let path = request.uri().path().to_owned();
    {
        let mut t = gate.tricks.lock().unwrap();
        t.seen.push(path.clone());
        if t.rate_limit.as_deref() == Some(path.as_str()) {
            t.rate_limit = None;
            let mut answer = (m.error)(StatusCode::TOO_MANY_REQUESTS, m.throttled);
            for (name, value) in m.throttle_headers {
                answer.headers_mut().insert(*name, value.parse().unwrap());
            }
            return answer;
        }
        if t.fail.as_deref() == Some(path.as_str()) {
            return (m.error)(StatusCode::INTERNAL_SERVER_ERROR, m.failed);
        }
        if t.forbid.as_deref() == Some(path.as_str()) {
            return (m.error)(StatusCode::FORBIDDEN, "Access Denied");
        }
    }
    next.run(request).await
}
