//! Mattermost's REST API (v4), as a bot: `POST /api/v4/posts` with a message attachment
//! (an incident's message, with Acknowledge, Resolve and Escalate as interactive message
//! buttons), `PUT /api/v4/posts/{id}` when the incident changes, and
//! `GET /api/v4/users/{id}` (the verified e-mail of whoever clicked, to link them), and
//! direct messages to a person (`POST /api/v4/channels/direct`, then a post). Every
//! call carries the bot's access token (`Authorization: Bearer …`).
//!
//! Mattermost does not sign the requests its buttons make: each button's `context` carries
//! a token onduty signed (one incident, one button, expiring), which Mattermost keeps on
//! the server and sends back with the click.

use std::time::Duration;

use serde_json::{Value, json};

use crate::chat::{
    DirectMessages, bot_http, cut, escape_markdown, http_failure, send_direct, unreached,
};
use crate::{BotConfig, ChatFailure, IncidentMessage, Notifier, Outgoing, SendFuture};

/// Where Mattermost sends clicks, under onduty's public URL.
pub const ACTIONS_PATH: &str = "/mattermost/actions";

/// Outside text as Mattermost shows it: Markdown escaped, and a zero-width space after
/// each `@`, since Mattermost finds mentions (`@all`, `@channel`, `@someone`) even behind a
/// backslash.
pub fn plain(text: &str) -> String {
    escape_markdown(text).replace('@', "@\u{200B}")
}

/// The message of an incident: one attachment with its summary linking to its page, the
/// service, severity, urgency and status, and the buttons that apply (none once
/// resolved), each calling onduty back with its signed token. It notifies nobody
/// (`disable_group_highlight`, and no mention survives [`plain`]).
pub fn incident_post(m: &IncidentMessage) -> Value {
    let status = m.status_label();
    let summary = plain(&cut(&m.summary, 3000));
    let field =
        |title: &str, value: &str| json!({"short": true, "title": title, "value": plain(value)});
    let callback = format!("{}{ACTIONS_PATH}", m.server.trim_end_matches('/'));
    let actions: Vec<Value> = m
        .signed_buttons()
        .into_iter()
        .map(|s| {
            json!({
                "id": s.button.id(),
                "name": s.button.label(),
                "type": "button",
                "style": if s.button == onduty_core::chat::ChatButton::Acknowledge { "primary" } else { "default" },
                "integration": {"url": callback, "context": {"token": s.token}},
            })
        })
        .collect();
    let fallback = format!("#{} {} ({status})", m.number, plain(&cut(&m.summary, 300)));
    json!({
        "message": "",
        "props": {"disable_group_highlight": true, "attachments": [{
            "fallback": fallback,
            "color": format!("#{:06X}", m.color()),
            "title": format!("Incident #{} · {status}", m.number),
            "title_link": m.url,
            "text": match &m.runbook {
                Some(r) => format!(
                    "{summary}\n\nRunbook: {}",
                    crate::chat::markdown_link(&cut(r.text.as_deref().unwrap_or("Runbook"), 200), &r.href)
                ),
                None => summary,
            },
            "fields": [
                field("Service", &m.service),
                field("Severity", &m.severity),
                field("Urgency", &m.urgency),
                field("Status", status),
            ],
            "actions": actions,
        }]},
    })
}

pub struct MattermostClient {
    http: reqwest::Client,
    /// `api_base` is the Mattermost server's URL (`https://chat.example.com`).
    config: BotConfig,
    /// The bot's own user id, asked once (direct messages are between it and a person).
    bot_user: tokio::sync::OnceCell<String>,
}

impl MattermostClient {
    pub fn new(config: BotConfig) -> MattermostClient {
        MattermostClient {
            http: bot_http(),
            config,
            bot_user: tokio::sync::OnceCell::new(),
        }
    }

