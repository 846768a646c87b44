//! E-mail over SMTP (lettre): plain, STARTTLS or TLS, with a text and an HTML body. A page
//! carries each incident's summary, details, links and one-click Acknowledge / Resolve
//! links signed for the person paged.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::twilio::xml_escape as escape;
use crate::{Content, Notifier, NotifyError, Outgoing, SendFuture, Sent, render};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// No TLS (a relay on the same host or network).
    Plain,
    /// Plain connection upgraded with STARTTLS (usually port 587).
    StartTls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

impl SmtpSecurity {
    pub fn parse(text: &str) -> Option<SmtpSecurity> {
        match text {
            "plain" | "none" => Some(SmtpSecurity::Plain),
            "starttls" => Some(SmtpSecurity::StartTls),
            "tls" | "ssl" => Some(SmtpSecurity::Tls),
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    /// `onduty <onduty@example.com>`
    pub from: String,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("from", &self.from)
            .finish_non_exhaustive()
    }
}

pub struct EmailNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// How long one SMTP exchange may take.
pub const TIMEOUT: Duration = Duration::from_secs(30);

impl EmailNotifier {
    /// Checks the settings; connects only when sending.
    pub fn new(config: &SmtpConfig) -> Result<EmailNotifier, String> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|e| format!("the from address '{}' is not valid: {e}", config.from))?;
        let tls = |host: &str| {
            TlsParameters::new(host.to_owned()).map_err(|e| format!("TLS settings: {e}"))
        };
        let security = match config.security {
            SmtpSecurity::Plain => Tls::None,
            SmtpSecurity::StartTls => Tls::Required(tls(&config.host)?),
            SmtpSecurity::Tls => Tls::Wrapper(tls(&config.host)?),
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&config.host)
            .port(config.port)
            .tls(security)
            .timeout(Some(TIMEOUT));
        if let Some(user) = &config.username {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                config.password.clone().unwrap_or_default(),
            ));
        }
        Ok(EmailNotifier {
            transport: builder.build(),
            from,
        })
    }
}

impl Notifier for EmailNotifier {
    fn send<'a>(&'a self, message: &'a Outgoing) -> SendFuture<'a> {
        Box::pin(async move {
            let to: Mailbox = message
                .to
                .parse()
                .map_err(|e| NotifyError::Permanent(format!("not an e-mail address: {e}")))?;
            let email = Message::builder()
                .from(self.from.clone())
                .to(to)
                .subject(render::email_subject(&message.content))
                .message_id(Some(format!(
                    "<{}@onduty>",
                    message.idempotency_key.replace('+', ".")
                )))
                .multipart(MultiPart::alternative_plain_html(
                    render::email_text(&message.content),
                    email_html(&message.content),
                ))
                .map_err(|e| NotifyError::Permanent(format!("the e-mail cannot be built: {e}")))?;
            match self.transport.send(email).await {
                Ok(response) => Ok(Sent {
                    provider_ref: response.message().next().map(str::to_owned),
                }),
                Err(e) if e.is_permanent() => Err(NotifyError::Permanent(format!(
                    "the mail server refused: {e}"
                ))),
                Err(e) => Err(NotifyError::Transient(format!(
                    "the mail server was not reached or failed: {e}"
                ))),
            }
        })
    }
}

/// The HTML body: every piece of incident text escaped.
pub fn email_html(content: &Content) -> String {
    let mut html = String::from(
        "<!DOCTYPE html><html><body style=\"font-family: sans-serif; line-height: 1.4\">",
    );
    match content {
        Content::Page { items } => {
            for i in items {
                html.push_str(&format!(
                    "<h2 style=\"margin-bottom: 0.2em\">#{} {}</h2>\
                     <p style=\"margin-top: 0\">Service: {} · Severity: {} ({} urgency)</p>",
                    i.number,
                    escape(&i.summary),
                    escape(&i.service),
                    escape(&i.severity),
                    escape(&i.urgency),
                ));
                if let Some(details) = &i.details {
                    html.push_str(&format!(
                        "<pre style=\"background: #f4f4f4; padding: 0.5em\">{}</pre>",
                        escape(&serde_json::to_string_pretty(details).unwrap_or_default())
                    ));
                }
                if !i.links.is_empty() {
                    html.push_str("<ul>");
                    for link in &i.links {
                        html.push_str(&format!(
                            "<li><a href=\"{}\">{}</a></li>",
                            escape(&link.href),
                            escape(link.text.as_deref().unwrap_or(&link.href))
                        ));
                    }
                    html.push_str("</ul>");
                }
                html.push_str("<p>");
                for (label, url) in [("Acknowledge", &i.ack_url), ("Resolve", &i.resolve_url)] {
                    if let Some(url) = url {
                        html.push_str(&format!(
                            "<a href=\"{}\" style=\"display: inline-block; padding: 0.5em 1em; margin-right: 0.5em; \
                             background: #1f6feb; color: #fff; text-decoration: none; border-radius: 4px\">{label}</a>",
                            escape(url)
                        ));
                    }
                }
                html.push_str(&format!(
                    "<a href=\"{}\">View incident</a></p><hr>",
                    escape(&i.url)
                ));
            }
        }
        other => html.push_str(&format!(
            "<p>{}</p>",
            escape(&render::email_text(other)).replace('\n', "<br>")
        )),
    }
    html.push_str("</body></html>");
    html
}
