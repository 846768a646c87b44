//! Managing people: users (roles, time zones), API tokens, teams, and each person's
//! contact methods (proven by a code, tested on demand) and notification rules.

use onduty_core::audit::Change;
use std::collections::HashMap;
use std::sync::Mutex;

use onduty_core::account::{
    ApiToken, Email, Name, Password, Role, Team, TimeZoneName, TokenSecret, User,
};
use onduty_core::chat::ChatPlatform;
use onduty_core::contact::{
    Address, Channel, ContactError, ContactMethod, MAX_RULE_DELAY_MINUTES, NotificationRule,
    PushKeys, RepeatEvery, RuleUrgency, VERIFICATION_VALID_FOR, default_rules, hash_code,
    verification_code,
};
use onduty_core::rate_limit::{RateLimit, TokenBucket};
use onduty_core::{ContactMethodId, RuleId, Timestamp, UserId};
use onduty_notify::{Content, NotifyError, Outgoing};
use onduty_store::contacts::{NewContactMethod, Verification};
use onduty_store::sends::SendKind;
use onduty_store::sessions::PasswordBy;
use onduty_store::users::{NewUser, UserPatch};

use crate::{Acting, App, AppError};

/// Verification codes and tests each contact method may be sent per minute.
pub const SENDS_PER_MINUTE: u32 = 2;

/// A person as a door received them. In a change, a field left out stays as it is.
#[derive(Debug, Clone, Default)]
pub struct UserInput {
    pub email: Option<String>,
    pub name: Option<String>,
    /// `admin`, `responder` (default for new people) or `observer`.
    pub role: Option<String>,
    /// An IANA time zone (default UTC).
    pub time_zone: Option<String>,
}

/// A contact method as a door received it.
#[derive(Debug, Clone, Default)]
pub struct MethodInput {
    /// `email`, `sms`, `voice`, `webhook` or `ntfy`.
    pub channel: String,
    pub address: String,
    pub name: Option<String>,
    /// ntfy: an access token for a topic that needs one (`tk_…`); kept, never shown.
    pub token: Option<String>,
    /// Web Push: the browser's keys, from its `PushSubscription` (`p256dh`, `auth`).
    pub push_keys: Option<(String, String)>,
}

/// A new contact method, and what came with it.
#[derive(Debug, Clone)]
pub struct MethodCreated {
    pub method: ContactMethod,
    /// `sent`, `not sent: …`, or `not needed`.
    pub verification: String,
    /// A webhook's signing secret, shown once.
    pub secret: Option<String>,
    /// The rules made with a person's first contact method.
    pub default_rules: Vec<NotificationRule>,
}

/// A notification rule as a door received it.
#[derive(Debug, Clone, Default)]
pub struct RuleInput {
    /// The contact method's id.
    pub contact_method: String,
    pub delay_minutes: u32,
    /// `high`, `low` or `both` (default).
    pub urgency: Option<String>,
    /// A push rule pages again this many seconds apart until someone acknowledges (30 to
    /// 3600; default 60 for ntfy, 0 for none). Other channels page once.
    pub repeat_seconds: Option<u32>,
}

/// Per contact method: how many codes and tests it may still be sent.
#[derive(Default)]
pub(crate) struct SendLimiter {
    buckets: Mutex<HashMap<ContactMethodId, TokenBucket>>,
}

impl SendLimiter {
    fn take(&self, method: ContactMethodId, now: Timestamp) -> Result<(), AppError> {
        let limit = RateLimit {
            per_minute: SENDS_PER_MINUTE,
        };
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() > 10_000 {
            buckets.retain(|_, b| !b.is_full(limit, now));
        }
        buckets
            .entry(method)
            .or_insert_with(|| TokenBucket::new(limit, now))
            .take(limit, now)
            .map_err(|wait| {
                AppError::TooManyRequests(format!(
                    "too many messages to this contact method; try again in {} seconds",
                    wait.as_secs().max(1)
                ))
            })
    }
}

fn parse_role(r: &str) -> Result<Role, AppError> {
    Role::parse(r).ok_or_else(|| {
        AppError::Invalid(format!(
            "'role' must be admin, responder or observer, not '{r}'"
        ))
    })
}

fn parse_time_zone(t: &str) -> Result<TimeZoneName, AppError> {
    TimeZoneName::parse(t).map_err(|e| AppError::Invalid(format!("'time_zone': {e}")))
}

