//! Small helpers for writing SQL once for both dialects: typed bind values and
//! multi-row `VALUES` lists with `$N` placeholders.

use std::fmt::Write;

use sqlx::AnyConnection;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe, Row};

use crate::StoreError;

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

/// Most rows one multi-row statement carries; keeps under both databases' bind limits.
const MAX_PARAMS: usize = 30_000;

/// `($1,$2,$3),($4,$5,$6)` for `rows` rows of `cols` columns.
pub(crate) fn values_list(rows: usize, cols: usize) -> String {
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
            let _ = write!(s, "${n}");
        }
        s.push(')');
    }
    s
}

/// `($1,$2,…)` for an `IN` list of `n` values starting at `$first`.
pub(crate) fn in_list(first: usize, n: usize) -> String {
    let items: Vec<String> = (first..first + n).map(|i| format!("${i}")).collect();
    format!("({})", items.join(","))
}

/// Runs `head VALUES (…),(…) tail` over `rows` in chunks; returns the rows the
/// statements returned (for `RETURNING`).
pub(crate) async fn insert_rows(
    conn: &mut AnyConnection,
    head: &str,
    tail: &str,
    cols: usize,
    rows: Vec<Vec<Val>>,
) -> Result<Vec<AnyRow>, StoreError> {
    let mut out = Vec::new();
    if rows.is_empty() {
        return Ok(out);
    }
    let per_chunk = (MAX_PARAMS / cols).max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<Val>> = rows.by_ref().take(per_chunk).collect();
        let sql = format!("{head} VALUES {} {tail}", values_list(chunk.len(), cols));
        let mut q = sqlx::query(AssertSqlSafe(sql)).persistent(false);
        for row in chunk {
            debug_assert_eq!(row.len(), cols);
            for v in row {
                q = bind(q, v);
            }
        }
        out.extend(q.fetch_all(&mut *conn).await?);
    }
    Ok(out)
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
        assert_eq!(values_list(2, 3), "($1,$2,$3),($4,$5,$6)");
        assert_eq!(in_list(3, 2), "($3,$4)");
    }
}
