//! `GET /api/usage/summary`, `GET /api/usage/timeseries` and the request inspector's
//! `GET /api/usage/request-details[/{id}|/export]`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::ApiError;
use crate::clock::now_ms;
use crate::inspector::{self, DetailFilter, Redactor};
use crate::manage::ManageError;
use crate::state::Core;
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
            .ok_or_else(|| bad("by", "by must be provider, model, account, key or combo"))
    }
}

/// The names people gave what records name by id: providers (custom nodes), accounts and
/// proxy keys.
struct Names(std::collections::HashMap<String, String>);

impl Names {
    async fn of(core: &Core) -> Self {
        let catalog = core.catalog();
        let mut names: std::collections::HashMap<String, String> = catalog
            .providers()
            .iter()
            .map(|p| (p.id.clone(), p.name.clone()))
            .chain(
                catalog
                    .accounts()
                    .iter()
                    .map(|a| (a.id.clone(), a.name.clone())),
            )
            .collect();
        if let Ok(keys) = crate::manage::list_keys(core).await {
            names.extend(keys.into_iter().map(|k| (k.id, k.name)));
        }
        Self(names)
    }

    fn get(&self, id: &str) -> Option<String> {
        self.0.get(id).filter(|n| n.as_str() != id).cloned()
    }

    fn name_rows<'a>(&self, by: GroupBy, rows: impl Iterator<Item = &'a mut usage::SummaryRow>) {
        if matches!(by, GroupBy::Provider | GroupBy::Account | GroupBy::Key) {
            rows.for_each(|r| r.name = self.get(&r.key));
        }
    }

    /// Adds the provider's and the account's names beside a request's ids.
    fn name_request(&self, request: &mut inspector::DetailSummary) {
        request.provider_name = request.provider.as_deref().and_then(|i| self.get(i));
        request.account_name = request.connection_id.as_deref().and_then(|i| self.get(i));
    }
}

pub async fn summary(
    State(core): State<Arc<Core>>,
    Query(q): Query<UsageQuery>,
) -> Result<Response, ApiError> {
    let (from, to) = q.range()?;
    let by = q.group()?;
    let mut s = core
        .store
        .call(move |c| usage::summary(c, from, to, by))
        .await
        .map_err(ManageError::from)?;
    Names::of(&core).await.name_rows(by, s.groups.iter_mut());
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
    let mut points = core
        .store
        .call(move |c| usage::timeseries(c, from, to, bucket, by))
        .await
        .map_err(ManageError::from)?;
    Names::of(&core)
        .await
        .name_rows(by, points.iter_mut().map(|p| &mut p.totals));
    Ok(Json(usage::TimeSeries { from, to, points }).into_response())
}

/// `GET /api/usage/request-details` query: pagination and filters.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetailQuery {
    page: Option<u32>,
    page_size: Option<u32>,
    provider: Option<String>,
    model: Option<String>,
    connection_id: Option<String>,
    status: Option<String>,
    from: Option<i64>,
    to: Option<i64>,
    q: Option<String>,
    /// Export only: a comma-separated list of request ids.
    ids: Option<String>,
}

/// A page of the inspector's list may hold every request it keeps by default.
const MAX_PAGE_SIZE: u32 = 1000;
/// An export holds at most this many requests (each may carry megabytes).
const MAX_EXPORT: u32 = 1000;

impl DetailQuery {
    fn filter(self) -> Result<DetailFilter, ApiError> {
        let status = self.status.filter(|s| !s.is_empty());
        if let Some(s) = &status
            && !matches!(s.as_str(), "ok" | "error" | "pending")
            && s.parse::<u16>().is_err()
        {
            return Err(bad(
                "status",
                "status must be an HTTP status code, ok, error or pending",
            ));
        }
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from >= to
        {
            return Err(bad("from", "from must be before to"));
        }
        let some = |v: Option<String>| v.filter(|s| !s.is_empty());
        Ok(DetailFilter {
            provider: some(self.provider),
            model: some(self.model),
            account_id: some(self.connection_id),
            status,
            from: self.from,
            to: self.to,
            q: some(self.q),
            ids: some(self.ids).map(|ids| ids.split(',').map(str::to_owned).collect()),
        })
    }
}

pub async fn request_details(
    State(core): State<Arc<Core>>,
    Query(q): Query<DetailQuery>,
) -> Result<Response, ApiError> {
    let page = q.page.unwrap_or(1);
    if page == 0 {
        return Err(bad("page", "page starts at 1"));
    }
    let page_size = q.page_size.unwrap_or(20);
    if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
        return Err(bad("pageSize", "pageSize must be between 1 and 1000"));
    }
    let filter = q.filter()?;
    let mut listed = core
        .store
        .call(move |c| inspector::list_details(c, &filter, page, page_size))
        .await
        .map_err(ManageError::from)?;
    let names = Names::of(&core).await;
    listed
        .details
        .iter_mut()
        .for_each(|r| names.name_request(r));
    listed.dropped = core.inspector.dropped();
    listed.unlisted = core.inspector.unlisted();
    Ok(Json(listed).into_response())
}

/// Stored bodies were scrubbed with the keys known then; display also hides those known now.
fn redactor(core: &Core) -> Redactor {
    Redactor::new(core.known_secrets())
}

pub async fn request_detail(
    State(core): State<Arc<Core>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let lookup = id.clone();
    let redactor = redactor(&core);
    let found = core
        .store
        .call(move |c| inspector::get_detail(c, &lookup, &redactor))
        .await
        .map_err(ManageError::from)?;
    match found {
        Some(mut detail) => {
            Names::of(&core).await.name_request(&mut detail.summary);
            Ok(Json(detail).into_response())
        }
        None => Err(ApiError::NotFound(format!(
            "no request '{id}' in the inspector (it may have been pruned)"
        ))),
    }
}

/// The export file: every layer of the chosen requests.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Exported {
    #[cfg_attr(test, ts(type = "number"))]
    pub exported_at: i64,
    pub requests: Vec<inspector::Detail>,
}

/// `GET /api/usage/request-details/export?ids=a,b` (or the list's filters): every layer of
/// the chosen requests as one JSON file.
pub async fn export_details(
    State(core): State<Arc<Core>>,
    Query(q): Query<DetailQuery>,
) -> Result<Response, ApiError> {
    let filter = q.filter()?;
    let redactor = redactor(&core);
    let details = core
        .store
        .call(move |c| inspector::full_details(c, &filter, MAX_EXPORT, &redactor))
        .await
        .map_err(ManageError::from)?;
    let body = Exported {
        exported_at: now_ms(),
        requests: details,
    };
    Ok((
        [(
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"ninerouter-requests.json\"",
        )],
        Json(body),
    )
        .into_response())
}
