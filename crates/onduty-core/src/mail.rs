//! Inbound e-mail as an event: mail to `<integration key>@<domain>` becomes the Events v2
//! event it means. The subject identifies the incident (repeated mails with the same
//! subject fold into one), the body becomes the details, and configurable regular
//! expressions pick a dedup key out of the subject or body and recognise mails that
//! resolve or acknowledge ("RESOLVED: …", "OK: …"). Attachments are not kept, but counted.

use mail_parser::MessageParser;
use regex::Regex;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::event::{AlertEvent, Parsed, parse_alert_event};
use crate::ids::DedupKey;

/// Largest message accepted.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// The part of a body kept in the details.
pub const BODY_KEPT: usize = 16 * 1024;

/// How an integration reads mail. Every field has a default, so `{}` is sensible.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MailRules {
    /// A regular expression over the subject, then the body, whose first capture group
    /// (or whole match) is the dedup key. Default: the subject, without resolve and
    /// acknowledge markers and `Re:`/`Fwd:` prefixes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup_key: Option<String>,
    /// Matching the subject resolves. Default: `^\s*(RESOLVED|RECOVERED|RECOVERY|OK)\b` (any case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolve: Option<String>,
    /// Matching the subject acknowledges. Default: `^\s*(ACK|ACKNOWLEDGED)\b` (any case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledge: Option<String>,
}

const DEFAULT_RESOLVE: &str = r"(?i)^\s*(RESOLVED|RECOVERED|RECOVERY|OK)\b[:\s-]*";
const DEFAULT_ACKNOWLEDGE: &str = r"(?i)^\s*(ACK|ACKNOWLEDGED)\b[:\s-]*";
const REPLY_PREFIX: &str = r"(?i)^\s*((re|fwd?|aw|sv)\s*:\s*)+";

fn compile(name: &str, pattern: &str) -> Result<Regex, String> {
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| format!("'{name}' is not a regular expression: {e}"))
}

