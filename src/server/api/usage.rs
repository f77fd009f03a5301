//! `GET /api/usage/summary` and `GET /api/usage/timeseries`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::ApiError;
use crate::engine::Core;
use crate::manage::ManageError;
use crate::store::now_ms;
use crate::usage::{self, Bucket, GroupBy};

const DAY_MS: i64 = 86_400_000;

/// A range in epoch milliseconds (default: the last 24 hours) and a grouping.
#[derive(Deserialize)]
pub struct UsageQuery {
    from: Option<i64>,
    to: Option<i64>,
    by: Option<String>,
    bucket: Option<String>,
}

fn bad(field: &str, message: &str) -> ApiError {
    ApiError::BadBody {
        field: field.to_owned(),
        message: message.to_owned(),
    }
}

impl UsageQuery {
    fn range(&self) -> Result<(i64, i64), ApiError> {
        let to = self.to.unwrap_or_else(|| now_ms() + 1);
        let from = self.from.unwrap_or(to - DAY_MS);
        if from >= to {
            return Err(bad("from", "from must be before to"));
        }
        Ok((from, to))
    }

    fn group(&self) -> Result<GroupBy, ApiError> {
        GroupBy::parse(self.by.as_deref().unwrap_or("provider"))
            .ok_or_else(|| bad("by", "by must be provider, model or account"))
    }
}

pub async fn summary(
    State(core): State<Arc<Core>>,
    Query(q): Query<UsageQuery>,
) -> Result<Response, ApiError> {
    let (from, to) = q.range()?;
    let by = q.group()?;
    let s = core
        .store
        .call(move |c| usage::summary(c, from, to, by))
        .await
        .map_err(ManageError::from)?;
    Ok(Json(s).into_response())
}

pub async fn timeseries(
    State(core): State<Arc<Core>>,
    Query(q): Query<UsageQuery>,
) -> Result<Response, ApiError> {
    let (from, to) = q.range()?;
    let by = q.group()?;
    let bucket = Bucket::parse(q.bucket.as_deref().unwrap_or("hour"))
        .ok_or_else(|| bad("bucket", "bucket must be hour or day"))?;
    let points = core
        .store
        .call(move |c| usage::timeseries(c, from, to, bucket, by))
        .await
        .map_err(ManageError::from)?;
    Ok(Json(serde_json::json!({ "from": from, "to": to, "points": points })).into_response())
}
