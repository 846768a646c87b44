//! Telegram's Bot API (`https://api.telegram.org/bot<token>/<method>`), for groups that
//! get every incident of a service or team: `sendMessage` with an inline keyboard
//! (Acknowledge, Resolve, Escalate; `callback_data` of at most 64 bytes), `editMessageText`
//! when the incident changes, `answerCallbackQuery` to answer whoever pressed a button,
//! and plain `sendMessage` to answer `/start`. A `429` is retried after its
//! `parameters.retry_after`; a chat that is gone or a bot that was removed is a refusal.

use std::time::Duration;

use onduty_core::chat::ChatButton;
use serde_json::{Value, json};

use crate::chat::{DirectMessages, bot_http, send_direct, unreached};
use crate::{BotConfig, ChatFailure, IncidentMessage, Notifier, Outgoing, SendFuture};

/// Telegram's Bot API.
pub const DEFAULT_API_BASE: &str = "https://api.telegram.org";

/// Telegram's HTML takes `&`, `<` and `>` as markup: outside text escapes them.
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A button's `callback_data`: the button and the incident's id (at most 64 bytes).
pub fn callback_data(button: ChatButton, incident_id: &str) -> String {
    format!("{}:{incident_id}", button.id())
}

/// Reads a button's `callback_data` back.
pub fn parse_callback(data: &str) -> Option<(ChatButton, &str)> {
    let (button, id) = data.split_once(':')?;
    Some((ChatButton::parse(button)?, id))
}

/// An incident's message: HTML text and the buttons that apply (none once resolved).
pub fn incident_message(m: &IncidentMessage) -> Value {
    let status = m.status_label();
    let summary: String = m.summary.chars().take(3000).collect();
    let mut text = format!(
        "<b><a href=\"{}\">#{}</a> {}</b>\n{} · {} · {} urgency · <b>{status}</b>",
        escape(&m.url),
        m.number,
        escape(&summary),
        escape(&m.service),
        escape(&m.severity),
        escape(&m.urgency),
    );
    if let Some(runbook) = &m.runbook {
        let title: String = runbook
            .text
            .as_deref()
            .unwrap_or("Runbook")
            .chars()
            .take(200)
            .collect();
        text.push_str(&format!(
            "\nRunbook: <a href=\"{}\">{}</a>",
            escape(&runbook.href),
            escape(&title)
        ));
    }
    let buttons: Vec<Value> = m
        .buttons()
        .into_iter()
        .map(|b| json!({"text": b.label(), "callback_data": callback_data(b, &m.id)}))
        .collect();
    json!({
        "text": text,
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": true},
        "reply_markup": {"inline_keyboard": if buttons.is_empty() { vec![] } else { vec![buttons] }},
    })
}

pub struct TelegramClient {
    http: reqwest::Client,
    config: BotConfig,
}

impl TelegramClient {
    pub fn new(config: BotConfig) -> TelegramClient {
        TelegramClient {
            http: bot_http(),
            config,
        }
    }

    /// Posts an incident's message to a chat; returns its `message_id`.
    pub async fn send_incident(
        &self,
        chat: &str,
        message: &IncidentMessage,
    ) -> Result<String, ChatFailure> {
        let mut body = incident_message(message);
        body["chat_id"] = json!(chat);
        let sent = self.call("sendMessage", &body).await?;
        sent["message_id"]
            .as_i64()
            .map(|id| id.to_string())
            .ok_or_else(|| ChatFailure::Retry {
                error: "Telegram's answer had no message_id".to_owned(),
                after: None,
            })
    }

    /// Brings a posted message up to date.
    pub async fn edit_incident(
        &self,
        chat: &str,
        message_id: &str,
        message: &IncidentMessage,
    ) -> Result<(), ChatFailure> {
        let mut body = incident_message(message);
        body["chat_id"] = json!(chat);
        body["message_id"] = json!(message_id.parse::<i64>().unwrap_or_default());
        match self.call("editMessageText", &body).await {
            Ok(_) => Ok(()),
            // Already as it should be.
            Err(ChatFailure::Refused(e)) if e.contains("message is not modified") => Ok(()),
            // Gone, or too old to edit: post it again.
            Err(ChatFailure::Refused(e))
                if e.contains("message to edit not found") || e.contains("can't be edited") =>
            {
                Err(ChatFailure::Refused("message_not_found".to_owned()))
            }
            Err(e) => Err(e),
        }
    }