impl MailRules {
    /// Checks the expressions compile.
    pub fn check(&self) -> Result<(), Vec<String>> {
        let errors: Vec<String> = [
            ("dedup_key", &self.dedup_key),
            ("resolve", &self.resolve),
            ("acknowledge", &self.acknowledge),
        ]
        .into_iter()
        .filter_map(|(name, p)| p.as_deref().and_then(|p| compile(name, p).err()))
        .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// What a mail said, for the caller to log or count.
#[derive(Debug, Clone, PartialEq)]
pub struct Mail {
    pub event: Parsed<AlertEvent>,
    pub attachments: usize,
}

/// The event a raw message means for the integration `routing_key`.
pub fn event_from_mail(raw: &[u8], routing_key: &str, rules: &MailRules) -> Result<Mail, String> {
    let message = MessageParser::default()
        .parse(raw)
        .ok_or_else(|| "the message cannot be read".to_owned())?;
    let subject = message.subject().unwrap_or("").trim().to_owned();
    let body: String = message
        .body_text(0)
        .map(|b| b.trim().chars().take(BODY_KEPT).collect())
        .unwrap_or_default();
    let from = message
        .from()
        .and_then(|a| a.first())
        .and_then(|a| a.address())
        .unwrap_or("")
        .to_owned();
    let resolve = compile(
        "resolve",
        rules.resolve.as_deref().unwrap_or(DEFAULT_RESOLVE),
    )?;
    let acknowledge = compile(
        "acknowledge",
        rules.acknowledge.as_deref().unwrap_or(DEFAULT_ACKNOWLEDGE),
    )?;
    // A reply ("Re: RESOLVED: …") is read as what it replies to.
    let reply = compile("reply", REPLY_PREFIX)?;
    let unreplied = reply.replace(&subject, "").into_owned();
    let action = if resolve.is_match(&unreplied) {
        "resolve"
    } else if acknowledge.is_match(&unreplied) {
        "acknowledge"
    } else {
        "trigger"
    };
    // The subject without markers and reply prefixes names the incident.
    let bare = {
        let once = resolve.replace(&unreplied, "");
        let once = acknowledge.replace(&once, "");
        reply.replace(&once, "").trim().to_owned()
    };
    let dedup = match &rules.dedup_key {
        Some(pattern) => {
            let re = compile("dedup_key", pattern)?;
            let found = re
                .captures(&subject)
                .or_else(|| re.captures(&body))
                .map(|c| {
                    c.get(1)
                        .or_else(|| c.get(0))
                        .map_or("", |m| m.as_str())
                        .trim()
                        .to_owned()
                });
            found
                .filter(|k| !k.is_empty())
                .unwrap_or_else(|| bare.clone())
        }
        None => bare.clone(),
    };
    let summary = if bare.is_empty() {
        "(no subject)".to_owned()
    } else {
        bare
    };
    let dedup: String = if dedup.is_empty() {
        "(no subject)".to_owned()
    } else {
        dedup
    };
    let attachments = message.attachment_count();
    let event = if action == "trigger" {
        json!({
            "routing_key": routing_key, "event_action": "trigger", "dedup_key": DedupKey::fitted(&dedup),
            "client": "e-mail",
            "payload": {
                "summary": summary,
                "source": if from.is_empty() { "e-mail" } else { from.as_str() },
                "severity": "error",
                "custom_details": {"from": from, "subject": subject, "body": body, "attachments": attachments},
            },
        })
    } else {
        json!({"routing_key": routing_key, "event_action": action, "dedup_key": DedupKey::fitted(&dedup)})
    };
    let event = parse_alert_event(&event).map_err(|e| e.join("; "))?;
    Ok(Mail { event, attachments })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::event::EventAction;

    const KEY: &str = "abcdefabcdefabcdefabcdefabcdef12";

    fn mail(subject: &str, body: &str) -> Vec<u8> {
        format!("From: Cron Daemon <cron@db01.example.com>\r\nTo: {KEY}@onduty.example.com\r\nSubject: {subject}\r\n\r\n{body}\r\n").into_bytes()
    }

    #[test]
    fn a_mail_triggers_by_its_subject_with_its_body_as_details() {
        let m = event_from_mail(
            &mail("Backup failed on db01", "rsync: disk full"),
            KEY,
            &MailRules::default(),
        )
        .unwrap();
        let e = m.event.value;
        assert_eq!(e.action(), EventAction::Trigger);
        assert_eq!(e.dedup_key().unwrap().as_str(), "Backup failed on db01");
        let a = e.alert().unwrap();
        assert_eq!(a.summary, "Backup failed on db01");
        assert_eq!(a.source, "cron@db01.example.com");
        assert_eq!(
            a.custom_details.clone().unwrap()["body"],
            "rsync: disk full"
        );
    }

    #[test]
    fn resolved_and_replies_name_the_same_incident() {
        let rules = MailRules::default();
        let r = event_from_mail(&mail("RESOLVED: Backup failed on db01", ""), KEY, &rules)
            .unwrap()
            .event
            .value;
        assert_eq!(r.action(), EventAction::Resolve);
        assert_eq!(r.dedup_key().unwrap().as_str(), "Backup failed on db01");
        let ok = event_from_mail(&mail("Re: OK - Backup failed on db01", ""), KEY, &rules)
            .unwrap()
            .event
            .value;
        assert_eq!(ok.action(), EventAction::Resolve);
        assert_eq!(ok.dedup_key().unwrap().as_str(), "Backup failed on db01");
        let ack = event_from_mail(&mail("ACK: Backup failed on db01", ""), KEY, &rules)
            .unwrap()
            .event
            .value;
        assert_eq!(ack.action(), EventAction::Acknowledge);
    }

    #[test]
    fn rules_pick_the_key_out_of_the_subject_or_body() {
        let rules = MailRules {
            dedup_key: Some(r"host=(\S+)".to_owned()),
            resolve: Some(r"(?i)\bcleared\b".to_owned()),
            acknowledge: None,
        };
        let t = event_from_mail(&mail("Disk alarm", "host=db01 free=1%"), KEY, &rules)
            .unwrap()
            .event
            .value;
        assert_eq!(t.dedup_key().unwrap().as_str(), "db01");
        let r = event_from_mail(&mail("Disk alarm cleared", "host=db01"), KEY, &rules)
            .unwrap()
            .event
            .value;
        assert_eq!(r.action(), EventAction::Resolve);
        assert_eq!(r.dedup_key().unwrap().as_str(), "db01");
        assert!(
            MailRules {
                dedup_key: Some("(".to_owned()),
                ..MailRules::default()
            }
            .check()
            .is_err()
        );
    }

    #[test]
    fn encoded_subjects_multipart_bodies_and_attachments_are_read() {
        let raw = concat!(
            "From: alerts@example.com\r\n",
            "Subject: =?ISO-8859-1?Q?Temp=E9rature_haute?=\r\n",
            "MIME-Version: 1.0\r\n",
            "Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n",
            "--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nToo hot in rack 4\r\n",
            "--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"r.pdf\"\r\n",
            "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0=\r\n--b--\r\n"
        );
        let m = event_from_mail(raw.as_bytes(), KEY, &MailRules::default()).unwrap();
        assert_eq!(m.attachments, 1);
        let a = m.event.value.alert().unwrap();
        assert_eq!(a.summary, "Température haute");
        assert_eq!(
            a.custom_details.clone().unwrap()["body"],
            "Too hot in rack 4"
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(crate::test_json::fuzz_cases(300)))]

        /// Whatever bytes arrive, the answer is an event or a reason, never a panic.
        #[test]
        fn any_bytes_give_an_event_or_a_reason(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
            let _ = event_from_mail(&bytes, KEY, &MailRules::default());
        }

        #[test]
        fn any_subject_and_body_give_an_event_or_a_reason(subject in ".{0,200}", body in ".{0,400}") {
            let _ = event_from_mail(&mail(&subject, &body), KEY, &MailRules::default());
        }
    }
}
