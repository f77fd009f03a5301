//! The usage queries behind `/api/usage/summary` and `/api/usage/timeseries`.

use rusqlite::{Connection, params};
use serde::Serialize;

use crate::store::StoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Provider,
    Model,
    Account,
    Key,
    Combo,
}

impl GroupBy {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "provider" => Some(Self::Provider),
            "model" => Some(Self::Model),
            "account" => Some(Self::Account),
            "key" => Some(Self::Key),
            "combo" => Some(Self::Combo),
            _ => None,
        }
    }

    fn column(self) -> &'static str {
        match self {
            Self::Provider => "provider",
            Self::Model => "coalesce(provider || '/' || model, requested_model)",
            Self::Account => "account_id",
            Self::Key => "key_id",
            Self::Combo => "combo",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    Hour,
    Day,
}

impl Bucket {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "hour" => Some(Self::Hour),
            "day" => Some(Self::Day),
            _ => None,
        }
    }

    fn ms(self) -> i64 {
        match self {
            Self::Hour => 3_600_000,
            Self::Day => 86_400_000,
        }
    }
}

/// Totals per bucket (`GET /api/usage/timeseries`).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TimeSeries {
    #[cfg_attr(test, ts(type = "number"))]
    pub from: i64,
    #[cfg_attr(test, ts(type = "number"))]
    pub to: i64,
    pub points: Vec<TimePoint>,
}

/// Totals for one group (or for everything, with `key` empty).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SummaryRow {
    pub key: String,
    /// What people call the group (a node's or account's own name), when it is not the key.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub name: Option<String>,
    #[cfg_attr(test, ts(type = "number"))]
    pub requests: i64,
    #[cfg_attr(test, ts(type = "number"))]
    pub errors: i64,
    /// Requests a proxy key's limits refused (rate, tokens, cost, model, expiry).
    #[cfg_attr(test, ts(type = "number"))]
    pub limited: i64,
    #[cfg_attr(test, ts(type = "number"))]
    pub input_tokens: i64,
    #[cfg_attr(test, ts(type = "number"))]
    pub cached_tokens: i64,
    #[cfg_attr(test, ts(type = "number"))]
    pub cache_write_tokens: i64,
    #[cfg_attr(test, ts(type = "number"))]
    pub output_tokens: i64,
    #[cfg_attr(test, ts(type = "number"))]
    pub reasoning_tokens: i64,
    /// What pay-per-token providers charged.
    pub cost: f64,
    /// What subscription and free providers' tokens would have cost at API prices.
    pub saved: f64,
    pub avg_latency_ms: f64,
    pub avg_ttft_ms: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Summary {
    #[cfg_attr(test, ts(type = "number"))]
    pub from: i64,
    #[cfg_attr(test, ts(type = "number"))]
    pub to: i64,
    pub total: SummaryRow,
    pub groups: Vec<SummaryRow>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TimePoint {
    #[cfg_attr(test, ts(type = "number"))]
    pub start: i64,
    #[serde(flatten)]
    pub totals: SummaryRow,
}

const TOTALS: &str = "count(*), sum(status >= 400), sum(input_tokens), sum(cached_tokens),
    sum(cache_write_tokens), sum(output_tokens), sum(reasoning_tokens),
    sum(CASE WHEN billed THEN cost ELSE 0 END), sum(CASE WHEN billed THEN 0 ELSE cost END),
    avg(latency_ms), avg(ttft_ms), sum(limited IS NOT NULL)";

fn row_of(key: String, r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<SummaryRow> {
    Ok(SummaryRow {
        key,
        name: None,
        requests: r.get(at)?,
        errors: r.get::<_, Option<i64>>(at + 1)?.unwrap_or(0),
        input_tokens: r.get::<_, Option<i64>>(at + 2)?.unwrap_or(0),
        cached_tokens: r.get::<_, Option<i64>>(at + 3)?.unwrap_or(0),
        cache_write_tokens: r.get::<_, Option<i64>>(at + 4)?.unwrap_or(0),
        output_tokens: r.get::<_, Option<i64>>(at + 5)?.unwrap_or(0),
        reasoning_tokens: r.get::<_, Option<i64>>(at + 6)?.unwrap_or(0),
        cost: r.get::<_, Option<f64>>(at + 7)?.unwrap_or(0.0),
        saved: r.get::<_, Option<f64>>(at + 8)?.unwrap_or(0.0),
        avg_latency_ms: r.get::<_, Option<f64>>(at + 9)?.unwrap_or(0.0),
        avg_ttft_ms: r.get(at + 10)?,
        limited: r.get::<_, Option<i64>>(at + 11)?.unwrap_or(0),
    })
}

/// What each proxy key was billed since the start of `now_ms`'s UTC day (to pick up the
/// daily cost limits after a restart).
pub fn billed_today_by_key(c: &Connection, now_ms: i64) -> Result<Vec<(String, f64)>, StoreError> {
    let day_start = now_ms - now_ms.rem_euclid(86_400_000);
    let mut stmt = c.prepare(
        "SELECT key_id, sum(cost) FROM usage_events
         WHERE started_ms >= ?1 AND key_id IS NOT NULL AND billed GROUP BY key_id",
    )?;
    let rows = stmt
        .query_map(params![day_start], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// Totals over `[from, to)` (epoch ms), overall and per group.
pub fn summary(c: &Connection, from: i64, to: i64, by: GroupBy) -> Result<Summary, StoreError> {
    let total = c.query_row(
        &format!("SELECT {TOTALS} FROM usage_events WHERE started_ms >= ?1 AND started_ms < ?2"),
        params![from, to],
        |r| row_of(String::new(), r, 0),
    )?;
    let mut stmt = c.prepare(&format!(
        "SELECT coalesce({key}, ''), {TOTALS} FROM usage_events
         WHERE started_ms >= ?1 AND started_ms < ?2 GROUP BY 1 ORDER BY 2 DESC, 1",
        key = by.column()
    ))?;
    let groups = stmt
        .query_map(params![from, to], |r| row_of(r.get(0)?, r, 1))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Summary {
        from,
        to,
        total,
        groups,
    })
}

/// Totals per hour or day bucket (UTC) over `[from, to)`, split by group; buckets without
/// requests are left out.
pub fn timeseries(
    c: &Connection,
    from: i64,
    to: i64,
    bucket: Bucket,
    by: GroupBy,
) -> Result<Vec<TimePoint>, StoreError> {
    let mut stmt = c.prepare(&format!(
        "SELECT (started_ms / ?3) * ?3, coalesce({key}, ''), {TOTALS} FROM usage_events
         WHERE started_ms >= ?1 AND started_ms < ?2 GROUP BY 1, 2 ORDER BY 1, 2",
        key = by.column()
    ))?;
    let points = stmt
        .query_map(params![from, to, bucket.ms()], |r| {
            Ok(TimePoint {
                start: r.get(0)?,
                totals: row_of(r.get(1)?, r, 2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(points)
}
