//! Reading the `request_details` table for `/api/usage/request-details`: pages, filters,
//! and every layer rendered for display.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::redact::Redactor;
use super::render;
use crate::format::Api;
use crate::providers::WireFormat;
use crate::store::sql::{Dialect, Row, ToArg, Value as Col};
use crate::store::{Sql, SqlExt, StoreError};

/// The list's filters; all optional. `status` is a code, `ok`, `error` or `pending`.
#[derive(Debug, Clone, Default)]
pub struct DetailFilter {
    pub provider: Option<String>,
    pub model: Option<String>,
    pub account_id: Option<String>,
    pub status: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub q: Option<String>,
    pub ids: Option<Vec<String>>,
}

impl DetailFilter {
    fn where_clause(&self, dialect: Dialect) -> (String, Vec<Col>) {
        use Col as V;
        let mut clauses = Vec::new();
        let mut args: Vec<V> = Vec::new();
        let mut arg = |v: V| {
            args.push(v);
            format!("?{}", args.len())
        };
        if let Some(p) = &self.provider {
            clauses.push(format!("provider = {}", arg(V::Text(p.clone()))));
        }
        if let Some(m) = &self.model {
            let a = arg(V::Text(m.clone()));
            clauses.push(format!(
                "(model = {a} OR requested_model = {a} OR provider || '/' || model = {a})"
            ));
        }
        if let Some(a) = &self.account_id {
            clauses.push(format!("account_id = {}", arg(V::Text(a.clone()))));
        }
        match self.status.as_deref() {
            None => {}
            Some("ok") => clauses.push("status < 400".into()),
            Some("error") => clauses.push("status >= 400".into()),
            Some("pending") => clauses.push("status IS NULL".into()),
            Some(code) => {
                let code = code.parse::<i64>().unwrap_or(-1);
                clauses.push(format!("status = {}", arg(V::Int(code))));
            }
        }
        if let Some(from) = self.from {
            clauses.push(format!("started_ms >= {}", arg(V::Int(from))));
        }
        if let Some(to) = self.to {
            clauses.push(format!("started_ms < {}", arg(V::Int(to))));
        }
        if let Some(q) = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let escaped = q
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            let a = arg(V::Text(format!("%{escaped}%")));
            let like = |col: &str| dialect.like(col, &a);
            let mut any = vec![
                like("id"),
                like("requested_model"),
                like("coalesce(model, '')"),
                like("coalesce(provider, '')"),
            ];
            match dialect {
                // SQLite compares a blob as text.
                Dialect::Sqlite => {
                    any.push(like("client_request_body"));
                    any.push(like("coalesce(provider_response_body, '')"));
                }
                Dialect::Postgres => {
                    let raw = arg(V::Text(q.to_owned()));
                    any.push(dialect.blob_contains("client_request_body", &raw));
                    any.push(dialect.blob_contains("provider_response_body", &raw));
                }
            }
            clauses.push(format!("({})", any.join(" OR ")));
        }
        if let Some(ids) = &self.ids {
            let list: Vec<String> = ids.iter().map(|id| arg(V::Text(id.clone()))).collect();
            clauses.push(format!("id IN ({})", list.join(",")));
        }
        if clauses.is_empty() {
            (String::new(), args)
        } else {
            (format!("WHERE {}", clauses.join(" AND ")), args)
        }
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Pagination {
    pub page: u32,
    pub page_size: u32,
    #[cfg_attr(test, ts(type = "number"))]
    pub total_items: u64,
    #[cfg_attr(test, ts(type = "number"))]
    pub total_pages: u64,
}

#[derive(Debug, Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct DetailPage {
    pub details: Vec<DetailSummary>,
    pub pagination: Pagination,
    /// Requests whose detail the inspector refused because its writer fell behind.
    #[cfg_attr(test, ts(type = "number"))]
    pub dropped: u64,
    /// Requests not listed because more came in their second than the inspector lists
    /// (`inspector_requests_per_second`); usage counts them.
    #[cfg_attr(test, ts(type = "number"))]
    pub unlisted: u64,
}

