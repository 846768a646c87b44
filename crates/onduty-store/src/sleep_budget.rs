//! On-call health: people over their weekly budget of sleep-hour pages, the incidents
//! that paged them, their teams' admins, and telling those admins once per person and week.

use onduty_core::{ContactMethodId, IncidentNumber, Timestamp, UserId};

use crate::sql::{Val, col, parse_col};
use crate::{Store, StoreError};

/// A person over the budget in one of their weeks, not yet told of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverBudget {
    pub user: UserId,
    /// The Monday of their week, in days since 1970-01-01.
    pub week: i64,
    /// The incidents that paged them in sleep hours that week: number and summary.
    pub incidents: Vec<(IncidentNumber, String)>,
}

/// A notice to queue: who is told, through which methods, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetNotice {
    pub about: UserId,
    pub week: i64,
    pub to: Vec<(UserId, Vec<ContactMethodId>)>,
    pub text: String,
}

impl Store {
    /// People with more than `budget` sleep-hour pages in a week starting on or after
    /// day `since` (days since 1970), not yet told of; at most 100.
    pub async fn over_sleep_budget(
        &self,
        since: i64,
        budget: u32,
    ) -> Result<Vec<OverBudget>, StoreError> {
        let rows = sqlx::query(
            "SELECT f.user_id, f.page_week, COUNT(*) AS n FROM responder_facts f \
             WHERE f.user_id IN (SELECT id FROM users) AND f.page_class = 'sleep' \
             AND f.page_week >= $1 \
             AND NOT EXISTS (SELECT 1 FROM sleep_budget_notices s \
                             WHERE s.user_id = f.user_id AND s.week = f.page_week) \
             GROUP BY f.user_id, f.page_week HAVING COUNT(*) > $2 LIMIT 100",
        )
        .bind(since)
        .bind(i64::from(budget))
        .fetch_all(&self.read)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let user: UserId = parse_col(r, "user_id", str::parse)?;
            let week: i64 = col(r, "page_week")?;
            let incidents = sqlx::query(
                "SELECT i.number, i.summary FROM responder_facts f \
                 JOIN incidents i ON i.id = f.incident_id \
                 WHERE f.user_id = $1 AND f.page_class = 'sleep' AND f.page_week = $2 \
                 ORDER BY f.paged_at",
            )
            .bind(user.to_string())
            .bind(week)
            .fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| Ok((IncidentNumber(col(r, "number")?), col(r, "summary")?)))
            .collect::<Result<_, StoreError>>()?;
            out.push(OverBudget {
                user,
                week,
                incidents,
            });
        }
        Ok(out)
    }

    /// The admins of the teams `user` is in; every admin if none of those teams has one.
    /// Active people only.
    pub async fn admins_for(&self, user: UserId) -> Result<Vec<UserId>, StoreError> {
        let of_teams = sqlx::query(
            "SELECT DISTINCT u.id FROM team_members mine \
             JOIN team_members theirs ON theirs.team_id = mine.team_id \
             JOIN users u ON u.id = theirs.user_id \
             WHERE mine.user_id = $1 AND u.role = 'admin' AND u.disabled_at IS NULL AND u.deleted_at IS NULL ORDER BY u.id",
        )
        .bind(user.to_string())
        .fetch_all(&self.read)
        .await?;
        let rows = if of_teams.is_empty() {
            sqlx::query(
                "SELECT id FROM users WHERE role = 'admin' AND disabled_at IS NULL AND deleted_at IS NULL ORDER BY id",
            )
            .fetch_all(&self.read)
            .await?
        } else {
            of_teams
        };
        rows.iter()
            .map(|r| parse_col(r, "id", str::parse))
            .collect()
    }

    /// Queues each notice through its people's methods and notes that it was told, in one
    /// transaction; one told already (by another engine) is not told again.
    pub async fn queue_budget_notices(
        &self,
        notices: &[BudgetNotice],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let notices = notices
            .iter()
            .map(|n| crate::notices::OnceNotice {
                mark: "INSERT INTO sleep_budget_notices (user_id, week, noticed_at) \
                       VALUES (?, ?, ?) ON CONFLICT (user_id, week) DO NOTHING",
                mark_values: vec![
                    Val::Text(n.about.to_string()),
                    Val::Int(n.week),
                    Val::Int(now.as_millis()),
                ],
                to: n.to.iter().map(|(u, m)| (*u, m.as_slice())).collect(),
                text: &n.text,
            })
            .collect();
        self.queue_notices_once(notices, now).await
    }
}
