//! Slack's Web API, as a bot: `chat.postMessage` and `chat.update` with Block Kit (an
//! incident's message, with Acknowledge, Resolve and Escalate buttons), `users.info` (the
//! e-mail of whoever clicked, to link them to their onduty user) and an interaction's
//! `response_url` (answers only the clicker sees). Every call carries the bot token
//! (`Authorization: Bearer xoxb-…`). A `429` is retried after its `Retry-After`; errors
//! that will not pass (`channel_not_found`, `not_in_channel`, `invalid_auth`, …) are
//! refusals.

use std::time::Duration;

use onduty_core::chat::ChatButton;
use serde_json::{Value, json};

use crate::chat::{DirectMessages, bot_http, cut, send_direct, unreached};
use crate::{BotConfig, ChatFailure, IncidentMessage, Notifier, Outgoing, SendFuture};

/// Slack's production Web API.
pub const DEFAULT_API_BASE: &str = "https://slack.com/api";

/// Slack's errors that trying again will not mend.
const REFUSALS: [&str; 10] = [
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "invalid_auth",
    "not_authed",
    "account_inactive",
    "token_revoked",
    "no_permission",
    "missing_scope",
    "restricted_action",
];

/// Slack's `mrkdwn` takes `&`, `<` and `>` as markup: outside text escapes them.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The message (`text` for notifications, `blocks` for the channel) of an incident: the
/// summary linking to its page, the service, severity, urgency and status, and the
/// buttons that apply (none once resolved).
pub fn incident_blocks(m: &IncidentMessage) -> Value {
    let status = m.status_label();
    let summary: String = escape(&m.summary).chars().take(2900).collect();
    let mut blocks = vec![
        json!({"type": "section", "text": {"type": "mrkdwn",
            "text": format!("*<{}|#{}> {summary}*", m.url, m.number)}}),
        json!({"type": "context", "elements": [{"type": "mrkdwn",
            "text": format!("{} · {} · {} urgency · *{status}*",
                escape(&m.service), escape(&m.severity), escape(&m.urgency))}]}),
    ];
    if let Some(runbook) = &m.runbook {
        // A link's address ends at `|` or `>`: those are percent-encoded.
        let href = escape(&runbook.href).replace('|', "%7C");
        let title = escape(runbook.text.as_deref().unwrap_or("Runbook")).replace('|', "¦");
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn",
            "text": format!("Runbook: <{href}|{}>", cut(&title, 200))}}));
    }
    let buttons: Vec<Value> = m
        .buttons()
        .into_iter()
        .map(|b| {
            let mut button = json!({"type": "button", "action_id": b.id(), "value": m.id,
            "text": {"type": "plain_text", "text": b.label()}});
            if b == ChatButton::Acknowledge {
                button["style"] = json!("primary");
            }
            button
        })
        .collect();
    if !buttons.is_empty() {
        blocks.push(json!({"type": "actions", "block_id": "onduty", "elements": buttons}));
    }
    json!({
        "text": format!("#{} [{}] {} ({status})", m.number, escape(&m.severity),
            escape(&m.summary.chars().take(300).collect::<String>())),
        "blocks": blocks,
    })
}

pub struct SlackClient {
    http: reqwest::Client,
    config: BotConfig,
}

impl SlackClient {
    pub fn new(config: BotConfig) -> SlackClient {
        SlackClient {
            http: bot_http(),
            config,
        }
    }

    /// Posts an incident's message to `channel`; returns its `ts`, Slack's id for it.
    pub async fn post(
        &self,
        channel: &str,
        message: &IncidentMessage,
    ) -> Result<String, ChatFailure> {
        let mut body = incident_blocks(message);
        body["channel"] = json!(channel);
        let answer = self.call("chat.postMessage", &body).await?;
        answer["ts"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ChatFailure::Retry {
                error: "Slack's answer had no ts".to_owned(),
                after: None,
            })
    }

