//! Identifiers: UUIDv7 newtypes for every entity, the human incident number, and the
//! keys that arrive from outside (routing keys, dedup keys), parsed once at the edge.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::time::Timestamp;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A new id whose time part is `now` (UUIDv7: ids sort roughly by creation).
            pub fn new(now: Timestamp) -> Self {
                $name(uuid_v7_at(now))
            }

            /// The `n`th of several ids made at `now` that must sort in the order they
            /// were made (a counter in place of UUIDv7's first random bits).
            pub fn nth(now: Timestamp, n: u16) -> Self {
                $name(uuid_v7_nth(now, n))
            }

            pub const fn from_uuid(u: Uuid) -> Self {
                $name(u)
            }

            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Uuid::parse_str(s).map($name).map_err(|_| IdError::NotAnId(s.chars().take(64).collect()))
            }
        }
    };
}

uuid_id!(
    /// A user: a person who is paged and acts on incidents.
    UserId
);
uuid_id!(
    /// An API token belonging to a user.
    TokenId
);
uuid_id!(
    /// A service: the thing that breaks, the unit incidents belong to.
    ServiceId
);
uuid_id!(
    /// An integration: one way events reach a service (it owns a routing key).
    IntegrationId
);
uuid_id!(
    /// An incident.
    IncidentId
);
uuid_id!(
    /// One event as received on an ingest endpoint.
    EventId
);
uuid_id!(
    /// One entry of an incident's timeline.
    TimelineId
);
uuid_id!(
    /// A team: owns services and escalation policies.
    TeamId
);
uuid_id!(
    /// An escalation policy: who is paged, in what order, how long apart.
    PolicyId
);
uuid_id!(
    /// An on-call schedule (a target of escalation levels).
    ScheduleId
);
uuid_id!(
    /// A heartbeat: a job that must ping onduty in time.
    HeartbeatId
);
uuid_id!(
    /// A maintenance window: services that page nobody for a while.
    MaintenanceId
);
uuid_id!(
    /// An override in a schedule: someone covering a span for whoever is on call.
    OverrideId
);
uuid_id!(
    /// One way of reaching a person: an e-mail address, a phone, a webhook.
    ContactMethodId
);
uuid_id!(
    /// One of a person's notification rules ("at 5 minutes, call me").
    RuleId
);
uuid_id!(
    /// A notification planned for a person paged for an incident: one of their rules,
    /// waiting for its time.
    PlannedNotificationId
);
uuid_id!(
    /// A message in the outbox: a row before it is sent.
    OutboxId
);
uuid_id!(
    /// A chat channel that gets a message for every incident of a service or team.
    ChatChannelId
);

uuid_id!(
    /// A public status page.
    StatusPageId
);
uuid_id!(
    /// A component of a status page (or a group of them).
    ComponentId
);
uuid_id!(
    /// A public incident or scheduled maintenance on a status page.
    StatusIncidentId
);
uuid_id!(
    /// One update of a public incident: what was known, when.
    StatusUpdateId
);
uuid_id!(
    /// A status page's incident template.
    StatusTemplateId
);
uuid_id!(
    /// A state a status page component took: subscribers' webhooks name it.
    ComponentChangeId
);
uuid_id!(
    /// Someone (by e-mail) or something (a webhook) told of a status page's news.
    SubscriberId
);
uuid_id!(
    /// A runbook of a service: what to do when one of its alerts fires.
    RunbookId
);
uuid_id!(
    /// A postmortem: what was learnt from one or more incidents.
    PostmortemId
);
uuid_id!(
    /// An action item of a postmortem.
    ActionItemId
);

/// A UUIDv7 whose timestamp is `now`, with random low bits.
fn uuid_v7_at(now: Timestamp) -> Uuid {
    let ms = u64::try_from(now.as_millis()).unwrap_or(0);
    Uuid::new_v7(uuid::Timestamp::from_unix_time(
        ms / 1000,
        ((ms % 1000) * 1_000_000) as u32,
        0,
        0,
    ))
}

