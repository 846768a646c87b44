//! Subscribers of a public status page, pure: who they are (an e-mail address that
//! confirmed, or a webhook an admin added), which news reaches each, and the token in
//! their confirm and unsubscribe links.

use std::fmt;

use crate::account::Email;
use crate::contact::{ContactError, web_url};
use crate::ids::ComponentId;

/// Where a subscriber is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscription {
    /// A person, by e-mail, once they confirm (double opt-in).
    Email(Email),
    /// A receiver of Statuspage's webhook payloads, signed.
    Webhook(String),
}

impl Subscription {
    /// `kind` is `email` or `webhook`.
    pub fn parse(kind: &str, address: &str) -> Result<Subscription, ContactError> {
        match kind {
            "email" => Ok(Subscription::Email(Email::parse(address)?)),
            "webhook" => Ok(Subscription::Webhook(web_url(address)?.to_owned())),
            other => Err(ContactError::Url(format!(
                "a subscriber is 'email' or 'webhook', not '{}'",
                other.chars().take(20).collect::<String>()
            ))),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Subscription::Email(_) => "email",
            Subscription::Webhook(_) => "webhook",
        }
    }

    pub fn address(&self) -> &str {
        match self {
            Subscription::Email(e) => e.as_str(),
            Subscription::Webhook(url) => url,
        }
    }
}

/// What a page has to tell its subscribers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum News<'a> {
    /// An update of a public incident or maintenance touching these components.
    Update { components: &'a [ComponentId] },
    /// A component took a new state.
    Component(ComponentId),
}

/// Whether a subscriber who chose `chosen` components (none: the whole page) hears of
/// `news`. E-mail tells of updates; a webhook also of each component's new state, as
/// Statuspage's do. An update that names no component is news for the whole page.
pub fn hears(subscription_kind: &str, chosen: &[ComponentId], news: &News<'_>) -> bool {
    let whole_page = chosen.is_empty();
    match news {
        News::Update { components } => {
            whole_page || components.is_empty() || components.iter().any(|c| chosen.contains(c))
        }
        News::Component(c) => subscription_kind == "webhook" && (whole_page || chosen.contains(c)),
    }
}

/// The secret in a subscriber's links: 32 random bytes as 64 hex digits. Whoever has it
/// can confirm or end that one subscription, nothing else. Not shown by `Debug`.
#[derive(Clone, PartialEq, Eq)]
pub struct SubscriberToken(String);

impl SubscriberToken {
    /// From random bytes the caller draws.
    pub fn from_random(bytes: [u8; 32]) -> SubscriberToken {
        SubscriberToken(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// A token read from a link: `None` if it cannot be one.
    pub fn parse(text: &str) -> Option<SubscriberToken> {
        (text.len() == 64
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| SubscriberToken(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SubscriberToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubscriberToken(…)")
    }
}

/// A person who asks again before confirming is sent the confirmation again, at most this
/// often: the form cannot be used to flood someone's inbox.
pub const CONFIRM_AGAIN_AFTER_MS: i64 = 60 * 60_000;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;

    fn ids(n: usize) -> Vec<ComponentId> {
        (0..n)
            .map(|i| ComponentId::new(Timestamp::from_millis(i as i64 + 1)))
            .collect()
    }

    #[test]
    fn who_hears_of_what() {
        let c = ids(3);
        let (api, web, db) = (c[0], c[1], c[2]);
        let update_api = News::Update { components: &[api] };
        let update_none = News::Update { components: &[] };
        let api_state = News::Component(api);
        // (kind, chosen, news, hears)
        let table: Vec<(&str, Vec<ComponentId>, &News, bool)> = vec![
            ("email", vec![], &update_api, true),
            ("email", vec![api], &update_api, true),
            ("email", vec![web, db], &update_api, false),
            ("email", vec![web], &update_none, true),
            ("email", vec![], &api_state, false),
            ("webhook", vec![], &api_state, true),
            ("webhook", vec![api], &api_state, true),
            ("webhook", vec![web], &api_state, false),
            ("webhook", vec![web], &update_api, false),
        ];
        for (kind, chosen, news, expected) in table {
            assert_eq!(
                hears(kind, &chosen, news),
                expected,
                "{kind} {chosen:?} {news:?}"
            );
        }
    }

    #[test]
    fn subscriptions_are_parsed() {
        assert_eq!(
            Subscription::parse("email", " Ann@Example.COM ").unwrap(),
            Subscription::Email(Email::parse("ann@example.com").unwrap())
        );
        assert!(Subscription::parse("email", "not an address").is_err());
        assert!(Subscription::parse("webhook", "ftp://x").is_err());
        assert_eq!(
            Subscription::parse("webhook", "https://hooks.example/x")
                .unwrap()
                .address(),
            "https://hooks.example/x"
        );
        assert!(Subscription::parse("sms", "+441234").is_err());
    }

    #[test]
    fn tokens_are_64_hex_digits_and_hidden_from_debug() {
        let t = SubscriberToken::from_random([0xab; 32]);
        assert_eq!(t.as_str().len(), 64);
        assert_eq!(SubscriberToken::parse(t.as_str()), Some(t.clone()));
        assert_eq!(format!("{t:?}"), "SubscriberToken(…)");
        assert_eq!(SubscriberToken::parse("ab"), None);
        assert_eq!(SubscriberToken::parse(&"G".repeat(64)), None);
        assert_eq!(SubscriberToken::parse(&"A".repeat(64)), None);
    }
}