fn parse_email(t: &str) -> Result<Email, AppError> {
    Email::parse(t).map_err(|e| AppError::Invalid(format!("'email': {e}")))
}

fn parse_name(t: &str) -> Result<Name, AppError> {
    Name::parse(t).map_err(|e| AppError::Invalid(format!("'name': {e}")))
}

/// A new secret a webhook's deliveries are signed with.
pub(crate) fn webhook_secret() -> String {
    let hex: String = random::<24>().iter().map(|b| format!("{b:02x}")).collect();
    format!("whsec_{hex}")
}

/// `N` bytes from the operating system's randomness.
pub(crate) fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system provides randomness");
    bytes
}

/// A password's argon2id hash with a fresh random salt.
pub fn salted_hash(password: &Password) -> String {
    password.hash(random::<16>())
}

/// A new API token secret from the operating system's randomness.
pub fn new_token_secret() -> TokenSecret {
    TokenSecret::from_random(random::<20>())
}

impl App {
    /// A person by id or by e-mail address.
    pub async fn find_user(&self, text: &str) -> Result<User, AppError> {
        if let Ok(id) = text.parse::<UserId>() {
            return Ok(self.store.user(id).await?);
        }
        let missing = || AppError::NotFound(format!("no user with id or e-mail '{text}'"));
        let email = Email::parse(text).map_err(|_| missing())?;
        self.store.user_by_email(&email).await?.ok_or_else(missing)
    }

    /// Adds a person (admins), with a first password to log in to the web UI with if
    /// given, in one statement.
    pub async fn create_user(
        &self,
        acting: &Acting,
        input: UserInput,
        password: Option<&str>,
    ) -> Result<User, AppError> {
        acting.require_admin()?;
        self.configuring(
            acting,
            "user.create",
            input.email.clone().unwrap_or_default(),
            async {
                let password_hash = password
                    .map(|p| {
                        Password::parse(p)
                            .map(|p| salted_hash(&p))
                            .map_err(|e| AppError::Invalid(format!("The first password: {e}")))
                    })
                    .transpose()?;
                let new = NewUser {
                    email: parse_email(input.email.as_deref().unwrap_or_default())?,
                    name: parse_name(input.name.as_deref().unwrap_or_default())?,
                    role: input
                        .role
                        .as_deref()
                        .map(parse_role)
                        .transpose()?
                        .unwrap_or(Role::Responder),
                    time_zone: input
                        .time_zone
                        .as_deref()
                        .map(parse_time_zone)
                        .transpose()?
                        .unwrap_or_else(TimeZoneName::utc),
                };
                Ok(self
                    .store
                    .create_user_with_password(new, password_hash.as_deref(), self.now())
                    .await?)
            },
        )
        .await
    }

    /// Changes a person: themselves (not their role), or anyone for admins. The last
    /// administrator stays one.
    pub async fn update_user(
        &self,
        acting: &Acting,
        who: &str,
        input: UserInput,
    ) -> Result<User, AppError> {
        let user = self.find_user(who).await?;
        if user.id != acting.user.id || input.role.is_some() {
            acting.require_admin()?;
        }
        self.configuring(acting, "user.update", who, async {
            let role = input.role.as_deref().map(parse_role).transpose()?;
            if user.role == Role::Admin && role.is_some_and(|r| r != Role::Admin) {
                let users = self.store.list_users().await?;
                if users.iter().filter(|u| u.role == Role::Admin).count() <= 1 {
                    return Err(AppError::Conflict(
                        "this is the last administrator; make someone else an administrator first"
                            .to_owned(),
                    ));
                }
            }
            let patch = UserPatch {
                email: input.email.as_deref().map(parse_email).transpose()?,
                name: input.name.as_deref().map(parse_name).transpose()?,
                role,
                time_zone: input
                    .time_zone
                    .as_deref()
                    .map(parse_time_zone)
                    .transpose()?,
            };
            Ok(self.store.update_user(user.id, patch).await?)
        })
        .await
    }

    /// Sets someone's password because they forgot it (admins): their sessions end.
    pub async fn reset_password(
        &self,
        acting: &Acting,
        who: &str,
        password: &str,
    ) -> Result<(), AppError> {
        acting.require_admin()?;
        self.recorded(
            acting,
            "user.reset_password",
            who,
            async {
                let person = self.find_user(who).await?;
                let password =
                    Password::parse(password).map_err(|e| AppError::Invalid(e.to_string()))?;
                // Someone else's choice until they make their own.
                let by = if person.id == acting.user.id {
                    PasswordBy::Themselves
                } else {
                    PasswordBy::Administrator
                };
                self.store
                    .set_password_hash(person.id, &salted_hash(&password), by)
                    .await?;
                // No session has an empty hash: this ends all of theirs.
                self.store.delete_other_sessions(person.id, "").await?;
                Ok(())
            },
            |_| Change::none(),
        )
        .await
    }

