//! How people are reached: contact methods (e-mail, SMS, voice, webhook, ntfy and Web Push,
//! chat direct messages) with
//! addresses parsed at the edge, urgency, and notification rules ("at 5 minutes, call me";
//! "push to my phone every minute until someone acknowledges").

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::account::Email;
use crate::event::Severity;
use crate::ids::{ContactMethodId, RuleId, UserId};
use crate::time::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Email,
    Sms,
    Voice,
    Webhook,
    /// A push to the ntfy app on a phone, through an ntfy server (self-hosted or ntfy.sh).
    Ntfy,
    /// A direct message from the onduty app in Slack.
    Slack,
    /// A private message from onduty's Telegram bot.
    Telegram,
    /// A direct message from onduty's Mattermost bot.
    Mattermost,
    /// A notification from onduty's web app, pushed to a browser that subscribed (Web
    /// Push: RFC 8030, encrypted per RFC 8291, signed per RFC 8292).
    WebPush,
}

impl Channel {
    /// Every channel.
    pub const ALL: [Channel; 9] = [
        Channel::Email,
        Channel::Sms,
        Channel::Voice,
        Channel::Webhook,
        Channel::Ntfy,
        Channel::Slack,
        Channel::Telegram,
        Channel::Mattermost,
        Channel::WebPush,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
            Channel::Voice => "voice",
            Channel::Webhook => "webhook",
            Channel::Ntfy => "ntfy",
            Channel::Slack => "slack",
            Channel::Telegram => "telegram",
            Channel::Mattermost => "mattermost",
            Channel::WebPush => "web_push",
        }
    }

    pub fn parse(text: &str) -> Option<Channel> {
        Some(match text {
            "email" => Channel::Email,
            "sms" => Channel::Sms,
            "voice" => Channel::Voice,
            "webhook" => Channel::Webhook,
            "ntfy" => Channel::Ntfy,
            "slack" => Channel::Slack,
            "telegram" => Channel::Telegram,
            "mattermost" => Channel::Mattermost,
            "web_push" => Channel::WebPush,
            _ => return None,
        })
    }

    /// What the timeline calls a page through this channel: "SMS to Alice +44…".
    pub fn label(self) -> &'static str {
        match self {
            Channel::Email => "E-mail",
            Channel::Sms => "SMS",
            Channel::Voice => "Voice call",
            Channel::Webhook => "Webhook",
            Channel::Ntfy => "ntfy",
            Channel::Slack => "Slack",
            Channel::Telegram => "Telegram",
            Channel::Mattermost => "Mattermost",
            Channel::WebPush => "Web Push",
        }
    }

    /// Whether a rule through this channel can repeat a page until someone acknowledges
    /// (a push that replaces itself; an SMS or call every minute would be a flood).
    pub fn repeats(self) -> bool {
        self == Channel::Ntfy
    }

    /// Whether a page through this channel is followed up once its incident needs nobody
    /// (acknowledged or resolved, by any door): a push is cleared from the phone or the
    /// browser. (A page in chat is edited in place instead, whenever its incident changes.)
    pub fn follows_up(self) -> bool {
        matches!(self, Channel::Ntfy | Channel::WebPush)
    }

    /// Whether this channel is a direct message in chat, whose page is one message per
    /// incident, with buttons, kept up to date.
    pub fn is_chat(self) -> bool {
        matches!(
            self,
            Channel::Slack | Channel::Telegram | Channel::Mattermost
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    #[error(
        "'{0}' is not a phone number in E.164 form (a + and 8 to 15 digits, like +442071838750)"
    )]
    Phone(String),
    #[error("'{0}' is not an http:// or https:// URL of at most 2048 characters")]
    Url(String),
    #[error(
        "'{0}' is not an ntfy topic URL: the server and one topic name of 1 to 64 letters, \
         digits, - or _ (https://ntfy.example.com/alice-pages)"
    )]
    NtfyTopic(String),
    #[error("'{0}' is not a Slack member id (U0123ABCD)")]
    SlackUser(String),
    #[error("'{0}' is not a Telegram user id (a number)")]
    TelegramUser(String),
    #[error("'{0}' is not a Mattermost user id (26 letters and digits)")]
    MattermostUser(String),
    #[error(
        "a Web Push subscription needs the browser's keys: 'p256dh' (a P-256 public key, 65 \
         bytes) and 'auth' (16 bytes), both base64url as PushSubscription.toJSON() gives them"
    )]
    PushKeys,
    #[error(transparent)]
    Email(#[from] crate::account::AccountError),
}

