//! A local push service for tests (RFC 8030): `POST /push/<id>` takes a message for one
//! browser's subscription, answers `201 Created` with its `Location`, and keeps what
//! arrived (headers and the still-encrypted body); a subscription can be withdrawn, and
//! is then answered `410 Gone` as real push services do. A [`Browser`] is the other side:
//! its key pair and auth secret, as `PushSubscription.toJSON()` would give them, and the
//! private key to read what was pushed to it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine;
use web_push_native::p256;
use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint;

/// One message as the push service received it.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

#[derive(Default)]
struct Inner {
    /// Messages by subscription id, in order.
    pushed: Mutex<HashMap<String, Vec<Pushed>>>,
    withdrawn: Mutex<Vec<String>>,
}

#[derive(Clone)]
pub struct PushService {
    base: String,
    inner: Arc<Inner>,
}

/// A browser's subscription: where to push, and the keys to encrypt for it.
pub struct Browser {
    pub endpoint: String,
    /// The browser's public key, base64url (`keys.p256dh`).
    pub p256dh: String,
    /// The shared auth secret, base64url (`keys.auth`).
    pub auth: String,
    /// The browser's private key (a P-256 scalar), to read what it is sent.
    pub private_key: [u8; 32],
    id: String,
}

impl Browser {
    /// The JSON a message decrypts to, with onduty's own implementation
    /// (`web_push_native`, RFC 8291); the peer test reads it with another.
    pub fn read(&self, pushed: &Pushed) -> serde_json::Value {
        let secret = p256::SecretKey::from_slice(&self.private_key).expect("a P-256 key");
        let auth = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(&self.auth)
            .expect("base64url");
        let auth: [u8; 16] = auth.try_into().expect("16 bytes");
        let plain = web_push_native::decrypt(pushed.body.clone(), &secret, &auth.into())
            .expect("a message this browser can read");
        serde_json::from_slice(&plain).expect("JSON")
    }
}

impl PushService {
    pub async fn start() -> PushService {
        let inner: Arc<Inner> = Arc::default();
        let app = axum::Router::new()
            .route("/push/{id}", post(push))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the push service");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        PushService { base, inner }
    }

    /// A browser subscribes: `seed` makes its keys (distinct seeds, distinct browsers).
    pub fn subscribe(&self, seed: u8) -> Browser {
        let private_key = [seed.max(1); 32];
        let secret = p256::SecretKey::from_slice(&private_key).expect("a P-256 key");
        let point = secret.public_key().to_encoded_point(false);
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let id = format!("sub-{seed}");
        Browser {
            endpoint: format!("{}/push/{id}", self.base),
            p256dh: b64.encode(point.as_bytes()),
            auth: b64.encode([seed.wrapping_add(100); 16]),
            private_key,
            id,
        }
    }

    /// The browser unsubscribed: its endpoint answers `410 Gone` from now on.
    pub fn withdraw(&self, browser: &Browser) {
        self.inner
            .withdrawn
            .lock()
            .unwrap()
            .push(browser.id.clone());
    }

    /// What was pushed to `browser` so far, and forgets it.
    pub fn take(&self, browser: &Browser) -> Vec<Pushed> {
        self.inner
            .pushed
            .lock()
            .unwrap()
            .remove(&browser.id)
            .unwrap_or_default()
    }
}

async fn push(
    State(inner): State<Arc<Inner>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if inner.withdrawn.lock().unwrap().contains(&id) {
        return StatusCode::GONE.into_response();
    }
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    // What RFC 8030, 8291 and 8292 require of every message.
    let well_formed = header("ttl").is_some_and(|t| t.parse::<u64>().is_ok())
        && header("content-encoding") == Some("aes128gcm")
        && header("authorization").is_some_and(|a| a.starts_with("vapid t=") && a.contains(", k="));
    if !well_formed {
        return (StatusCode::BAD_REQUEST, "not a Web Push message").into_response();
    }
    let kept = Pushed {
        headers: headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect(),
        body: body.to_vec(),
    };
    let mut pushed = inner.pushed.lock().unwrap();
    let list = pushed.entry(id.clone()).or_default();
    list.push(kept);
    let location = format!("/message/{id}-{}", list.len());
    (StatusCode::CREATED, [("location", location)]).into_response()
}