/// A request's token counts, as far as they are known.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct TokenCounts {
    #[cfg_attr(test, ts(type = "number | null"))]
    pub input: Option<i64>,
    #[cfg_attr(test, ts(type = "number | null"))]
    pub cached: Option<i64>,
    #[cfg_attr(test, ts(type = "number | null"))]
    pub cache_write: Option<i64>,
    #[cfg_attr(test, ts(type = "number | null"))]
    pub output: Option<i64>,
    #[cfg_attr(test, ts(type = "number | null"))]
    pub reasoning: Option<i64>,
}

/// One failed try on a request's way, as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct AttemptView {
    pub target: String,
    pub account_id: String,
    pub class: String,
    pub status: Option<u16>,
}

/// A request as the inspector lists it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct DetailSummary {
    pub id: String,
    #[cfg_attr(test, ts(type = "number"))]
    pub timestamp: i64,
    pub api: String,
    pub endpoint: String,
    pub requested_model: String,
    pub provider: Option<String>,
    /// The provider's (a node's) own name, when it is not its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub provider_name: Option<String>,
    pub model: Option<String>,
    /// The account's id (named as 9Router's API names it).
    pub connection_id: Option<String>,
    /// The account's own name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(test, ts(optional))]
    pub account_name: Option<String>,
    pub key_id: Option<String>,
    pub combo: Option<String>,
    pub attempts: Vec<AttemptView>,
    pub streamed: bool,
    #[cfg_attr(test, ts(type = "number | null"))]
    pub status: Option<i64>,
    pub pending: bool,
    pub tokens: TokenCounts,
    #[cfg_attr(test, ts(type = "number | null"))]
    pub ttft_ms: Option<i64>,
    #[cfg_attr(test, ts(type = "number | null"))]
    pub latency_ms: Option<i64>,
}

/// A request with every layer: the client's request and the answer it got, what went to the
/// provider and what came back, its settings at a glance and the model's answer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Detail {
    #[serde(flatten)]
    pub summary: DetailSummary,
    pub config: Option<Value>,
    pub answer: Option<render::AnswerView>,
    pub client_request: Option<render::Layer>,
    pub provider_request: Option<render::Layer>,
    pub provider_response: Option<render::Layer>,
    pub client_response: Option<render::Layer>,
}

const SUMMARY_COLUMNS: &str = "id, started_ms, api, endpoint, requested_model, provider, model,
    account_id, key_id, combo, attempts, streamed, status, input_tokens, cached_tokens,
    cache_write_tokens, output_tokens, reasoning_tokens, ttft_ms, latency_ms";

fn summary_of(r: &mut Row) -> Result<DetailSummary, StoreError> {
    let status: Option<i64> = r.get(12)?;
    let attempts: Option<String> = r.get(10)?;
    Ok(DetailSummary {
        id: r.get(0)?,
        timestamp: r.get(1)?,
        api: r.get(2)?,
        endpoint: r.get(3)?,
        requested_model: r.get(4)?,
        provider: r.get(5)?,
        provider_name: None,
        model: r.get(6)?,
        connection_id: r.get(7)?,
        account_name: None,
        key_id: r.get(8)?,
        combo: r.get(9)?,
        attempts: attempts
            .and_then(|a| serde_json::from_str(&a).ok())
            .unwrap_or_default(),
        streamed: r.get(11)?,
        status,
        pending: status.is_none(),
        tokens: TokenCounts {
            input: r.get(13)?,
            cached: r.get(14)?,
            cache_write: r.get(15)?,
            output: r.get(16)?,
            reasoning: r.get(17)?,
        },
        ttft_ms: r.get(18)?,
        latency_ms: r.get(19)?,
    })
}

