//! Small helpers for writing SQL once for both dialects: typed bind values and
//! multi-row `VALUES` lists with `$N` placeholders.

use std::fmt::Write as _;

use sqlx::AnyConnection;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe, Row};

use crate::{Backend, StoreError};

/// A value to bind. The `Any` driver carries only a few types; these are the ones used.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
}

pub(crate) fn bind<'q>(q: Query<'q, Any, AnyArguments>, v: Val) -> Query<'q, Any, AnyArguments> {
    match v {
        Val::Text(s) => q.bind(s),
        Val::OptText(s) => q.bind(s),
        Val::Int(i) => q.bind(i),
        Val::OptInt(i) => q.bind(i),
    }
}

/// `($1,$2,$3),($4,$5,$6)` for `rows` rows of `cols` columns; on SQLite `(?,?,?),(?,?,?)`.
///
/// Generated statements use plain `?` on SQLite because binding `$N` there looks each
/// name up in a list (quadratic in the number of parameters of a multi-row statement).
pub(crate) fn values_list(d: Backend, rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push(',');
            }
            n += 1;
            push_placeholder(&mut s, d, n);
        }
        s.push(')');
    }
    s
}

/// `($1,$2,…)` (or `(?,?,…)` on SQLite) for an `IN` list of `n` values.
pub(crate) fn in_list(d: Backend, n: usize) -> String {
    let mut s = String::with_capacity(n * 4 + 2);
    s.push('(');
    for i in 1..=n {
        if i > 1 {
            s.push(',');
        }
        push_placeholder(&mut s, d, i);
    }
    s.push(')');
    s
}

fn push_placeholder(s: &mut String, d: Backend, n: usize) {
    match d {
        Backend::Sqlite => s.push('?'),
        Backend::Postgres => {
            let _ = write!(s, "${n}");
        }
    }
}

/// A hand-written statement with `?` placeholders in the backend's dialect: as it is on
/// SQLite, `$1`, `$2`, … on PostgreSQL.
pub(crate) fn numbered(d: Backend, sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            push_placeholder(&mut out, d, n);
        } else {
            out.push(c);
        }
    }
    out
}

/// Most bind parameters one generated statement carries; under both databases' limits.
const MAX_PARAMS: usize = 30_000;

/// One statement to run as part of a write, with its values in placeholder order.
pub(crate) struct Write {
    pub sql: String,
    pub values: Vec<Val>,
    /// On PostgreSQL, the rows the statement must return (`RETURNING`): fewer means
    /// another writer changed a row since it was read.
    pub expect_rows: Option<usize>,
}

/// `head VALUES (…),(…) tail` over `rows`, split into statements under the parameter limit.
/// One statement written with `?` placeholders, numbered for the dialect.
pub(crate) fn write(d: Backend, sql: &str, values: Vec<Val>) -> Write {
    Write {
        sql: numbered(d, sql),
        values,
        expect_rows: None,
    }
}

pub(crate) fn multi_row(d: Backend, head: &str, tail: &str, rows: Vec<Vec<Val>>) -> Vec<Write> {
    chunked(d, rows, |values, _| {
        (format!("{head} VALUES {values} {tail}"), None)
    })
}

/// Splits `rows` into statements under the parameter limit; `make` turns each chunk's
/// `(…),(…)` list and row count into the statement and the rows it must return.
pub(crate) fn chunked(
    d: Backend,
    rows: Vec<Vec<Val>>,
    make: impl Fn(&str, usize) -> (String, Option<usize>),
) -> Vec<Write> {
    let Some(cols) = rows.first().map(Vec::len) else {
        return Vec::new();
    };
    let per_statement = (MAX_PARAMS / cols).max(1);
    let mut out = Vec::new();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Val>> = rows.by_ref().take(per_statement).collect();
        let (sql, expect_rows) = make(&values_list(d, chunk.len(), cols), chunk.len());
        out.push(Write {
            sql,
            values: chunk.into_iter().flatten().collect(),
            expect_rows,
        });
    }
    out
}

/// Runs the statements in order. On SQLite they go to the database as one string (one
/// round trip to its worker thread); on PostgreSQL one by one, checking `expect_rows`.
pub(crate) async fn execute_writes(
    conn: &mut AnyConnection,
    d: Backend,
    writes: Vec<Write>,
) -> Result<(), StoreError> {
    match d {
        Backend::Sqlite => {
            if writes.is_empty() {
                return Ok(());
            }
            let sql: Vec<&str> = writes.iter().map(|w| w.sql.as_str()).collect();
            let mut q = sqlx::query(AssertSqlSafe(sql.join(";\n"))).persistent(false);
            for w in writes {
                for v in w.values {
                    q = bind(q, v);
                }
            }
            q.execute(&mut *conn).await?;
        }
        Backend::Postgres => {
            for w in writes {
                let mut q = sqlx::query(AssertSqlSafe(w.sql)).persistent(false);
                for v in w.values {
                    q = bind(q, v);
                }
                match w.expect_rows {
                    Some(n) => {
                        if q.fetch_all(&mut *conn).await?.len() != n {
                            return Err(StoreError::VersionConflict);
                        }
                    }
                    None => {
                        q.execute(&mut *conn).await?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// Reads a column, mapping a decode failure to `StoreError::Corrupt`.
pub(crate) fn col<'r, T>(row: &'r AnyRow, name: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Any> + sqlx::Type<Any>,
{
    row.try_get(name)
        .map_err(|e| StoreError::corrupt(format!("column {name}: {e}")))
}

/// Parses a stored text column with `FromStr`-like parsing.
pub(crate) fn parse_col<T, E: std::fmt::Display>(
    row: &AnyRow,
    name: &str,
    parse: impl FnOnce(&str) -> Result<T, E>,
) -> Result<T, StoreError> {
    let text: String = col(row, name)?;
    parse(&text).map_err(|e| StoreError::corrupt(format!("column {name}: {e}")))
}

/// A nullable id column.
pub(crate) fn opt_id<T: std::str::FromStr>(
    row: &AnyRow,
    name: &str,
) -> Result<Option<T>, StoreError>
where
    T::Err: std::fmt::Display,
{
    let text: Option<String> = col(row, name)?;
    text.map(|t| {
        t.parse::<T>()
            .map_err(|e| StoreError::corrupt(format!("column {name}: {e}")))
    })
    .transpose()
}

pub(crate) fn json_col<T: serde::de::DeserializeOwned>(
    row: &AnyRow,
    name: &str,
) -> Result<T, StoreError> {
    parse_col(row, name, |t| serde_json::from_str::<T>(t))
}

pub(crate) fn opt_json_col<T: serde::de::DeserializeOwned>(
    row: &AnyRow,
    name: &str,
) -> Result<Option<T>, StoreError> {
    let text: Option<String> = col(row, name)?;
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| StoreError::corrupt(format!("column {name}: {e}")))
    })
    .transpose()
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("domain values always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_placeholder_lists() {
        assert_eq!(
            values_list(Backend::Postgres, 2, 3),
            "($1,$2,$3),($4,$5,$6)"
        );
        assert_eq!(values_list(Backend::Sqlite, 2, 2), "(?,?),(?,?)");
        assert_eq!(in_list(Backend::Postgres, 2), "($1,$2)");
        assert_eq!(in_list(Backend::Sqlite, 3), "(?,?,?)");
    }
}
