//! The store's one error type.

use onduty_core::lifecycle::Refused;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    /// The request makes no sense for this data (a level the policy does not have).
    #[error("{0}")]
    Invalid(String),
    /// The lifecycle refused a command (an incident already resolved, a level its policy
    /// does not have); nothing changed.
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error("database configuration: {0}")]
    Config(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data could not be read: {0}")]
    Corrupt(String),
    #[error("another writer changed the incident at the same time")]
    VersionConflict,
    #[error("another writer changed the same incidents; gave up after retrying")]
    Contention,
    #[error("the ingest writer has stopped")]
    WriterStopped,
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    pub(crate) fn corrupt(what: impl std::fmt::Display) -> Self {
        StoreError::Corrupt(what.to_string())
    }

    /// True when applying the same change again may succeed: another writer won a race
    /// (a version check or a unique key), or SQLite was busy.
    pub(crate) fn is_retryable(&self) -> bool {
        match self {
            StoreError::VersionConflict => true,
            StoreError::Database(sqlx::Error::Database(e)) => {
                matches!(e.kind(), sqlx::error::ErrorKind::UniqueViolation)
                    // SQLITE_BUSY and its extended codes; PostgreSQL serialization failure.
                    || matches!(e.code().as_deref(), Some("5" | "517" | "261" | "40001" | "40P01"))
            }
            _ => false,
        }
    }

    /// True when the connection itself failed (it should not be used again).
    pub(crate) fn is_connection_lost(&self) -> bool {
        matches!(
            self,
            StoreError::Database(
                sqlx::Error::Io(_)
                    | sqlx::Error::Protocol(_)
                    | sqlx::Error::Tls(_)
                    | sqlx::Error::WorkerCrashed
            )
        )
    }

    /// True when the database itself (not one event or one request) is the problem: the
    /// pool cannot hand out a connection, a connection broke, or the writer is gone.
    /// Retrying events one by one would only wait longer.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable(_)
                | StoreError::WriterStopped
                | StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed)
        ) || self.is_connection_lost()
    }

    /// True for a unique-constraint violation (two writers raced for the same key).
    pub(crate) fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Database(sqlx::Error::Database(e)) => {
                matches!(e.kind(), sqlx::error::ErrorKind::UniqueViolation)
            }
            _ => false,
        }
    }
}
