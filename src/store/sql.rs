//! One way to run SQL on either backend. Every query is written once, in the SQL that SQLite
//! and PostgreSQL both accept, with numbered `?N` parameters; what differs between them (the
//! parameter syntax, how a transaction starts, a column's type on the wire) is settled here.
//!
//! Portable SQL, in short: `ON CONFLICT … DO NOTHING/UPDATE` rather than `INSERT OR …`, a
//! comparison rather than a bare integer as a condition (`billed <> 0`), `CAST(sum(…) AS
//! BIGINT)` and `CAST(avg(…) AS DOUBLE PRECISION)` where PostgreSQL would answer `numeric`.
//! Integers are 64-bit everywhere (PostgreSQL's schema uses `BIGINT`), booleans are integers.

use std::collections::HashMap;

use super::StoreError;

/// The parameters of one statement: `args![a, b]`.
macro_rules! args {
    ($($a:expr),* $(,)?) => {
        &[$(&$a as &dyn $crate::store::sql::ToArg),*]
    };
}
pub(crate) use args;

/// A parameter, borrowed from the caller.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Null,
    Int(i64),
    Real(f64),
    Text(&'a str),
    Blob(&'a [u8]),
}

/// What can be bound as a parameter.
pub trait ToArg {
    fn arg(&self) -> Arg<'_>;
}

macro_rules! int_arg {
    ($($t:ty),*) => {$(
        impl ToArg for $t {
            fn arg(&self) -> Arg<'_> {
                Arg::Int(i64::from(*self))
            }
        }
    )*};
}
int_arg!(i64, i32, u32, u16, u8, bool);

impl ToArg for u64 {
    fn arg(&self) -> Arg<'_> {
        Arg::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}
impl ToArg for usize {
    fn arg(&self) -> Arg<'_> {
        Arg::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}
impl ToArg for f64 {
    fn arg(&self) -> Arg<'_> {
        Arg::Real(*self)
    }
}
impl ToArg for str {
    fn arg(&self) -> Arg<'_> {
        Arg::Text(self)
    }
}
impl ToArg for String {
    fn arg(&self) -> Arg<'_> {
        Arg::Text(self)
    }
}
impl ToArg for [u8] {
    fn arg(&self) -> Arg<'_> {
        Arg::Blob(self)
    }
}
impl ToArg for Vec<u8> {
    fn arg(&self) -> Arg<'_> {
        Arg::Blob(self)
    }
}
impl<T: ToArg + ?Sized> ToArg for &T {
    fn arg(&self) -> Arg<'_> {
        (**self).arg()
    }
}
impl<T: ToArg> ToArg for Option<T> {
    fn arg(&self) -> Arg<'_> {
        self.as_ref().map_or(Arg::Null, ToArg::arg)
    }
}
impl ToArg for Value {
    fn arg(&self) -> Arg<'_> {
        match self {
            Value::Null => Arg::Null,
            Value::Int(n) => Arg::Int(*n),
            Value::Real(f) => Arg::Real(*f),
            Value::Text(s) => Arg::Text(s),
            Value::Blob(b) => Arg::Blob(b),
        }
    }
}

/// A column's value as read.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

/// What a column can be read as.
pub trait FromValue: Sized {
    fn from_value(v: Value) -> Option<Self>;
}

impl FromValue for Value {
    fn from_value(v: Value) -> Option<Self> {
        Some(v)
    }
}
impl FromValue for i64 {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Int(n) => Some(n),
            _ => None,
        }
    }
}
macro_rules! narrow_int {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: Value) -> Option<Self> {
                i64::from_value(v).and_then(|n| <$t>::try_from(n).ok())
            }
        }
    )*};
}
narrow_int!(i32, u32, u16, u8, u64);

impl FromValue for bool {
    fn from_value(v: Value) -> Option<Self> {
        i64::from_value(v).map(|n| n != 0)
    }
}
impl FromValue for f64 {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Real(f) => Some(f),
            #[allow(clippy::cast_precision_loss)]
            Value::Int(n) => Some(n as f64),
            _ => None,
        }
    }
}
impl FromValue for String {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Text(s) => Some(s),
            _ => None,
        }
    }
}
impl FromValue for Vec<u8> {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Blob(b) => Some(b),
            Value::Text(s) => Some(s.into_bytes()),
            _ => None,
        }
    }
}
impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: Value) -> Option<Self> {
        match v {
            Value::Null => Some(None),
            v => T::from_value(v).map(Some),
        }
    }
}

