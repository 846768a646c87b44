//! ntfy push notifications (<https://ntfy.sh>, or a self-hosted ntfy server). A contact
//! method is a topic URL (`https://ntfy.example.com/alice-pages`) and, for a protected
//! topic, an access token sent as `Authorization: Bearer`.
//!
//! A page is published as JSON to the server's root, one notification per incident, with
//! a title, tags, a priority (5, the loudest, for high urgency), a click link to the
//! incident's page and two buttons: Acknowledge, an `http` action that POSTs the signed
//! one-click link and clears the notification, and Open. Each carries the sequence id
//! `onduty-incident-<number>`, so a repeat replaces the notification on the phone rather
//! than stacking, and [`Content::Settled`] clears it (`PUT /<topic>/<sequence id>/clear`).
//! Requests obey the outbound address policy and follow no redirect.

use std::time::Duration;

use serde_json::{Value, json};

use crate::outbound::{OutboundPolicy, refusal};
use crate::{Content, Notifier, NotifyError, Outgoing, PageItem, SendFuture, Sent};

/// How long an ntfy server may take to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

pub struct NtfyNotifier {
    policy: OutboundPolicy,
    http: reqwest::Client,
}

impl NtfyNotifier {
    pub fn new(policy: OutboundPolicy) -> Self {
        NtfyNotifier {
            http: policy.client(TIMEOUT),
            policy,
        }
    }
}

/// A topic URL split into the server's root and the topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topic<'a> {
    pub server: &'a str,
    pub topic: &'a str,
}

impl<'a> Topic<'a> {
    pub fn parse(url: &'a str) -> Result<Topic<'a>, NotifyError> {
        url.rsplit_once('/')
            .filter(|(_, topic)| onduty_core::contact::is_ntfy_name(topic))
            .map(|(server, topic)| Topic { server, topic })
            .ok_or_else(|| NotifyError::Permanent(format!("'{url}' is not an ntfy topic URL")))
    }
}

/// The sequence id of an incident's notification: the same for every push about it.
pub fn sequence_id(number: i64) -> String {
    format!("onduty-incident-{number}")
}

/// One request to the ntfy server.
#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    /// `POST <server>/` with a JSON message.
    Publish(Value),
    /// `PUT <server>/<topic>/<sequence id>/clear`.
    Clear { sequence_id: String },
}

/// What `message` is as requests to the ntfy server.
pub fn requests(topic: &str, content: &Content) -> Vec<Request> {
    let plain = |title: &str, message: String| {
        Request::Publish(json!({
            "topic": topic,
            "title": title,
            "message": message,
            "tags": ["bell"],
        }))
    };
    match content {
        Content::Page { items } => items
            .iter()
            .map(|item| Request::Publish(page(topic, item)))
            .collect(),
        Content::Verification { code } => vec![plain(
            "onduty verification code",
            format!("Your onduty verification code is {code}."),
        )],
        Content::Test => vec![plain(
            "onduty test",
            "This is a test message from onduty. If you read this, onduty can reach you."
                .to_owned(),
        )],
        Content::Notice { text } => vec![plain("onduty", text.clone())],
        Content::Bulletin(b) => vec![plain("onduty", format!("{}: {}", b.subject, b.text))],
        Content::Settled { numbers } => numbers
            .iter()
            .map(|n| Request::Clear {
                sequence_id: sequence_id(*n),
            })
            .collect(),
    }
}

/// One incident as a notification.
fn page(topic: &str, item: &PageItem) -> Value {
    let high = item.urgency == "high";
    let mut actions = Vec::new();
    if let Some(url) = &item.ack_url {
        actions.push(json!({
            "action": "http", "label": "Acknowledge", "url": url, "method": "POST", "clear": true,
        }));
    }
    actions.push(json!({"action": "view", "label": "Open", "url": item.url}));
    if let Some(runbook) = &item.runbook {
        actions.push(json!({"action": "view", "label": "Runbook", "url": runbook.href}));
    }
    json!({
        "topic": topic,
        "sequence_id": sequence_id(item.number),
        "title": format!("#{} {}", item.number, clip(&item.service, 60)),
        "message": format!("[{}] {}", item.severity, clip(&item.summary, 1000)),
        "priority": if high { 5 } else { 3 },
        "tags": [if high { "rotating_light" } else { "warning" }, item.severity.as_str()],
        "click": item.url,
        "actions": actions,
    })
}

fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

