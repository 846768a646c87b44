//! Chat: channels that get every incident of a service or team (admins choose them), and
//! who a chat account belongs to. A person's chat account is linked to their onduty user
//! once: by the e-mail address the chat platform has verified for it, by a one-time code
//! sent from it (Telegram), or by a signed link, valid 15 minutes, that onduty sends only
//! to that account and its person opens while logged in. Acting from chat (a button, a
//! command) is then acting as that person, through `App::act` like every other door.

use onduty_core::ChatChannelId;
use onduty_core::account::{Email, User};
use onduty_core::audit::Change;
use onduty_core::chat::{ChatChannel, ChatPlatform, ChatScope, link_code, parse_channel};
use onduty_core::contact::hash_code;
use onduty_core::lifecycle::Via;

use crate::{Acting, App, AppError};

/// A channel as a door received it.
#[derive(Debug, Clone)]
pub struct ChatChannelInput {
    /// `slack`, `telegram`, `mattermost`, `teams` or `discord`.
    pub platform: String,
    /// The platform's id of the channel (Slack: `C0123ABCD`), or a webhook's URL (Teams,
    /// Discord).
    pub channel: String,
}

impl App {
    /// Posts every incident of a service (or of a team's services) opened from now on to
    /// a chat channel, with buttons to act on it (admins).
    pub async fn add_chat_channel(
        &self,
        acting: &Acting,
        scope: ChatScope,
        input: ChatChannelInput,
    ) -> Result<ChatChannel, AppError> {
        acting.require_admin()?;
        self.configuring(acting, "chat_channel.add", input.platform.clone(), async {
            let platform = ChatPlatform::parse(input.platform.trim()).ok_or_else(|| {
                AppError::Invalid(format!(
                    "'platform' must be slack, telegram, mattermost, teams or discord, not '{}'",
                    input.platform.chars().take(40).collect::<String>()
                ))
            })?;
            let channel = parse_channel(platform, &input.channel)
                .map_err(|e| AppError::Invalid(format!("'channel': {e}")))?;
            if platform.by_webhook() {
                // A webhook written as an IP is refused now; a name, when it is resolved.
                let url = url::Url::parse(&channel)
                    .map_err(|_| AppError::Invalid("'channel' is not a URL".to_owned()))?;
                self.providers
                    .outbound
                    .check_url(&url)
                    .map_err(|e| AppError::Invalid(format!("'channel': {e}")))?;
            }
            let existing = self.store.chat_channels(scope).await?;
            if let Some(same) = existing
                .into_iter()
                .find(|c| c.platform == platform && c.channel == channel)
            {
                if same.failing.is_none() {
                    return Err(AppError::Conflict(format!(
                        "{} channel {} already gets these incidents",
                        platform.label(),
                        onduty_core::chat::channel_shown(platform, &channel)
                    )));
                }
                // Added again once mended: it gets incidents again.
                self.store.revive_chat_channel(same.id).await?;
                return Ok(ChatChannel {
                    failing: None,
                    ..same
                });
            }
            Ok(self
                .store
                .add_chat_channel(scope, platform, &channel, self.now())
                .await?)
        })
        .await
    }

    /// Stops posting to a chat channel (admins); what it has stays.
    pub async fn remove_chat_channel(&self, acting: &Acting, id: &str) -> Result<(), AppError> {
        acting.require_admin()?;
        self.configuring(acting, "chat_channel.remove", id, async {
            let id: ChatChannelId = id
                .parse()
                .map_err(|_| AppError::NotFound(format!("no chat channel '{id}'")))?;
            self.store.chat_channel(id).await?;
            Ok(self.store.delete_chat_channel(id).await?)
        })
        .await
    }

    /// The onduty user behind a chat account: the one it was linked to, or else the active
    /// user whose e-mail is the address the platform verified for it (`verified_email`),
    /// who is linked from now on. `None`: nobody, and nothing changes.
    pub async fn chat_user(
        &self,
        platform: ChatPlatform,
        chat_user: &str,
        verified_email: Option<&str>,
    ) -> Result<Option<User>, AppError> {
        if let Some(id) = self.store.chat_user(platform, chat_user).await? {
            return Ok(self
                .store
                .user(id)
                .await
                .ok()
                .filter(|u| u.status.is_active()));
        }
        let Some(email) = verified_email.and_then(|e| Email::parse(e).ok()) else {
            return Ok(None);
        };
        let Some(user) = self
            .store
            .user_by_email(&email)
            .await?
            .filter(|u| u.status.is_active())
        else {
            return Ok(None);
        };
        self.store
            .link_chat_user(platform, chat_user, user.id, self.now())
            .await?;
        self.chat_linked(&user, platform, chat_user, "verified e-mail")
            .await;
        Ok(Some(user))
    }