    /// Answers whoever pressed a button (a notice over the chat, only for them).
    pub async fn answer_callback(&self, callback: &str, text: &str) -> Result<(), ChatFailure> {
        let body = json!({"callback_query_id": callback, "text": text.chars().take(200).collect::<String>(), "show_alert": text.len() > 60});
        self.call("answerCallbackQuery", &body).await.map(|_| ())
    }

    /// A plain message to a chat.
    pub async fn send_text(&self, chat: &str, text: &str) -> Result<(), ChatFailure> {
        let body = json!({"chat_id": chat, "text": text});
        self.call("sendMessage", &body).await.map(|_| ())
    }

    async fn call(&self, method: &str, body: &Value) -> Result<Value, ChatFailure> {
        let url = format!(
            "{}/bot{}/{method}",
            self.config.api_base.trim_end_matches('/'),
            self.config.bot_token
        );
        let response = self
            .http
            .post(url)
            .json(body)
            .send()
            .await
            // Without the URL: it holds the bot's token.
            .map_err(|e| unreached("Telegram", e))?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if answer["ok"] == true {
            return Ok(answer["result"].clone());
        }
        // A group upgraded to a supergroup has a new id, given here.
        if let Some(new_id) = answer["parameters"]["migrate_to_chat_id"].as_i64() {
            return Err(ChatFailure::Moved {
                to: new_id.to_string(),
            });
        }
        let description = answer["description"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| format!("Telegram answered {status}"));
        match status.as_u16() {
            429 => Err(ChatFailure::Retry {
                error: description,
                after: answer["parameters"]["retry_after"]
                    .as_u64()
                    .map(Duration::from_secs),
            }),
            400 | 401 | 403 | 404 => Err(ChatFailure::Refused(description)),
            _ => Err(ChatFailure::Retry {
                error: description,
                after: None,
            }),
        }
    }
}

/// Private messages: a person's Telegram contact method is their user id (which is also
/// their private chat's id with the bot).
impl DirectMessages for TelegramClient {
    async fn post_incident(
        &self,
        to: &str,
        message: &IncidentMessage,
    ) -> Result<(String, String), ChatFailure> {
        let id = self.send_incident(to, message).await?;
        Ok((to.to_owned(), id))
    }

    async fn post_text(&self, to: &str, text: &str) -> Result<(), ChatFailure> {
        self.send_text(to, text).await
    }
}

impl Notifier for TelegramClient {
    fn send<'a>(&'a self, message: &'a Outgoing) -> SendFuture<'a> {
        Box::pin(send_direct(self, message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use onduty_core::incident::IncidentStatus;

    #[test]
    fn an_incident_message_escapes_outside_text_and_its_buttons_fit_telegrams_limit() {
        let id = "0193a5f0-0000-7000-8000-000000000000";
        let body = incident_message(&IncidentMessage {
            id: id.to_owned(),
            number: 42,
            summary: "Disk <b>full</b> & slow".to_owned(),
            service: "Checkout".to_owned(),
            severity: "critical".to_owned(),
            urgency: "high".to_owned(),
            status: IncidentStatus::Triggered,
            url: "https://onduty.example/incidents/42".to_owned(),
            server: "https://onduty.example".to_owned(),
            runbook: None,
            signed: Vec::new(),
        });
        assert_eq!(
            body["text"],
            "<b><a href=\"https://onduty.example/incidents/42\">#42</a> Disk &lt;b&gt;full&lt;/b&gt; &amp; slow</b>\nCheckout · critical · high urgency · <b>Triggered</b>"
        );
        let buttons = body["reply_markup"]["inline_keyboard"][0]
            .as_array()
            .unwrap();
        assert_eq!(buttons.len(), 3);
        for button in buttons {
            let data = button["callback_data"].as_str().unwrap();
            assert!(data.len() <= 64, "{data}");
            let (_, back) = parse_callback(data).unwrap();
            assert_eq!(back, id);
        }
        assert_eq!(
            parse_callback("acknowledge:abc"),
            Some((ChatButton::Acknowledge, "abc"))
        );
        assert_eq!(parse_callback("dance:abc"), None);
    }
}
