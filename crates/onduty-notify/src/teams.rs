//! Microsoft Teams, through a channel's Workflows webhook ("Post to a channel when a
//! webhook request is received"): each change of an incident posts a new Adaptive Card.
//! Cards cannot call onduty back, so their buttons are signed links
//! ([`IncidentMessage::action_url`]) that act as whoever opens them, once logged in. The
//! webhook's URL is a credential: requests obey the outbound address policy, follow no
//! redirect, and errors never show it.

use std::time::Duration;

use serde_json::{Value, json};

use crate::chat::{cut, http_failure, unreached};
use crate::outbound::OutboundPolicy;
use crate::{ChatFailure, IncidentMessage};

/// How long a workflow may take to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The body a Workflows webhook takes: a message with one Adaptive Card (version 1.4)
/// showing the incident, its facts, and the signed links that apply, then its page.
pub fn incident_card(m: &IncidentMessage) -> Value {
    let status = m.status_label();
    let style = match m.status {
        onduty_core::incident::IncidentStatus::Triggered => "attention",
        onduty_core::incident::IncidentStatus::Acknowledged => "warning",
        onduty_core::incident::IncidentStatus::Resolved => "good",
    };
    let mut actions: Vec<Value> = m
        .signed_buttons()
        .into_iter()
        .map(|s| json!({"type": "Action.OpenUrl", "title": s.button.label(), "url": m.action_url(s)}))
        .collect();
    actions.push(json!({"type": "Action.OpenUrl", "title": "Open in onduty", "url": m.url}));
    if let Some(runbook) = &m.runbook {
        actions.push(json!({"type": "Action.OpenUrl", "title": "Runbook", "url": runbook.href}));
    }
    // Outside text goes in TextRuns, which Teams shows as written (a TextBlock's text is
    // Markdown, and Teams does not honour every backslash escape).
    let fact = |name: &str, value: &str| {
        json!({"type": "RichTextBlock", "spacing": "None", "inlines": [
            {"type": "TextRun", "text": format!("{name}: "), "weight": "Bolder"},
            {"type": "TextRun", "text": cut(value, 200)},
        ]})
    };
    let card = json!({
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "wrap": true,
             "color": style,
             "text": format!("#{} {status}", m.number)},
            {"type": "RichTextBlock", "inlines": [
                {"type": "TextRun", "text": cut(&m.summary, 2000)},
            ]},
            fact("Service", &m.service),
            fact("Severity", &m.severity),
            fact("Urgency", &m.urgency),
            fact("Status", status),
        ],
        "actions": actions,
    });
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "contentUrl": null,
            "content": card,
        }],
    })
}

pub struct TeamsClient {
    policy: OutboundPolicy,
    http: reqwest::Client,
}

impl TeamsClient {
    pub fn new(policy: OutboundPolicy) -> TeamsClient {
        TeamsClient {
            http: policy.client(TIMEOUT),
            policy,
        }
    }

    /// A card with one line of text, shown as written, to the channel behind `webhook`.
    pub async fn post_text(&self, webhook: &str, text: &str) -> Result<(), ChatFailure> {
        let card = json!({
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": [{"type": "RichTextBlock", "inlines": [{"type": "TextRun", "text": cut(text, 2000)}]}],
        });
        let message = json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": card,
            }],
        });
        self.deliver(webhook, &message).await
    }

    /// Posts an incident's card to the channel behind `webhook`.
    pub async fn post(&self, webhook: &str, message: &IncidentMessage) -> Result<(), ChatFailure> {
        self.deliver(webhook, &incident_card(message)).await
    }

    async fn deliver(&self, webhook: &str, body: &Value) -> Result<(), ChatFailure> {
        let url = reqwest::Url::parse(webhook)
            .map_err(|_| ChatFailure::Refused("the webhook's URL is not a URL".to_owned()))?;
        self.policy
            .check_url(&url)
            .map_err(|refused| ChatFailure::Refused(refused.to_string()))?;
        let response = self
            .http
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(|e| unreached("Teams", e))?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(http_failure("Teams", status, response.headers()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::SignedButton;
    use onduty_core::chat::ChatButton;
    use onduty_core::incident::IncidentStatus;

    #[test]
    fn a_card_shows_outside_text_as_written_and_links_each_button_to_its_signed_page() {
        let message = IncidentMessage {
            id: "0193-id".to_owned(),
            number: 7,
            summary: "**[pwn](https://evil)**".to_owned(),
            service: "Checkout".to_owned(),
            severity: "critical".to_owned(),
            urgency: "high".to_owned(),
            status: IncidentStatus::Acknowledged,
            url: "https://onduty.example/incidents/7".to_owned(),
            server: "https://onduty.example".to_owned(),
            runbook: None,
            signed: ChatButton::ALL
                .into_iter()
                .map(|button| SignedButton {
                    button,
                    token: format!("t-{}", button.id()),
                })
                .collect(),
        };
        let body = incident_card(&message);
        let card = &body["attachments"][0]["content"];
        assert_eq!(
            body["attachments"][0]["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(card["body"][1]["type"], "RichTextBlock");
        assert_eq!(
            card["body"][1]["inlines"][0],
            json!({"type": "TextRun", "text": "**[pwn](https://evil)**"}),
            "shown as written, never as Markdown"
        );
        let links: Vec<(&str, &str)> = card["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| (a["title"].as_str().unwrap(), a["url"].as_str().unwrap()))
            .collect();
        assert_eq!(
            links,
            [
                ("Resolve", "https://onduty.example/chat/act/t-resolve"),
                ("Escalate", "https://onduty.example/chat/act/t-escalate"),
                ("Open in onduty", "https://onduty.example/incidents/7"),
            ]
        );
    }
}