/// One row, its columns taken out by position.
#[derive(Debug)]
pub struct Row(Vec<Value>);

impl Row {
    pub fn new(values: Vec<Value>) -> Self {
        Self(values)
    }

    /// Takes column `i` (from 0) as a `T`.
    pub fn get<T: FromValue>(&mut self, i: usize) -> Result<T, StoreError> {
        let v = self.0.get_mut(i).map(std::mem::take).unwrap_or_default();
        let shown = match &v {
            Value::Null => "null",
            Value::Int(_) => "an integer",
            Value::Real(_) => "a real",
            Value::Text(_) => "text",
            Value::Blob(_) => "a blob",
        };
        T::from_value(v).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "column {i} holds {shown}, not {}",
                std::any::type_name::<T>()
            ))
        })
    }
}

/// Which backend a connection speaks to, for the few fragments that differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// A case-insensitive `LIKE` of text column `col` against pattern `arg` (escaped with `\`).
    pub fn like(self, col: &str, arg: &str) -> String {
        match self {
            Self::Sqlite => format!("{col} LIKE {arg} ESCAPE '\\'"),
            Self::Postgres => format!("{col} ILIKE {arg} ESCAPE '\\'"),
        }
    }

    /// Whether blob column `col` contains the text of parameter `arg` (unescaped, as is).
    pub fn blob_contains(self, col: &str, arg: &str) -> String {
        match self {
            Self::Sqlite => format!("instr({col}, CAST({arg} AS BLOB)) > 0"),
            Self::Postgres => format!("position(convert_to({arg}, 'UTF8') in {col}) > 0"),
        }
    }
}

/// A connection or an open transaction of either backend.
pub trait Sql {
    fn dialect(&self) -> Dialect;
    /// Runs one statement; how many rows it changed.
    fn execute(&mut self, sql: &str, args: &[&dyn ToArg]) -> Result<usize, StoreError>;
    /// Runs one query; every row it answers.
    fn query(&mut self, sql: &str, args: &[&dyn ToArg]) -> Result<Vec<Row>, StoreError>;
    /// The columns of `table`, in order.
    fn columns(&mut self, table: &str) -> Result<Vec<String>, StoreError>;
}

/// Reading rows into values, for every connection and transaction.
pub trait SqlExt: Sql {
    /// Every row, each made into a `T`.
    fn rows<T>(
        &mut self,
        sql: &str,
        args: &[&dyn ToArg],
        each: impl FnMut(Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        self.query(sql, args)?.into_iter().map(each).collect()
    }

    /// The first row, if any, made into a `T`.
    fn row<T>(
        &mut self,
        sql: &str,
        args: &[&dyn ToArg],
        each: impl FnOnce(Row) -> Result<T, StoreError>,
    ) -> Result<Option<T>, StoreError> {
        self.query(sql, args)?
            .into_iter()
            .next()
            .map(each)
            .transpose()
    }

    /// The first column of the first row.
    fn value<T: FromValue>(&mut self, sql: &str, args: &[&dyn ToArg]) -> Result<T, StoreError> {
        let mut row = self
            .query(sql, args)?
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::Corrupt("a query answered no row".into()))?;
        row.get(0)
    }
}

impl<S: Sql + ?Sized> SqlExt for S {}

/// A connection, which can open a transaction.
pub trait Db: Sql + Send {
    /// A write transaction: on SQLite it takes the write lock at once, so it waits its turn
    /// instead of failing to upgrade a read that another connection's commit made stale.
    fn transaction(&mut self) -> Result<Box<dyn Tx + '_>, StoreError>;

    /// Whether the connection is known to be gone (a server that went away), so that a new
    /// one is made before the next use.
    fn is_broken(&self) -> bool {
        false
    }
}

/// An open transaction; dropped without `commit`, it rolls back.
pub trait Tx: Sql {
    fn commit(self: Box<Self>) -> Result<(), StoreError>;
}

