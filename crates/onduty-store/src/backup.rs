//! Backups of the embedded SQLite database: a consistent copy taken while onduty runs
//! (`VACUUM INTO`, which reads one snapshot while writers go on, and writes a compact
//! file), the check that a file is an onduty database, and the checkpoint that lets a
//! stopped database be moved aside. PostgreSQL is backed up with its own tools.

use std::path::Path;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Row};

use crate::{Backend, Store, StoreError};

/// What a backup file holds, read back from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupSummary {
    /// The newest migration the file's schema has.
    pub schema_version: i64,
    pub incidents: i64,
    pub users: i64,
}

impl Store {
    /// Writes a consistent copy of this SQLite database to `to`, which must not exist.
    /// Writers are not held up: the copy is of the moment it began.
    pub async fn backup_into(&self, to: &Path) -> Result<(), StoreError> {
        if self.backend() != Backend::Sqlite {
            return Err(StoreError::Config(
                "onduty backup copies the embedded SQLite database; back PostgreSQL up with \
                 pg_dump"
                    .to_owned(),
            ));
        }
        let target = to
            .to_str()
            .ok_or_else(|| StoreError::Invalid("the backup's path is not UTF-8".to_owned()))?;
        // The read connections may not write, not even another file: the write lane
        // takes it (`onduty backup` runs in a process of its own, so it holds up nothing).
        // Made first, readable by its owner only (it holds secrets); VACUUM INTO fills
        // an empty file.
        create_private(to)?;
        sqlx::query("VACUUM INTO $1")
            .bind(target.to_owned())
            .execute(&mut *self.write_conn().await?)
            .await?;
        Ok(())
    }

    /// Writes what the write-ahead log holds into the database file and empties the log,
    /// so that the file alone is the whole database. Fails if another process is reading
    /// or writing it at that moment (an idle one is not noticed: `onduty restore` also
    /// takes the data directory's lock, which `onduty serve` holds).
    pub async fn checkpoint_all(&self) -> Result<(), StoreError> {
        let row = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .fetch_one(&mut *self.write_conn().await?)
            .await?;
        let busy: i64 = row.try_get(0).map_err(StoreError::Database)?;
        if busy != 0 {
            return Err(StoreError::Conflict(
                "the database is in use by another process (is onduty running?)".to_owned(),
            ));
        }
        Ok(())
    }
}

/// Opens `file` read-only and checks that it is a whole onduty database: SQLite's
/// integrity check passes and onduty's tables are there.
pub async fn inspect(file: &Path) -> Result<BackupSummary, StoreError> {
    let shown = file.display();
    if !file.is_file() {
        return Err(StoreError::NotFound(format!("the backup {shown}")));
    }
    let not_ours = |e: sqlx::Error| {
        StoreError::Invalid(format!("{shown} is not an onduty database backup ({e})"))
    };
    // The path as it is (a URL would have to escape `?`, `#` and `%`).
    let options = SqliteConnectOptions::new().filename(file).read_only(true);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(not_ours)?;
    let verdict: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .map_err(not_ours)?;
    if verdict != "ok" {
        return Err(StoreError::Corrupt(format!(
            "{shown} fails SQLite's integrity check: {verdict}"
        )));
    }
    let row = sqlx::query(
        "SELECT (SELECT MAX(version) FROM _sqlx_migrations) AS schema_version, \
           (SELECT COUNT(*) FROM incidents) AS incidents, \
           (SELECT COUNT(*) FROM users) AS users",
    )
    .fetch_one(&mut conn)
    .await
    .map_err(not_ours)?;
    let summary = BackupSummary {
        schema_version: row
            .try_get::<Option<i64>, _>("schema_version")
            .map_err(not_ours)?
            .unwrap_or(0),
        incidents: row.try_get("incidents").map_err(not_ours)?,
        users: row.try_get("users").map_err(not_ours)?,
    };
    conn.close().await.ok();
    Ok(summary)
}

/// Creates `path` empty, readable and writable by its owner only; fails if it exists.
fn create_private(path: &Path) -> Result<(), StoreError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .map(drop)
        .map_err(|e| StoreError::Invalid(format!("cannot create {}: {e}", path.display())))
}
