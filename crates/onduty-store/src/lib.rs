//! onduty's storage: the only crate that speaks SQL.
//!
//! One [`Store`] over SQLite or PostgreSQL through sqlx's `Any` driver, chosen by URL.
//! Queries are written once in the SQL both accept (`$N` placeholders, `RETURNING`,
//! `ON CONFLICT`); only the migrations differ per dialect. The database never computes
//! time: every `now` is a bound parameter.

pub mod audit;
pub mod backup;
pub mod chat;
pub mod commands;
pub mod config_writes;
pub mod contacts;
pub mod direct_posts;
mod effects;
mod error;
pub mod facts;
pub mod heartbeats;
pub mod inbound;
pub mod incidents;
pub mod ingest;
pub mod maintenance;
pub mod metrics;
mod notices;
pub mod paging;
pub mod policies;
pub mod postmortem_reminders;
pub mod postmortems;
pub mod pushes;
pub mod reports;
pub mod requests;
pub mod retention;
mod rows;
pub mod runbooks;
pub mod schedules;
pub mod seen;
pub mod sends;
pub mod services;
pub mod sessions;
pub mod settings;
pub mod sleep_budget;
mod sql;
pub mod status_clock;
pub mod status_components;
pub mod status_drafts;
pub mod status_links;
pub mod status_pages;
pub mod status_subscribers;
pub mod status_templates;
pub mod teams;
pub mod upkeep;
pub mod users;
mod wake;
pub mod writer;

use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Connection, Executor, Row, Transaction};
use tokio::sync::{Mutex, MutexGuard};

pub use error::StoreError;
pub use wake::Wake;

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn of_url(url: &str) -> Result<Backend, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Backend::Postgres)
        } else {
            Err(StoreError::Config(
                "the database URL must start with sqlite: or postgres:".to_owned(),
            ))
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// How SQLite flushes commits. `Full` (the default) survives power loss; `Normal` in WAL
/// mode can lose the last commits on power loss (not on a process crash).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SqliteSync {
    #[default]
    Full,
    Normal,
}

#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub sqlite_sync: SqliteSync,
    /// Connections for readers (API requests). Writers use one connection on SQLite.
    pub max_connections: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            sqlite_sync: SqliteSync::Full,
            max_connections: 8,
        }
    }
}

/// The database. Cheap to clone (pools and the lane are shared).
#[derive(Clone, Debug)]
pub struct Store {
    /// Reads. On PostgreSQL this is the same pool as `write`.
    read: AnyPool,
    /// Where write connections come from. On SQLite it holds a single connection, which
    /// the lane keeps.
    write: AnyPool,
    /// SQLite only: a connection for checkpoints, off the writers' path.
    maintenance: Option<AnyPool>,
    /// One write connection kept open and taken in turn (fairly, first come first
    /// served): the ingest writer's, and on SQLite every writer's, so that writers queue
    /// here instead of fighting over SQLite's lock, and no transaction pays for handing
    /// a connection back to the pool.
    lane: Arc<Mutex<Option<PoolConnection<Any>>>>,
    /// Schedules as last read, by id, with the revision they were read at: listing them
    /// reads only ids and revisions, and parses again only what changed.
    schedules: schedules::Cache,
    backend: Backend,
    /// PostgreSQL only: the URL, for the connection that listens for wakes (`wake.rs`).
    listen_url: Option<wake::ListenUrl>,
}

/// A write connection: the lane's (held until dropped) or one from the pool.
pub(crate) enum WriteConn<'a> {
    Lane(MutexGuard<'a, Option<PoolConnection<Any>>>),
    Pool(PoolConnection<Any>),
}

impl WriteConn<'_> {
    /// After an error that may have broken the connection, drop it so the next writer
    /// starts from a fresh one.
    pub(crate) fn discard_if_broken(&mut self, error: &StoreError) {
        let broken = error.is_connection_lost() || matches!(error, StoreError::Unavailable(_));
        if let (WriteConn::Lane(guard), true) = (self, broken) {
            guard.take();
        }
    }
}

impl Deref for WriteConn<'_> {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            WriteConn::Lane(guard) => guard
                .as_ref()
                .expect("the lane holds a connection while locked"),
            WriteConn::Pool(conn) => conn,
        }
    }
}

impl DerefMut for WriteConn<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            WriteConn::Lane(guard) => guard
                .as_mut()
                .expect("the lane holds a connection while locked"),
            WriteConn::Pool(conn) => conn,
        }
    }
}

/// Starts a write transaction on `conn`. On SQLite it takes the write lock at once
/// (`BEGIN IMMEDIATE`), so another process writing makes it wait (busy timeout) instead
/// of failing halfway through.
pub(crate) async fn begin(
    conn: &mut AnyConnection,
    d: Backend,
) -> Result<Transaction<'_, Any>, StoreError> {
    Ok(match d {
        Backend::Sqlite => conn.begin_with("BEGIN IMMEDIATE").await?,
        Backend::Postgres => conn.begin().await?,
    })
}