// ---- SQLite ---------------------------------------------------------------------------------

impl rusqlite::ToSql for Arg<'_> {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        use rusqlite::types::{ToSqlOutput, ValueRef};
        Ok(ToSqlOutput::Borrowed(match *self {
            Arg::Null => ValueRef::Null,
            Arg::Int(n) => ValueRef::Integer(n),
            Arg::Real(f) => ValueRef::Real(f),
            Arg::Text(s) => ValueRef::Text(s.as_bytes()),
            Arg::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

fn lite_execute(
    c: &rusqlite::Connection,
    sql: &str,
    args: &[&dyn ToArg],
) -> Result<usize, StoreError> {
    let mut stmt = c.prepare_cached(sql)?;
    Ok(stmt.execute(rusqlite::params_from_iter(args.iter().map(|a| a.arg())))?)
}

fn lite_query(
    c: &rusqlite::Connection,
    sql: &str,
    args: &[&dyn ToArg],
) -> Result<Vec<Row>, StoreError> {
    use rusqlite::types::ValueRef;
    let mut stmt = c.prepare_cached(sql)?;
    let width = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(args.iter().map(|a| a.arg())))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(match r.get_ref(i)? {
                ValueRef::Null => Value::Null,
                ValueRef::Integer(n) => Value::Int(n),
                ValueRef::Real(f) => Value::Real(f),
                ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
                ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            });
        }
        out.push(Row(values));
    }
    Ok(out)
}

fn lite_columns(c: &rusqlite::Connection, table: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = c.prepare("SELECT name FROM pragma_table_info(?1)")?;
    let names = stmt.query_map([table], |r| r.get::<_, String>(0))?;
    Ok(names.collect::<Result<_, _>>()?)
}

/// Both a connection and an open transaction run statements the same way.
macro_rules! lite_sql {
    ($t:ty) => {
        impl Sql for $t {
            fn dialect(&self) -> Dialect {
                Dialect::Sqlite
            }
            fn execute(&mut self, sql: &str, args: &[&dyn ToArg]) -> Result<usize, StoreError> {
                lite_execute(self, sql, args)
            }
            fn query(&mut self, sql: &str, args: &[&dyn ToArg]) -> Result<Vec<Row>, StoreError> {
                lite_query(self, sql, args)
            }
            fn columns(&mut self, table: &str) -> Result<Vec<String>, StoreError> {
                lite_columns(self, table)
            }
        }
    };
}
lite_sql!(rusqlite::Connection);
lite_sql!(rusqlite::Transaction<'_>);

impl Db for rusqlite::Connection {
    fn transaction(&mut self) -> Result<Box<dyn Tx + '_>, StoreError> {
        Ok(Box::new(self.transaction_with_behavior(
            rusqlite::TransactionBehavior::Immediate,
        )?))
    }
}

impl Tx for rusqlite::Transaction<'_> {
    fn commit(self: Box<Self>) -> Result<(), StoreError> {
        Ok((*self).commit()?)
    }
}

// ---- PostgreSQL -----------------------------------------------------------------------------

/// `?N` parameters as PostgreSQL writes them (`$N`); text in quotes is left as it is.
pub fn numbered_for_postgres(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    for ch in sql.chars() {
        match ch {
            '\'' => {
                quoted = !quoted;
                out.push(ch);
            }
            '?' if !quoted => out.push('$'),
            _ => out.push(ch),
        }
    }
    out
}

mod pg {
    use postgres::types::{FromSql, private::BytesMut};
    use postgres::types::{IsNull, ToSql, Type, to_sql_checked};

    use super::{Arg, Value};

    type BoxError = Box<dyn std::error::Error + Sync + Send>;

