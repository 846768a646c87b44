//! People and credentials: user names, e-mail addresses, roles, and API tokens (whose
//! secret is shown once and only its hash is kept).

use std::fmt;
use std::sync::LazyLock;

use jiff::tz::{TimeZone, TimeZoneDatabase};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ids::{TeamId, TokenId, UserId};
use crate::time::Timestamp;

/// What a user may do. Observers look; responders act on incidents; admins configure.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Observer,
    Responder,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Observer => "observer",
            Role::Responder => "responder",
            Role::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "observer" => Some(Role::Observer),
            "responder" => Some(Role::Responder),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    /// Acknowledge, resolve, add notes.
    pub fn can_respond(self) -> bool {
        self >= Role::Responder
    }

    /// Create and change services, integrations, users.
    pub fn can_configure(self) -> bool {
        self == Role::Admin
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("'{0}' is not an e-mail address")]
    BadEmail(String),
    #[error("a name must be 1 to {max} characters", max = NAME_MAX_CHARS)]
    BadName,
    #[error("'{0}' is not a role (admin, responder or observer)")]
    BadRole(String),
    #[error("'{0}' is not a time zone name such as Europe/London or America/New_York")]
    BadTimeZone(String),
    #[error("a password must be {PASSWORD_MIN_CHARS} to {PASSWORD_MAX_CHARS} characters")]
    BadPassword,
}

pub const PASSWORD_MIN_CHARS: usize = 10;
pub const PASSWORD_MAX_CHARS: usize = 200;

/// A password as a person typed it: 10 to 200 characters. Never shown or logged.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub fn parse(text: &str) -> Result<Self, AccountError> {
        let n = text.chars().count();
        if !(PASSWORD_MIN_CHARS..=PASSWORD_MAX_CHARS).contains(&n) {
            return Err(AccountError::BadPassword);
        }
        Ok(Password(text.to_owned()))
    }

    /// The argon2id hash (PHC string) with this salt, which the caller draws at random.
    pub fn hash(&self, salt: [u8; 16]) -> String {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt");
        argon2::Argon2::default()
            .hash_password(self.0.as_bytes(), &salt)
            .expect("argon2id with default parameters hashes any password")
            .to_string()
    }
}

/// Whether `password` matches a stored argon2 hash (false for a malformed hash).
pub fn password_matches(password: &str, hash: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    match PasswordHash::new(hash) {
        Ok(parsed) => argon2::Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(…)")
    }
}

pub const NAME_MAX_CHARS: usize = 100;