/// A phone number in E.164: `+`, then 8 to 15 digits, the first not 0. Spaces, dots,
/// dashes and brackets people type are dropped.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(text: &str) -> Result<PhoneNumber, ContactError> {
        let bad = || ContactError::Phone(text.chars().take(40).collect());
        let compact: String = text
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let digits = compact.strip_prefix('+').ok_or_else(bad)?;
        if !(8..=15).contains(&digits.len())
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.starts_with('0')
        {
            return Err(bad());
        }
        Ok(PhoneNumber(compact))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An http(s) URL of at most 2048 characters, without spaces or control characters.
pub(crate) fn web_url(text: &str) -> Result<&str, ContactError> {
    let t = text.trim();
    let scheme_ok = t.starts_with("https://") || t.starts_with("http://");
    if !scheme_ok || t.len() > 2048 || t.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(ContactError::Url(text.chars().take(60).collect()));
    }
    Ok(t)
}

/// A topic or sequence id as ntfy takes them: 1 to 64 letters, digits, `-` or `_`.
pub fn is_ntfy_name(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A browser's Web Push keys, as `PushSubscription.toJSON()` gives them: `p256dh`, its
/// P-256 public key (65 bytes, uncompressed), and `auth`, a 16-byte secret; both
/// base64url. Kept as the method's secret, `<p256dh>.<auth>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushKeys {
    pub p256dh: Vec<u8>,
    pub auth: [u8; 16],
}

impl PushKeys {
    pub fn parse(p256dh: &str, auth: &str) -> Result<PushKeys, ContactError> {
        use base64::Engine;
        let decode = |text: &str| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(text.trim().trim_end_matches('='))
                .map_err(|_| ContactError::PushKeys)
        };
        let p256dh = decode(p256dh)?;
        let auth: [u8; 16] = decode(auth)?
            .try_into()
            .map_err(|_| ContactError::PushKeys)?;
        if p256dh.len() != 65 || p256dh[0] != 4 {
            return Err(ContactError::PushKeys);
        }
        Ok(PushKeys { p256dh, auth })
    }

    /// The keys as kept: `<p256dh>.<auth>`, base64url.
    pub fn to_secret(&self) -> String {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        format!("{}.{}", b64.encode(&self.p256dh), b64.encode(self.auth))
    }

    /// Reads keys kept by [`PushKeys::to_secret`].
    pub fn from_secret(secret: &str) -> Result<PushKeys, ContactError> {
        let (p256dh, auth) = secret.split_once('.').ok_or(ContactError::PushKeys)?;
        PushKeys::parse(p256dh, auth)
    }
}

/// Where a contact method delivers, checked for its channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum Address {
    Email(Email),
    Phone(PhoneNumber),
    Url(String),
    /// A chat platform's id of a person (Slack's member id, `U0123ABCD`).
    ChatUser(String),
}

