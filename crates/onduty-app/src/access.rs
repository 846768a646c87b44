//! Taking access away: API tokens listed and revoked, people disabled, enabled or
//! deleted, integrations deleted and their keys rotated. Each takes effect at once: the
//! store refuses a revoked token, a disabled person's sessions and a rotated key from the
//! next request on.

use onduty_core::account::{AccountStatus, ApiToken, Role, User};
use onduty_core::audit::Change;
use onduty_core::service::{Integration, IntegrationKind};
use onduty_core::{IntegrationId, TokenId};

use crate::{Acting, App, AppError, new_routing_key};

impl App {
    /// The person whose tokens `acting` manages: themselves, or anyone for admins.
    async fn token_owner(&self, acting: &Acting, who: &str) -> Result<User, AppError> {
        let user = self.find_user(who).await?;
        if user.id != acting.user.id {
            acting.require_admin()?;
        }
        Ok(user)
    }

    /// A person's API tokens (your own; admins anyone's).
    pub async fn tokens(&self, acting: &Acting, who: &str) -> Result<Vec<ApiToken>, AppError> {
        let user = self.token_owner(acting, who).await?;
        Ok(self.store.tokens(user.id).await?)
    }

    /// Revokes one of a person's tokens (your own; admins anyone's).
    pub async fn revoke_token(
        &self,
        acting: &Acting,
        who: &str,
        token: &str,
    ) -> Result<(), AppError> {
        let user = self.token_owner(acting, who).await?;
        self.recorded(
            acting,
            "token.revoke",
            format!("{who}: {token}"),
            async {
                let id: TokenId = token
                    .parse()
                    .map_err(|_| AppError::NotFound(format!("no token '{token}'")))?;
                Ok(self.store.delete_token(user.id, id).await?)
            },
            |_| Change::none(),
        )
        .await
    }

    /// Refuses to take the last active administrator away.
    async fn keep_an_admin(&self, leaving: &User) -> Result<(), AppError> {
        if leaving.role != Role::Admin || !leaving.status.is_active() {
            return Ok(());
        }
        let users = self.store.list_users().await?;
        let admins = users
            .iter()
            .filter(|u| u.role == Role::Admin && u.status.is_active())
            .count();
        if admins <= 1 {
            return Err(AppError::Conflict(
                "this is the last active administrator; make someone else an administrator first"
                    .to_owned(),
            ));
        }
        Ok(())
    }

    /// Disables a person (admins): their sessions and tokens end at once, they cannot log
    /// in, and they are not paged.
    pub async fn disable_user(&self, acting: &Acting, who: &str) -> Result<User, AppError> {
        acting.require_admin()?;
        self.configuring(acting, "user.disable", who, async {
            let user = self.find_user(who).await?;
            if user.status == AccountStatus::Deleted {
                return Err(AppError::NotFound(format!("no user '{who}'")));
            }
            self.keep_an_admin(&user).await?;
            let user = self
                .store
                .set_user_disabled(user.id, true, self.now())
                .await?;
            tracing::info!(user = %user.id, by = %acting.user.id, "a person was disabled");
            Ok(user)
        })
        .await
    }

    /// Lets a disabled person in again (admins); they need a new token or log-in.
    pub async fn enable_user(&self, acting: &Acting, who: &str) -> Result<User, AppError> {
        acting.require_admin()?;
        self.configuring(acting, "user.enable", who, async {
            let user = self.find_user(who).await?;
            if user.status == AccountStatus::Deleted {
                return Err(AppError::NotFound(format!("no user '{who}'")));
            }
            Ok(self
                .store
                .set_user_disabled(user.id, false, self.now())
                .await?)
        })
        .await
    }

    /// Deletes a person (admins): as disabled, for good, and out of lists, teams and
    /// contact methods. Incidents' histories keep their name.
    pub async fn delete_user(&self, acting: &Acting, who: &str) -> Result<(), AppError> {
        acting.require_admin()?;
        self.configuring(acting, "user.delete", who, async {
            let user = self.find_user(who).await?;
            if user.status == AccountStatus::Deleted {
                return Err(AppError::NotFound(format!("no user '{who}'")));
            }
            self.keep_an_admin(&user).await?;
            self.store.delete_user(user.id, self.now()).await?;
            tracing::info!(user = %user.id, by = %acting.user.id, "a person was deleted");
            Ok(())
        })
        .await
    }

    fn integration_id(text: &str) -> Result<IntegrationId, AppError> {
        text.parse()
            .map_err(|_| AppError::NotFound(format!("no integration '{text}'")))
    }

    /// Deletes an integration (admins): its key is refused from now on. A heartbeat's
    /// integration belongs to its heartbeat and is not deleted on its own.
    pub async fn delete_integration(&self, acting: &Acting, id: &str) -> Result<(), AppError> {
        acting.require_admin()?;
        self.configuring(acting, "integration.delete", id, async {
            let integration = self.store.integration(Self::integration_id(id)?).await?;
            if integration.kind == IntegrationKind::Heartbeat {
                return Err(AppError::Invalid(
                    "this is a heartbeat's integration; it belongs to the heartbeat".to_owned(),
                ));
            }
            self.store.delete_integration(integration.id).await?;
            tracing::info!(integration = %integration.id, by = %acting.user.id, "an integration was deleted");
            Ok(())
        })
        .await
    }

    /// Gives an integration a new key (admins): the old key is refused from now on, so
    /// every sender must be given the new one.
    pub async fn rotate_key(&self, acting: &Acting, id: &str) -> Result<Integration, AppError> {
        acting.require_admin()?;
        self.recorded(
            acting,
            "integration.rotate_key",
            id,
            async {
                let integration = self.store.integration(Self::integration_id(id)?).await?;
                let rotated = self
                    .store
                    .set_routing_key(integration.id, &new_routing_key())
                    .await?;
                tracing::info!(integration = %integration.id, by = %acting.user.id, "an integration's key was rotated");
                Ok(rotated)
            },
            |_| Change::none(),
        )
        .await
    }
}
