//! The webhook contact method: a JSON POST signed with HMAC-SHA256 over a timestamp and
//! the body (`X-Onduty-Signature: t=…,v1=…`), with the message's idempotency key in
//! `X-Onduty-Delivery` so a receiver can drop repeats. Requests obey the outbound address
//! policy and follow no redirect.

use std::time::Duration;

use onduty_core::signature::webhook_signature;
use serde_json::json;

use crate::outbound::{OutboundPolicy, refusal};
use crate::{Content, Notifier, NotifyError, Outgoing, SendFuture, Sent};

/// How long a receiver may take to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

pub struct WebhookNotifier {
    policy: OutboundPolicy,
    http: reqwest::Client,
}

impl WebhookNotifier {
    pub fn new(policy: OutboundPolicy) -> Self {
        WebhookNotifier {
            http: policy.client(TIMEOUT),
            policy,
        }
    }
}

/// The JSON a webhook receives: onduty's own, or a status page's payload as it is.
pub fn body(message: &Outgoing) -> serde_json::Value {
    if let Content::Bulletin(crate::Bulletin {
        payload: Some(payload),
        ..
    }) = &message.content
    {
        return payload.clone();
    }
    let mut body = json!({
        "idempotency_key": message.idempotency_key,
        "sent_at": message.at,
    });
    let fields = match &message.content {
        Content::Page { items } => json!({"type": "page", "incidents": items}),
        Content::Verification { code } => json!({"type": "verification", "code": code}),
        Content::Test => json!({"type": "test"}),
        Content::Notice { text } => json!({"type": "notice", "text": text}),
        Content::Settled { numbers } => json!({"type": "settled", "incidents": numbers}),
        Content::Bulletin(b) => json!({"type": "bulletin", "subject": b.subject, "text": b.text}),
    };
    if let (Some(b), Some(f)) = (body.as_object_mut(), fields.as_object()) {
        b.extend(f.clone());
    }
    body
}

impl Notifier for WebhookNotifier {
    fn send<'a>(&'a self, message: &'a Outgoing) -> SendFuture<'a> {
        Box::pin(async move {
            let url = reqwest::Url::parse(&message.to)
                .map_err(|e| NotifyError::Permanent(format!("not a URL: {e}")))?;
            self.policy
                .check_url(&url)
                .map_err(|refused| NotifyError::Blocked(refused.to_string()))?;
            let payload = serde_json::to_vec(&body(message)).expect("JSON values serialize");
            let secret = message.secret.as_deref().unwrap_or_default();
            let signature = webhook_signature(secret, message.at.as_millis() / 1000, &payload);
            let response = self
                .http
                .post(url)
                .header("content-type", "application/json")
                .header("x-onduty-signature", signature)
                .header("x-onduty-delivery", &message.idempotency_key)
                .body(payload)
                .send()
                .await
                .map_err(|e| match refusal(&e) {
                    Some(refused) => NotifyError::Blocked(refused.to_string()),
                    // Without the URL: its query string can be a credential.
                    None => {
                        NotifyError::Transient(format!("webhook not reached: {}", e.without_url()))
                    }
                })?;
            let status = response.status();
            if status.is_success() {
                Ok(Sent::default())
            } else if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
                Err(NotifyError::Transient(format!("webhook answered {status}")))
            } else {
                Err(NotifyError::Permanent(format!("webhook answered {status}")))
            }
        })
    }
}