    /// The audit entry of a chat account linked to `user` by onduty (not by a door the
    /// person acted through), saying `how`.
    async fn chat_linked(&self, user: &User, platform: ChatPlatform, chat_user: &str, how: &str) {
        let via = match platform {
            ChatPlatform::Slack => Via::Slack,
            ChatPlatform::Telegram => Via::Telegram,
            ChatPlatform::Mattermost => Via::Mattermost,
            ChatPlatform::Teams => Via::Teams,
            ChatPlatform::Discord => Via::Discord,
        };
        let acting = Acting::new(user.clone(), via);
        let change = Change::of(None::<()>, Some(serde_json::json!({"linked_by": how})));
        self.record(
            &acting,
            "chat.link",
            format!("{}: {chat_user}", platform.as_str()),
            change,
        )
        .await;
    }

    /// A one-time code that links `who`'s chat account to them once sent to onduty's bot
    /// (`/start <code>` in Telegram), valid for [`LINK_CODE_VALID_FOR`]; a new one replaces
    /// the last. Only for oneself: whoever sends the code acts as its person.
    pub async fn chat_link_code(
        &self,
        acting: &Acting,
        who: &str,
        platform: &str,
    ) -> Result<(String, onduty_core::Timestamp), AppError> {
        let user = self.find_user(who).await?;
        if user.id != acting.user.id {
            return Err(AppError::Forbidden(
                "a chat account is linked by its own person only: they make their code".to_owned(),
            ));
        }
        let platform = match ChatPlatform::parse(platform.trim()) {
            Some(ChatPlatform::Telegram) => ChatPlatform::Telegram,
            _ => {
                return Err(AppError::Invalid(
                    "'platform' must be telegram: Slack links accounts by their e-mail".to_owned(),
                ));
            }
        };
        let code = link_code(crate::people::random());
        let expires = self.now().saturating_add(LINK_CODE_VALID_FOR);
        self.store
            .add_link_code(platform, user.id, &hash_code(&code), expires)
            .await?;
        Ok((code, expires))
    }

    /// Links a chat account with a one-time code sent from it; returns whose it now is.
    pub async fn link_chat_by_code(
        &self,
        platform: ChatPlatform,
        chat_user: &str,
        code: &str,
    ) -> Result<User, AppError> {
        let now = self.now();
        let unknown = || {
            AppError::NotFound(
                "that code is unknown, used or expired: make a new one on your profile in onduty"
                    .to_owned(),
            )
        };
        let id = self
            .store
            .take_link_code(platform, &hash_code(code.trim()), now)
            .await?
            .ok_or_else(unknown)?;
        let user = self
            .store
            .user(id)
            .await
            .ok()
            .filter(|u| u.status.is_active())
            .ok_or_else(unknown)?;
        self.store
            .link_chat_user(platform, chat_user, user.id, now)
            .await?;
        self.chat_linked(&user, platform, chat_user, "one-time code")
            .await;
        Ok(user)
    }
}

impl App {
    /// Links a chat account to the person acting, from the signed link onduty sent that
    /// account when it was not linked (whoever opened it logged in as
    /// themselves, and confirmed). A link made earlier is replaced.
    pub async fn link_chat_account(
        &self,
        acting: &Acting,
        platform: ChatPlatform,
        chat_user: &str,
    ) -> Result<(), AppError> {
        self.recorded(
            acting,
            "chat.link",
            format!("{}: {chat_user}", platform.as_str()),
            async {
                if !acting.user.status.is_active() {
                    return Err(AppError::Forbidden(
                        "a disabled user cannot link a chat account".to_owned(),
                    ));
                }
                Ok(self
                    .store
                    .link_chat_user(platform, chat_user, acting.user.id, self.now())
                    .await?)
            },
            |_| Change::none(),
        )
        .await
    }
}

/// How long a code that links a chat account works.
pub const LINK_CODE_VALID_FOR: std::time::Duration = std::time::Duration::from_secs(15 * 60);