/// A display name: trimmed, 1 to 100 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub fn parse(text: &str) -> Result<Self, AccountError> {
        let t = text.trim();
        if t.is_empty() || t.chars().count() > NAME_MAX_CHARS || t.chars().any(char::is_control) {
            return Err(AccountError::BadName);
        }
        Ok(Name(t.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address, lower-cased; one `@` with text on both sides, no spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(text: &str) -> Result<Self, AccountError> {
        let t = text.trim().to_lowercase();
        let bad = || AccountError::BadEmail(text.chars().take(64).collect());
        let (local, domain) = t.split_once('@').ok_or_else(bad)?;
        if local.is_empty()
            || domain.is_empty()
            || domain.contains('@')
            || t.len() > 254
            || t.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(bad());
        }
        Ok(Email(t))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The time zone database built into onduty, not the machine's: every machine reads a
/// zone the same way, and the machine's own entries (`localtime`) are not in it.
static ZONES: LazyLock<TimeZoneDatabase> = LazyLock::new(TimeZoneDatabase::bundled);

/// Entries of the database that are not places: the machine's zone, the rules file and
/// the zone of machines not set up yet.
const NOT_PLACES: [&str; 3] = ["localtime", "posixrules", "factory"];

/// A time zone by its IANA name, in any case, from the database built into onduty; `None`
/// for a name it does not know or one that is not a place (see [`NOT_PLACES`]).
pub fn time_zone(name: &str) -> Option<TimeZone> {
    let zone = ZONES.get(name.trim()).ok()?;
    let canonical = zone.iana_name()?;
    if NOT_PLACES.iter().any(|n| canonical.eq_ignore_ascii_case(n)) {
        return None;
    }
    Some(zone)
}

/// Every name [`time_zone`] takes, as the database spells it, sorted.
pub fn time_zone_names() -> Vec<String> {
    let mut names: Vec<String> = ZONES
        .available()
        .map(|name| name.as_str().to_owned())
        .filter(|name| time_zone(name).is_some())
        .collect();
    names.sort();
    names
}

/// An IANA time zone name ("Europe/London"), checked against the time zone database
/// built into onduty (so every machine agrees on it) and spelled as it spells it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    /// A name as typed: `europe/london` is `Europe/London`; `localtime` is refused.
    pub fn parse(text: &str) -> Result<Self, AccountError> {
        let t = text.trim();
        let canonical = (t.len() <= 64)
            .then(|| time_zone(t))
            .flatten()
            .and_then(|zone| zone.iana_name().map(str::to_owned));
        canonical
            .map(TimeZoneName)
            .ok_or_else(|| AccountError::BadTimeZone(text.chars().take(64).collect()))
    }

    /// A stored name read back: as [`TimeZoneName::parse`] spells it, or UTC for one it
    /// refuses (stored before names were checked this way), so that a row never fails to
    /// load over its time zone.
    pub fn read(text: &str) -> Self {
        Self::parse(text).unwrap_or_else(|_| Self::utc())
    }

    pub fn utc() -> Self {
        TimeZoneName("UTC".to_owned())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The zone itself, from the database built into onduty.
    pub fn zone(&self) -> TimeZone {
        time_zone(&self.0).unwrap_or(TimeZone::UTC)
    }
}

/// Names are stored in JSON too (a heartbeat's cron schedule): read as
/// [`TimeZoneName::read`] reads them.
impl<'de> Deserialize<'de> for TimeZoneName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(|text| TimeZoneName::read(&text))
    }
}

impl fmt::Display for TimeZoneName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub id: UserId,
    pub email: Email,
    pub name: Name,
    pub role: Role,
    pub time_zone: TimeZoneName,
    pub created_at: Timestamp,
    #[serde(default)]
    pub status: AccountStatus,
}

/// Whether a person can use onduty. A disabled person cannot log in or use a token and
/// is not paged; a deleted one is disabled for good and leaves the lists, while history
/// keeps their name.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    #[default]
    Active,
    Disabled,
    Deleted,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountStatus::Active => "active",
            AccountStatus::Disabled => "disabled",
            AccountStatus::Deleted => "deleted",
        }
    }

    pub fn is_active(self) -> bool {
        self == AccountStatus::Active
    }
}

/// A team: people who share services and escalation policies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    pub id: TeamId,
    pub name: Name,
    pub members: Vec<UserId>,
    pub created_at: Timestamp,
}

/// The prefix that makes an onduty token recognisable (in a leak scanner, say).
pub const TOKEN_PREFIX: &str = "odt_";

/// The secret part of an API token, as the user pastes it. Never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(String);

impl TokenSecret {
    /// A new secret from 20 random bytes supplied by the caller.
    pub fn from_random(bytes: [u8; 20]) -> Self {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        TokenSecret(format!("{TOKEN_PREFIX}{hex}"))
    }

