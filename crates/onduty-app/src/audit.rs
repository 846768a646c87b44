//! The audit log (admins read it): every use case that changes something writes an entry
//! after the change, naming who, when, through which door and from which address, what
//! and to what, and before → after.
//!
//! Configuration changes are wrapped in [`App::configuring`], which compares the
//! configuration document (as `onduty export` gives it, without secrets) before and after;
//! other actions record the fields they moved with [`App::record`]. The entry is written
//! once the change is committed: a change that fails records nothing, and an entry that
//! cannot be written is logged as an error without undoing the change it describes.

use std::future::Future;

use onduty_core::UserId;
use onduty_core::audit::{self, AuditEntry, AuditRecord, Change, MAX_PAGE};
use onduty_store::audit::AuditQuery;

use crate::{Acting, App, AppError};

/// A page of the audit log, newest first, and the cursor of the page after it.
#[derive(Debug, Clone)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` for older entries; `None` when there are none.
    pub next: Option<i64>,
}

impl App {
    /// A page of the audit log (admins): newest first, older than `before`, by one person
    /// (id or e-mail) or of one kind of action (`service`, `incident.acknowledge`).
    pub async fn audit_log(
        &self,
        acting: &Acting,
        before: Option<i64>,
        who: Option<&str>,
        action: Option<&str>,
        limit: u32,
    ) -> Result<AuditPage, AppError> {
        acting.require_admin()?;
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(AppError::Invalid(format!(
                "limit must be between 1 and {MAX_PAGE}, not {limit}"
            )));
        }
        let user: Option<UserId> = match who.map(str::trim).filter(|w| !w.is_empty()) {
            Some(who) => Some(self.audited_user(who).await?),
            None => None,
        };
        let action = action
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(parse_action)
            .transpose()?;
        let entries = self
            .store
            .audit_log(&AuditQuery {
                before,
                user,
                action,
                // One more than asked, to know whether a next page exists.
                limit: limit + 1,
            })
            .await?;
        let mut entries = entries;
        let next = if entries.len() > limit as usize {
            entries.truncate(limit as usize);
            entries.last().map(|e| e.id)
        } else {
            None
        };
        Ok(AuditPage { entries, next })
    }

    /// The person an audit query names: by id even once deleted, else by e-mail.
    async fn audited_user(&self, who: &str) -> Result<UserId, AppError> {
        if let Ok(id) = who.parse::<UserId>() {
            return Ok(id);
        }
        Ok(self.find_user(who).await?.id)
    }

    /// Writes an audit entry for what `acting` just did.
    pub(crate) async fn record(
        &self,
        acting: &Acting,
        action: &str,
        target: impl Into<String>,
        change: Change,
    ) {
        let record = AuditRecord {
            at: self.now(),
            user: acting.user.id,
            who: acting.user.email.to_string(),
            door: audit::door(acting.via).to_owned(),
            token: acting.token.clone(),
            address: acting.address,
            action: action.to_owned(),
            target: target.into(),
            change,
        };
        if let Err(e) = self.store.append_audit(&record).await {
            tracing::error!(
                error = %e,
                action,
                who = %record.who,
                "could not write the audit log entry of a change that was made"
            );
        }
    }

    /// Runs a configuration change and records it with the configuration as it was
    /// before and is after (only the items that differ). Check the role before calling:
    /// reading the configuration twice is for changes that are allowed, by admins or
    /// responders (a person's own contact methods are recorded with `recorded`, so that
    /// anyone signed in cannot make onduty read everything).
    pub(crate) async fn configuring<T>(
        &self,
        acting: &Acting,
        action: &str,
        target: impl Into<String>,
        change: impl Future<Output = Result<T, AppError>>,
    ) -> Result<T, AppError> {
        // A configuration that cannot be read holds up no change: its entry says less.
        let before = self.config_now().await;
        let done = change.await?;
        let change = match (before, self.config_now().await) {
            (Ok(before), Ok(after)) => audit::doc_change(&before, &after),
            (Err(e), _) | (_, Err(e)) => {
                tracing::error!(error = %e, action, "could not read the configuration around a change");
                Change::none()
            }
        };
        self.record(acting, action, target, change).await;
        Ok(done)
    }
}

impl App {
    /// Runs an action that is not configuration and records it with what `describe`
    /// takes from its result. Check the role before calling.
    pub(crate) async fn recorded<T>(
        &self,
        acting: &Acting,
        action: &str,
        target: impl Into<String>,
        change: impl Future<Output = Result<T, AppError>>,
        describe: impl FnOnce(&T) -> Change,
    ) -> Result<T, AppError> {
        let done = change.await?;
        self.record(acting, action, target, describe(&done)).await;
        Ok(done)
    }
}

/// An action filter: words of letters and underscores joined by dots.
fn parse_action(text: &str) -> Result<String, AppError> {
    let ok = text.len() <= 64
        && text
            .split('.')
            .all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
    if ok {
        Ok(text.to_owned())
    } else {
        Err(AppError::Invalid(format!(
            "action must be like service or incident.acknowledge, not {:?}",
            text.chars().take(64).collect::<String>()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_filters_are_dotted_words() {
        for (text, ok) in [
            ("service", true),
            ("incident.acknowledge", true),
            ("status_page.update", true),
            ("", false),
            ("service.", false),
            ("a%", false),
            ("Service", false),
            ("x'; --", false),
        ] {
            assert_eq!(parse_action(text).is_ok(), ok, "{text:?}");
        }
    }
}
