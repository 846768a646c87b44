//! What messages say, channel by channel. Text from events is the data of these
//! messages: SMS and voice get it cut to length, e-mail HTML escapes it.

use crate::{Content, PageItem};

/// Longest SMS body onduty sends (a few GSM segments).
pub const SMS_MAX_CHARS: usize = 320;

fn clip(text: &str, max: usize) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= max {
        one_line
    } else {
        let mut s: String = one_line.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

fn item_line(i: &PageItem, summary_max: usize) -> String {
    format!(
        "#{} {} [{}] {}",
        i.number,
        clip(&i.service, 40),
        i.severity,
        clip(&i.summary, summary_max)
    )
}

/// The body of an SMS. Reply codes are documented in the README.
pub fn sms(content: &Content) -> String {
    let body = match content {
        Content::Page { items } if items.len() == 1 => {
            let i = &items[0];
            // The runbook as onduty's short link: it fits, and leads there whatever
            // the runbook's own address.
            let runbook = match &i.runbook {
                Some(_) => format!(
                    "\nRunbook: {}/r/{}",
                    i.server.trim_end_matches('/'),
                    i.number
                ),
                None => String::new(),
            };
            format!(
                "onduty: {}{runbook}\nReply {n}a to acknowledge, {n}r to resolve, {n}e to escalate.",
                item_line(i, 160),
                n = i.number
            )
        }
        Content::Page { items } => {
            let mut s = format!("onduty: {} incidents:", items.len());
            for i in items.iter().take(5) {
                s.push('\n');
                s.push_str(&item_line(i, 60));
            }
            if items.len() > 5 {
                s.push_str(&format!("\n…and {} more", items.len() - 5));
            }
            s.push_str("\nReply aa to acknowledge all, rr to resolve all.");
            s
        }
        Content::Verification { code } => format!("Your onduty verification code is {code}."),
        Content::Test => "This is a test message from onduty.".to_owned(),
        Content::Notice { text } => format!("onduty: {text}"),
        Content::Settled { numbers } => format!("onduty: {}", settled(numbers)),
        Content::Bulletin(b) => format!("{}: {}", b.subject, b.text),
    };
    clip_multiline(&body, SMS_MAX_CHARS)
}

/// "#3 has been acknowledged or resolved."
fn settled(numbers: &[i64]) -> String {
    let verb = if numbers.len() == 1 { "has" } else { "have" };
    format!(
        "{} {verb} been acknowledged or resolved.",
        numbers_text(numbers)
    )
}

/// "#3", "#3 and #5", "#3, #5 and #8".
pub fn numbers_text(numbers: &[i64]) -> String {
    let words: Vec<String> = numbers.iter().map(|n| format!("#{n}")).collect();
    match words.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

fn clip_multiline(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

/// The subject line of an e-mail.
pub fn email_subject(content: &Content) -> String {
    match content {
        Content::Page { items } if items.len() == 1 => {
            let i = &items[0];
            format!(
                "[onduty] #{} {} — {}",
                i.number,
                clip(&i.service, 60),
                clip(&i.summary, 120)
            )
        }
        Content::Page { items } => format!("[onduty] {} incidents need you", items.len()),
        Content::Verification { .. } => "Your onduty verification code".to_owned(),
        Content::Test => "onduty test message".to_owned(),
        Content::Notice { text } => format!("[onduty] {}", clip(text, 120)),
        Content::Settled { numbers } => format!("[onduty] {}", settled(numbers)),
        Content::Bulletin(b) => clip(&b.subject, 200),
    }
}

/// The plain-text body of an e-mail.
pub fn email_text(content: &Content) -> String {
    match content {
        Content::Page { items } => {
            let mut s = String::new();
            for i in items {
                s.push_str(&format!(
                    "#{} {}\nService: {}\nSeverity: {} ({} urgency)\n",
                    i.number,
                    clip(&i.summary, 1024),
                    clip(&i.service, 100),
                    i.severity,
                    i.urgency,
                ));
                if let Some(runbook) = &i.runbook {
                    s.push_str(&format!("Runbook: {}\n", runbook.href));
                }
                if let Some(details) = &i.details {
                    s.push_str(&format!(
                        "Details:\n{}\n",
                        serde_json::to_string_pretty(details).unwrap_or_default()
                    ));
                }
                for link in &i.links {
                    match &link.text {
                        Some(text) => s.push_str(&format!("{text}: {}\n", link.href)),
                        None => s.push_str(&format!("{}\n", link.href)),
                    }
                }
                if let Some(url) = &i.ack_url {
                    s.push_str(&format!("Acknowledge: {url}\n"));
                }
                if let Some(url) = &i.resolve_url {
                    s.push_str(&format!("Resolve: {url}\n"));
                }
                s.push_str(&format!("View: {}\n\n", i.url));
            }
            s
        }
        Content::Verification { code } => {
            format!("Your onduty verification code is {code}.\nIt is valid for 15 minutes.\n")
        }
        Content::Test => {
            "This is a test message from onduty. If you read this, onduty can reach you.\n"
                .to_owned()
        }
        Content::Notice { text } => format!("{text}\n"),
        Content::Settled { numbers } => format!("{}\n", settled(numbers)),
        Content::Bulletin(b) => match &b.unsubscribe {
            Some(url) => format!("{}\n\n--\nUnsubscribe: {url}\n", b.text),
            None => format!("{}\n", b.text),
        },
    }
}

/// What a voice call says.
pub fn voice(content: &Content) -> String {
    match content {
        Content::Page { items } if items.len() == 1 => {
            let i = &items[0];
            format!(
                "This is onduty. Incident {} on {}: {}.",
                i.number,
                clip(&i.service, 60),
                clip(&i.summary, 200)
            )
        }
        Content::Page { items } => format!("This is onduty. {} incidents need you.", items.len()),
        Content::Verification { code } => {
            let spaced: Vec<String> = code.chars().map(|c| c.to_string()).collect();
            format!(
                "This is onduty. Your verification code is {}.",
                spaced.join(", ")
            )
        }
        Content::Test => "This is a test call from onduty.".to_owned(),
        Content::Notice { text } => format!("This is onduty. {}", clip(text, 300)),
        Content::Settled { numbers } => {
            format!("This is onduty. {} taken care of.", numbers_text(numbers))
        }
        Content::Bulletin(b) => clip(&b.subject, 300),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(n: i64, summary: &str) -> PageItem {
        PageItem {
            id: format!("incident-{n}"),
            number: n,
            summary: summary.to_owned(),
            service: "Checkout".to_owned(),
            severity: "critical".to_owned(),
            urgency: "high".to_owned(),
            url: format!("http://onduty.example/incidents/{n}"),
            details: None,
            links: Vec::new(),
            ack_url: None,
            resolve_url: None,
            runbook: None,
            signed: Vec::new(),
            server: String::new(),
        }
    }

    #[test]
    fn an_sms_page_says_what_and_how_to_reply() {
        let text = sms(&Content::Page {
            items: vec![item(42, "DISK at 99%\non db01")],
        });
        assert_eq!(
            text,
            "onduty: #42 Checkout [critical] DISK at 99% on db01\nReply 42a to acknowledge, 42r to resolve, 42e to escalate."
        );
    }

    #[test]
    fn a_page_with_a_runbook_carries_it() {
        let with_runbook = PageItem {
            runbook: Some(crate::Link {
                href: "https://wiki.example/a-very-long/path/to/the/runbook?for=disk".to_owned(),
                text: Some("Disk full".to_owned()),
            }),
            server: "https://onduty.example/".to_owned(),
            ..item(42, &"disk ".repeat(60))
        };
        let content = Content::Page {
            items: vec![with_runbook],
        };
        // The SMS carries onduty's short link, and the reply codes still fit.
        let text = sms(&content);
        assert!(
            text.contains("\nRunbook: https://onduty.example/r/42\nReply 42a"),
            "{text}"
        );
        assert!(text.chars().count() <= SMS_MAX_CHARS);
        // E-mail carries the runbook's own address, before the details.
        let mail = email_text(&content);
        assert!(
            mail.contains(
                "Runbook: https://wiki.example/a-very-long/path/to/the/runbook?for=disk\n"
            ),
            "{mail}"
        );
        assert!(
            !sms(&Content::Page {
                items: vec![item(1, "x")]
            })
            .contains("Runbook")
        );
    }

    #[test]
    fn several_incidents_are_bundled_and_the_sms_stays_short() {
        let items: Vec<PageItem> = (1..=8).map(|n| item(n, &"x".repeat(300))).collect();
        let text = sms(&Content::Page { items });
        assert!(text.starts_with("onduty: 8 incidents:"));
        assert!(text.chars().count() <= SMS_MAX_CHARS);
    }

    #[test]
    fn codes_and_tests_have_plain_messages() {
        assert_eq!(
            sms(&Content::Verification {
                code: "123456".into()
            }),
            "Your onduty verification code is 123456."
        );
        assert_eq!(
            voice(&Content::Verification { code: "123".into() }),
            "This is onduty. Your verification code is 1, 2, 3."
        );
        assert!(email_subject(&Content::Test).contains("test"));
        assert_eq!(
            sms(&Content::Settled {
                numbers: vec![3, 5]
            }),
            "onduty: #3 and #5 have been acknowledged or resolved."
        );
    }
}
