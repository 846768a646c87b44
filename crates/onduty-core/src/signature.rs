//! Signatures on what crosses the network: onduty's outgoing webhooks (HMAC-SHA256 over a
//! timestamp and the body), Twilio's incoming webhooks (`X-Twilio-Signature`, HMAC-SHA1
//! over the URL and the sorted form parameters) and Slack's requests
//! (`X-Slack-Signature`, HMAC-SHA256 over `v0:<timestamp>:<body>`); and onduty's own
//! signed tokens: one-click links, tokens in Mattermost buttons, and links that tie a
//! chat account to its person. Comparisons are constant-time.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::Sha256;

/// The `X-Onduty-Signature` header of a webhook sent at `timestamp` (Unix seconds):
/// `t=<timestamp>,v1=<hex HMAC-SHA256 of "<timestamp>.<body>">`. Receivers recompute it
/// with the shared secret and refuse old timestamps (replays).
pub fn webhook_signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

/// Checks an `X-Onduty-Signature` header against the body; returns its timestamp.
pub fn verify_webhook_signature(secret: &str, header: &str, body: &[u8]) -> Option<i64> {
    let mut timestamp = None;
    let mut given = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => given = hex::decode(v).ok(),
            _ => {}
        }
    }
    let (timestamp, given) = (timestamp?, given?);
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).ok().map(|()| timestamp)
}

/// Twilio's request signature: base64(HMAC-SHA1(auth token, URL + each POST parameter's
/// name and value, sorted by name)).
pub fn twilio_signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    use base64::Engine;
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut mac =
        Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(url.as_bytes());
    for (name, value) in sorted {
        mac.update(name.as_bytes());
        mac.update(value.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Checks an `X-Twilio-Signature` header, in constant time.
pub fn verify_twilio_signature(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    header: &str,
) -> bool {
    let expected = twilio_signature(auth_token, url, params);
    constant_time_eq(expected.as_bytes(), header.trim().as_bytes())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// How old a Slack request's timestamp may be (either way) before it is refused as a
/// replay: five minutes, as Slack advises.
pub const SLACK_MAX_AGE_SECONDS: i64 = 5 * 60;

/// Why a request said to come from Slack is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlackRefusal {
    #[error("missing or unreadable X-Slack-Request-Timestamp or X-Slack-Signature")]
    Missing,
    #[error("the request's timestamp is more than five minutes from now")]
    Stale,
    #[error("the X-Slack-Signature does not match")]
    BadSignature,
}

/// Slack's request signature: `v0=` and the hex HMAC-SHA256, keyed by the app's signing
/// secret, of `v0:<timestamp>:<body>`.
pub fn slack_signature(signing_secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(signing_secret.as_bytes())
        .expect("HMAC takes keys of any length");
    mac.update(format!("v0:{timestamp}:").as_bytes());
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a request from Slack: its timestamp (Unix seconds, within
/// [`SLACK_MAX_AGE_SECONDS`] of `now`) and its signature over the body as received.
pub fn verify_slack_request(
    signing_secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: crate::Timestamp,
) -> Result<i64, SlackRefusal> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else {
        return Err(SlackRefusal::Missing);
    };
    let timestamp: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| SlackRefusal::Missing)?;
    if (now.as_millis() / 1000).abs_diff(timestamp) > SLACK_MAX_AGE_SECONDS.unsigned_abs() {
        return Err(SlackRefusal::Stale);
    }
    let expected = slack_signature(signing_secret, timestamp, body);
    if constant_time_eq(expected.as_bytes(), signature.trim().as_bytes()) {
        Ok(timestamp)
    } else {
        Err(SlackRefusal::BadSignature)
    }
}

pub use crate::lifecycle::LinkOrigin;

/// The name of the server key (kept in the database) that signs one-click links.
pub const LINK_KEY: &str = "links";

/// What a one-click link in an e-mail may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkAction {
    Acknowledge,
    Resolve,
}

impl LinkAction {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkAction::Acknowledge => "ack",
            LinkAction::Resolve => "resolve",
        }
    }

    fn parse(text: &str) -> Option<LinkAction> {
        match text {
            "ack" => Some(LinkAction::Acknowledge),
            "resolve" => Some(LinkAction::Resolve),
            _ => None,
        }
    }
}

/// What a verified link token grants: one action on one incident, for one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkGrant {
    pub incident: crate::IncidentId,
    pub user: crate::UserId,
    pub action: LinkAction,
    pub expires: crate::Timestamp,
    /// What carried the link, so that reports count the acknowledgement under it.
    pub from: LinkOrigin,
}