impl NtfyNotifier {
    async fn send_one(
        &self,
        topic: &Topic<'_>,
        token: Option<&str>,
        request: &Request,
    ) -> Result<(), NotifyError> {
        let (method, url, body) = match request {
            Request::Publish(body) => (
                reqwest::Method::POST,
                format!("{}/", topic.server),
                Some(body),
            ),
            Request::Clear { sequence_id } => (
                reqwest::Method::PUT,
                format!("{}/{}/{sequence_id}/clear", topic.server, topic.topic),
                None,
            ),
        };
        let url = reqwest::Url::parse(&url)
            .map_err(|e| NotifyError::Permanent(format!("not a URL: {e}")))?;
        self.policy
            .check_url(&url)
            .map_err(|refused| NotifyError::Blocked(refused.to_string()))?;
        let mut call = self.http.request(method, url);
        if let Some(body) = body {
            call = call.json(body);
        }
        if let Some(token) = token {
            call = call.bearer_auth(token);
        }
        let response = call.send().await.map_err(|e| match refusal(&e) {
            Some(refused) => NotifyError::Blocked(refused.to_string()),
            None => NotifyError::Transient(format!("ntfy server not reached: {}", e.without_url())),
        })?;
        let status = response.status();
        if status.is_success() {
            Ok(())
        } else if status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429 {
            Err(NotifyError::Transient(format!(
                "ntfy server answered {status}"
            )))
        } else {
            Err(NotifyError::Permanent(format!(
                "ntfy server answered {status}"
            )))
        }
    }
}

impl Notifier for NtfyNotifier {
    fn send<'a>(&'a self, message: &'a Outgoing) -> SendFuture<'a> {
        Box::pin(async move {
            let topic = Topic::parse(&message.to)?;
            for request in requests(topic.topic, &message.content) {
                self.send_one(&topic, message.secret.as_deref(), &request)
                    .await?;
            }
            Ok(Sent::default())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(number: i64, urgency: &str) -> PageItem {
        PageItem {
            id: format!("incident-{number}"),
            number,
            summary: "Disk full on db01".to_owned(),
            service: "Checkout".to_owned(),
            severity: "critical".to_owned(),
            urgency: urgency.to_owned(),
            url: format!("https://onduty.example/incidents/{number}"),
            details: None,
            links: Vec::new(),
            ack_url: Some(format!("https://onduty.example/actions/t{number}")),
            resolve_url: None,
            runbook: None,
            signed: Vec::new(),
            server: String::new(),
        }
    }

    #[test]
    fn a_page_is_one_loud_notification_per_incident_with_an_acknowledge_button() {
        let content = Content::Page {
            items: vec![item(3, "high"), item(4, "low")],
        };
        let published: [Request; 2] = requests("alice", &content).try_into().unwrap();
        let [Request::Publish(first), Request::Publish(second)] = published else {
            panic!("two publishes")
        };
        assert_eq!(first["topic"], "alice");
        assert_eq!(first["sequence_id"], "onduty-incident-3");
        assert_eq!(first["priority"], 5);
        assert_eq!(first["title"], "#3 Checkout");
        assert_eq!(first["message"], "[critical] Disk full on db01");
        assert_eq!(first["click"], "https://onduty.example/incidents/3");
        assert_eq!(
            first["actions"][0],
            json!({"action": "http", "label": "Acknowledge", "method": "POST", "clear": true,
                   "url": "https://onduty.example/actions/t3"})
        );
        assert_eq!(first["actions"][1]["action"], "view");
        assert_eq!(second["priority"], 3, "low urgency is not the loudest");
        assert_eq!(second["sequence_id"], "onduty-incident-4");
    }

    #[test]
    fn settled_incidents_are_cleared_by_their_sequence_ids() {
        assert_eq!(
            requests(
                "alice",
                &Content::Settled {
                    numbers: vec![3, 9]
                }
            ),
            vec![
                Request::Clear {
                    sequence_id: "onduty-incident-3".to_owned()
                },
                Request::Clear {
                    sequence_id: "onduty-incident-9".to_owned()
                },
            ]
        );
    }

    #[test]
    fn topic_urls_split_into_server_and_topic() {
        assert_eq!(
            Topic::parse("https://push.example/ntfy/alice").unwrap(),
            Topic {
                server: "https://push.example/ntfy",
                topic: "alice"
            }
        );
        assert!(Topic::parse("https://push.example/").is_err());
    }
}
