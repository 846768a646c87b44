//! What postmortem reminders are due about (postmortems with an owner, not yet published,
//! whose due dates are near or past; overdue action items), which were sent, and sending
//! them once each.

use onduty_core::postmortem::PostmortemStatus;
use onduty_core::postmortem::reminders::{Due, ReminderKind};
use onduty_core::{ActionItemId, ContactMethodId, PostmortemId, Timestamp, UserId};

use crate::sql::{Val, col, opt_id, parse_col};
use crate::{Store, StoreError};

/// A postmortem an owner may be reminded of, with the reminders sent about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemindablePostmortem {
    pub id: PostmortemId,
    pub title: String,
    pub owner: UserId,
    pub due: Due,
    pub sent: Vec<ReminderKind>,
}

/// An action item past its due date, not done, its owner not reminded yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverdueItem {
    pub id: ActionItemId,
    pub text: String,
    pub owner: UserId,
    pub due: Timestamp,
    pub postmortem: PostmortemId,
    pub postmortem_title: String,
}

/// A reminder to queue: what about, which, to whom through which methods, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostmortemReminder {
    pub subject: String,
    pub kind: ReminderKind,
    pub user: UserId,
    pub methods: Vec<ContactMethodId>,
    pub text: String,
}

impl Store {
    /// Postmortems with an owner, not published, with a due date before `horizon` and a
    /// reminder still to come.
    pub async fn remindable_postmortems(
        &self,
        horizon: Timestamp,
    ) -> Result<Vec<RemindablePostmortem>, StoreError> {
        // Once the final version's late reminder went, nothing more is due about it.
        const WHICH: &str = "FROM postmortems p WHERE p.owner_id IS NOT NULL \
             AND p.status <> 'published' AND (p.provisional_due <= $1 OR p.final_due <= $1) \
             AND NOT EXISTS (SELECT 1 FROM postmortem_reminders r \
                             WHERE r.subject_id = p.id AND r.kind = 'final_late')";
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT p.id, p.title, p.status, p.owner_id, p.provisional_due, p.final_due {WHICH} \
             ORDER BY p.provisional_due LIMIT 500"
        )))
        .bind(horizon.as_millis())
        .fetch_all(&self.read)
        .await?;
        let sent_rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT r.subject_id, r.kind FROM postmortem_reminders r \
             WHERE r.subject_id IN (SELECT p.id {WHICH})"
        )))
        .bind(horizon.as_millis())
        .fetch_all(&self.read)
        .await?;
        let mut sent: std::collections::HashMap<String, Vec<ReminderKind>> = Default::default();
        for r in &sent_rows {
            let kind: String = col(r, "kind")?;
            if let Some(kind) = ReminderKind::parse(&kind) {
                sent.entry(col(r, "subject_id")?).or_default().push(kind);
            }
        }
        rows.iter()
            .map(|r| {
                let id: String = col(r, "id")?;
                let sent = sent.get(&id).cloned().unwrap_or_default();
                Ok(RemindablePostmortem {
                    id: parse_col(r, "id", str::parse)?,
                    title: col(r, "title")?,
                    owner: opt_id(r, "owner_id")?.ok_or_else(|| StoreError::corrupt("owner_id"))?,
                    due: Due {
                        status: parse_col(r, "status", PostmortemStatus::parse)?,
                        provisional: Timestamp::from_millis(col(r, "provisional_due")?),
                        final_due: Timestamp::from_millis(col(r, "final_due")?),
                    },
                    sent,
                })
            })
            .collect()
    }

    /// Action items due by `now`, not done, with an owner not reminded of them yet.
    pub async fn overdue_action_items(
        &self,
        now: Timestamp,
    ) -> Result<Vec<OverdueItem>, StoreError> {
        let rows = sqlx::query(
            "SELECT a.id, a.text, a.owner_id, a.due_at, p.id AS postmortem_id, p.title \
             FROM postmortem_actions a JOIN postmortems p ON p.id = a.postmortem_id \
             WHERE a.done_at IS NULL AND a.owner_id IS NOT NULL AND a.due_at <= $1 \
             AND NOT EXISTS (SELECT 1 FROM postmortem_reminders r \
                             WHERE r.subject_id = a.id AND r.kind = 'item_late') \
             ORDER BY a.due_at LIMIT 500",
        )
        .bind(now.as_millis())
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OverdueItem {
                    id: parse_col(r, "id", str::parse)?,
                    text: col(r, "text")?,
                    owner: opt_id(r, "owner_id")?.ok_or_else(|| StoreError::corrupt("owner_id"))?,
                    due: Timestamp::from_millis(col(r, "due_at")?),
                    postmortem: parse_col(r, "postmortem_id", str::parse)?,
                    postmortem_title: col(r, "title")?,
                })
            })
            .collect()
    }

    /// Queues each reminder through its owner's methods and notes it, in one transaction;
    /// one sent already (by another engine) is not sent again.
    pub async fn queue_postmortem_reminders(
        &self,
        reminders: &[PostmortemReminder],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let notices = reminders
            .iter()
            .map(|r| crate::notices::OnceNotice {
                mark: "INSERT INTO postmortem_reminders (subject_id, kind, sent_at) \
                       VALUES (?, ?, ?) ON CONFLICT (subject_id, kind) DO NOTHING",
                mark_values: vec![
                    Val::Text(r.subject.clone()),
                    Val::Text(r.kind.as_str().to_owned()),
                    Val::Int(now.as_millis()),
                ],
                to: vec![(r.user, r.methods.as_slice())],
                text: &r.text,
            })
            .collect();
        self.queue_notices_once(notices, now).await
    }
}