    /// A parameter bound to whatever type PostgreSQL inferred for it, within reason.
    #[derive(Debug)]
    pub struct Bound<'a>(pub Arg<'a>);

    impl ToSql for Bound<'_> {
        fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
            match (self.0, ty) {
                (Arg::Null, _) => Ok(IsNull::Yes),
                (Arg::Int(n), &Type::INT8) => n.to_sql(ty, out),
                (Arg::Int(n), &Type::INT4) => i32::try_from(n)?.to_sql(ty, out),
                (Arg::Int(n), &Type::INT2) => i16::try_from(n)?.to_sql(ty, out),
                (Arg::Int(n), &Type::BOOL) => (n != 0).to_sql(ty, out),
                #[allow(clippy::cast_precision_loss)]
                (Arg::Int(n), &Type::FLOAT8) => (n as f64).to_sql(ty, out),
                (Arg::Int(n), &Type::TEXT | &Type::VARCHAR) => n.to_string().to_sql(ty, out),
                (Arg::Real(f), &Type::FLOAT8) => f.to_sql(ty, out),
                #[allow(clippy::cast_possible_truncation)]
                (Arg::Real(f), &Type::FLOAT4) => (f as f32).to_sql(ty, out),
                (Arg::Text(s), &Type::BYTEA) => s.as_bytes().to_sql(ty, out),
                (Arg::Text(s), _) => s.to_sql(ty, out),
                (Arg::Blob(b), &Type::BYTEA) => b.to_sql(ty, out),
                (arg, ty) => Err(format!("cannot bind {arg:?} as {ty}").into()),
            }
        }

        fn accepts(_: &Type) -> bool {
            true
        }

        to_sql_checked!();
    }

    impl<'a> FromSql<'a> for Value {
        fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
            Ok(match *ty {
                Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
                Type::INT4 => Value::Int(i64::from(i32::from_sql(ty, raw)?)),
                Type::INT2 => Value::Int(i64::from(i16::from_sql(ty, raw)?)),
                Type::BOOL => Value::Int(i64::from(bool::from_sql(ty, raw)?)),
                Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
                Type::FLOAT4 => Value::Real(f64::from(f32::from_sql(ty, raw)?)),
                Type::BYTEA => Value::Blob(raw.to_vec()),
                _ => Value::Text(String::from_sql(ty, raw)?),
            })
        }

        fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
            Ok(Value::Null)
        }

        fn accepts(ty: &Type) -> bool {
            matches!(
                *ty,
                Type::INT8
                    | Type::INT4
                    | Type::INT2
                    | Type::BOOL
                    | Type::FLOAT8
                    | Type::FLOAT4
                    | Type::BYTEA
            ) || <String as FromSql>::accepts(ty)
        }
    }
}

/// Prepared statements of one PostgreSQL connection, by their portable text.
pub type Statements = HashMap<String, postgres::Statement>;

fn pg_run<C: postgres::GenericClient>(
    c: &mut C,
    stmts: &mut Statements,
    sql: &str,
) -> Result<postgres::Statement, StoreError> {
    if let Some(s) = stmts.get(sql) {
        return Ok(s.clone());
    }
    let stmt = c.prepare(&numbered_for_postgres(sql))?;
    // A bounded cache: queries built from filters could otherwise grow it without end.
    if stmts.len() >= 256 {
        stmts.clear();
    }
    stmts.insert(sql.to_owned(), stmt.clone());
    Ok(stmt)
}

/// The parameters, each bound to the type PostgreSQL inferred for its place.
fn pg_bind<'a>(args: &'a [&'a dyn ToArg]) -> Vec<pg::Bound<'a>> {
    args.iter().map(|a| pg::Bound(a.arg())).collect()
}

fn pg_refs<'a>(bound: &'a [pg::Bound<'a>]) -> Vec<&'a (dyn postgres::types::ToSql + Sync)> {
    bound
        .iter()
        .map(|b| b as &(dyn postgres::types::ToSql + Sync))
        .collect()
}

fn pg_execute<C: postgres::GenericClient>(
    c: &mut C,
    stmts: &mut Statements,
    sql: &str,
    args: &[&dyn ToArg],
) -> Result<usize, StoreError> {
    let stmt = pg_run(c, stmts, sql)?;
    let bound = pg_bind(args);
    let n = c.execute(&stmt, &pg_refs(&bound))?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

fn pg_query<C: postgres::GenericClient>(
    c: &mut C,
    stmts: &mut Statements,
    sql: &str,
    args: &[&dyn ToArg],
) -> Result<Vec<Row>, StoreError> {
    let stmt = pg_run(c, stmts, sql)?;
    let bound = pg_bind(args);
    let rows = c.query(&stmt, &pg_refs(&bound))?;
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| r.try_get::<_, Value>(i).map_err(StoreError::from))
                .collect::<Result<Vec<_>, _>>()
                .map(Row)
        })
        .collect()
}