impl Store {
    /// Connects and applies pending migrations.
    pub async fn open(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        let store = Store::connect(url, options).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::of_url(url)?;
        // A SQLite file that does not exist yet is created, as on first start.
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_owned(),
        };
        let connect_options = AnyConnectOptions::from_str(&url)
            .map_err(|e| StoreError::Config(format!("invalid database URL: {e}")))?
            .log_statements(log::LevelFilter::Off)
            .log_slow_statements(log::LevelFilter::Warn, Duration::from_secs(1));
        let acquire_timeout = Duration::from_secs(30);
        match backend {
            Backend::Sqlite => {
                let sync = match options.sqlite_sync {
                    SqliteSync::Full => "PRAGMA synchronous = FULL",
                    SqliteSync::Normal => "PRAGMA synchronous = NORMAL",
                };
                let write = AnyPoolOptions::new()
                    .max_connections(1)
                    .min_connections(1)
                    .test_before_acquire(false)
                    .acquire_timeout(acquire_timeout)
                    .idle_timeout(None)
                    .max_lifetime(None)
                    .after_connect(move |conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA journal_mode = WAL").await?;
                            conn.execute(sync).await?;
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                            conn.execute("PRAGMA foreign_keys = ON").await?;
                            // Statement journals in memory, not in temporary files.
                            conn.execute("PRAGMA temp_store = MEMORY").await?;
                            // Checkpoints run in the background (`Store::checkpoint`); the
                            // writer does one itself only if the WAL grows past ~80 MB.
                            conn.execute("PRAGMA wal_autocheckpoint = 20000").await?;
                            Ok(())
                        })
                    })
                    .connect_with(connect_options.clone())
                    .await?;
                let read = AnyPoolOptions::new()
                    .max_connections(options.max_connections.max(1))
                    .acquire_timeout(acquire_timeout)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                            conn.execute("PRAGMA query_only = ON").await?;
                            Ok(())
                        })
                    })
                    .connect_with(connect_options.clone())
                    .await?;
                let maintenance = AnyPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(acquire_timeout)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA busy_timeout = 10000").await?;
                            Ok(())
                        })
                    })
                    .connect_lazy_with(connect_options.clone());
                Ok(Store {
                    read,
                    write,
                    maintenance: Some(maintenance),
                    lane: Arc::default(),
                    schedules: schedules::Cache::default(),
                    backend,
                    listen_url: None,
                })
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(options.max_connections.max(2))
                    .acquire_timeout(acquire_timeout)
                    .connect_with(connect_options)
                    .await?;
                Ok(Store {
                    read: pool.clone(),
                    write: pool,
                    maintenance: None,
                    lane: Arc::default(),
                    schedules: schedules::Cache::default(),
                    backend,
                    listen_url: Some(wake::ListenUrl(url.into())),
                })
            }
        }
    }

    /// Applies the migrations this build carries that the database has not seen.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.write_conn().await?;
        match self.backend {
            Backend::Sqlite => {
                sqlx::migrate!("./migrations/sqlite")
                    .run(&mut *conn)
                    .await?
            }
            Backend::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&mut *conn)
                    .await?
            }
        }
        Ok(())
    }

    /// The lane's connection, waiting for its turn.
    pub(crate) async fn lane(&self) -> Result<WriteConn<'_>, StoreError> {
        let mut guard = self.lane.lock().await;
        if guard.is_none() {
            *guard = Some(self.write.acquire().await?);
        }
        Ok(WriteConn::Lane(guard))
    }

    /// A connection for writing: the lane on SQLite, any pooled connection on PostgreSQL.
    pub(crate) async fn write_conn(&self) -> Result<WriteConn<'_>, StoreError> {
        match self.backend {
            Backend::Sqlite => self.lane().await,
            Backend::Postgres => Ok(WriteConn::Pool(self.write.acquire().await?)),
        }
    }

    /// One step of SQLite upkeep, for a background loop: copies committed pages from the
    /// write-ahead log into the database file on a connection of its own, without blocking
    /// writers. (The writer itself checkpoints only once the log passes ~80 MB; since most
    /// pages are copied by then, that is quick, and it rewinds the log.) A no-op on
    /// PostgreSQL.
    pub async fn checkpoint(&self) -> Result<Checkpoint, StoreError> {
        let Some(pool) = &self.maintenance else {
            return Ok(Checkpoint::default());
        };
        let row = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .fetch_one(pool)
            .await?;
        Ok(Checkpoint {
            log_frames: row.try_get::<i64, _>(1).unwrap_or_default(),
            copied_frames: row.try_get::<i64, _>(2).unwrap_or_default(),
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A cheap query that proves the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    pub async fn close(&self) {
        // Hand the lane's connection back first: closing waits for every connection.
        drop(self.lane.lock().await.take());
        if let Some(m) = &self.maintenance {
            m.close().await;
        }
        self.write.close().await;
        self.read.close().await;
    }
}

/// What a checkpoint step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checkpoint {
    /// Pages in the write-ahead log.
    pub log_frames: i64,
    /// Of those, pages now copied into the database file.
    pub copied_frames: i64,
}

/// The SQLite URL of the database file in `data_dir` (created if missing).
pub fn sqlite_url_in(data_dir: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", data_dir.join("onduty.db").display())
}
