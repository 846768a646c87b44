//! Fresh, throw-away databases: a SQLite file in a temporary directory, and — when
//! `ONDUTY_TEST_DATABASE_URL` names a PostgreSQL server — a new PostgreSQL database per
//! test, dropped afterwards.
//!
//! `ONDUTY_REQUIRE_POSTGRES=1` (set by CI) turns a missing PostgreSQL URL into a failure,
//! so a green run always means both backends were exercised.

use onduty_store::{Store, StoreOptions};
use sqlx::{AnyConnection, AssertSqlSafe, Connection, Executor};

pub use onduty_store::Backend;

/// The backends the contract suite must run on in this environment.
pub fn backends() -> Vec<Backend> {
    let mut out = vec![Backend::Sqlite];
    match postgres_admin_url() {
        Some(_) => out.push(Backend::Postgres),
        None if postgres_required() => panic!(
            "ONDUTY_REQUIRE_POSTGRES is set but ONDUTY_TEST_DATABASE_URL is not: \
             the PostgreSQL backend must be tested"
        ),
        None => {}
    }
    out
}

fn postgres_admin_url() -> Option<String> {
    std::env::var("ONDUTY_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.trim().is_empty())
}

fn postgres_required() -> bool {
    matches!(
        std::env::var("ONDUTY_REQUIRE_POSTGRES").as_deref(),
        Ok("1" | "true" | "yes")
    )
}

/// A database that exists for one test.
pub struct TestDb {
    pub url: String,
    pub backend: Backend,
    /// Keeps the SQLite file's directory alive.
    dir: Option<tempfile::TempDir>,
    /// For PostgreSQL: the server URL and the database to drop.
    drop: Option<(String, String)>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("a temporary directory");
                TestDb {
                    url: onduty_store::sqlite_url_in(dir.path()),
                    backend,
                    dir: Some(dir),
                    drop: None,
                }
            }
            Backend::Postgres => {
                let admin = postgres_admin_url()
                    .expect("ONDUTY_TEST_DATABASE_URL names a PostgreSQL server");
                let name = format!("onduty_test_{}", uuid::Uuid::new_v4().simple());
                sqlx::any::install_default_drivers();
                let mut conn = AnyConnection::connect(&admin).await.unwrap_or_else(|e| {
                    panic!("cannot reach PostgreSQL at ONDUTY_TEST_DATABASE_URL: {e}")
                });
                conn.execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await
                    .expect("create a test database");
                conn.close().await.ok();
                let mut url = url::Url::parse(&admin).expect("ONDUTY_TEST_DATABASE_URL is a URL");
                url.set_path(&name);
                TestDb {
                    url: url.to_string(),
                    backend,
                    dir: None,
                    drop: Some((admin, name)),
                }
            }
        }
    }

    /// Opens (and migrates) a store on this database. May be called several times to get
    /// several independent stores, as several onduty instances would have.
    pub async fn store(&self) -> Store {
        Store::open(&self.url, &StoreOptions::default())
            .await
            .expect("open the test store")
    }

    /// Runs one statement straight on the database, as a test's way to move time on for
    /// a server running in another process (moving a deadline, say). Returns the rows
    /// it changed.
    pub async fn execute(&self, sql: &str) -> u64 {
        self.try_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The same, returning the database's refusal rather than failing the test.
    pub async fn try_execute(&self, sql: &str) -> Result<u64, String> {
        sqlx::any::install_default_drivers();
        let mut conn = AnyConnection::connect(&self.url)
            .await
            .expect("connect to the test database");
        let done = conn.execute(AssertSqlSafe(sql.to_owned())).await;
        conn.close().await.ok();
        done.map(|d| d.rows_affected()).map_err(|e| e.to_string())
    }

    /// The directory holding the SQLite file, if this is SQLite.
    pub fn dir(&self) -> Option<&std::path::Path> {
        self.dir.as_ref().map(|d| d.path())
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin, name)) = self.drop.take() else {
            return;
        };
        // Drop runs outside any runtime guarantee: use a small one on its own thread.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut conn = AnyConnection::connect(&admin).await.ok()?;
                conn.execute(AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .await
                .ok()?;
                conn.close().await.ok()
            })
        })
        .join();
    }
}