    /// A plain message to `channel`, outside text shown as written.
    pub async fn post_text(&self, channel: &str, text: &str) -> Result<(), ChatFailure> {
        let body = json!({"channel": channel, "text": escape(text)});
        self.call("chat.postMessage", &body).await.map(|_| ())
    }

    /// Brings a posted message up to date.
    pub async fn update(
        &self,
        channel: &str,
        ts: &str,
        message: &IncidentMessage,
    ) -> Result<(), ChatFailure> {
        let mut body = incident_blocks(message);
        body["channel"] = json!(channel);
        body["ts"] = json!(ts);
        self.call("chat.update", &body).await.map(|_| ())
    }

    /// The e-mail address on a Slack user's profile (`users:read.email`), if it shows one.
    /// Asked while Slack waits for an answer to a click, so it gets 2 seconds.
    pub async fn user_email(&self, user: &str) -> Result<Option<String>, ChatFailure> {
        let request = self
            .http
            .post(self.url("users.info"))
            .form(&[("user", user)])
            .timeout(Duration::from_secs(2));
        let answer = self.answer(request).await?;
        Ok(answer["user"]["profile"]["email"]
            .as_str()
            .map(str::to_owned))
    }

    /// The member id of the workspace member with this e-mail address, if there is one.
    pub async fn member_by_email(&self, email: &str) -> Result<Option<String>, ChatFailure> {
        match self
            .call_form("users.lookupByEmail", &[("email", email)])
            .await
        {
            Ok(answer) => Ok(answer["user"]["id"].as_str().map(str::to_owned)),
            Err(ChatFailure::Retry { error, .. }) if error == "users_not_found" => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Answers the person who clicked or typed a command, where only they see it.
    pub async fn respond(&self, response_url: &str, text: &str) -> Result<(), ChatFailure> {
        let body = json!({"response_type": "ephemeral", "replace_original": false, "text": text});
        let response = self
            .http
            .post(response_url)
            .json(&body)
            .send()
            .await
            .map_err(|e| unreached("Slack", e))?;
        match response.status() {
            s if s.is_success() => Ok(()),
            s => Err(ChatFailure::Refused(format!("response_url answered {s}"))),
        }
    }

    /// A method that writes, with a JSON body.
    async fn call(&self, method: &str, body: &Value) -> Result<Value, ChatFailure> {
        let request = self.http.post(self.url(method)).json(body);
        self.answer(request).await
    }

    /// A method that reads: Slack takes their arguments form-encoded only.
    async fn call_form(&self, method: &str, form: &[(&str, &str)]) -> Result<Value, ChatFailure> {
        let request = self.http.post(self.url(method)).form(form);
        self.answer(request).await
    }

    fn url(&self, method: &str) -> String {
        format!("{}/{method}", self.config.api_base.trim_end_matches('/'))
    }

    async fn answer(&self, request: reqwest::RequestBuilder) -> Result<Value, ChatFailure> {
        let response = request
            .bearer_auth(&self.config.bot_token)
            .send()
            .await
            .map_err(|e| unreached("Slack", e))?;
        let status = response.status();
        if status.as_u16() == 429 {
            let after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            return Err(ChatFailure::Retry {
                error: "Slack is rate limiting (429)".to_owned(),
                after,
            });
        }
        if !status.is_success() {
            return Err(ChatFailure::Retry {
                error: format!("Slack answered {status}"),
                after: None,
            });
        }
        let answer: Value = response.json().await.map_err(|e| ChatFailure::Retry {
            error: format!("Slack's answer could not be read: {}", e.without_url()),
            after: None,
        })?;
        if answer["ok"] == true {
            return Ok(answer);
        }
        let error = answer["error"]
            .as_str()
            .unwrap_or("unknown_error")
            .to_owned();
        if REFUSALS.contains(&error.as_str()) {
            Err(ChatFailure::Refused(error))
        } else {
            Err(ChatFailure::Retry { error, after: None })
        }
    }
}

/// Direct messages: a person's Slack contact method is their member id, and the app posts
/// to it (Slack opens the direct message).
impl DirectMessages for SlackClient {
    /// Posted to a member id, the message lands in the app's direct conversation with
    /// them, whose `D…` id the answer names: `chat.update` needs that one.
    async fn post_incident(
        &self,
        to: &str,
        message: &IncidentMessage,
    ) -> Result<(String, String), ChatFailure> {
        let mut body = incident_blocks(message);
        body["channel"] = json!(to);
        let answer = self.call("chat.postMessage", &body).await?;
        match (answer["channel"].as_str(), answer["ts"].as_str()) {
            (Some(channel), Some(ts)) => Ok((channel.to_owned(), ts.to_owned())),
            _ => Err(ChatFailure::Retry {
                error: "Slack's answer had no channel or ts".to_owned(),
                after: None,
            }),
        }
    }

    async fn post_text(&self, to: &str, text: &str) -> Result<(), ChatFailure> {
        self.call("chat.postMessage", &json!({"channel": to, "text": text}))
            .await
            .map(|_| ())
    }
}

impl Notifier for SlackClient {
    fn send<'a>(&'a self, message: &'a Outgoing) -> SendFuture<'a> {
        Box::pin(send_direct(self, message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onduty_core::incident::IncidentStatus;

    fn message(status: IncidentStatus) -> IncidentMessage {
        IncidentMessage {
            id: "0193-id".to_owned(),
            number: 42,
            summary: "Disk <full> & slow on db01".to_owned(),
            service: "Checkout".to_owned(),
            severity: "critical".to_owned(),
            urgency: "high".to_owned(),
            status,
            url: "https://onduty.example/incidents/42".to_owned(),
            server: "https://onduty.example".to_owned(),
            runbook: None,
            signed: Vec::new(),
        }
    }

    fn buttons(body: &Value) -> Vec<String> {
        body["blocks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|b| b["type"] == "actions")
            .flat_map(|b| b["elements"].as_array().unwrap().clone())
            .map(|e| e["action_id"].as_str().unwrap().to_owned())
            .collect()
    }

    #[test]
    fn an_incident_message_escapes_outside_text_and_offers_the_buttons_that_apply() {
        let body = incident_blocks(&message(IncidentStatus::Triggered));
        assert_eq!(
            body["blocks"][0]["text"]["text"],
            "*<https://onduty.example/incidents/42|#42> Disk &lt;full&gt; &amp; slow on db01*"
        );
        assert!(
            body["blocks"][1]["elements"][0]["text"]
                .as_str()
                .unwrap()
                .ends_with("*Triggered*")
        );
        assert_eq!(buttons(&body), ["acknowledge", "resolve", "escalate"]);
        assert_eq!(body["blocks"][2]["elements"][0]["value"], "0193-id");
        assert_eq!(
            buttons(&incident_blocks(&message(IncidentStatus::Acknowledged))),
            ["resolve", "escalate"]
        );
        assert!(buttons(&incident_blocks(&message(IncidentStatus::Resolved))).is_empty());
    }

    #[test]
    fn a_runbook_is_a_link_of_its_own_whose_address_stays_whole() {
        let body = incident_blocks(&IncidentMessage {
            runbook: Some(crate::Link {
                href: "https://wiki.example/runbooks?a=1&b=<2>|3".to_owned(),
                text: Some("Disk <full> | slow".to_owned()),
            }),
            ..message(IncidentStatus::Triggered)
        });
        assert_eq!(
            body["blocks"][2]["text"]["text"],
            "Runbook: <https://wiki.example/runbooks?a=1&amp;b=&lt;2&gt;%7C3|Disk &lt;full&gt; ¦ slow>"
        );
        assert_eq!(buttons(&body), ["acknowledge", "resolve", "escalate"]);
    }
}