    /// A new API token for the person acting; its secret is shown once.
    pub async fn create_token(
        &self,
        acting: &Acting,
        name: Option<&str>,
    ) -> Result<(ApiToken, TokenSecret), AppError> {
        let name = parse_name(name.unwrap_or("api"))?;
        let secret = new_token_secret();
        let token = self
            .store
            .create_token(acting.user.id, name.as_str(), &secret, self.now())
            .await?;
        let change = Change::of(
            None::<()>,
            Some(serde_json::json!({ "id": token.id.to_string(), "name": name.as_str() })),
        );
        self.record(
            acting,
            "token.create",
            acting.user.email.to_string(),
            change,
        )
        .await;
        Ok((token, secret))
    }

    /// Creates a team (admins).
    pub async fn create_team(&self, acting: &Acting, name: &str) -> Result<Team, AppError> {
        acting.require_admin()?;
        self.configuring(acting, "team.create", name, async {
            Ok(self
                .store
                .create_team(parse_name(name)?, self.now())
                .await?)
        })
        .await
    }

    /// Puts a person in a team (admins).
    pub async fn add_member(
        &self,
        acting: &Acting,
        team: &str,
        who: &str,
    ) -> Result<Team, AppError> {
        acting.require_admin()?;
        self.configuring(acting, "team.add_member", format!("{team}: {who}"), async {
            let team = self.store.team(team).await?;
            let user = self.find_user(who).await?;
            self.store.add_team_member(team.id, user.id).await?;
            Ok(self.store.team(&team.id.to_string()).await?)
        })
        .await
    }

    /// Takes a person out of a team (admins).
    pub async fn remove_member(
        &self,
        acting: &Acting,
        team: &str,
        who: &str,
    ) -> Result<Team, AppError> {
        acting.require_admin()?;
        self.configuring(
            acting,
            "team.remove_member",
            format!("{team}: {who}"),
            async {
                let team = self.store.team(team).await?;
                let user = self.find_user(who).await?;
                if !self.store.remove_team_member(team.id, user.id).await? {
                    return Err(AppError::NotFound(format!(
                        "{} is not a member of {}",
                        user.email, team.name
                    )));
                }
                Ok(self.store.team(&team.id.to_string()).await?)
            },
        )
        .await
    }

    /// The person whose contact methods and rules `acting` manages: themselves, or anyone
    /// for admins.
    pub async fn contact_owner(&self, acting: &Acting, who: &str) -> Result<User, AppError> {
        let user = self.find_user(who).await?;
        if user.id != acting.user.id {
            acting.require_admin()?;
        }
        Ok(user)
    }

    async fn own_method(&self, user: &User, id: &str) -> Result<ContactMethod, AppError> {
        let missing = || AppError::NotFound(format!("no contact method '{id}'"));
        let id: ContactMethodId = id.parse().map_err(|_| missing())?;
        let method = self.store.contact_method(id).await?;
        if method.user_id != user.id {
            return Err(missing());
        }
        Ok(method)
    }

    /// Sends `content` to a contact method at once, not as a page.
    async fn send_now(&self, method: &ContactMethod, content: Content) -> Result<(), NotifyError> {
        let now = self.now();
        let secret = match method.channel {
            Channel::Webhook | Channel::Ntfy | Channel::WebPush => self
                .store
                .contact_method_secret(method.id)
                .await
                .ok()
                .flatten(),
            _ => None,
        };
        let message = Outgoing {
            channel: method.channel,
            to: method.address.as_str().to_owned(),
            secret,
            content,
            idempotency_key: format!("{}-{}", method.id, now.as_millis()),
            at: now,
        };
        self.providers.send(&message).await.map(|_| ())
    }

    /// A new verification code, kept hashed and sent: `sent` or `not sent: …`.
    async fn new_code(&self, method: &ContactMethod) -> Result<String, AppError> {
        self.send_limiter.take(method.id, self.now())?;
        self.admit_send(method, SendKind::Code).await?;
        let code = verification_code(random::<4>());
        let expires = self.now().saturating_add(VERIFICATION_VALID_FOR);
        self.store
            .set_verification_code(method.id, &hash_code(&code), expires)
            .await?;
        Ok(
            match self.send_now(method, Content::Verification { code }).await {
                Ok(()) => "sent".to_owned(),
                Err(e) => format!("not sent: {}", told(method, &e)),
            },
        )
    }

