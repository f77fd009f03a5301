//! The usage queries behind `/api/usage/summary` and `/api/usage/timeseries`.

use serde::Serialize;

use crate::store::sql::{Row, args};
use crate::store::{Sql, SqlExt, StoreError};

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

const TOTALS: &str = "count(*),
    CAST(sum(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS BIGINT),
    CAST(sum(input_tokens) AS BIGINT), CAST(sum(cached_tokens) AS BIGINT),
    CAST(sum(cache_write_tokens) AS BIGINT), CAST(sum(output_tokens) AS BIGINT),
    CAST(sum(reasoning_tokens) AS BIGINT),
    sum(CASE WHEN billed <> 0 THEN cost ELSE 0 END),
    sum(CASE WHEN billed <> 0 THEN 0 ELSE cost END),
    CAST(avg(latency_ms) AS DOUBLE PRECISION), CAST(avg(ttft_ms) AS DOUBLE PRECISION),
    CAST(sum(CASE WHEN limited IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT)";

fn row_of(key: String, r: &mut Row, at: usize) -> Result<SummaryRow, StoreError> {
    Ok(SummaryRow {
        key,
        name: None,
        requests: r.get(at)?,
        errors: r.get::<Option<i64>>(at + 1)?.unwrap_or(0),
        input_tokens: r.get::<Option<i64>>(at + 2)?.unwrap_or(0),
        cached_tokens: r.get::<Option<i64>>(at + 3)?.unwrap_or(0),
        cache_write_tokens: r.get::<Option<i64>>(at + 4)?.unwrap_or(0),
        output_tokens: r.get::<Option<i64>>(at + 5)?.unwrap_or(0),
        reasoning_tokens: r.get::<Option<i64>>(at + 6)?.unwrap_or(0),
        cost: r.get::<Option<f64>>(at + 7)?.unwrap_or(0.0),
        saved: r.get::<Option<f64>>(at + 8)?.unwrap_or(0.0),
        avg_latency_ms: r.get::<Option<f64>>(at + 9)?.unwrap_or(0.0),
        avg_ttft_ms: r.get(at + 10)?,
        limited: r.get::<Option<i64>>(at + 11)?.unwrap_or(0),
    })
}

/// What each proxy key was billed since the start of `now_ms`'s UTC day (to pick up the
/// daily cost limits after a restart).
pub fn billed_today_by_key(c: &mut dyn Sql, now_ms: i64) -> Result<Vec<(String, f64)>, StoreError> {
    let day_start = now_ms - now_ms.rem_euclid(86_400_000);
    c.rows(
        "SELECT key_id, sum(cost) FROM usage_events
         WHERE started_ms >= ?1 AND key_id IS NOT NULL AND billed <> 0 GROUP BY key_id",
        args![day_start],
        |mut r| Ok((r.get(0)?, r.get(1)?)),
    )
}

/// Totals over `[from, to)` (epoch ms), overall and per group.
pub fn summary(c: &mut dyn Sql, from: i64, to: i64, by: GroupBy) -> Result<Summary, StoreError> {
    let total = c
        .row(
            &format!(
                "SELECT {TOTALS} FROM usage_events WHERE started_ms >= ?1 AND started_ms < ?2"
            ),
            args![from, to],
            |mut r| row_of(String::new(), &mut r, 0),
        )?
        .ok_or_else(|| StoreError::Corrupt("usage totals answered no row".into()))?;
    let groups = c.rows(
        &format!(
            "SELECT coalesce({key}, ''), {TOTALS} FROM usage_events
             WHERE started_ms >= ?1 AND started_ms < ?2 GROUP BY 1 ORDER BY 2 DESC, 1",
            key = by.column()
        ),
        args![from, to],
        |mut r| row_of(r.get(0)?, &mut r, 1),
    )?;
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
    c: &mut dyn Sql,
    from: i64,
    to: i64,
    bucket: Bucket,
    by: GroupBy,
) -> Result<Vec<TimePoint>, StoreError> {
    c.rows(
        &format!(
            "SELECT (started_ms / ?3) * ?3, coalesce({key}, ''), {TOTALS} FROM usage_events
             WHERE started_ms >= ?1 AND started_ms < ?2 GROUP BY 1, 2 ORDER BY 1, 2",
            key = by.column()
        ),
        args![from, to, bucket.ms()],
        |mut r| {
            Ok(TimePoint {
                start: r.get(0)?,
                totals: row_of(r.get(1)?, &mut r, 2)?,
            })
        },
    )
}
