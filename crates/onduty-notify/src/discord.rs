//! Discord, through a channel's webhook: an incident's message is an embed posted with
//! `?wait=true` (so Discord answers with the message's id) and edited in place with
//! `PATCH <webhook>/messages/<id>` when the incident changes. Webhooks cannot take
//! clicks, so the embed's actions are signed links ([`IncidentMessage::action_url`]) that
//! act as whoever opens them, once logged in. No text mentions anyone
//! (`allowed_mentions` is empty). The webhook's URL is a credential: requests obey the
//! outbound address policy, follow no redirect, and errors never show it.

use std::time::Duration;

use serde_json::{Value, json};

use crate::chat::{cut, escape_markdown, http_failure, unreached};
use crate::outbound::OutboundPolicy;
use crate::{ChatFailure, IncidentMessage};

/// How long Discord may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Discord's error code for a message that does not exist (any more).
const UNKNOWN_MESSAGE: i64 = 10008;

/// The message of an incident: one embed, its title linking to the incident's page, the
/// facts as fields, and the signed links that apply.
pub fn incident_embed(m: &IncidentMessage) -> Value {
    let status = m.status_label();
    let mut links: Vec<String> = m
        .signed_buttons()
        .into_iter()
        .map(|s| format!("[{}]({})", s.button.label(), m.action_url(s)))
        .collect();
    if let Some(runbook) = &m.runbook {
        let title = cut(runbook.text.as_deref().unwrap_or("Runbook"), 200);
        links.push(format!(
            "Runbook: {}",
            crate::chat::markdown_link(&title, &runbook.href)
        ));
    }
    let field = |name: &str, value: &str| json!({"name": name, "value": escape_markdown(&cut(value, 200)), "inline": true});
    json!({
        "content": "",
        "allowed_mentions": {"parse": []},
        "embeds": [{
            "title": cut(&format!("#{} {}", m.number, m.summary), 256),
            "url": m.url,
            "color": m.color(),
            "description": links.join(" · "),
            "fields": [
                field("Service", &m.service),
                field("Severity", &m.severity),
                field("Urgency", &m.urgency),
                field("Status", status),
            ],
        }],
    })
}

pub struct DiscordClient {
    policy: OutboundPolicy,
    http: reqwest::Client,
}

impl DiscordClient {
    pub fn new(policy: OutboundPolicy) -> DiscordClient {
        DiscordClient {
            http: policy.client(TIMEOUT),
            policy,
        }
    }

    /// Posts an incident's message through `webhook`; returns the message's id.
    pub async fn post(
        &self,
        webhook: &str,
        message: &IncidentMessage,
    ) -> Result<String, ChatFailure> {
        let mut url = self.url(webhook, "")?;
        url.query_pairs_mut().append_pair("wait", "true");
        let answer = self
            .send(self.http.post(url).json(&incident_embed(message)))
            .await?;
        answer["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ChatFailure::Retry {
                error: "Discord's answer had no message id".to_owned(),
                after: None,
            })
    }

    /// A plain message through `webhook`, outside text shown as written and mentioning
    /// nobody.
    pub async fn post_text(&self, webhook: &str, text: &str) -> Result<(), ChatFailure> {
        let mut url = self.url(webhook, "")?;
        url.query_pairs_mut().append_pair("wait", "true");
        let body = json!({
            "content": crate::chat::cut(&crate::chat::escape_markdown(text), 2000),
            "allowed_mentions": {"parse": []},
        });
        self.send(self.http.post(url).json(&body)).await.map(|_| ())
    }

    /// Brings a posted message up to date; a message that is gone is `message_not_found`.
    pub async fn update(
        &self,
        webhook: &str,
        message_id: &str,
        message: &IncidentMessage,
    ) -> Result<(), ChatFailure> {
        if message_id.is_empty() || !message_id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ChatFailure::Refused("message_not_found".to_owned()));
        }
        let url = self.url(webhook, &format!("/messages/{message_id}"))?;
        self.send(self.http.patch(url).json(&incident_embed(message)))
            .await
            .map(|_| ())
    }

    /// The webhook's URL with `tail` added to its path (its query, such as `thread_id`,
    /// kept), checked against the outbound address policy.
    fn url(&self, webhook: &str, tail: &str) -> Result<reqwest::Url, ChatFailure> {
        let mut url = reqwest::Url::parse(webhook)
            .map_err(|_| ChatFailure::Refused("the webhook's URL is not a URL".to_owned()))?;
        let path = format!("{}{tail}", url.path().trim_end_matches('/'));
        url.set_path(&path);
        self.policy
            .check_url(&url)
            .map_err(|refused| ChatFailure::Refused(refused.to_string()))?;
        Ok(url)
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<Value, ChatFailure> {
        let response = request.send().await.map_err(|e| unreached("Discord", e))?;
        let status = response.status();
        if status.is_success() {
            return response.json().await.map_err(|e| ChatFailure::Retry {
                error: format!("Discord's answer could not be read: {}", e.without_url()),
                after: None,
            });
        }
        let failure = http_failure("Discord", status, response.headers());
        let answer: Value = response.json().await.unwrap_or_default();
        if status.as_u16() == 404 && answer["code"] == UNKNOWN_MESSAGE {
            return Err(ChatFailure::Refused("message_not_found".to_owned()));
        }
        // A rate limit's JSON says how long, to the millisecond.
        if let (ChatFailure::Retry { error, .. }, Some(wait)) =
            (&failure, answer["retry_after"].as_f64())
            && status.as_u16() == 429
            && wait.is_finite()
            && wait >= 0.0
        {
            return Err(ChatFailure::Retry {
                error: error.clone(),
                after: Some(Duration::from_secs_f64(wait.min(3600.0).ceil())),
            });
        }
        Err(failure)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::SignedButton;
    use onduty_core::chat::ChatButton;
    use onduty_core::incident::IncidentStatus;

    #[test]
    fn an_embed_mentions_nobody_and_links_the_buttons_that_apply() {
        let message = IncidentMessage {
            id: "0193-id".to_owned(),
            number: 9,
            summary: "@everyone disk full".to_owned(),
            service: "[Checkout](https://evil)".to_owned(),
            severity: "critical".to_owned(),
            urgency: "high".to_owned(),
            status: IncidentStatus::Triggered,
            url: "https://onduty.example/incidents/9".to_owned(),
            server: "https://onduty.example".to_owned(),
            runbook: None,
            signed: vec![SignedButton {
                button: ChatButton::Acknowledge,
                token: "t-ack".to_owned(),
            }],
        };
        let body = incident_embed(&message);
        assert_eq!(body["allowed_mentions"], json!({"parse": []}));
        let embed = &body["embeds"][0];
        assert_eq!(
            embed["description"],
            "[Acknowledge](https://onduty.example/chat/act/t-ack)"
        );
        assert_eq!(
            embed["fields"][0]["value"],
            "\\[Checkout\\]\\(https\\://evil\\)"
        );
        assert_eq!(embed["color"], 0xD9_30_25);
        let resolved = incident_embed(&IncidentMessage {
            status: IncidentStatus::Resolved,
            ..message
        });
        assert_eq!(resolved["embeds"][0]["description"], "");
    }
}