fn pg_columns<C: postgres::GenericClient>(
    c: &mut C,
    table: &str,
) -> Result<Vec<String>, StoreError> {
    let rows = c.query(
        "SELECT column_name::text FROM information_schema.columns
         WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        &[&table],
    )?;
    rows.iter()
        .map(|r| r.try_get::<_, String>(0).map_err(StoreError::from))
        .collect()
}

/// A PostgreSQL connection with its prepared statements.
pub struct PgConn {
    /// Always there until dropped (see `Drop`).
    client: Option<postgres::Client>,
    stmts: Statements,
}

impl PgConn {
    pub fn new(client: postgres::Client) -> Self {
        Self {
            client: Some(client),
            stmts: Statements::new(),
        }
    }

    fn parts(&mut self) -> Result<(&mut postgres::Client, &mut Statements), StoreError> {
        match &mut self.client {
            Some(c) => Ok((c, &mut self.stmts)),
            None => Err(StoreError::Worker("the connection is closed".into())),
        }
    }
}

impl Drop for PgConn {
    /// The blocking client owns a small runtime of its own, which may not be dropped on an
    /// async worker: there, it is closed on a thread of its own.
    fn drop(&mut self) {
        if let Some(client) = self.client.take()
            && tokio::runtime::Handle::try_current().is_ok()
        {
            std::thread::spawn(move || drop(client));
        }
    }
}

impl Sql for PgConn {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
    fn execute(&mut self, sql: &str, args: &[&dyn ToArg]) -> Result<usize, StoreError> {
        let (client, stmts) = self.parts()?;
        pg_execute(client, stmts, sql, args)
    }
    fn query(&mut self, sql: &str, args: &[&dyn ToArg]) -> Result<Vec<Row>, StoreError> {
        let (client, stmts) = self.parts()?;
        pg_query(client, stmts, sql, args)
    }
    fn columns(&mut self, table: &str) -> Result<Vec<String>, StoreError> {
        let (client, _) = self.parts()?;
        pg_columns(client, table)
    }
}

impl Db for PgConn {
    fn is_broken(&self) -> bool {
        self.client.as_ref().is_none_or(postgres::Client::is_closed)
    }

    fn transaction(&mut self) -> Result<Box<dyn Tx + '_>, StoreError> {
        let (client, stmts) = self.parts()?;
        Ok(Box::new(PgTx {
            tx: client.transaction()?,
            stmts,
        }))
    }
}

struct PgTx<'a> {
    tx: postgres::Transaction<'a>,
    stmts: &'a mut Statements,
}

impl Sql for PgTx<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }
    fn execute(&mut self, sql: &str, args: &[&dyn ToArg]) -> Result<usize, StoreError> {
        pg_execute(&mut self.tx, self.stmts, sql, args)
    }
    fn query(&mut self, sql: &str, args: &[&dyn ToArg]) -> Result<Vec<Row>, StoreError> {
        pg_query(&mut self.tx, self.stmts, sql, args)
    }
    fn columns(&mut self, table: &str) -> Result<Vec<String>, StoreError> {
        pg_columns(&mut self.tx, table)
    }
}

impl Tx for PgTx<'_> {
    fn commit(self: Box<Self>) -> Result<(), StoreError> {
        Ok(self.tx.commit()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_renumbered_outside_quotes_only() {
        assert_eq!(
            numbered_for_postgres("SELECT '?1', x FROM t WHERE a = ?1 AND b = ?12"),
            "SELECT '?1', x FROM t WHERE a = $1 AND b = $12"
        );
    }

    #[test]
    fn a_row_says_which_column_does_not_fit() {
        let mut row = Row::new(vec![Value::Text("x".into())]);
        let err = row.get::<i64>(0).err().map(|e| e.to_string());
        assert!(err.is_some_and(|e| e.contains("column 0 holds text")));
    }
}
