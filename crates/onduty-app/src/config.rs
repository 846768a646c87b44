//! Configuration as code (admins): the server's configuration as one document
//! (`onduty export`), and applying a document (`onduty apply`): the plan that would make
//! the server so, carried out in one transaction. References are by name, people by
//! e-mail; no passwords or tokens, and integration keys only when asked for.

mod apply;
mod current;

use onduty_core::config_doc::{self, ConfigDoc, DocError, Known, Plan};

use crate::{Acting, App, AppError};
use current::Current;

/// A document refused: every problem, each with its line and field.
fn refused(errors: Vec<DocError>) -> AppError {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    AppError::Invalid(lines.join("\n"))
}

impl App {
    /// The configuration now, without secrets: what the audit log compares.
    pub(crate) async fn config_now(&self) -> Result<ConfigDoc, AppError> {
        Ok(Current::load(&self.store, self.now()).await?.doc(false))
    }

    /// Everything configured, as one document (admins).
    pub async fn export_config(
        &self,
        acting: &Acting,
        with_secrets: bool,
    ) -> Result<ConfigDoc, AppError> {
        acting.require_admin()?;
        Ok(Current::load(&self.store, self.now())
            .await?
            .doc(with_secrets))
    }

    /// What applying `text` would change (admins): checked first, every problem named
    /// with its line and field. With `prune`, what the document does not name is deleted.
    pub async fn plan_config(
        &self,
        acting: &Acting,
        text: &str,
        prune: bool,
    ) -> Result<Plan, AppError> {
        self.apply_config(acting, text, prune, true).await
    }

    /// Makes the configuration what `text` says (admins), in one transaction: all of the
    /// plan, or (with every problem named) nothing. Applying the same document again
    /// changes nothing. With `dry_run`, only the plan.
    pub async fn apply_config(
        &self,
        acting: &Acting,
        text: &str,
        prune: bool,
        dry_run: bool,
    ) -> Result<Plan, AppError> {
        acting.require_admin()?;
        let now = self.now();
        let current = Current::load(&self.store, now).await?;
        let current_doc = current.doc(true);
        let known = if prune {
            Known::default()
        } else {
            Known::of(&current_doc)
        };
        let desired = config_doc::read(text, &known).map_err(refused)?;
        // The writes work to the same settled document as the plan (`doc` is normalized).
        let settled = config_doc::settle(&current_doc, &desired, prune, now);
        let plan = config_doc::plan_settled(&current_doc, &settled, prune);
        let outbound = &self.providers.outbound;
        let url_ok = |text: &str| -> Result<(), String> {
            let url = url::Url::parse(text).map_err(|e| e.to_string())?;
            outbound.check_url(&url).map_err(|e| e.to_string())
        };
        let writes = apply::writes(
            &current,
            &settled.doc,
            &plan.changes,
            acting.user.id,
            &url_ok,
            now,
        )
        .map_err(|problems| AppError::Invalid(problems.join("\n")))?;
        if !dry_run && !writes.is_empty() {
            let before = current.doc(false);
            self.store.apply_config(&writes, now).await?;
            let change = match self.config_now().await {
                Ok(after) => onduty_core::audit::doc_change(&before, &after),
                Err(_) => onduty_core::audit::Change::none(),
            };
            let target = if prune {
                "a document, pruning"
            } else {
                "a document"
            };
            self.record(acting, "config.apply", target, change).await;
            // New heartbeats' deadlines, status pages, schedules: the engine and the
            // pages learn of them.
            self.wake_engine();
            self.status_changed();
        }
        Ok(plan)
    }
}
