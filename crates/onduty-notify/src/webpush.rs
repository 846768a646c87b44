//! The Web Push contact method: a notification pushed to a browser that subscribed on its
//! person's profile, through the browser's push service (RFC 8030). The payload is JSON
//! that onduty's service worker (`/sw.js`) shows, encrypted for that browser alone
//! (`Content-Encoding: aes128gcm`, RFC 8291); each request carries a VAPID signature
//! (RFC 8292) with onduty's key, made on first start and kept in the database.
//!
//! A page shows one notification per incident, with Acknowledge and Resolve actions that
//! POST to the signed one-click links, so they work without opening a page; once the
//! incident needs nobody, a `settled` message takes the notifications back. Requests obey
//! the outbound address policy (the endpoint is the browser's to choose) and follow no
//! redirect. An endpoint the push service says is gone (`404`, `410`) fails for good.

use std::time::Duration;

use base64::Engine;
use onduty_core::contact::PushKeys;
use serde_json::{Value, json};
use web_push_native::jwt_simple::algorithms::{
    ECDSAP256KeyPairLike, ECDSAP256PublicKeyLike, ES256KeyPair,
};
use web_push_native::jwt_simple::claims::Claims;

use crate::outbound::{OutboundPolicy, refusal};
use crate::{Content, Notifier, NotifyError, Outgoing, PageItem, SendFuture, Sent, render};

/// The name of the server key (kept in the database) VAPID signs with.
pub const VAPID_KEY: &str = "vapid";
/// How long a push service may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);
/// How long a push service keeps a message for a browser that is offline.
const TTL_SECONDS: u64 = 3600;
/// How long a VAPID signature is good for (RFC 8292 allows at most 24 hours).
const VAPID_VALID_FOR: Duration = Duration::from_secs(12 * 3600);
/// Incidents shown from one page at most: the payload must stay under 4 KB.
const MOST_SHOWN: usize = 3;

/// The tag of an incident's notification: a newer one replaces it, a `settled` message
/// closes it, and the push service's `Topic` is the same.
pub fn tag(number: i64) -> String {
    format!("onduty-incident-{number}")
}

/// The JSON the service worker reads: what to show, or what to take back.
pub fn payload(content: &Content) -> Value {
    match content {
        Content::Page { items } => {
            let mut shown: Vec<Value> = items.iter().take(MOST_SHOWN).map(notification).collect();
            if items.len() > MOST_SHOWN
                && let Some(last) = shown.last_mut()
            {
                last["body"] = json!(format!(
                    "{} (and {} more incidents)",
                    last["body"].as_str().unwrap_or_default(),
                    items.len() - MOST_SHOWN
                ));
            }
            json!({"type": "page", "notifications": shown})
        }
        Content::Settled { numbers } => json!({
            "type": "settled",
            "tags": numbers.iter().map(|n| tag(*n)).collect::<Vec<_>>(),
        }),
        other => json!({
            "type": "notice",
            "notifications": [{"title": "onduty", "body": render::sms(other)}],
        }),
    }
}

/// One incident's notification: its summary, facts, page and one-click actions.
fn notification(item: &PageItem) -> Value {
    let mut actions = Vec::new();
    if let Some(url) = &item.ack_url {
        actions.push(json!({"action": "acknowledge", "title": "Acknowledge", "url": url}));
    }
    if let Some(url) = &item.resolve_url {
        actions.push(json!({"action": "resolve", "title": "Resolve", "url": url}));
    }
    json!({
        "title": format!("#{} {}", item.number, crate::chat::cut(&item.summary, 200)),
        "body": format!("{} · {} · {} urgency", item.service, item.severity, item.urgency),
        "url": item.url,
        "tag": tag(item.number),
        "urgent": item.urgency == "high",
        "actions": actions,
    })
}

pub struct WebPushNotifier {
    policy: OutboundPolicy,
    http: reqwest::Client,
    vapid: ES256KeyPair,
    /// Who runs this server, for push services to reach (VAPID's `sub`): onduty's
    /// public URL when it is https, else none.
    subject: Option<String>,
}

impl WebPushNotifier {
    /// A notifier signing with `vapid_key` (32 bytes, the key kept as [`VAPID_KEY`]).
    pub fn new(
        policy: OutboundPolicy,
        vapid_key: &[u8],
        public_url: &str,
    ) -> Result<WebPushNotifier, String> {
        let vapid = ES256KeyPair::from_bytes(vapid_key)
            .map_err(|e| format!("the VAPID key is not a P-256 key: {e}"))?;
        Ok(WebPushNotifier {
            http: policy.client(TIMEOUT),
            policy,
            vapid,
            subject: public_url
                .starts_with("https://")
                .then(|| public_url.trim_end_matches('/').to_owned()),
        })
    }

    /// The public key browsers subscribe with (`applicationServerKey`): the uncompressed
    /// P-256 point, base64url.
    pub fn public_key(&self) -> String {
        let point = self.vapid.public_key().public_key().to_bytes_uncompressed();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(point)
    }

    /// `Authorization: vapid t=<JWT>, k=<public key>` for a push service at `endpoint`;
    /// the JWT's audience is the endpoint's origin.
    fn authorization(&self, endpoint: &reqwest::Url) -> Result<String, NotifyError> {
        let origin = endpoint.origin().ascii_serialization();
        let mut claims = Claims::create(VAPID_VALID_FOR.into()).with_audience(origin);
        if let Some(subject) = &self.subject {
            claims = claims.with_subject(subject);
        }
        let token = self
            .vapid
            .sign(claims)
            .map_err(|e| NotifyError::Permanent(format!("VAPID signature failed: {e}")))?;
        Ok(format!("vapid t={token}, k={}", self.public_key()))
    }