/// A token for a one-click link:
/// `<incident>.<user>.<action>.<expiry ms>.<email|push>.<signature>`, the signature an
/// HMAC-SHA256 (hex) of the rest with the server's link key. It is single-purpose (one
/// incident, one action) and expires. Tokens made before links named their origin have
/// no `<email|push>` part and count as e-mail.
pub fn link_token(key: &[u8], grant: &LinkGrant) -> String {
    signed(
        key,
        format!(
            "{}.{}.{}.{}.{}",
            grant.incident,
            grant.user,
            grant.action.as_str(),
            grant.expires.as_millis(),
            match grant.from {
                LinkOrigin::Email => "email",
                LinkOrigin::Push => "push",
            }
        ),
    )
}

/// `body` and its HMAC-SHA256 (hex) with `key`, joined by a dot.
fn signed(key: &[u8], body: String) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(body.as_bytes());
    format!("{body}.{}", hex::encode(mac.finalize().into_bytes()))
}

/// The parts of a token [`signed`] with `key`, if its signature holds (checked in
/// constant time).
fn signed_parts<'t>(key: &[u8], token: &'t str) -> Result<Vec<&'t str>, LinkError> {
    let (body, signature) = token.rsplit_once('.').ok_or(LinkError::Invalid)?;
    let signature = hex::decode(signature).map_err(|_| LinkError::Invalid)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(body.as_bytes());
    mac.verify_slice(&signature)
        .map_err(|_| LinkError::Invalid)?;
    Ok(body.split('.').collect())
}

fn expiry(text: &str, now: crate::Timestamp) -> Result<crate::Timestamp, LinkError> {
    let expires = crate::Timestamp::from_millis(text.parse().map_err(|_| LinkError::Invalid)?);
    if expires <= now {
        return Err(LinkError::Expired);
    }
    Ok(expires)
}

/// Why a link token is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this link is not valid")]
    Invalid,
    #[error("this link has expired")]
    Expired,
}

/// Checks a link token's signature (in constant time) and expiry at `now`.
pub fn verify_link_token(
    key: &[u8],
    token: &str,
    now: crate::Timestamp,
) -> Result<LinkGrant, LinkError> {
    let parts = signed_parts(key, token)?;
    let (incident, user, action, expires, from) = match parts.as_slice() {
        [incident, user, action, expires] => (incident, user, action, expires, "email"),
        [incident, user, action, expires, from] => (incident, user, action, expires, *from),
        _ => return Err(LinkError::Invalid),
    };
    Ok(LinkGrant {
        incident: incident.parse().map_err(|_| LinkError::Invalid)?,
        user: user.parse().map_err(|_| LinkError::Invalid)?,
        action: LinkAction::parse(action).ok_or(LinkError::Invalid)?,
        expires: expiry(expires, now)?,
        from: match from {
            "email" => LinkOrigin::Email,
            "push" => LinkOrigin::Push,
            _ => return Err(LinkError::Invalid),
        },
    })
}

/// What a verified button token grants: pressing one button of one incident's message on
/// one platform. Each door takes only its own platform's: a token any member of a Teams
/// channel can read must not pass at Mattermost's door, which trusts the clicker it is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ButtonGrant {
    pub platform: crate::chat::ChatPlatform,
    pub incident: crate::IncidentId,
    pub button: crate::chat::ChatButton,
    pub expires: crate::Timestamp,
}

/// A token for a button on a platform that does not sign its requests (Mattermost keeps it
/// in the button's `context`, which clients never see), or that cannot call back at all
/// (a link on a Teams or Discord card, which acts as whoever opens it once logged in):
/// `button.<platform>.<incident>.<button>.<expiry ms>.<signature>`, signed like
/// [`link_token`].
pub fn button_token(key: &[u8], grant: &ButtonGrant) -> String {
    signed(
        key,
        format!(
            "button.{}.{}.{}.{}",
            grant.platform.as_str(),
            grant.incident,
            grant.button.id(),
            grant.expires.as_millis()
        ),
    )
}

/// Checks a button token's signature and expiry at `now`.
pub fn verify_button_token(
    key: &[u8],
    token: &str,
    now: crate::Timestamp,
) -> Result<ButtonGrant, LinkError> {
    let parts = signed_parts(key, token)?;
    let ["button", platform, incident, button, expires] = parts.as_slice() else {
        return Err(LinkError::Invalid);
    };
    Ok(ButtonGrant {
        platform: crate::chat::ChatPlatform::parse(platform).ok_or(LinkError::Invalid)?,
        incident: incident.parse().map_err(|_| LinkError::Invalid)?,
        button: crate::chat::ChatButton::parse(button).ok_or(LinkError::Invalid)?,
        expires: expiry(expires, now)?,
    })
}

