//! Notices that go once: a reminder or a warning is queued for people only if its mark
//! (a statement noting that it went) changes a row, in the same transaction, so another
//! engine that planned the same notice sends nothing.

use onduty_core::{ContactMethodId, Timestamp, UserId};

use crate::effects::{message_row, outbox_writes};
use crate::sql::{Val, bind, execute_writes, numbered};
use crate::{Store, StoreError, begin};

/// One notice: its mark (SQL with `?` placeholders, and their values), who is told through
/// which methods, and what.
pub(crate) struct OnceNotice<'a> {
    pub mark: &'a str,
    pub mark_values: Vec<Val>,
    pub to: Vec<(UserId, &'a [ContactMethodId])>,
    pub text: &'a str,
}

impl Store {
    /// Marks each notice and queues those whose mark changed a row, in one transaction.
    pub(crate) async fn queue_notices_once(
        &self,
        notices: Vec<OnceNotice<'_>>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if notices.is_empty() {
            return Ok(());
        }
        let d = self.backend;
        let mut conn = self.write_conn().await?;
        let mut tx = begin(&mut conn, d).await?;
        let mut rows = Vec::new();
        for n in notices {
            let mut mark = sqlx::query(sqlx::AssertSqlSafe(numbered(d, n.mark)));
            for v in n.mark_values {
                mark = bind(mark, v);
            }
            if mark.execute(&mut *tx).await?.rows_affected() == 1 {
                for (user, methods) in n.to {
                    rows.extend(
                        methods
                            .iter()
                            .map(|m| message_row(None, user, *m, Some(n.text.to_owned()), now)),
                    );
                }
            }
        }
        execute_writes(&mut tx, d, outbox_writes(d, rows)).await?;
        tx.commit().await?;
        Ok(())
    }
}