    async fn push(&self, message: &Outgoing) -> Result<Sent, NotifyError> {
        let endpoint = reqwest::Url::parse(&message.to)
            .map_err(|e| NotifyError::Permanent(format!("not a URL: {e}")))?;
        self.policy
            .check_url(&endpoint)
            .map_err(|refused| NotifyError::Blocked(refused.to_string()))?;
        let keys = message
            .secret
            .as_deref()
            .map(PushKeys::from_secret)
            .and_then(Result::ok)
            .ok_or_else(|| NotifyError::Permanent("the subscription has no keys".to_owned()))?;
        let browser =
            web_push_native::p256::PublicKey::from_sec1_bytes(&keys.p256dh).map_err(|_| {
                NotifyError::Permanent("the subscription's key is not valid".to_owned())
            })?;
        let auth: web_push_native::Auth = keys.auth.into();
        let plaintext = serde_json::to_vec(&payload(&message.content)).expect("JSON serializes");
        let body = web_push_native::encrypt(plaintext, &browser, &auth)
            .map_err(|e| NotifyError::Permanent(format!("encryption failed: {e}")))?;
        let (urgency, topic) = match &message.content {
            Content::Page { items } if items.iter().any(|i| i.urgency == "high") => {
                ("high", items.first().map(|i| tag(i.number)))
            }
            Content::Page { items } => ("normal", items.first().map(|i| tag(i.number))),
            Content::Settled { numbers } if numbers.len() == 1 => ("normal", Some(tag(numbers[0]))),
            _ => ("normal", None),
        };
        let mut request = self
            .http
            .post(endpoint.clone())
            .header("authorization", self.authorization(&endpoint)?)
            .header("ttl", TTL_SECONDS.to_string())
            .header("urgency", urgency)
            .header("content-encoding", "aes128gcm")
            .header("content-type", "application/octet-stream")
            .body(body);
        if let Some(topic) = topic {
            request = request.header("topic", topic);
        }
        let response = request.send().await.map_err(|e| match refusal(&e) {
            Some(refused) => NotifyError::Blocked(refused.to_string()),
            // Without the URL: the endpoint is a capability.
            None => {
                NotifyError::Transient(format!("push service not reached: {}", e.without_url()))
            }
        })?;
        let status = response.status();
        match status.as_u16() {
            200..=299 => Ok(Sent {
                provider_ref: response
                    .headers()
                    .get("location")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
            }),
            404 | 410 => Err(NotifyError::Permanent(
                "the browser's subscription has expired or was withdrawn: subscribe again"
                    .to_owned(),
            )),
            408 | 429 | 500..=599 => Err(NotifyError::Transient(format!(
                "push service answered {status}"
            ))),
            _ => Err(NotifyError::Permanent(format!(
                "push service answered {status}"
            ))),
        }
    }
}

impl Notifier for WebPushNotifier {
    fn send<'a>(&'a self, message: &'a Outgoing) -> SendFuture<'a> {
        Box::pin(self.push(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(number: i64) -> PageItem {
        PageItem {
            id: format!("id-{number}"),
            number,
            summary: "Disk full".to_owned(),
            service: "Checkout".to_owned(),
            severity: "critical".to_owned(),
            urgency: "high".to_owned(),
            url: format!("https://onduty.example/incidents/{number}"),
            details: None,
            links: Vec::new(),
            ack_url: Some(format!("https://onduty.example/actions/ack-{number}")),
            resolve_url: Some(format!("https://onduty.example/actions/resolve-{number}")),
        }
    }

    #[test]
    fn a_page_shows_each_incident_with_its_one_click_actions_and_settling_takes_them_back() {
        let page = payload(&Content::Page {
            items: (1..=5).map(item).collect(),
        });
        let shown = page["notifications"].as_array().unwrap();
        assert_eq!(shown.len(), MOST_SHOWN);
        assert_eq!(shown[0]["tag"], "onduty-incident-1");
        assert_eq!(
            shown[0]["actions"][0],
            json!({"action": "acknowledge", "title": "Acknowledge",
                   "url": "https://onduty.example/actions/ack-1"})
        );
        assert!(
            shown[2]["body"]
                .as_str()
                .unwrap()
                .ends_with("(and 2 more incidents)"),
            "{page}"
        );
        assert!(serde_json::to_vec(&page).unwrap().len() < 3000);
        assert_eq!(
            payload(&Content::Settled { numbers: vec![4] }),
            json!({"type": "settled", "tags": ["onduty-incident-4"]})
        );
    }

    #[test]
    fn the_vapid_signature_names_the_endpoint_s_origin_and_onduty_s_key() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let notifier = WebPushNotifier::new(
            OutboundPolicy::default(),
            &[7u8; 32],
            "https://onduty.example/",
        )
        .unwrap();
        let endpoint = reqwest::Url::parse("https://push.example:8443/send/abc?x=1").unwrap();
        let header = notifier.authorization(&endpoint).unwrap();
        let (token, key) = header
            .strip_prefix("vapid t=")
            .and_then(|h| h.split_once(", k="))
            .unwrap();
        assert_eq!(key, notifier.public_key());
        assert_eq!(key.len(), 87, "65 bytes, base64url");
        let claims = token.split('.').nth(1).unwrap();
        let claims: Value = serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(claims)
                .unwrap(),
        )
        .unwrap();
        assert_eq!(claims["aud"], "https://push.example:8443");
        assert_eq!(claims["sub"], "https://onduty.example");
    }
}