/// Newest first.
pub fn list_details(
    c: &mut dyn Sql,
    filter: &DetailFilter,
    page: u32,
    page_size: u32,
) -> Result<DetailPage, StoreError> {
    let (clause, values) = filter.where_clause(c.dialect());
    let bound = bind(&values);
    let total: i64 = c.value(
        &format!("SELECT count(*) FROM request_details {clause}"),
        &bound,
    )?;
    let details = c.rows(
        &format!(
            "SELECT {SUMMARY_COLUMNS} FROM request_details {clause}
             ORDER BY seq DESC LIMIT {page_size} OFFSET {offset}",
            offset = u64::from(page.saturating_sub(1)) * u64::from(page_size)
        ),
        &bound,
        |mut r| summary_of(&mut r),
    )?;
    let total_items = u64::try_from(total).unwrap_or(0);
    Ok(DetailPage {
        details,
        pagination: Pagination {
            page,
            page_size,
            total_items,
            total_pages: total_items.div_ceil(u64::from(page_size.max(1))),
        },
        dropped: 0,
        unlisted: 0,
    })
}

/// Every layer of the requests that match (export), newest first, at most `limit`; rendered
/// with the secrets known now.
pub fn full_details(
    c: &mut dyn Sql,
    filter: &DetailFilter,
    limit: u32,
    r: &Redactor,
) -> Result<Vec<Detail>, StoreError> {
    let (clause, values) = filter.where_clause(c.dialect());
    let rows = c.rows(
        &format!(
            "SELECT {SUMMARY_COLUMNS}, provider_wire,
            client_request, client_request_body, provider_request, provider_request_body,
            provider_response, provider_response_body, client_response, client_response_body
         FROM request_details {clause} ORDER BY seq DESC LIMIT {limit}"
        ),
        &bind(&values),
        |mut row| {
            let summary = summary_of(&mut row)?;
            let wire = row
                .get::<Option<String>>(20)?
                .and_then(|w| serde_json::from_value::<WireFormat>(Value::String(w)).ok());
            let mut layer = |at: usize| -> Result<(Option<String>, Vec<u8>), StoreError> {
                let body: Option<Vec<u8>> = row.get(at + 1)?;
                Ok((row.get(at)?, body.unwrap_or_default()))
            };
            let layers = [
                ("clientRequest", layer(21)?),
                ("providerRequest", layer(23)?),
                ("providerResponse", layer(25)?),
                ("clientResponse", layer(27)?),
            ];
            let api = Api::from_name(&summary.api);
            let [
                client_request,
                provider_request,
                provider_response,
                client_response,
            ] = layers.map(|(_, (meta, body))| (meta, body));
            Ok(Detail {
                config: api
                    .map(|api| render::config(api, &client_request.1))
                    .filter(|c| !c.is_null()),
                answer: api.and_then(|api| {
                    render::answer(wire, &provider_response.1, api, &client_response.1)
                }),
                client_request: render::layer(client_request.0.as_deref(), &client_request.1, r),
                provider_request: render::layer(
                    provider_request.0.as_deref(),
                    &provider_request.1,
                    r,
                ),
                provider_response: render::layer(
                    provider_response.0.as_deref(),
                    &provider_response.1,
                    r,
                ),
                client_response: render::layer(client_response.0.as_deref(), &client_response.1, r),
                summary,
            })
        },
    )?;
    Ok(rows)
}

fn bind(values: &[Col]) -> Vec<&dyn ToArg> {
    values.iter().map(|v| v as &dyn ToArg).collect()
}

pub fn get_detail(c: &mut dyn Sql, id: &str, r: &Redactor) -> Result<Option<Detail>, StoreError> {
    let filter = DetailFilter {
        ids: Some(vec![id.to_owned()]),
        ..DetailFilter::default()
    };
    Ok(full_details(c, &filter, 1, r)?.into_iter().next())
}
