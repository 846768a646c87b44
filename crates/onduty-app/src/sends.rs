//! The hourly limits on messages that are not pages (verification codes and tests): per
//! person, and for the whole server, counted in the database so that every instance sees
//! the same counts; and what admins see of them.

use std::time::Duration;

use onduty_core::UserId;
use onduty_core::account::User;
use onduty_core::contact::ContactMethod;
use onduty_core::rate_limit::{HourlyLimits, OverLimit};
use onduty_store::sends::SendKind;

use crate::{Acting, App, AppError};

const HOUR: Duration = Duration::from_secs(60 * 60);

/// Codes and tests sent in the last hour, against the limits.
#[derive(Debug, Clone, PartialEq)]
pub struct SendUsage {
    pub limits: HourlyLimits,
    pub total: u64,
    /// Everyone sent any, most first.
    pub by_person: Vec<(User, u64)>,
}

impl App {
    /// Whether one more code or test may go to `user` within the hourly limits.
    pub(crate) async fn send_allowed(&self, user: UserId) -> Result<(), AppError> {
        let counts = self
            .store
            .sends_since(self.now().saturating_sub(HOUR))
            .await?;
        let limits = self.message_limits;
        match limits.admit(counts.to(user), counts.total) {
            Ok(()) => Ok(()),
            Err(OverLimit::Person) => Err(AppError::TooManyRequests(format!(
                "this person was sent {} codes and test messages in the last hour, the most \
                 onduty sends; try again later",
                limits.per_person
            ))),
            Err(OverLimit::Server) => {
                tracing::warn!(
                    limit = limits.total,
                    "the hourly limit on codes and test messages was reached; admins can see who \
                     asked for them under People"
                );
                Err(AppError::TooManyRequests(format!(
                    "onduty has sent its {} codes and test messages for this hour; try again \
                     later (an admin can raise messages.per_hour)",
                    limits.total
                )))
            }
        }
    }

    /// Lets one more code or test go to `method`'s owner within the hourly limits, and
    /// counts it.
    pub(crate) async fn admit_send(
        &self,
        method: &ContactMethod,
        kind: SendKind,
    ) -> Result<(), AppError> {
        self.send_allowed(method.user_id).await?;
        Ok(self
            .store
            .record_send(method.user_id, method.id, kind, self.now())
            .await?)
    }

    /// Codes and tests sent in the last hour, per person (admins).
    pub async fn send_usage(&self, acting: &Acting) -> Result<SendUsage, AppError> {
        acting.require_admin()?;
        let counts = self
            .store
            .sends_since(self.now().saturating_sub(HOUR))
            .await?;
        let mut by_person = Vec::with_capacity(counts.by_person.len());
        for (user, sent) in counts.by_person {
            by_person.push((self.store.user(user).await?, sent));
        }
        Ok(SendUsage {
            limits: self.message_limits,
            total: counts.total,
            by_person,
        })
    }
}