    /// Adds a contact method for a person (themselves, or admins). A person's first one
    /// comes with default rules; phones and inboxes are sent a code to prove them.
    pub async fn create_method(
        &self,
        acting: &Acting,
        who: &str,
        input: MethodInput,
    ) -> Result<MethodCreated, AppError> {
        let user = self.contact_owner(acting, who).await?;
        self.recorded(acting, "contact_method.create", who, async {
            let channel = Channel::parse(&input.channel).ok_or_else(|| {
                AppError::Invalid(format!(
                    "'channel' must be email, sms, voice, webhook, ntfy, slack, telegram, mattermost \
                     or web_push, not '{}'",
                    input.channel
                ))
            })?;
            let address = match channel {
                Channel::Slack => self.slack_member(&user, &input.address).await?,
                // Only the Telegram account the person linked with a code, whatever was typed.
                Channel::Telegram => self
                    .store
                    .chat_account(ChatPlatform::Telegram, user.id)
                    .await?
                    .ok_or_else(|| {
                        AppError::Invalid(
                            "link your Telegram account first: make a Telegram code on your page in \
                             onduty and send /start <code> to onduty's bot"
                                .to_owned(),
                        )
                    })?,
                // Only the Mattermost account linked to them (by its verified e-mail at a
                // click, or by the link onduty answered an unlinked click with).
                Channel::Mattermost => self
                    .store
                    .chat_account(ChatPlatform::Mattermost, user.id)
                    .await?
                    .ok_or_else(|| {
                        AppError::Invalid(
                            "link your Mattermost account first: press a button on one of onduty's \
                             posts in Mattermost, which links it (by your verified e-mail, or with \
                             the link it answers)"
                                .to_owned(),
                        )
                    })?,
                _ => input.address.clone(),
            };
            let address = Address::parse(channel, &address)
                .map_err(|e| AppError::Invalid(format!("'address': {e}")))?;
            if matches!(channel, Channel::Webhook | Channel::Ntfy | Channel::WebPush) {
                // An address written as an IP is refused now; a name, when it is resolved.
                let url = url::Url::parse(address.as_str())
                    .map_err(|e| AppError::Invalid(format!("'address': {e}")))?;
                self.providers
                    .outbound
                    .check_url(&url)
                    .map_err(|e| AppError::Invalid(format!("'address': {e}")))?;
            }
            let name = input
                .name
                .as_deref()
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .unwrap_or(channel.label());
            if name.chars().count() > 100 || name.chars().any(char::is_control) {
                return Err(AppError::Invalid(
                    "'name' must be 1 to 100 plain characters".to_owned(),
                ));
            }
            let secret = match channel {
                Channel::Webhook => Some(webhook_secret()),
                Channel::Ntfy => ntfy_token(input.token.as_deref())?,
                Channel::WebPush => {
                    let (p256dh, auth) = input
                        .push_keys
                        .as_ref()
                        .ok_or_else(|| AppError::Invalid(ContactError::PushKeys.to_string()))?;
                    let keys =
                        PushKeys::parse(p256dh, auth).map_err(|e| AppError::Invalid(e.to_string()))?;
                    Some(keys.to_secret())
                }
                _ if input.token.is_some() => {
                    return Err(AppError::Invalid(
                        "'token' is for ntfy contact methods".to_owned(),
                    ));
                }
                _ if input.push_keys.is_some() => {
                    return Err(AppError::Invalid(
                        "'p256dh' and 'auth' are for Web Push contact methods".to_owned(),
                    ));
                }
                _ => None,
            };
            // Over the hourly limits nothing is made: a method without its code is no use.
            self.send_allowed(user.id).await?;
            let first = self.store.rules(user.id).await?.is_empty()
                && self.store.contact_methods(user.id).await?.is_empty();
            let now = self.now();
            let method = self
                .store
                .create_contact_method(
                    NewContactMethod {
                        user_id: user.id,
                        name: name.to_owned(),
                        channel,
                        address,
                        secret: secret.clone(),
                    },
                    now,
                )
                .await?;
            let mut default = Vec::new();
            let repeat = channel.repeats().then_some(RepeatEvery::DEFAULT);
            if first {
                for (delay, urgency) in default_rules() {
                    default.push(
                        self.store
                            .create_rule(user.id, method.id, delay, urgency, repeat, now)
                            .await?,
                    );
                }
            }
            let verification = self.new_code(&method).await?;
            Ok(MethodCreated {
                method,
                verification,
                // A webhook's secret is onduty's, shown once; an ntfy token was the person's.
                secret: secret.filter(|_| channel == Channel::Webhook),
                default_rules: default,
            })
        }, |x: &MethodCreated| Change::of(None::<()>, Some(serde_json::json!({"id": x.method.id.to_string(), "name": x.method.name, "channel": x.method.channel, "verified": x.method.verified, "rules": x.default_rules.len()}))))
        .await
    }

