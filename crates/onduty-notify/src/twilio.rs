//! SMS and voice calls through Twilio's REST API: `Messages.json` and `Calls.json` under
//! `/2010-04-01/Accounts/{AccountSid}/`, form-encoded, with HTTP basic auth. Calls carry
//! their TwiML inline: the message is spoken inside a `<Gather>` whose answer (a key
//! pressed) comes back to onduty's `/twilio/voice` webhook. Delivery reports come back to
//! `/twilio/status`.

use std::time::Duration;

use onduty_core::contact::Channel;
use serde::Deserialize;

use crate::{Content, Notifier, NotifyError, Outgoing, SendFuture, Sent, render};

/// How long Twilio may take to answer.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// Twilio's production API.
pub const DEFAULT_API_BASE: &str = "https://api.twilio.com";

#[derive(Clone)]
pub struct TwilioConfig {
    pub account_sid: String,
    pub auth_token: String,
    /// The Twilio number messages and calls come from, E.164.
    pub from: String,
    /// `https://api.twilio.com`, or a local server in tests.
    pub api_base: String,
    /// onduty's public URL: Twilio calls back here (replies, keys, delivery reports).
    pub public_url: String,
}

impl std::fmt::Debug for TwilioConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("account_sid", &self.account_sid)
            .field("auth_token", &"<redacted>")
            .field("from", &self.from)
            .field("api_base", &self.api_base)
            .finish_non_exhaustive()
    }
}

pub struct TwilioNotifier {
    http: reqwest::Client,
    config: TwilioConfig,
}

/// Twilio's answer to a created message or call.
#[derive(Deserialize)]
struct Created {
    sid: String,
}

/// Twilio's error body.
#[derive(Deserialize)]
struct TwilioError {
    code: Option<i64>,
    message: Option<String>,
}

impl TwilioNotifier {
    pub fn new(http: reqwest::Client, config: TwilioConfig) -> Self {
        TwilioNotifier { http, config }
    }

    fn endpoint(&self, resource: &str) -> String {
        format!(
            "{}/2010-04-01/Accounts/{}/{resource}.json",
            self.config.api_base.trim_end_matches('/'),
            self.config.account_sid
        )
    }

    fn callback(&self, path: &str) -> String {
        format!("{}{path}", self.config.public_url.trim_end_matches('/'))
    }

    async fn create(&self, resource: &str, form: &[(&str, String)]) -> Result<Sent, NotifyError> {
        let response = self
            .http
            .post(self.endpoint(resource))
            .timeout(TIMEOUT)
            .basic_auth(&self.config.account_sid, Some(&self.config.auth_token))
            .form(form)
            .send()
            .await
            .map_err(|e| NotifyError::Transient(format!("Twilio not reached: {e}")))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            let created: Created = serde_json::from_str(&text).map_err(|e| {
                NotifyError::Transient(format!("Twilio's answer is not understood: {e}"))
            })?;
            return Ok(Sent {
                provider_ref: Some(created.sid),
                ..Sent::default()
            });
        }
        let error: Option<TwilioError> = serde_json::from_str(&text).ok();
        let detail = match &error {
            Some(TwilioError {
                code: Some(code),
                message,
            }) => format!("{code} {}", message.as_deref().unwrap_or_default()),
            _ => format!("HTTP {}", status.as_u16()),
        };
        Err(match status.as_u16() {
            // The account, not the person's number: retrying after it is fixed will work.
            401 | 403 => NotifyError::Transient(format!("Twilio refused the account: {detail}")),
            429 => NotifyError::Transient(format!("Twilio asked to slow down: {detail}")),
            400..=499 => NotifyError::Permanent(detail),
            _ => NotifyError::Transient(format!("Twilio failed: {detail}")),
        })
    }
}

impl Notifier for TwilioNotifier {
    fn send<'a>(&'a self, message: &'a Outgoing) -> SendFuture<'a> {
        Box::pin(async move {
            let status_callback = self.callback("/twilio/status");
            match message.channel {
                Channel::Sms => {
                    self.create(
                        "Messages",
                        &[
                            ("To", message.to.clone()),
                            ("From", self.config.from.clone()),
                            ("Body", render::sms(&message.content)),
                            ("StatusCallback", status_callback),
                        ],
                    )
                    .await
                }
                Channel::Voice => {
                    let twiml = call_twiml(&message.content, &self.callback("/twilio/voice"));
                    self.create(
                        "Calls",
                        &[
                            ("To", message.to.clone()),
                            ("From", self.config.from.clone()),
                            ("Twiml", twiml),
                            ("StatusCallback", status_callback),
                        ],
                    )
                    .await
                }
                other => Err(NotifyError::NotConfigured(other.label())),
            }
        })
    }
}

/// The incident numbers a call is about, as the `/twilio/voice` URL carries them.
pub fn incidents_query(content: &Content) -> String {
    match content {
        Content::Page { items } => items
            .iter()
            .map(|i| i.number.to_string())
            .collect::<Vec<_>>()
            .join(","),
        _ => String::new(),
    }
}

/// What a call says: the message, then (for pages) the keys, inside a `<Gather>` whose
/// key comes back to `gather_url`.
pub fn call_twiml(content: &Content, gather_url: &str) -> String {
    let text = render::voice(content);
    match content {
        Content::Page { .. } => {
            let action = format!("{gather_url}?incidents={}", incidents_query(content));
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>\
                 <Gather numDigits=\"1\" timeout=\"10\" method=\"POST\" action=\"{}\">\
                 <Say>{} Press 4 to acknowledge, 6 to resolve, 5 to escalate, or 1 to hear this again.</Say>\
                 </Gather><Say>No key was pressed. Goodbye.</Say></Response>",
                xml_escape(&action),
                xml_escape(&text)
            )
        }
        _ => format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say>{}</Say></Response>",
            xml_escape(&text)
        ),
    }
}

/// A TwiML answer that only says something.
pub fn say_twiml(text: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Say>{}</Say></Response>",
        xml_escape(text)
    )
}

/// A TwiML answer to an SMS: one message back.
pub fn message_twiml(text: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>{}</Message></Response>",
        xml_escape(text)
    )
}

/// Escapes text for XML content and attribute values.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && c != '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PageItem;

    #[test]
    fn call_twiml_gathers_one_key_and_escapes_what_it_says() {
        let content = Content::Page {
            items: vec![PageItem {
                id: "incident-id".to_owned(),
                number: 7,
                summary: "5xx > 10% on <web> & \"api\"".to_owned(),
                service: "Web".to_owned(),
                severity: "critical".to_owned(),
                urgency: "high".to_owned(),
                url: "http://x/7".to_owned(),
                details: None,
                links: Vec::new(),
                ack_url: None,
                resolve_url: None,
                runbook: None,
                signed: Vec::new(),
                server: String::new(),
            }],
        };
        let twiml = call_twiml(&content, "https://onduty.example/twilio/voice");
        assert!(twiml.contains(
            "<Gather numDigits=\"1\" timeout=\"10\" method=\"POST\" action=\"https://onduty.example/twilio/voice?incidents=7\">"
        ));
        assert!(twiml.contains("5xx &gt; 10% on &lt;web&gt; &amp; &quot;api&quot;"));
        assert!(!twiml.contains("<web>"));
    }
}