/// What a verified account-linking token grants: linking one chat account to whoever
/// opens it, once logged in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLinkGrant {
    pub platform: crate::chat::ChatPlatform,
    /// The platform's id of the account (Slack's `U0123ABCD`).
    pub chat_user: String,
    /// The account's name as the platform gave it (`alice`), to show the person which
    /// account they link; may be empty. At most [`CHAT_NAME_MAX`] characters are kept.
    pub chat_name: String,
    pub expires: crate::Timestamp,
}

/// The characters of an account's name a linking token carries.
pub const CHAT_NAME_MAX: usize = 64;

/// A token that links a chat account:
/// `chat.<platform>.<account>.<name, base64url>.<expiry ms>.<signature>`, signed like
/// [`link_token`] (the leading `chat` keeps the two kinds apart). `None` when the account's
/// id holds anything but letters, digits, `-` and `_`.
pub fn chat_link_token(key: &[u8], grant: &ChatLinkGrant) -> Option<String> {
    use base64::Engine;
    let plain = !grant.chat_user.is_empty()
        && grant
            .chat_user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    plain.then(|| {
        signed(
            key,
            format!(
                "chat.{}.{}.{}.{}",
                grant.platform.as_str(),
                grant.chat_user,
                base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(
                    grant
                        .chat_name
                        .chars()
                        .take(CHAT_NAME_MAX)
                        .collect::<String>()
                ),
                grant.expires.as_millis()
            ),
        )
    })
}