    /// Removes a contact method (and the rules using it).
    pub async fn delete_method(
        &self,
        acting: &Acting,
        who: &str,
        id: &str,
    ) -> Result<(), AppError> {
        let user = self.contact_owner(acting, who).await?;
        self.recorded(
            acting,
            "contact_method.delete",
            who,
            async {
                let method = self.own_method(&user, id).await?;
                Ok(self.store.delete_contact_method(user.id, method.id).await?)
            },
            |_| Change::of(Some(serde_json::json!({"id": id})), None::<()>),
        )
        .await
    }

    /// Sends a contact method a new verification code.
    pub async fn send_code(&self, acting: &Acting, who: &str, id: &str) -> Result<(), AppError> {
        let user = self.contact_owner(acting, who).await?;
        let method = self.own_method(&user, id).await?;
        match self.new_code(&method).await?.as_str() {
            "sent" => Ok(()),
            failure => Err(AppError::ProviderFailed(failure.to_owned())),
        }
    }

    /// Proves a contact method with the code it was sent.
    pub async fn verify_method(
        &self,
        acting: &Acting,
        who: &str,
        id: &str,
        code: &str,
    ) -> Result<ContactMethod, AppError> {
        let user = self.contact_owner(acting, who).await?;
        self.recorded(
            acting,
            "contact_method.verify",
            who,
            async {
                let method = self.own_method(&user, id).await?;
                let outcome = self
                    .store
                    .verify_contact_method(method.id, &hash_code(code), self.now())
                    .await?;
                match outcome {
                    Verification::Verified => {
                        if let (Channel::Slack, Address::ChatUser(member)) =
                            (method.channel, &method.address)
                        {
                            // The Slack account proved to be theirs: its clicks act as them.
                            self.store
                                .link_chat_user(ChatPlatform::Slack, member, user.id, self.now())
                                .await?;
                        }
                        Ok(self.store.contact_method(method.id).await?)
                    }
                    Verification::Wrong { attempts_left } => Err(AppError::Invalid(format!(
                        "wrong code; {attempts_left} attempts left before a new code is needed"
                    ))),
                    Verification::Expired => Err(AppError::Invalid(
                        "the code has expired; ask for a new one".to_owned(),
                    )),
                    Verification::NoCode => Err(AppError::Invalid(
                        "no valid code: ask for a new one with send-code".to_owned(),
                    )),
                }
            },
            |x: &ContactMethod| {
                Change::of(
                    Some(serde_json::json!({"verified": false})),
                    Some(serde_json::json!({"id": x.id.to_string(), "verified": x.verified})),
                )
            },
        )
        .await
    }

    /// Sends a contact method a test message; one that works is no longer failing.
    pub async fn send_test(&self, acting: &Acting, who: &str, id: &str) -> Result<(), AppError> {
        let user = self.contact_owner(acting, who).await?;
        let method = self.own_method(&user, id).await?;
        // A method gets tests only once it is proven to be its owner's: a phone, an inbox
        // or a webhook that showed it received its code.
        if !method.verified {
            return Err(AppError::Invalid(
                "verify this contact method with its code before sending it a test".to_owned(),
            ));
        }
        self.send_limiter.take(method.id, self.now())?;
        self.admit_send(&method, SendKind::Test).await?;
        match self.send_now(&method, Content::Test).await {
            Ok(()) => {
                if method.failing.is_some() {
                    self.store
                        .set_contact_method_failing(method.id, None)
                        .await?;
                }
                Ok(())
            }
            Err(e) => Err(AppError::ProviderFailed(told(&method, &e))),
        }
    }

