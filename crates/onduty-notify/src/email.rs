//! E-mail over SMTP (lettre): plain, STARTTLS or TLS, with a text and an HTML body. A page
//! carries each incident's summary, details, links and one-click Acknowledge / Resolve
//! links signed for the person paged.

use std::time::Duration;

use askama::Template;
use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::{Content, Notifier, NotifyError, Outgoing, PageItem, SendFuture, Sent, render};

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
            let html = email_html(&message.content).map_err(|e| {
                NotifyError::Permanent(format!("the e-mail cannot be written: {e}"))
            })?;
            let mut builder = Message::builder();
            if let Content::Bulletin(crate::Bulletin {
                unsubscribe: Some(url),
                ..
            }) = &message.content
            {
                // One click, without opening the mail (RFC 2369 and RFC 8058).
                builder = builder
                    .raw_header(HeaderValue::new(
                        HeaderName::new_from_ascii_str("List-Unsubscribe"),
                        format!("<{url}>"),
                    ))
                    .raw_header(HeaderValue::new(
                        HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                        "List-Unsubscribe=One-Click".to_owned(),
                    ));
            }
            let email = builder
                .from(self.from.clone())
                .to(to)
                .subject(render::email_subject(&message.content))
                .message_id(Some(format!(
                    "<{}@onduty>",
                    message.idempotency_key.replace('+', ".")
                )))
                .multipart(MultiPart::alternative_plain_html(
                    render::email_text(&message.content),
                    html,
                ))
                .map_err(|e| NotifyError::Permanent(format!("the e-mail cannot be built: {e}")))?;
            match self.transport.send(email).await {
                Ok(response) => Ok(Sent {
                    provider_ref: response.message().next().map(str::to_owned),
                    ..Sent::default()
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

/// The HTML body, from `templates/email.html`: askama escapes every piece of incident text.
#[derive(Template)]
#[template(path = "email.html")]
struct EmailHtml<'a> {
    items: Vec<ItemHtml<'a>>,
    /// For anything but a page: the plain text's lines.
    lines: Vec<String>,
    /// A status page's news: where to end the subscription.
    unsubscribe: Option<&'a str>,
}

struct ItemHtml<'a> {
    number: i64,
    summary: &'a str,
    service: &'a str,
    severity: &'a str,
    urgency: &'a str,
    url: &'a str,
    details: Option<String>,
    links: Vec<LinkHtml<'a>>,
    runbook: Option<LinkHtml<'a>>,
    buttons: Vec<Anchor<'a>>,
}

/// A link from the event: clickable only if it is http(s), otherwise shown as text.
struct LinkHtml<'a> {
    href: &'a str,
    label: &'a str,
    clickable: bool,
}

struct Anchor<'a> {
    href: &'a str,
    label: &'a str,
}

pub fn email_html(content: &Content) -> Result<String, askama::Error> {
    let page = match content {
        Content::Page { items } => EmailHtml {
            items: items.iter().map(item_html).collect(),
            lines: Vec::new(),
            unsubscribe: None,
        },
        Content::Bulletin(b) => EmailHtml {
            items: Vec::new(),
            lines: b.text.lines().map(str::to_owned).collect(),
            unsubscribe: b.unsubscribe.as_deref(),
        },
        other => EmailHtml {
            unsubscribe: None,
            items: Vec::new(),
            lines: render::email_text(other)
                .lines()
                .map(str::to_owned)
                .collect(),
        },
    };
    page.render()
}

fn link_html(link: &crate::Link) -> LinkHtml<'_> {
    LinkHtml {
        href: &link.href,
        label: link.text.as_deref().unwrap_or(&link.href),
        clickable: onduty_core::event::clickable(&link.href),
    }
}

fn item_html(i: &PageItem) -> ItemHtml<'_> {
    let buttons = [("Acknowledge", &i.ack_url), ("Resolve", &i.resolve_url)]
        .into_iter()
        .filter_map(|(label, url)| url.as_deref().map(|href| Anchor { href, label }))
        .collect();
    ItemHtml {
        number: i.number,
        summary: &i.summary,
        service: &i.service,
        severity: &i.severity,
        urgency: &i.urgency,
        url: &i.url,
        details: i
            .details
            .as_ref()
            .and_then(|d| serde_json::to_string_pretty(d).ok()),
        links: i.links.iter().map(link_html).collect(),
        runbook: i.runbook.as_ref().map(link_html),
        buttons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Link;

    fn item() -> PageItem {
        PageItem {
            id: "incident-id".to_owned(),
            number: 7,
            summary: "<script>alert(1)</script> & \"more\"".to_owned(),
            service: "Checkout".to_owned(),
            severity: "critical".to_owned(),
            urgency: "high".to_owned(),
            url: "http://onduty.example/incidents/7".to_owned(),
            details: Some(serde_json::json!({"note": "<b>bold</b>"})),
            links: vec![
                Link {
                    href: "https://runbooks.example/a?b=1&c=\"2\"".to_owned(),
                    text: None,
                },
                Link {
                    href: "javascript:alert(document.cookie)".to_owned(),
                    text: Some("Runbook".to_owned()),
                },
                Link {
                    href: "data:text/html,<script>alert(1)</script>".to_owned(),
                    text: None,
                },
            ],
            ack_url: Some("http://onduty.example/actions/ACK".to_owned()),
            resolve_url: None,
            runbook: None,
            signed: Vec::new(),
            server: String::new(),
        }
    }

    #[test]
    fn a_page_escapes_every_piece_of_incident_text() {
        let html = email_html(&Content::Page {
            items: vec![item()],
        })
        .unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<b>bold"), "{html}");
        assert!(!html.contains("c=\"2\""), "{html}");
        assert!(
            html.contains("#7 &#60;script&#62;alert(1)&#60;/script&#62; &#38;"),
            "{html}"
        );
        assert!(html.contains(">Acknowledge</a>"), "{html}");
        assert!(!html.contains(">Resolve</a>"), "{html}");
        assert!(html.contains("href=\"http://onduty.example/incidents/7\">View incident"));
        assert!(
            html.contains("<a href=\"https://runbooks.example/a?b=1&#38;c=&#34;2&#34;\""),
            "{html}"
        );
        assert!(!html.contains("href=\"javascript:"), "{html}");
        assert!(!html.contains("href=\"data:"), "{html}");
        assert!(
            html.contains("Runbook (javascript:alert(document.cookie))"),
            "{html}"
        );
    }

    #[test]
    fn other_messages_keep_their_lines() {
        let html = email_html(&Content::Notice {
            text: "Your shift starts <soon>".to_owned(),
        })
        .unwrap();
        assert!(html.contains("Your shift starts &#60;soon&#62;"), "{html}");
        assert!(!html.contains("<h2"), "{html}");
    }

    #[test]
    fn news_of_a_status_page_links_its_unsubscribe_page() {
        let html = email_html(&Content::Bulletin(crate::Bulletin {
            subject: "API down".to_owned(),
            text: "Investigating <b>errors</b>\nMore soon".to_owned(),
            unsubscribe: Some("https://status.example/unsubscribe/abc?x=1&y=2".to_owned()),
            payload: None,
        }))
        .unwrap();
        assert!(
            html.contains("Investigating &#60;b&#62;errors&#60;/b&#62;<br>More soon"),
            "{html}"
        );
        assert!(
            html.contains(
                "<a href=\"https://status.example/unsubscribe/abc?x=1&#38;y=2\">Unsubscribe</a>"
            ),
            "{html}"
        );
    }
}