/// A UUIDv7 at `now` whose 12 bits after the version hold `n` (RFC 9562's fixed-length
/// counter), so ids made in one millisecond sort by `n` (up to 4,096 of them).
fn uuid_v7_nth(now: Timestamp, n: u16) -> Uuid {
    let mut bytes = *uuid_v7_at(now).as_bytes();
    let n = n & 0x0fff;
    bytes[6] = 0x70 | (n >> 8) as u8;
    bytes[7] = (n & 0xff) as u8;
    Uuid::from_bytes(bytes)
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("'{0}' is not a valid id")]
    NotAnId(String),
    #[error("'{0}' is neither an incident number nor an incident id")]
    NotAnIncidentRef(String),
}

/// The small integer people say out loud ("incident 42"); unique per installation.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Debug)]
#[serde(transparent)]
pub struct IncidentNumber(pub i64);

impl fmt::Display for IncidentNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// How a URL or a command names an incident: by number (`42`, `#42`) or by id.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum IncidentRef {
    Number(IncidentNumber),
    Id(IncidentId),
}

impl FromStr for IncidentRef {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let s = s.trim();
        let digits = s.strip_prefix('#').unwrap_or(s);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return digits
                .parse::<i64>()
                .map(|n| IncidentRef::Number(IncidentNumber(n)))
                .map_err(|_| IdError::NotAnIncidentRef(s.chars().take(64).collect()));
        }
        s.parse::<IncidentId>()
            .map(IncidentRef::Id)
            .map_err(|_| IdError::NotAnIncidentRef(s.chars().take(64).collect()))
    }
}

/// An integration's routing key: 32 characters, as PagerDuty's integration keys, so that
/// clients which check the length accept it. onduty generates lowercase hex.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RoutingKey(String);

pub const ROUTING_KEY_LEN: usize = 32;