    /// Adds a notification rule: through a contact method, so many minutes after a page.
    pub async fn create_rule(
        &self,
        acting: &Acting,
        who: &str,
        input: RuleInput,
    ) -> Result<NotificationRule, AppError> {
        let user = self.contact_owner(acting, who).await?;
        self.recorded(
            acting,
            "notification_rule.create",
            who,
            async {
                let method = self.own_method(&user, &input.contact_method).await?;
                if input.delay_minutes > MAX_RULE_DELAY_MINUTES {
                    return Err(AppError::Invalid(format!(
                        "'delay_minutes' must be 0 to {MAX_RULE_DELAY_MINUTES}, not {}",
                        input.delay_minutes
                    )));
                }
                let urgency = match input.urgency.as_deref() {
                    None => RuleUrgency::Both,
                    Some(u) => RuleUrgency::parse(u).ok_or_else(|| {
                        AppError::Invalid(format!("'urgency' must be high, low or both, not '{u}'"))
                    })?,
                };
                let repeat = match (method.channel.repeats(), input.repeat_seconds) {
                    (_, Some(0)) => None,
                    (true, None) => Some(RepeatEvery::DEFAULT),
                    (true, Some(seconds)) => {
                        Some(RepeatEvery::parse(seconds).map_err(AppError::Invalid)?)
                    }
                    (false, None) => None,
                    (false, Some(_)) => {
                        return Err(AppError::Invalid(format!(
                            "'repeat_seconds' is for push (ntfy) rules: {} pages once per rule",
                            method.channel.label()
                        )));
                    }
                };
                Ok(self
                    .store
                    .create_rule(
                        user.id,
                        method.id,
                        input.delay_minutes,
                        urgency,
                        repeat,
                        self.now(),
                    )
                    .await?)
            },
            |x: &NotificationRule| Change::of(None::<()>, Some(x)),
        )
        .await
    }

    /// Removes a notification rule.
    pub async fn delete_rule(&self, acting: &Acting, who: &str, id: &str) -> Result<(), AppError> {
        let user = self.contact_owner(acting, who).await?;
        self.recorded(
            acting,
            "notification_rule.delete",
            who,
            async {
                let id: RuleId = id
                    .parse()
                    .map_err(|_| AppError::NotFound(format!("no notification rule '{id}'")))?;
                Ok(self.store.delete_rule(user.id, id).await?)
            },
            |_| Change::of(Some(serde_json::json!({"id": id})), None::<()>),
        )
        .await
    }
}

impl App {
    /// A person's Slack member id: as given (`U0123ABCD`), or looked up by an e-mail
    /// address (the one given, or else theirs) with `users.lookupByEmail`.
    async fn slack_member(&self, user: &User, given: &str) -> Result<String, AppError> {
        let given = given.trim();
        if Address::parse(Channel::Slack, given).is_ok() {
            return Ok(given.to_owned());
        }
        let Some(slack) = self.providers.slack.as_ref() else {
            return Err(AppError::Invalid(
                "Slack is not configured on this server".to_owned(),
            ));
        };
        let email = if given.is_empty() {
            user.email.as_str()
        } else {
            given
        };
        match slack.member_by_email(email).await {
            Ok(Some(member)) => Ok(member),
            Ok(None) => Err(AppError::Invalid(format!(
                "'address': no member of the Slack workspace has the e-mail address {email}"
            ))),
            Err(e) => Err(AppError::ProviderFailed(format!(
                "Slack could not be asked who has {email}: {e}"
            ))),
        }
    }
}

/// An ntfy access token as typed: none, or up to 200 visible ASCII characters.
fn ntfy_token(text: Option<&str>) -> Result<Option<String>, AppError> {
    let Some(token) = text.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if token.len() > 200 || !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AppError::Invalid(
            "'token' must be an ntfy access token (tk_…): up to 200 visible characters".to_owned(),
        ));
    }
    Ok(Some(token.to_owned()))
}

/// What a person is told when a message to one of their methods fails. A webhook's
/// receiver could be anyone's server, so what it answered (a status code, "not reached")
/// stays in the server log: told to the person, it would make a port scanner.
fn told(method: &ContactMethod, error: &NotifyError) -> String {
    match (method.channel, error) {
        (_, NotifyError::Blocked(why)) => why.clone(),
        (Channel::Webhook | Channel::Ntfy | Channel::WebPush, _) => {
            tracing::info!(method = %method.id, %error, "a receiver did not take a message");
            match method.channel {
                Channel::Webhook => "the webhook did not take the message".to_owned(),
                _ => format!(
                    "the {} server did not take the message",
                    method.channel.label()
                ),
            }
        }
        _ => error.to_string(),
    }
}
