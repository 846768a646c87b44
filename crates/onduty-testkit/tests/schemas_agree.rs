//! The SQLite and PostgreSQL migrations produce the same schema: the same tables, the
//! same columns (name, kind of type, whether they take NULL) and the same indexes (name,
//! table, columns, unique or not, partial or not). Queries are written once for both, so
//! a column added to one dialect's migration only is a bug this test finds.
//!
//! Runs when PostgreSQL is available (`ONDUTY_TEST_DATABASE_URL`); required in CI.

use std::collections::BTreeMap;

use onduty_testkit::{Backend, TestDb, backends};
use sqlx::{AnyConnection, Connection, Row};

/// A column: its kind of type (`int` or `text`) and whether it may be NULL.
type Columns = BTreeMap<String, (String, bool)>;

/// An index: its table, its columns in order, unique, partial.
type Index = (String, Vec<String>, bool, bool);

#[derive(Debug, Default, PartialEq)]
struct Schema {
    tables: BTreeMap<String, Columns>,
    indexes: BTreeMap<String, Index>,
}

fn kind(declared: &str) -> String {
    let t = declared.to_ascii_lowercase();
    if t.contains("int") || t.contains("serial") {
        "int".to_owned()
    } else if t.contains("char") || t.contains("text") {
        "text".to_owned()
    } else {
        t
    }
}

async fn sqlite_schema(conn: &mut AnyConnection) -> Schema {
    let mut schema = Schema::default();
    let tables = sqlx::query(
        "SELECT name FROM sqlite_master WHERE type = 'table' \
         AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for t in tables {
        let table: String = t.get("name");
        let mut columns = Columns::new();
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT name, type, \"notnull\" AS not_null, pk FROM pragma_table_info('{table}')"
        )))
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        for c in rows {
            let not_null = c.get::<i64, _>("not_null") != 0 || c.get::<i64, _>("pk") != 0;
            columns.insert(
                c.get("name"),
                (kind(&c.get::<String, _>("type")), !not_null),
            );
        }
        schema.tables.insert(table, columns);
    }
    // Indexes made by CREATE INDEX (those SQLite makes for keys have no SQL).
    let indexes = sqlx::query(
        "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for i in indexes {
        let name: String = i.get("name");
        let sql: String = i.get("sql");
        let cols = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT name FROM pragma_index_info('{name}') ORDER BY seqno"
        )))
        .fetch_all(&mut *conn)
        .await
        .unwrap()
        .iter()
        .map(|r| r.get::<String, _>("name"))
        .collect();
        let upper = sql.to_ascii_uppercase();
        schema.indexes.insert(
            name,
            (
                i.get("tbl_name"),
                cols,
                upper.starts_with("CREATE UNIQUE"),
                upper.contains(" WHERE "),
            ),
        );
    }
    schema
}

async fn postgres_schema(conn: &mut AnyConnection) -> Schema {
    let mut schema = Schema::default();
    let rows = sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS ty, \
         is_nullable::text AS n FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%' ORDER BY table_name",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for r in rows {
        schema.tables.entry(r.get("t")).or_default().insert(
            r.get("c"),
            (
                kind(&r.get::<String, _>("ty")),
                r.get::<String, _>("n") == "YES",
            ),
        );
    }
    // Indexes that are not a key's: a primary key or unique constraint makes its own.
    let rows = sqlx::query(
        "SELECT ic.relname::text AS name, t.relname::text AS tbl, ix.indisunique AS uniq, \
         (ix.indpred IS NOT NULL) AS partial, \
         array_to_string(ARRAY(SELECT a.attname::text FROM unnest(ix.indkey) WITH ORDINALITY AS k(n, o) \
           JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.n ORDER BY k.o), ',') AS cols \
         FROM pg_index ix JOIN pg_class ic ON ic.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid \
         JOIN pg_namespace ns ON ns.oid = t.relnamespace \
         WHERE ns.nspname = 'public' AND t.relname NOT LIKE '_sqlx%' \
         AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid)",
    )
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    for r in rows {
        let cols: String = r.get("cols");
        schema.indexes.insert(
            r.get("name"),
            (
                r.get("tbl"),
                cols.split(',').map(str::to_owned).collect(),
                r.get("uniq"),
                r.get("partial"),
            ),
        );
    }
    schema
}

async fn migrated(backend: Backend) -> (TestDb, AnyConnection) {
    let db = TestDb::new(backend).await;
    db.store().await.close().await;
    let conn = AnyConnection::connect(&db.url).await.unwrap();
    (db, conn)
}

#[tokio::test]
async fn sqlite_and_postgres_migrations_make_the_same_schema() {
    if !backends().contains(&Backend::Postgres) {
        eprintln!("PostgreSQL not configured (ONDUTY_TEST_DATABASE_URL): schemas not compared");
        return;
    }
    let (_sqlite_db, mut sqlite) = migrated(Backend::Sqlite).await;
    let (_postgres_db, mut postgres) = migrated(Backend::Postgres).await;
    let (s, p) = (
        sqlite_schema(&mut sqlite).await,
        postgres_schema(&mut postgres).await,
    );
    assert!(s.tables.len() > 20, "the SQLite schema was read: {s:?}");
    let names = |schema: &Schema| schema.tables.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&s), names(&p), "the same tables");
    for (table, columns) in &s.tables {
        assert_eq!(
            Some(columns),
            p.tables.get(table),
            "table {table}: SQLite's columns, then PostgreSQL's"
        );
    }
    assert_eq!(
        s.indexes, p.indexes,
        "the same indexes: SQLite's, then PostgreSQL's"
    );
}

/// The comparison can fail: a column one dialect lacks is found.
#[tokio::test]
async fn a_column_in_one_dialect_only_is_found() {
    let (_db, mut sqlite) = migrated(Backend::Sqlite).await;
    let before = sqlite_schema(&mut sqlite).await;
    sqlx::query("ALTER TABLE incidents ADD COLUMN only_here TEXT")
        .execute(&mut sqlite)
        .await
        .unwrap();
    sqlx::query("CREATE INDEX incidents_only_here ON incidents (only_here)")
        .execute(&mut sqlite)
        .await
        .unwrap();
    let after = sqlite_schema(&mut sqlite).await;
    assert_ne!(before.tables["incidents"], after.tables["incidents"]);
    assert_eq!(
        after.indexes["incidents_only_here"],
        (
            "incidents".to_owned(),
            vec!["only_here".to_owned()],
            false,
            false
        )
    );
}
