//! Usage rows as plain JSON objects, for a setup file that carries history: every column but
//! the row id, whatever columns this version's schema has. Reading a row back takes only the
//! columns this schema knows, typed as SQLite keeps them.

use serde_json::{Map, Value};

use super::StoreError;
use super::sql::{Db, Sql, SqlExt, Value as Col, args};

fn columns(c: &mut dyn Sql) -> Result<Vec<String>, StoreError> {
    let mut cols = c.columns("usage_events")?;
    cols.retain(|name| name != "id");
    Ok(cols)
}

pub fn export_usage(c: &mut dyn Sql) -> Result<Vec<Value>, StoreError> {
    let cols = columns(c)?;
    let sql = format!("SELECT {} FROM usage_events ORDER BY id", cols.join(", "));
    c.rows(&sql, args![], |mut r| {
        let mut row = Map::new();
        for (i, name) in cols.iter().enumerate() {
            let v = match r.get::<Col>(i)? {
                Col::Null | Col::Blob(_) => Value::Null,
                Col::Int(n) => Value::from(n),
                Col::Real(f) => Value::from(f),
                Col::Text(t) => Value::String(t),
            };
            row.insert(name.clone(), v);
        }
        Ok(Value::Object(row))
    })
}

/// What tells one recorded request from another across machines.
const IDENTITY: &str = "started_ms = ?1 AND latency_ms = ?3 AND requested_model = ?4
    AND (request_id = ?2 OR (request_id IS NULL AND ?2 IS NULL))";

fn identity(obj: &Map<String, Value>) -> (i64, Option<String>, i64, String) {
    let int = |k: &str| obj.get(k).and_then(Value::as_i64).unwrap_or(0);
    let text = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
    (
        int("started_ms"),
        text("request_id"),
        int("latency_ms"),
        text("requested_model").unwrap_or_default(),
    )
}

fn present(c: &mut dyn Sql, obj: &Map<String, Value>) -> Result<bool, StoreError> {
    let (a, b, d, e) = identity(obj);
    let sql = format!("SELECT 1 FROM usage_events WHERE {IDENTITY} LIMIT 1");
    Ok(c.row(&sql, args![a, b, d, e], |_| Ok(()))?.is_some())
}

/// How many of `rows` are not recorded here yet.
pub fn count_new_usage(c: &mut dyn Sql, rows: &[Value]) -> Result<usize, StoreError> {
    let mut n = 0;
    for obj in rows.iter().filter_map(Value::as_object) {
        if !present(c, obj)? {
            n += 1;
        }
    }
    Ok(n)
}

/// Adds the rows not recorded here yet, in one transaction; a row missing a column the schema
/// requires fails it all.
pub fn import_usage(c: &mut dyn Db, rows: &[Value]) -> Result<(), StoreError> {
    let cols = columns(c)?;
    let mut tx = c.transaction()?;
    for row in rows {
        let Some(obj) = row.as_object() else {
            return Err(StoreError::Corrupt("a usage row is not an object".into()));
        };
        if present(&mut *tx, obj)? {
            continue;
        }
        let present: Vec<&String> = cols
            .iter()
            .filter(|k| obj.contains_key(k.as_str()))
            .collect();
        let values: Vec<Col> = present
            .iter()
            .map(|k| match &obj[k.as_str()] {
                Value::Null => Col::Null,
                Value::Bool(b) => Col::Int(i64::from(*b)),
                Value::Number(n) => n
                    .as_i64()
                    .map_or_else(|| Col::Real(n.as_f64().unwrap_or(0.0)), Col::Int),
                Value::String(s) => Col::Text(s.clone()),
                other => Col::Text(other.to_string()),
            })
            .collect();
        let names: Vec<&str> = present.iter().map(|k| k.as_str()).collect();
        let marks: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
        let sql = format!(
            "INSERT INTO usage_events ({}) VALUES ({})",
            names.join(", "),
            marks.join(", ")
        );
        let args: Vec<&dyn super::sql::ToArg> =
            values.iter().map(|v| v as &dyn super::sql::ToArg).collect();
        tx.execute(&sql, &args)?;
    }
    tx.commit()?;
    Ok(())
}