impl Address {
    pub fn parse(channel: Channel, text: &str) -> Result<Address, ContactError> {
        match channel {
            Channel::Email => Ok(Address::Email(Email::parse(text)?)),
            Channel::Sms | Channel::Voice => Ok(Address::Phone(PhoneNumber::parse(text)?)),
            Channel::Webhook => Ok(Address::Url(web_url(text)?.to_owned())),
            Channel::Slack => {
                let t = text.trim();
                let member = (2..=32).contains(&t.len())
                    && t.starts_with(['U', 'W'])
                    && t.bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
                if !member {
                    return Err(ContactError::SlackUser(text.chars().take(40).collect()));
                }
                Ok(Address::ChatUser(t.to_owned()))
            }
            Channel::Telegram => {
                let t = text.trim();
                if !(1..=20).contains(&t.len()) || !t.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(ContactError::TelegramUser(text.chars().take(40).collect()));
                }
                Ok(Address::ChatUser(t.to_owned()))
            }
            Channel::Mattermost => {
                let t = text.trim();
                let id = t.len() == 26
                    && t.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
                if !id {
                    return Err(ContactError::MattermostUser(
                        text.chars().take(40).collect(),
                    ));
                }
                Ok(Address::ChatUser(t.to_owned()))
            }
            // A push service's endpoint for one browser's subscription.
            Channel::WebPush => Ok(Address::Url(web_url(text)?.to_owned())),
            Channel::Ntfy => {
                let url = web_url(text)?;
                let bad = || ContactError::NtfyTopic(text.chars().take(60).collect());
                let (server, topic) = url.rsplit_once('/').ok_or_else(bad)?;
                let has_host = server
                    .split_once("://")
                    .is_some_and(|(_, host)| !host.is_empty() && !host.contains(['?', '#']));
                if !has_host || !is_ntfy_name(topic) {
                    return Err(bad());
                }
                Ok(Address::Url(url.to_owned()))
            }
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Address::Email(e) => e.as_str(),
            Address::Phone(p) => p.as_str(),
            Address::Url(u) => u,
            Address::ChatUser(u) => u,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactMethod {
    pub id: ContactMethodId,
    pub user_id: UserId,
    pub name: String,
    pub channel: Channel,
    pub address: Address,
    /// Pages go only through verified methods.
    pub verified: bool,
    /// Set when a provider refused the address for good (an invalid number); cleared when
    /// the owner verifies or sends a test successfully again.
    pub failing: Option<String>,
    pub created_at: Timestamp,
}

impl ContactMethod {
    /// "SMS +44…" — how the timeline names it.
    /// How a timeline, which every user can read, names a message to `owner` through
    /// this method: "SMS to Alice +15555550100". A webhook's URL can carry credentials, so
    /// it shows only as "Webhook of Alice" (and an ntfy topic as "ntfy of Alice"); its
    /// owner and admins see it on the contact methods.
    pub fn to_owner(&self, owner: &str) -> String {
        match self.channel {
            // An ntfy topic is as good as a password on a public server, and so is a push
            // subscription's endpoint.
            Channel::Webhook | Channel::Ntfy | Channel::WebPush => {
                format!("{} of {owner}", self.channel.label())
            }
            _ => format!(
                "{} to {owner} {}",
                self.channel.label(),
                self.address.as_str()
            ),
        }
    }

    pub fn can_page(&self) -> bool {
        self.verified && self.failing.is_none()
    }
}

/// How loudly an incident pages: rules can differ for high and low urgency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    High,
    Low,
}

impl Urgency {
    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::High => "high",
            Urgency::Low => "low",
        }
    }

    pub fn parse(text: &str) -> Option<Urgency> {
        match text {
            "high" => Some(Urgency::High),
            "low" => Some(Urgency::Low),
            _ => None,
        }
    }

    /// PagerDuty's mapping when urgency follows the event: critical and error are high.
    pub fn from_severity(severity: Severity) -> Urgency {
        match severity {
            Severity::Critical | Severity::Error => Urgency::High,
            Severity::Warning | Severity::Info => Urgency::Low,
        }
    }
}

/// Which urgencies a notification rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RuleUrgency {
    High,
    Low,
    Both,
}

impl RuleUrgency {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleUrgency::High => "high",
            RuleUrgency::Low => "low",
            RuleUrgency::Both => "both",
        }
    }

    pub fn parse(text: &str) -> Option<RuleUrgency> {
        match text {
            "high" => Some(RuleUrgency::High),
            "low" => Some(RuleUrgency::Low),
            "both" => Some(RuleUrgency::Both),
            _ => None,
        }
    }

    pub fn covers(self, urgency: Urgency) -> bool {
        matches!(
            (self, urgency),
            (RuleUrgency::Both, _)
                | (RuleUrgency::High, Urgency::High)
                | (RuleUrgency::Low, Urgency::Low)
        )
    }
}

/// Most minutes a rule may wait after the page.
pub const MAX_RULE_DELAY_MINUTES: u32 = 1440;

