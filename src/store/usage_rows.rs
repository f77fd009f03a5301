//! Usage rows as plain JSON objects, for a setup file that carries history: every column but
//! the row id, whatever columns this version's schema has. Reading a row back takes only the
//! columns this schema knows, typed as SQLite keeps them.

use rusqlite::types::{Value as Sql, ValueRef};
use rusqlite::{Connection, params_from_iter};
use serde_json::{Map, Value};

use super::StoreError;

fn columns(c: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt =
        c.prepare("SELECT name FROM pragma_table_info('usage_events') WHERE name != 'id'")?;
    let names = stmt.query_map([], |r| r.get::<_, String>(0))?;
    Ok(names.collect::<Result<_, _>>()?)
}

pub fn export_usage(c: &Connection) -> Result<Vec<Value>, StoreError> {
    let cols = columns(c)?;
    let sql = format!("SELECT {} FROM usage_events ORDER BY id", cols.join(", "));
    let mut stmt = c.prepare(&sql)?;
    let rows = stmt.query_map([], |r| {
        let mut row = Map::new();
        for (i, name) in cols.iter().enumerate() {
            let v = match r.get_ref(i)? {
                ValueRef::Null | ValueRef::Blob(_) => Value::Null,
                ValueRef::Integer(n) => Value::from(n),
                ValueRef::Real(f) => Value::from(f),
                ValueRef::Text(t) => Value::String(String::from_utf8_lossy(t).into_owned()),
            };
            row.insert(name.clone(), v);
        }
        Ok(Value::Object(row))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// What tells one recorded request from another across machines.
const IDENTITY: &str =
    "started_ms = ?1 AND request_id IS ?2 AND latency_ms = ?3 AND requested_model = ?4";

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

fn present(c: &Connection, obj: &Map<String, Value>) -> Result<bool, StoreError> {
    let (a, b, d, e) = identity(obj);
    let sql = format!("SELECT EXISTS (SELECT 1 FROM usage_events WHERE {IDENTITY})");
    Ok(c.query_row(&sql, rusqlite::params![a, b, d, e], |r| r.get(0))?)
}

/// How many of `rows` are not recorded here yet.
pub fn count_new_usage(c: &Connection, rows: &[Value]) -> Result<usize, StoreError> {
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
pub fn import_usage(c: &mut Connection, rows: &[Value]) -> Result<(), StoreError> {
    let cols = columns(c)?;
    let tx = c.transaction()?;
    for row in rows {
        let Some(obj) = row.as_object() else {
            return Err(StoreError::Corrupt("a usage row is not an object".into()));
        };
        if present(&tx, obj)? {
            continue;
        }
        let present: Vec<&String> = cols
            .iter()
            .filter(|k| obj.contains_key(k.as_str()))
            .collect();
        let values = present.iter().map(|k| match &obj[k.as_str()] {
            Value::Null => Sql::Null,
            Value::Bool(b) => Sql::Integer(i64::from(*b)),
            Value::Number(n) => n
                .as_i64()
                .map_or_else(|| Sql::Real(n.as_f64().unwrap_or(0.0)), Sql::Integer),
            Value::String(s) => Sql::Text(s.clone()),
            other => Sql::Text(other.to_string()),
        });
        let names: Vec<&str> = present.iter().map(|k| k.as_str()).collect();
        let marks = vec!["?"; names.len()].join(", ");
        let sql = format!(
            "INSERT INTO usage_events ({}) VALUES ({marks})",
            names.join(", ")
        );
        tx.execute(&sql, params_from_iter(values))?;
    }
    tx.commit()?;
    Ok(())
}
