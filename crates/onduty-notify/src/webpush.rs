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

/// The most a payload may hold, in bytes: RFC 8291 leaves 3993 of a push service's 4096
/// for the message; this leaves room to spare.
const MOST_BYTES: usize = 3000;

/// The JSON the service worker reads: what to show, or what to take back. A page is cut
/// to fit [`MOST_BYTES`]: shorter summaries, then fewer incidents (the last one shown
/// says how many more there are).
pub fn payload(content: &Content) -> Value {
    match content {
        Content::Page { items } => {
            for (shown, summary_chars) in [(MOST_SHOWN, 200), (MOST_SHOWN, 60), (1, 60), (1, 20)] {
                let page = page_payload(items, shown, summary_chars);
                if serde_json::to_vec(&page).map_or(0, |b| b.len()) <= MOST_BYTES {
                    return page;
                }
            }
            // Even one incident cut short does not fit (its service's name is huge, say):
            // its number and where to see it.
            let first = items.first();
            json!({"type": "page", "notifications": [{
                "title": format!("#{} needs you", first.map_or(0, |i| i.number)),
                "body": "Open onduty to see it.",
                "url": first.map(|i| crate::chat::cut(&i.url, 500)),
                "tag": first.map(|i| tag(i.number)),
                "urgent": true,
                "actions": [],
            }]})
        }
        Content::Settled { numbers } => json!({
            "type": "settled",
            "tags": numbers.iter().take(50).map(|n| tag(*n)).collect::<Vec<_>>(),
        }),
        other => json!({
            "type": "notice",
            "notifications": [{"title": "onduty", "body": crate::chat::cut(&render::sms(other), 1000)}],
        }),
    }
}

/// A page showing the first `shown` incidents, summaries cut to `summary_chars`.
fn page_payload(items: &[PageItem], shown: usize, summary_chars: usize) -> Value {
    let mut notifications: Vec<Value> = items
        .iter()
        .take(shown)
        .map(|i| notification(i, summary_chars))
        .collect();
    if items.len() > shown
        && let Some(last) = notifications.last_mut()
    {
        last["body"] = json!(format!(
            "{} (and {} more incidents)",
            last["body"].as_str().unwrap_or_default(),
            items.len() - shown
        ));
    }
    json!({"type": "page", "notifications": notifications})
}

/// One incident's notification: its summary, facts, page and one-click actions.
fn notification(item: &PageItem, summary_chars: usize) -> Value {
    let mut actions = Vec::new();
    if let Some(url) = &item.ack_url {
        actions.push(json!({"action": "acknowledge", "title": "Acknowledge", "url": url}));
    }
    if let Some(url) = &item.resolve_url {
        actions.push(json!({"action": "resolve", "title": "Resolve", "url": url}));
    }
    // Opened, not posted to: where browsers show a third action.
    if let Some(runbook) = &item.runbook {
        actions.push(
            json!({"action": "runbook", "title": "Runbook", "url": runbook.href, "open": true}),
        );
    }
    let cut = |text: &str, n| crate::chat::cut(text, n);
    json!({
        "title": format!("#{} {}", item.number, cut(&item.summary, summary_chars)),
        "body": format!("{} · {} · {} urgency", cut(&item.service, 60), cut(&item.severity, 20), cut(&item.urgency, 10)),
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
    /// Who runs this server, for push services to reach (VAPID's `sub`, which some push
    /// services require).
    subject: Option<String>,
}

/// VAPID's `sub`: onduty's public URL when it is https (RFC 8292 takes `https:` or
/// `mailto:`), else a `mailto:` at its host.
fn subject(public_url: &str) -> String {
    let url = public_url.trim_end_matches('/');
    if url.starts_with("https://") {
        return url.to_owned();
    }
    let host = reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned());
    format!("mailto:onduty@{}", host.trim_matches(['[', ']']))
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
            subject: Some(subject(public_url)),
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
        // A Topic replaces a message not yet delivered with the same one: only a message
        // about exactly one incident has one, so that nothing about another is lost.
        let (urgency, topic) = match &message.content {
            Content::Page { items } => {
                let high = items.iter().any(|i| i.urgency == "high");
                let topic = match items.as_slice() {
                    [one] => Some(tag(one.number)),
                    _ => None,
                };
                (if high { "high" } else { "normal" }, topic)
            }
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
                ..Sent::default()
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
            runbook: None,
            signed: Vec::new(),
            server: String::new(),
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
        assert!(serde_json::to_vec(&page).unwrap().len() <= MOST_BYTES);
        // Long summaries in four-byte characters still fit, shown shorter.
        let wide = |n| PageItem {
            summary: "🔥".repeat(1024),
            ..item(n)
        };
        let page = payload(&Content::Page {
            items: (1..=5).map(wide).collect(),
        });
        assert!(
            serde_json::to_vec(&page).unwrap().len() <= MOST_BYTES,
            "{page}"
        );
        let title = page["notifications"][0]["title"].as_str().unwrap();
        assert!(
            title.starts_with("#1 🔥") && title.ends_with('…'),
            "{title}"
        );
        let huge = PageItem {
            service: "s".repeat(10_000),
            ..item(9)
        };
        let page = payload(&Content::Page { items: vec![huge] });
        assert!(serde_json::to_vec(&page).unwrap().len() <= MOST_BYTES);
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
        assert_eq!(subject("http://10.0.0.7:8080"), "mailto:onduty@10.0.0.7");
    }
}