impl RoutingKey {
    /// Accepts any 32 visible ASCII characters (PagerDuty keys are not only hex).
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        if text.len() != ROUTING_KEY_LEN || text.chars().count() != ROUTING_KEY_LEN {
            return Err(KeyError::RoutingKeyLength);
        }
        if !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(KeyError::RoutingKeyCharacters);
        }
        Ok(RoutingKey(text.to_owned()))
    }

    /// A fresh key from 16 random bytes (supplied by the caller: the core has no randomness).
    pub fn from_random(bytes: [u8; 16]) -> Self {
        RoutingKey(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoutingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for RoutingKey {
    // A routing key lets anyone open incidents: keep it out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RoutingKey({}…)", &self.0[..4])
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("Length of 'routing_key' is incorrect (should be 32 characters)")]
    RoutingKeyLength,
    #[error("'routing_key' may contain only visible ASCII characters")]
    RoutingKeyCharacters,
    #[error("'dedup_key' is blank")]
    DedupKeyBlank,
    #[error("Length of 'dedup_key' is too long (maximum is 255 characters)")]
    DedupKeyTooLong,
}

/// The key that folds repeated events into one incident. 1 to 255 characters.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Debug)]
#[serde(transparent)]
pub struct DedupKey(String);

pub const DEDUP_KEY_MAX_CHARS: usize = 255;

impl DedupKey {
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        if text.trim().is_empty() {
            return Err(KeyError::DedupKeyBlank);
        }
        if text.chars().count() > DEDUP_KEY_MAX_CHARS {
            return Err(KeyError::DedupKeyTooLong);
        }
        Ok(DedupKey(text.to_owned()))
    }

    /// A key from text of any length, for tools whose keys may be longer than 255
    /// characters (mail subjects, webhook fields, Opsgenie aliases): as it is if it fits,
    /// else its first 200 characters and a hash of the whole, so that the same long text
    /// is always the same key.
    pub fn fitted(text: &str) -> String {
        if text.chars().count() <= DEDUP_KEY_MAX_CHARS {
            return text.to_owned();
        }
        use sha2::{Digest, Sha256};
        let head: String = text.chars().take(200).collect();
        let hash = Sha256::digest(text.as_bytes());
        format!("{head}…#{}", hex::encode(&hash[..16]))
    }

    /// The key of a trigger that came without one: its event id's 32 hex characters, so
    /// it never matches an existing incident.
    pub fn of_event(id: EventId) -> Self {
        DedupKey(id.as_uuid().simple().to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DedupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_long_text_fits_as_a_key_and_stays_the_same_key() {
        let long = "subject ".repeat(60);
        let key = DedupKey::fitted(&long);
        assert!(DedupKey::parse(&key).is_ok());
        assert_eq!(key, DedupKey::fitted(&long));
        assert_ne!(key, DedupKey::fitted(&format!("{long}!")));
        assert_eq!(DedupKey::fitted("short"), "short");
    }

    use super::*;

    #[test]
    fn ids_made_in_one_millisecond_sort_by_their_count() {
        let now = Timestamp::from_millis(1_767_000_000_123);
        let ids: Vec<String> = (0..300u16)
            .rev()
            .map(|n| UserId::nth(now, n).to_string())
            .collect();
        let mut sorted = ids.clone();
        sorted.sort();
        sorted.reverse();
        assert_eq!(ids, sorted, "stored as text, they sort as made");
        let id = UserId::nth(now, 5).as_uuid();
        assert_eq!(id.get_version_num(), 7);
        assert_eq!(
            id.get_timestamp().map(|t| t.to_unix().0),
            Some(1_767_000_000)
        );
        assert_ne!(
            UserId::nth(now, 5),
            UserId::nth(now, 5),
            "the rest is random"
        );
    }

    #[test]
    fn incident_refs_are_numbers_or_ids() {
        assert_eq!("42".parse(), Ok(IncidentRef::Number(IncidentNumber(42))));
        assert_eq!("#7".parse(), Ok(IncidentRef::Number(IncidentNumber(7))));
        let id = IncidentId::new(Timestamp::from_millis(1_700_000_000_000));
        assert_eq!(id.to_string().parse(), Ok(IncidentRef::Id(id)));
        assert!("forty-two".parse::<IncidentRef>().is_err());
        assert!("".parse::<IncidentRef>().is_err());
        assert!("99999999999999999999999".parse::<IncidentRef>().is_err());
    }

    #[test]
    fn ids_carry_their_creation_time_in_order() {
        let a = ServiceId::new(Timestamp::from_millis(1_000));
        let b = ServiceId::new(Timestamp::from_millis(2_000));
        assert!(a < b);
        assert_eq!(a.as_uuid().get_version_num(), 7);
    }

    #[test]
    fn routing_keys_are_32_visible_characters() {
        assert!(RoutingKey::parse("e93facc04764012d7bfb002500d5d1a6").is_ok());
        assert_eq!(RoutingKey::parse("short"), Err(KeyError::RoutingKeyLength));
        assert_eq!(
            RoutingKey::parse("e93facc04764012d7bfb002500d5d1a "),
            Err(KeyError::RoutingKeyCharacters)
        );
        // 32 bytes but not 32 characters
        assert_eq!(
            RoutingKey::parse("ééééééééééééééee"),
            Err(KeyError::RoutingKeyLength)
        );
        let generated = RoutingKey::from_random([0xab; 16]);
        assert_eq!(generated.as_str().len(), 32);
        assert!(RoutingKey::parse(generated.as_str()).is_ok());
        assert!(!format!("{generated:?}").contains(generated.as_str()));
    }

    #[test]
    fn dedup_keys_are_1_to_255_characters() {
        assert!(DedupKey::parse("srv01/mysql").is_ok());
        assert_eq!(DedupKey::parse("  "), Err(KeyError::DedupKeyBlank));
        assert!(DedupKey::parse(&"é".repeat(255)).is_ok());
        assert_eq!(
            DedupKey::parse(&"k".repeat(256)),
            Err(KeyError::DedupKeyTooLong)
        );
    }
}