/// Checks an account-linking token's signature and expiry at `now`.
pub fn verify_chat_link_token(
    key: &[u8],
    token: &str,
    now: crate::Timestamp,
) -> Result<ChatLinkGrant, LinkError> {
    use base64::Engine;
    let parts = signed_parts(key, token)?;
    let ["chat", platform, chat_user, name, expires] = parts.as_slice() else {
        return Err(LinkError::Invalid);
    };
    let name = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(name)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or(LinkError::Invalid)?;
    Ok(ChatLinkGrant {
        platform: crate::chat::ChatPlatform::parse(platform).ok_or(LinkError::Invalid)?,
        chat_user: (*chat_user).to_owned(),
        chat_name: name,
        expires: expiry(expires, now)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example in Slack's "Verifying requests from Slack".
    #[test]
    fn slack_signatures_match_slacks_example_and_refuse_stale_or_forged_requests() {
        let secret = "8f742231b10e8888abcd99yyyzzz85a5";
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
        assert_eq!(slack_signature(secret, 1531420618, body), signature);
        let at = |seconds: i64| crate::Timestamp::from_millis(seconds * 1000);
        let check = |now, ts: &str, sig: &str, body: &[u8]| {
            verify_slack_request(secret, Some(ts), Some(sig), body, now)
        };
        assert_eq!(
            check(at(1531420618 + 299), "1531420618", signature, body),
            Ok(1531420618)
        );
        assert_eq!(
            check(at(1531420618 + 301), "1531420618", signature, body),
            Err(SlackRefusal::Stale)
        );
        assert_eq!(
            check(at(1531420618), "1531420618", signature, b"token=forged"),
            Err(SlackRefusal::BadSignature)
        );
        assert_eq!(
            verify_slack_request(secret, None, Some(signature), body, at(1531420618)),
            Err(SlackRefusal::Missing)
        );
    }

    #[test]
    fn webhook_signatures_verify_and_detect_tampering() {
        let header = webhook_signature("s3cret", 1_700_000_000, b"{\"a\":1}");
        assert!(header.starts_with("t=1700000000,v1="));
        assert_eq!(
            verify_webhook_signature("s3cret", &header, b"{\"a\":1}"),
            Some(1_700_000_000)
        );
        assert_eq!(
            verify_webhook_signature("s3cret", &header, b"{\"a\":2}"),
            None
        );
        assert_eq!(
            verify_webhook_signature("other", &header, b"{\"a\":1}"),
            None
        );
        assert_eq!(
            verify_webhook_signature("s3cret", "garbage", b"{\"a\":1}"),
            None
        );
    }

    #[test]
    fn twilio_signature_matches_twilios_documented_example() {
        // The example in Twilio's "Webhooks security" documentation.
        let params: Vec<(String, String)> = [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+12349013030"),
            ("Digits", "1234"),
            ("From", "+12349013030"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        let sig = twilio_signature("12345", url, &params);
        assert_eq!(sig, "0/KCTR6DLpKmkAf8muzZqo1nDgQ=");
        assert!(verify_twilio_signature("12345", url, &params, &sig));
        assert!(!verify_twilio_signature("12345", url, &params[1..], &sig));
        assert!(!verify_twilio_signature("54321", url, &params, &sig));
    }

    #[test]
    fn link_tokens_grant_one_action_until_they_expire() {
        let key = b"0123456789abcdef0123456789abcdef";
        let now = crate::Timestamp::from_millis(1_800_000_000_000);
        let person = crate::UserId::new(now);
        let grant = LinkGrant {
            incident: crate::IncidentId::new(now),
            user: person,
            action: LinkAction::Acknowledge,
            expires: crate::Timestamp::from_millis(1_800_000_060_000),
            from: LinkOrigin::Push,
        };
        let token = link_token(key, &grant);
        assert!(token.contains(".push."), "{token}");
        assert_eq!(verify_link_token(key, &token, now), Ok(grant.clone()));
        assert_eq!(
            verify_link_token(key, &token, grant.expires),
            Err(LinkError::Expired)
        );
        assert_eq!(
            verify_link_token(b"another key", &token, now),
            Err(LinkError::Invalid)
        );
        // Turning an acknowledge link into a resolve link breaks the signature.
        let forged = token.replace(".ack.", ".resolve.");
        assert_eq!(
            verify_link_token(key, &forged, now),
            Err(LinkError::Invalid)
        );
        // So does claiming the link came by e-mail.
        let forged = token.replace(".push.", ".email.");
        assert_eq!(
            verify_link_token(key, &forged, now),
            Err(LinkError::Invalid)
        );
        // A token made before links named their origin still works, as an e-mail's.
        let older = signed(
            key,
            format!("{}.{}.ack.1800000060000", grant.incident, grant.user),
        );
        assert_eq!(
            verify_link_token(key, &older, now).map(|g| g.from),
            Ok(LinkOrigin::Email)
        );
        assert_eq!(
            verify_link_token(key, "garbage", now),
            Err(LinkError::Invalid)
        );
    }

    #[test]
    fn chat_link_tokens_name_one_account_and_are_not_action_links() {
        let key = b"0123456789abcdef0123456789abcdef";
        let now = crate::Timestamp::from_millis(1_800_000_000_000);
        let grant = ChatLinkGrant {
            platform: crate::chat::ChatPlatform::Slack,
            chat_user: "U0123ABCD".to_owned(),
            chat_name: "alice.o'neil <ops>".to_owned(),
            expires: crate::Timestamp::from_millis(1_800_000_900_000),
        };
        let token = chat_link_token(key, &grant).unwrap();
        assert!(token.starts_with("chat.slack.U0123ABCD."), "{token}");
        assert_eq!(verify_chat_link_token(key, &token, now), Ok(grant.clone()));
        assert_eq!(
            verify_chat_link_token(key, &token, grant.expires),
            Err(LinkError::Expired)
        );
        assert_eq!(
            verify_chat_link_token(key, &token.replace("U0123ABCD", "U0THEIRS1"), now),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            verify_link_token(key, &token, now),
            Err(LinkError::Invalid),
            "an account link does not act on incidents"
        );
        let button = ButtonGrant {
            platform: crate::chat::ChatPlatform::Teams,
            incident: crate::IncidentId::new(now),
            button: crate::chat::ChatButton::Escalate,
            expires: grant.expires,
        };
        let pressed = button_token(key, &button);
        assert_eq!(verify_button_token(key, &pressed, now), Ok(button.clone()));
        assert_eq!(
            verify_button_token(key, &pressed.replace("escalate", "resolve"), now),
            Err(LinkError::Invalid)
        );
        assert_eq!(
            verify_button_token(key, &pressed.replace(".teams.", ".mattermost."), now),
            Err(LinkError::Invalid),
            "a Teams card's token cannot be made a Mattermost button's"
        );
        assert_eq!(
            verify_button_token(key, &token, now),
            Err(LinkError::Invalid),
            "an account link is no button"
        );
        assert_eq!(
            verify_button_token(key, &pressed, button.expires),
            Err(LinkError::Expired)
        );
        let long = ChatLinkGrant {
            chat_name: "a".repeat(CHAT_NAME_MAX + 10),
            ..grant.clone()
        };
        let shown = verify_chat_link_token(key, &chat_link_token(key, &long).unwrap(), now);
        assert_eq!(shown.unwrap().chat_name.len(), CHAT_NAME_MAX);
        let odd = ChatLinkGrant {
            chat_user: "U1.ack".to_owned(),
            ..grant
        };
        assert_eq!(chat_link_token(key, &odd), None);
    }
}