/// "At `delay_minutes` after I am paged, for these urgencies, use this contact method"
/// (and, for a push, "again every `repeat_seconds` until someone acknowledges").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRule {
    pub id: RuleId,
    pub user_id: UserId,
    pub contact_method: ContactMethodId,
    pub delay_minutes: u32,
    pub urgency: RuleUrgency,
    /// Page again this often until the incident is acknowledged, the person's next rule
    /// is due, or [`REPEAT_FOR`] has passed. Only for channels that [`Channel::repeats`].
    #[serde(default)]
    pub repeat: Option<RepeatEvery>,
}

impl NotificationRule {
    pub fn delay(&self) -> Duration {
        Duration::from_secs(u64::from(self.delay_minutes) * 60)
    }
}

/// How often a rule pages again: 30 to 3600 seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RepeatEvery(u32);

impl RepeatEvery {
    pub const MIN_SECONDS: u32 = 30;
    pub const MAX_SECONDS: u32 = 3600;
    /// What a push rule repeats at unless told otherwise.
    pub const DEFAULT: RepeatEvery = RepeatEvery(60);

    pub fn parse(seconds: u32) -> Result<RepeatEvery, String> {
        if (Self::MIN_SECONDS..=Self::MAX_SECONDS).contains(&seconds) {
            Ok(RepeatEvery(seconds))
        } else {
            Err(format!(
                "'repeat_seconds' must be {} to {} seconds (0 for no repeat), not {seconds}",
                Self::MIN_SECONDS,
                Self::MAX_SECONDS
            ))
        }
    }

    pub fn seconds(self) -> u32 {
        self.0
    }

    fn duration(self) -> Duration {
        Duration::from_secs(u64::from(self.0))
    }
}

/// The longest a rule keeps repeating a page.
pub const REPEAT_FOR: Duration = Duration::from_secs(30 * 60);

/// When each of a person's rules fires for a page at `paged_at` of the given urgency,
/// in time order. Each fires only if the incident is still unacknowledged by then (the
/// engine checks that when the time comes). A repeating rule fires again every
/// `repeat` after its first time, for at most [`REPEAT_FOR`] and only until the person's
/// next rule (by time) is due: that one takes over.
pub fn plan_notifications(
    rules: &[NotificationRule],
    urgency: Urgency,
    paged_at: Timestamp,
) -> Vec<(RuleId, Timestamp)> {
    let mut rules: Vec<&NotificationRule> =
        rules.iter().filter(|r| r.urgency.covers(urgency)).collect();
    rules.sort_by_key(|r| (r.delay_minutes, r.id));
    let mut due = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let first = paged_at.saturating_add(rule.delay());
        due.push((rule.id, first));
        let Some(every) = rule.repeat else { continue };
        let next_rule = rules[i + 1..]
            .iter()
            .map(|r| paged_at.saturating_add(r.delay()))
            .find(|at| *at > first);
        let end = first.saturating_add(REPEAT_FOR);
        let end = next_rule.map_or(end, |next| next.min(end));
        let mut at = first.saturating_add(every.duration());
        while at < end {
            due.push((rule.id, at));
            at = at.saturating_add(every.duration());
        }
    }
    due.sort_by_key(|(id, at)| (*at, *id));
    due
}

/// The rules a person gets with their first contact method: through it at once for any
/// urgency, and once more 5 minutes later for high urgency if still unacknowledged.
pub fn default_rules() -> [(u32, RuleUrgency); 2] {
    [(0, RuleUrgency::Both), (5, RuleUrgency::High)]
}

/// A verification code: six digits from the caller's random bytes.
pub fn verification_code(random: [u8; 4]) -> String {
    format!("{:06}", u32::from_le_bytes(random) % 1_000_000)
}

/// What is stored of a verification code (its SHA-256, hex).
pub fn hash_code(code: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(code.trim().as_bytes()))
}