    /// Whatever a client sent; checked only by looking its hash up.
    pub fn from_presented(text: &str) -> Self {
        TokenSecret(text.trim().to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The SHA-256 of the secret, hex: what the store keeps and looks up. Tokens are
    /// 160 random bits, so a fast hash is enough (there is nothing to brute-force).
    pub fn hash(&self) -> String {
        Sha256::digest(self.0.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret(…)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiToken {
    pub id: TokenId,
    pub user_id: UserId,
    pub name: String,
    pub created_at: Timestamp,
}

#[cfg(test)]
mod password_tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        assert!(Password::parse("short").is_err());
        let p = Password::parse("correct horse battery").unwrap();
        let hash = p.hash([7; 16]);
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(password_matches("correct horse battery", &hash));
        assert!(!password_matches("correct horse battery!", &hash));
        assert!(!password_matches("anything", "not a hash"));
        assert_ne!(hash, p.hash([8; 16]), "salted");
        assert_eq!(format!("{p:?}"), "Password(…)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse(" Alice@Example.COM ").unwrap().as_str(),
            "alice@example.com"
        );
        for bad in [
            "",
            "alice",
            "@example.com",
            "alice@",
            "a b@example.com",
            "a@b@c",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn time_zone_names_are_spelled_as_the_database_spells_them() {
        for (typed, canonical) in [
            ("europe/london", "Europe/London"),
            (" AMERICA/NEW_YORK ", "America/New_York"),
            ("utc", "UTC"),
            ("Asia/Kolkata", "Asia/Kolkata"),
        ] {
            assert_eq!(TimeZoneName::parse(typed).unwrap().as_str(), canonical);
        }
        // The machine's own zone and the database's rules files are not places.
        for bad in [
            "localtime",
            "posixrules",
            "Factory",
            "factory",
            "Mars/Olympus",
            "",
        ] {
            assert!(TimeZoneName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_list_of_time_zone_names_is_what_parsing_takes() {
        let names = time_zone_names();
        assert!(names.len() > 300, "{}", names.len());
        assert!(names.iter().any(|n| n == "Europe/London"));
        assert!(!names.iter().any(|n| n.eq_ignore_ascii_case("localtime")));
        for name in &names {
            assert_eq!(TimeZoneName::parse(name).unwrap().as_str(), name);
        }
    }

    #[test]
    fn stored_time_zone_names_are_read_leniently() {
        assert_eq!(
            TimeZoneName::read("europe/london").as_str(),
            "Europe/London"
        );
        assert_eq!(TimeZoneName::read("localtime"), TimeZoneName::utc());
        let stored: TimeZoneName = serde_json::from_str("\"localtime\"").unwrap();
        assert_eq!(stored, TimeZoneName::utc());
        let stored: TimeZoneName = serde_json::from_str("\"asia/kolkata\"").unwrap();
        assert_eq!(stored.as_str(), "Asia/Kolkata");
        assert_eq!(stored.zone().iana_name(), Some("Asia/Kolkata"));
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            Name::parse("  Checkout API ").unwrap().as_str(),
            "Checkout API"
        );
        assert!(Name::parse("   ").is_err());
        assert!(Name::parse(&"x".repeat(101)).is_err());
        assert!(Name::parse("tab\there").is_err());
    }

    #[test]
    fn time_zones_come_from_the_built_in_database() {
        assert_eq!(
            TimeZoneName::parse(" Europe/London ").unwrap().as_str(),
            "Europe/London"
        );
        assert!(TimeZoneName::parse("Australia/Lord_Howe").is_ok());
        assert!(TimeZoneName::parse("Mars/Olympus_Mons").is_err());
        assert!(TimeZoneName::parse("").is_err());
    }

    #[test]
    fn roles_order_their_powers() {
        assert!(!Role::Observer.can_respond());
        assert!(Role::Responder.can_respond() && !Role::Responder.can_configure());
        assert!(Role::Admin.can_respond() && Role::Admin.can_configure());
        assert_eq!(Role::parse("admin"), Some(Role::Admin));
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn token_secrets_hash_stably_and_never_print() {
        let t = TokenSecret::from_random([7; 20]);
        assert!(t.expose().starts_with("odt_"));
        assert_eq!(t.expose().len(), 44);
        assert_eq!(
            t.hash(),
            TokenSecret::from_presented(&format!(" {} ", t.expose())).hash()
        );
        assert_eq!(t.hash().len(), 64);
        assert_ne!(t.hash(), TokenSecret::from_random([8; 20]).hash());
        assert!(!format!("{t:?}").contains(t.expose()));
    }
}
