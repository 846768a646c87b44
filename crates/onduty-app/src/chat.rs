//! Chat: channels that get every incident of a service or team (admins choose them), and
//! who a chat account belongs to. A person's chat account is linked to their onduty user
//! once, by the e-mail address the chat platform has verified for it; acting from chat
//! (a button, a command) is then acting as that person, through `App::act` like every
//! other door.

use onduty_core::ChatChannelId;
use onduty_core::account::{Email, User};
use onduty_core::chat::{ChatChannel, ChatPlatform, ChatScope, parse_channel};

use crate::{Acting, App, AppError};

/// A channel as a door received it.
#[derive(Debug, Clone)]
pub struct ChatChannelInput {
    /// `slack`.
    pub platform: String,
    /// The platform's id of the channel (Slack: `C0123ABCD`).
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
        let platform = ChatPlatform::parse(input.platform.trim()).ok_or_else(|| {
            AppError::Invalid(format!(
                "'platform' must be slack, not '{}'",
                input.platform.chars().take(40).collect::<String>()
            ))
        })?;
        let channel = parse_channel(platform, &input.channel)
            .map_err(|e| AppError::Invalid(format!("'channel': {e}")))?;
        let existing = self.store.chat_channels(scope).await?;
        if let Some(same) = existing
            .into_iter()
            .find(|c| c.platform == platform && c.channel == channel)
        {
            if same.failing.is_none() {
                return Err(AppError::Conflict(format!(
                    "{} channel {channel} already gets these incidents",
                    platform.label()
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
    }

    /// Stops posting to a chat channel (admins); what it has stays.
    pub async fn remove_chat_channel(&self, acting: &Acting, id: &str) -> Result<(), AppError> {
        acting.require_admin()?;
        let id: ChatChannelId = id
            .parse()
            .map_err(|_| AppError::NotFound(format!("no chat channel '{id}'")))?;
        self.store.chat_channel(id).await?;
        Ok(self.store.delete_chat_channel(id).await?)
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
        Ok(Some(user))
    }
}