/// How long a verification code stays valid.
pub const VERIFICATION_VALID_FOR: Duration = Duration::from_secs(15 * 60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_keys_are_a_p256_point_and_a_16_byte_secret() {
        // The keys of RFC 8291's worked example (section 5).
        let p256dh = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
        let auth = "BTBZMqHH6r4Tts7J_aSIgg";
        let keys = PushKeys::parse(p256dh, auth).unwrap();
        assert_eq!(keys.p256dh.len(), 65);
        assert_eq!(PushKeys::from_secret(&keys.to_secret()), Ok(keys));
        assert_eq!(
            PushKeys::parse(&format!("{p256dh}=="), auth).map(|k| k.auth.len()),
            Ok(16),
            "padding is forgiven"
        );
        assert!(PushKeys::parse(auth, auth).is_err(), "too short a key");
        assert!(
            PushKeys::parse(p256dh, p256dh).is_err(),
            "too long a secret"
        );
        assert!(PushKeys::parse("not base64!", auth).is_err());
    }

    #[test]
    fn phone_numbers_are_e164() {
        assert_eq!(
            PhoneNumber::parse("+44 20 7183-8750").unwrap().as_str(),
            "+442071838750"
        );
        assert_eq!(
            PhoneNumber::parse("+1 (415) 555.0100").unwrap().as_str(),
            "+14155550100"
        );
        for bad in [
            "442071838750",
            "+0442071838750",
            "+44",
            "+44abc1234567",
            "+1234567890123456",
            "",
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn addresses_are_checked_for_their_channel() {
        assert!(
            matches!(Address::parse(Channel::Email, "Alice@Example.com"), Ok(Address::Email(e)) if e.as_str() == "alice@example.com")
        );
        assert!(Address::parse(Channel::Sms, "alice@example.com").is_err());
        assert!(Address::parse(Channel::Voice, "+14155550100").is_ok());
        assert!(Address::parse(Channel::Webhook, "http://127.0.0.1:9000/hook").is_ok());
        let method = |channel, address| ContactMethod {
            id: ContactMethodId::from_uuid(uuid::Uuid::from_u128(1)),
            user_id: UserId::from_uuid(uuid::Uuid::from_u128(2)),
            name: "mine".to_owned(),
            channel,
            address: Address::parse(channel, address).unwrap(),
            verified: true,
            failing: None,
            created_at: Timestamp::from_millis(0),
        };
        assert_eq!(
            method(Channel::Webhook, "https://hooks.example/x?token=s3cret").to_owner("Alice"),
            "Webhook of Alice"
        );
        assert_eq!(
            method(Channel::Sms, "+15555550100").to_owner("Alice"),
            "SMS to Alice +15555550100"
        );
        assert!(Address::parse(Channel::Webhook, "ftp://example.com").is_err());
        assert!(Address::parse(Channel::Webhook, "https://x.example/a b").is_err());
    }

    #[test]
    fn rules_fire_in_order_for_their_urgency() {
        let user = UserId::from_uuid(uuid::Uuid::from_bytes([1; 16]));
        let cm = ContactMethodId::from_uuid(uuid::Uuid::from_bytes([2; 16]));
        let rule = |n: u8, delay_minutes, urgency| NotificationRule {
            id: RuleId::from_uuid(uuid::Uuid::from_bytes([n; 16])),
            user_id: user,
            contact_method: cm,
            delay_minutes,
            urgency,
            repeat: None,
        };
        let rules = vec![
            rule(3, 10, RuleUrgency::Both),
            rule(1, 0, RuleUrgency::Both),
            rule(2, 5, RuleUrgency::High),
        ];
        let at = Timestamp::from_millis(0);
        let high: Vec<u32> = plan_notifications(&rules, Urgency::High, at)
            .iter()
            .map(|(_, t)| (t.as_millis() / 60_000) as u32)
            .collect();
        assert_eq!(high, vec![0, 5, 10]);
        let low = plan_notifications(&rules, Urgency::Low, at);
        assert_eq!(
            low.len(),
            2,
            "the high-only call is skipped for low urgency"
        );
    }

    #[test]
    fn a_repeating_rule_pages_again_until_the_next_rule_or_half_an_hour() {
        let user = UserId::from_uuid(uuid::Uuid::from_bytes([1; 16]));
        let cm = ContactMethodId::from_uuid(uuid::Uuid::from_bytes([2; 16]));
        let rule = |n: u8, delay_minutes, repeat: Option<u32>| NotificationRule {
            id: RuleId::from_uuid(uuid::Uuid::from_bytes([n; 16])),
            user_id: user,
            contact_method: cm,
            delay_minutes,
            urgency: RuleUrgency::Both,
            repeat: repeat.map(|s| RepeatEvery::parse(s).unwrap()),
        };
        let at = Timestamp::from_millis(0);
        let seconds = |rules: &[NotificationRule]| -> Vec<(u8, i64)> {
            plan_notifications(rules, Urgency::High, at)
                .iter()
                .map(|(id, t)| (id.as_uuid().as_bytes()[0], t.as_millis() / 1000))
                .collect()
        };
        // Every minute from 0 until the call at 3 minutes takes over.
        assert_eq!(
            seconds(&[rule(1, 0, Some(60)), rule(2, 3, None)]),
            vec![(1, 0), (1, 60), (1, 120), (2, 180)]
        );
        // Alone, for half an hour: at 0, 5, …, 25 minutes.
        let alone = seconds(&[rule(1, 0, Some(300))]);
        assert_eq!(alone.len(), 6);
        assert_eq!(alone.last(), Some(&(1, 25 * 60)));
        // A rule at the same minute does not cut it short; one without repeat fires once.
        assert_eq!(
            seconds(&[rule(1, 0, Some(600)), rule(2, 0, None)]),
            vec![(1, 0), (2, 0), (1, 600), (1, 1200)]
        );
        assert!(RepeatEvery::parse(29).is_err());
        assert!(RepeatEvery::parse(3601).is_err());
    }

    #[test]
    fn ntfy_addresses_are_a_server_and_one_topic() {
        for good in [
            "https://ntfy.sh/alice-pages",
            "http://127.0.0.1:8080/ops_team",
            "https://push.example.com/ntfy/alice",
        ] {
            assert!(Address::parse(Channel::Ntfy, good).is_ok(), "{good}");
        }
        for bad in [
            "https://ntfy.sh/",
            "https://ntfy.sh",
            "https://ntfy.sh/alice?x=1",
            "https://ntfy.sh/al ice",
            "ntfy.sh/alice",
            "https:///alice",
            "https://ntfy.sh/a.b",
        ] {
            assert!(Address::parse(Channel::Ntfy, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slack_addresses_are_member_ids() {
        assert_eq!(
            Address::parse(Channel::Slack, " U0123ABCD "),
            Ok(Address::ChatUser("U0123ABCD".to_owned()))
        );
        assert!(Address::parse(Channel::Slack, "W0123ABCD").is_ok());
        for bad in ["alice@example.com", "C0123ABCD", "u0123abcd", "U", ""] {
            assert!(Address::parse(Channel::Slack, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urgency_follows_severity_as_pagerduty_does() {
        assert_eq!(Urgency::from_severity(Severity::Critical), Urgency::High);
        assert_eq!(Urgency::from_severity(Severity::Error), Urgency::High);
        assert_eq!(Urgency::from_severity(Severity::Warning), Urgency::Low);
        assert_eq!(Urgency::from_severity(Severity::Info), Urgency::Low);
    }

    #[test]
    fn verification_codes_are_six_digits() {
        assert_eq!(verification_code([0, 0, 0, 0]), "000000");
        assert_eq!(verification_code([255; 4]).len(), 6);
    }

    #[test]
    fn only_verified_healthy_methods_page() {
        let mut m = ContactMethod {
            id: ContactMethodId::from_uuid(uuid::Uuid::from_bytes([2; 16])),
            user_id: UserId::from_uuid(uuid::Uuid::from_bytes([1; 16])),
            name: "phone".into(),
            channel: Channel::Sms,
            address: Address::parse(Channel::Sms, "+14155550100").unwrap(),
            verified: false,
            failing: None,
            created_at: Timestamp::from_millis(0),
        };
        assert!(!m.can_page());
        m.verified = true;
        assert!(m.can_page());
        m.failing = Some("21211 invalid number".into());
        assert!(!m.can_page());
    }
}
