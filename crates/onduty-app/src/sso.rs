//! Signing in through the identity provider (single sign-on): the provider vouched for an
//! [`Identity`]; `onduty_core::sso::decide` says whom that is in onduty, and this carries
//! it out: the person's role following their groups, an account made when the policy
//! says so, and the sign-in written to the audit log.

use std::net::IpAddr;

use onduty_core::account::{Role, TimeZoneName, User};
use onduty_core::audit::Change;
use onduty_core::lifecycle::Via;
use onduty_core::sso::{self, Identity, SsoDecision, SsoPolicy};
use onduty_store::users::{NewUser, UserPatch};

use crate::{Acting, App, AppError};

impl App {
    /// The person `identity` is in onduty, signed in through the web UI from `address`;
    /// refused (with why) when they may not come in.
    pub async fn sign_in_with_sso(
        &self,
        identity: &Identity,
        policy: &SsoPolicy,
        address: Option<IpAddr>,
    ) -> Result<User, AppError> {
        let found = self.store.user_by_email(&identity.email).await?;
        let user = match sso::decide(identity, found.as_ref(), policy) {
            SsoDecision::Refuse(why) => {
                tracing::info!(email = %identity.email, reason = %why, "a single sign-on was refused");
                return Err(AppError::Forbidden(why.to_string()));
            }
            SsoDecision::LogIn { user, role: None } => user,
            SsoDecision::LogIn {
                user,
                role: Some(role),
            } => self.follow_groups(user, role, address).await?,
            SsoDecision::Create { email, name, role } => {
                let made = self
                    .store
                    .create_user_with_password(
                        NewUser {
                            email,
                            name,
                            role,
                            time_zone: TimeZoneName::utc(),
                        },
                        None,
                        self.now(),
                    )
                    .await?;
                let acting = Acting::new(made.clone(), Via::WebUi).from_address(address);
                let after = serde_json::json!({"email": made.email, "name": made.name, "role": made.role.as_str()});
                self.record(
                    &acting,
                    "user.create_by_sso",
                    made.email.to_string(),
                    Change::of(None::<()>, Some(after)),
                )
                .await;
                made
            }
        };
        let acting = Acting::new(user.clone(), Via::WebUi).from_address(address);
        self.record(
            &acting,
            "session.log_in",
            user.email.to_string(),
            Change::of(None::<()>, Some(serde_json::json!({"method": "sso"}))),
        )
        .await;
        Ok(user)
    }

    /// Gives `user` the role their groups give, unless that would leave no active
    /// administrator (then they stay one, and the log says why).
    async fn follow_groups(
        &self,
        user: User,
        role: Role,
        address: Option<IpAddr>,
    ) -> Result<User, AppError> {
        if user.role == Role::Admin && role != Role::Admin {
            let admins = self
                .store
                .list_users()
                .await?
                .iter()
                .filter(|u| u.role == Role::Admin && u.status.is_active())
                .count();
            if admins <= 1 {
                tracing::warn!(
                    email = %user.email,
                    "single sign-on: the groups give the last administrator another role; they stay an administrator"
                );
                return Ok(user);
            }
        }
        let before = user.role;
        let changed = self
            .store
            .update_user(
                user.id,
                UserPatch {
                    email: None,
                    name: None,
                    role: Some(role),
                    time_zone: None,
                },
            )
            .await?;
        let acting = Acting::new(changed.clone(), Via::WebUi).from_address(address);
        let change = Change::of(
            Some(serde_json::json!({"role": before.as_str()})),
            Some(serde_json::json!({"role": changed.role.as_str()})),
        );
        self.record(
            &acting,
            "user.role_from_groups",
            changed.email.to_string(),
            change,
        )
        .await;
        Ok(changed)
    }

    /// What a person did with their own session, password or phone number, written to the
    /// audit log.
    pub async fn own_account(&self, user: &User, address: Option<IpAddr>, what: OwnAccount) {
        let via = match what {
            OwnAccount::SmsStopped | OwnAccount::SmsStarted => Via::Sms,
            _ => Via::WebUi,
        };
        let acting = Acting::new(user.clone(), via).from_address(address);
        let (action, change) = match what {
            OwnAccount::PasswordLogIn => (
                "session.log_in",
                Change::of(None::<()>, Some(serde_json::json!({"method": "password"}))),
            ),
            OwnAccount::LogOut => ("session.log_out", Change::none()),
            OwnAccount::PasswordChanged => ("user.change_password", Change::none()),
            OwnAccount::SmsStopped => (
                "contact_method.sms_stop",
                Change::of(
                    Some(serde_json::json!({"paged": true})),
                    Some(serde_json::json!({"paged": false})),
                ),
            ),
            OwnAccount::SmsStarted => (
                "contact_method.sms_start",
                Change::of(
                    Some(serde_json::json!({"paged": false})),
                    Some(serde_json::json!({"paged": true})),
                ),
            ),
        };
        self.record(&acting, action, user.email.to_string(), change)
            .await;
    }
}

/// What a person did with their own account that the audit log keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnAccount {
    PasswordLogIn,
    LogOut,
    PasswordChanged,
    /// `STOP` answered to a page by SMS: the number is paged no more.
    SmsStopped,
    /// `START`: paged again.
    SmsStarted,
}