    /// Posts an incident's message to a channel; returns the post's id.
    pub async fn post(
        &self,
        channel: &str,
        message: &IncidentMessage,
    ) -> Result<String, ChatFailure> {
        let mut body = incident_post(message);
        body["channel_id"] = json!(channel);
        let request = self.http.post(self.url("/posts")).json(&body);
        let post = self.answer(request).await?;
        post["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ChatFailure::Retry {
                error: "Mattermost's answer had no post id".to_owned(),
                after: None,
            })
    }

    /// A plain message to a channel, outside text shown as written and mentioning nobody.
    pub async fn post_text(&self, channel: &str, text: &str) -> Result<(), ChatFailure> {
        let body = json!({"channel_id": channel, "message": plain(text)});
        let request = self.http.post(self.url("/posts")).json(&body);
        self.answer(request).await.map(|_| ())
    }

    /// Brings a posted message up to date; a post that is gone is `message_not_found`.
    pub async fn update(
        &self,
        post_id: &str,
        message: &IncidentMessage,
    ) -> Result<(), ChatFailure> {
        if !is_id(post_id) {
            return Err(ChatFailure::Refused("message_not_found".to_owned()));
        }
        let mut body = incident_post(message);
        body["id"] = json!(post_id);
        let request = self
            .http
            .put(self.url(&format!("/posts/{post_id}")))
            .json(&body);
        match self.answer(request).await {
            Err(ChatFailure::Refused(e)) if e.contains("404") => {
                Err(ChatFailure::Refused("message_not_found".to_owned()))
            }
            other => other.map(|_| ()),
        }
    }

    /// The e-mail address of a Mattermost user, if Mattermost shows it to the bot and has
    /// verified it. Asked while Mattermost waits for an answer to a click: 2 seconds.
    pub async fn verified_email(&self, user_id: &str) -> Result<Option<String>, ChatFailure> {
        if !is_id(user_id) {
            return Ok(None);
        }
        let request = self
            .http
            .get(self.url(&format!("/users/{user_id}")))
            .timeout(Duration::from_secs(2));
        let user = self.answer(request).await?;
        Ok(user["email"]
            .as_str()
            .filter(|e| !e.is_empty() && user["email_verified"] == true)
            .map(str::to_owned))
    }

    /// The direct channel between the bot and a person (`POST /channels/direct`, which
    /// returns the existing one if there is one).
    async fn direct_channel(&self, user_id: &str) -> Result<String, ChatFailure> {
        if !is_id(user_id) {
            return Err(ChatFailure::Refused(format!(
                "'{user_id}' is not a Mattermost user id"
            )));
        }
        let bot = self
            .bot_user
            .get_or_try_init(|| async {
                let me = self.answer(self.http.get(self.url("/users/me"))).await?;
                me["id"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| ChatFailure::Retry {
                        error: "Mattermost's answer had no user id".to_owned(),
                        after: None,
                    })
            })
            .await?;
        let request = self
            .http
            .post(self.url("/channels/direct"))
            .json(&json!([bot, user_id]));
        let channel = self.answer(request).await?;
        channel["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| ChatFailure::Retry {
                error: "Mattermost's answer had no channel id".to_owned(),
                after: None,
            })
    }

    fn url(&self, path: &str) -> String {
        format!(
            "{}/api/v4{path}",
            self.config.api_base.trim_end_matches('/')
        )
    }

    async fn answer(&self, request: reqwest::RequestBuilder) -> Result<Value, ChatFailure> {
        let response = request
            .bearer_auth(&self.config.bot_token)
            .send()
            .await
            .map_err(|e| unreached("Mattermost", e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(http_failure("Mattermost", status, response.headers()));
        }
        response.json().await.map_err(|e| ChatFailure::Retry {
            error: format!("Mattermost's answer could not be read: {}", e.without_url()),
            after: None,
        })
    }
}

/// Direct messages: a person's Mattermost contact method is their user id; pages go to the
/// bot's direct channel with them, with the same buttons as in a channel.
impl DirectMessages for MattermostClient {
    async fn post_incident(
        &self,
        to: &str,
        message: &IncidentMessage,
    ) -> Result<(String, String), ChatFailure> {
        let channel = self.direct_channel(to).await?;
        let id = self.post(&channel, message).await?;
        Ok((channel, id))
    }

    async fn post_text(&self, to: &str, text: &str) -> Result<(), ChatFailure> {
        let channel = self.direct_channel(to).await?;
        let body = json!({"channel_id": channel, "message": plain(text)});
        let request = self.http.post(self.url("/posts")).json(&body);
        self.answer(request).await.map(|_| ())
    }
}

impl Notifier for MattermostClient {
    fn send<'a>(&'a self, message: &'a Outgoing) -> SendFuture<'a> {
        Box::pin(send_direct(self, message))
    }
}

/// Mattermost's ids are 26 small letters and digits.
fn is_id(text: &str) -> bool {
    text.len() == 26
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::SignedButton;
    use onduty_core::chat::ChatButton;
    use onduty_core::incident::IncidentStatus;

    fn message(status: IncidentStatus) -> IncidentMessage {
        IncidentMessage {
            id: "0193-id".to_owned(),
            number: 42,
            summary: "[Disk](https://evil) full @all".to_owned(),
            service: "Checkout".to_owned(),
            severity: "critical".to_owned(),
            urgency: "high".to_owned(),
            status,
            url: "https://onduty.example/incidents/42".to_owned(),
            server: "https://onduty.example/".to_owned(),
            runbook: None,
            signed: ChatButton::ALL
                .into_iter()
                .map(|button| SignedButton {
                    button,
                    token: format!("token-{}", button.id()),
                })
                .collect(),
        }
    }

    #[test]
    fn a_post_escapes_outside_text_and_its_buttons_call_back_with_their_tokens() {
        let post = incident_post(&message(IncidentStatus::Triggered));
        let attachment = &post["props"]["attachments"][0];
        assert_eq!(
            attachment["text"],
            "\\[Disk\\]\\(https\\://evil\\) full \\@\u{200B}all"
        );
        assert_eq!(post["props"]["disable_group_highlight"], true);
        assert_eq!(
            attachment["title_link"],
            "https://onduty.example/incidents/42"
        );
        let actions = attachment["actions"].as_array().unwrap();
        assert_eq!(actions.len(), 3);
        assert_eq!(
            actions[0]["integration"],
            json!({"url": "https://onduty.example/mattermost/actions",
                   "context": {"token": "token-acknowledge"}})
        );
        let acknowledged = incident_post(&message(IncidentStatus::Acknowledged));
        let ids: Vec<&str> = acknowledged["props"]["attachments"][0]["actions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["resolve", "escalate"]);
        let resolved = incident_post(&message(IncidentStatus::Resolved));
        assert_eq!(resolved["props"]["attachments"][0]["actions"], json!([]));
        assert_eq!(resolved["props"]["attachments"][0]["color"], "#1E8E3E");
    }
}
