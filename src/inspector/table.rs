//! The `request_details` table: written by the recording writer, pruned to the retention
//! limits after each batch, read by `/api/usage/request-details`.

use rusqlite::{Connection, Transaction, params, params_from_iter};
use serde::Serialize;
use serde_json::{Value, json};

use super::capture::{Begin, DetailMessage, End};
use super::redact::Redactor;
use super::render;
use crate::catalog::ObservabilitySettings;
use crate::format::Usage;
use crate::store::StoreError;

/// Retention limits, from the observability settings.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_requests: u32,
    pub max_bytes: u64,
}

impl From<&ObservabilitySettings> for Limits {
    fn from(s: &ObservabilitySettings) -> Self {
        Self {
            max_requests: s.inspector_max_requests,
            max_bytes: s.inspector_max_bytes,
        }
    }
}

fn text(v: &Value) -> String {
    if v.is_null() {
        String::new()
    } else {
        v.to_string()
    }
}

/// Writes one batch of messages; `usage_of` reads an end's token counts.
pub fn apply(
    tx: &Transaction,
    messages: &[DetailMessage],
    r: &Redactor,
    usage_of: impl Fn(&End) -> Usage,
) -> Result<(), StoreError> {
    for m in messages {
        match m {
            DetailMessage::Begin(b) => insert(tx, b, r)?,
            DetailMessage::End(e) => finish(tx, e, r, usage_of(e))?,
        }
    }
    Ok(())
}

fn insert(tx: &Transaction, b: &Begin, r: &Redactor) -> Result<(), StoreError> {
    let client_request = text(&render::layer(&b.client_request, r));
    let provider_request = b
        .provider_request
        .as_ref()
        .map(|p| text(&render::layer(p, r)));
    let config = text(&render::config(b.api, &b.client_request.body.concat()));
    let attempts = serde_json::to_string(&b.attempts).unwrap_or_else(|_| "[]".into());
    let size =
        client_request.len() + provider_request.as_ref().map_or(0, String::len) + config.len();
    tx.prepare_cached(
        "INSERT OR IGNORE INTO request_details (id, started_ms, api, endpoint, requested_model,
            provider, model, account_id, key_id, combo, attempts, streamed, config,
            client_request, provider_request, size)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
    )?
    .execute(params![
        b.id,
        b.started_ms,
        b.api.name(),
        b.endpoint,
        b.requested_model,
        b.provider,
        b.model,
        b.account_id,
        b.key_id,
        b.combo,
        attempts,
        b.streamed,
        config,
        client_request,
        provider_request,
        size as i64,
    ])?;
    Ok(())
}

fn finish(tx: &Transaction, e: &End, r: &Redactor, u: Usage) -> Result<(), StoreError> {
    let provider_response = e
        .provider_response
        .as_ref()
        .map(|p| text(&render::layer(p, r)));
    let client_response = text(&render::layer(&e.client_response, r));
    let provider_body = e
        .provider_response
        .as_ref()
        .map(|p| p.body.concat())
        .unwrap_or_default();
    let answer = text(&render::answer(
        e.provider_wire,
        &provider_body,
        e.api,
        &e.client_response.body.concat(),
    ));
    let size =
        provider_response.as_ref().map_or(0, String::len) + client_response.len() + answer.len();
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    tx.prepare_cached(
        "UPDATE request_details SET status = ?2, ttft_ms = ?3, latency_ms = ?4,
            input_tokens = ?5, cached_tokens = ?6, cache_write_tokens = ?7, output_tokens = ?8,
            reasoning_tokens = ?9, provider_response = ?10, client_response = ?11, answer = ?12,
            size = size + ?13
         WHERE id = ?1",
    )?
    .execute(params![
        e.id,
        e.status,
        e.ttft_ms,
        e.latency_ms,
        n(u.input),
        n(u.cache_read),
        n(u.cache_write),
        n(u.output),
        n(u.reasoning),
        provider_response,
        client_response,
        answer,
        size as i64,
    ])?;
    Ok(())
}

/// Drops the oldest requests beyond the count and byte budgets. Returns how many went.
pub fn prune(c: &Connection, limits: Limits) -> Result<usize, StoreError> {
    let by_count = c.execute(
        "DELETE FROM request_details WHERE seq <= (
            SELECT seq FROM request_details ORDER BY seq DESC LIMIT 1 OFFSET ?1)",
        params![limits.max_requests],
    )?;
    let by_bytes = c.execute(
        "DELETE FROM request_details WHERE seq <= (
            SELECT seq FROM (
                SELECT seq, sum(size) OVER (ORDER BY seq DESC) AS running FROM request_details)
            WHERE running > ?1 ORDER BY seq DESC LIMIT 1)",
        params![i64::try_from(limits.max_bytes).unwrap_or(i64::MAX)],
    )?;
    Ok(by_count + by_bytes)
}

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
    fn where_clause(&self) -> (String, Vec<rusqlite::types::Value>) {
        use rusqlite::types::Value as V;
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
                clauses.push(format!("status = {}", arg(V::Integer(code))));
            }
        }
        if let Some(from) = self.from {
            clauses.push(format!("started_ms >= {}", arg(V::Integer(from))));
        }
        if let Some(to) = self.to {
            clauses.push(format!("started_ms < {}", arg(V::Integer(to))));
        }
        if let Some(q) = self.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let escaped = q
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            let a = arg(V::Text(format!("%{escaped}%")));
            clauses.push(format!(
                "(id LIKE {a} ESCAPE '\\' OR requested_model LIKE {a} ESCAPE '\\'
                  OR coalesce(model, '') LIKE {a} ESCAPE '\\'
                  OR coalesce(provider, '') LIKE {a} ESCAPE '\\'
                  OR client_request LIKE {a} ESCAPE '\\'
                  OR coalesce(answer, '') LIKE {a} ESCAPE '\\')"
            ));
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
pub struct Pagination {
    pub page: u32,
    pub page_size: u32,
    pub total_items: u64,
    pub total_pages: u64,
}

#[derive(Debug, Serialize)]
pub struct DetailPage {
    pub details: Vec<Value>,
    pub pagination: Pagination,
}

const SUMMARY_COLUMNS: &str = "id, started_ms, api, endpoint, requested_model, provider, model,
    account_id, key_id, combo, attempts, streamed, status, input_tokens, cached_tokens,
    cache_write_tokens, output_tokens, reasoning_tokens, ttft_ms, latency_ms";

fn parsed(text: Option<String>) -> Value {
    text.and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null)
}

fn summary_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<Value> {
    let status: Option<i64> = r.get(12)?;
    Ok(json!({
        "id": r.get::<_, String>(0)?,
        "timestamp": r.get::<_, i64>(1)?,
        "api": r.get::<_, String>(2)?,
        "endpoint": r.get::<_, String>(3)?,
        "requestedModel": r.get::<_, String>(4)?,
        "provider": r.get::<_, Option<String>>(5)?,
        "model": r.get::<_, Option<String>>(6)?,
        "connectionId": r.get::<_, Option<String>>(7)?,
        "keyId": r.get::<_, Option<String>>(8)?,
        "combo": r.get::<_, Option<String>>(9)?,
        "attempts": parsed(r.get(10)?),
        "streamed": r.get::<_, bool>(11)?,
        "status": status,
        "pending": status.is_none(),
        "tokens": {
            "input": r.get::<_, Option<i64>>(13)?,
            "cached": r.get::<_, Option<i64>>(14)?,
            "cacheWrite": r.get::<_, Option<i64>>(15)?,
            "output": r.get::<_, Option<i64>>(16)?,
            "reasoning": r.get::<_, Option<i64>>(17)?,
        },
        "ttftMs": r.get::<_, Option<i64>>(18)?,
        "latencyMs": r.get::<_, Option<i64>>(19)?,
    }))
}

/// Newest first.
pub fn list_details(
    c: &Connection,
    filter: &DetailFilter,
    page: u32,
    page_size: u32,
) -> Result<DetailPage, StoreError> {
    let (clause, args) = filter.where_clause();
    let total: i64 = c.query_row(
        &format!("SELECT count(*) FROM request_details {clause}"),
        params_from_iter(args.iter()),
        |r| r.get(0),
    )?;
    let mut stmt = c.prepare(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM request_details {clause}
         ORDER BY seq DESC LIMIT {page_size} OFFSET {offset}",
        offset = u64::from(page.saturating_sub(1)) * u64::from(page_size)
    ))?;
    let details = stmt
        .query_map(params_from_iter(args.iter()), summary_of)?
        .collect::<Result<Vec<_>, _>>()?;
    let total_items = u64::try_from(total).unwrap_or(0);
    Ok(DetailPage {
        details,
        pagination: Pagination {
            page,
            page_size,
            total_items,
            total_pages: total_items.div_ceil(u64::from(page_size.max(1))),
        },
    })
}

/// Every layer of the requests that match (export), newest first, at most `limit`.
pub fn full_details(
    c: &Connection,
    filter: &DetailFilter,
    limit: u32,
) -> Result<Vec<Value>, StoreError> {
    let (clause, args) = filter.where_clause();
    let mut stmt = c.prepare(&format!(
        "SELECT {SUMMARY_COLUMNS}, config, answer, client_request, provider_request,
            provider_response, client_response
         FROM request_details {clause} ORDER BY seq DESC LIMIT {limit}"
    ))?;
    let rows = stmt
        .query_map(params_from_iter(args.iter()), |r| {
            let mut v = summary_of(r)?;
            for (i, key) in [
                "config",
                "answer",
                "clientRequest",
                "providerRequest",
                "providerResponse",
                "clientResponse",
            ]
            .into_iter()
            .enumerate()
            {
                v[key] = parsed(r.get(20 + i)?);
            }
            Ok(v)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn get_detail(c: &Connection, id: &str) -> Result<Option<Value>, StoreError> {
    let filter = DetailFilter {
        ids: Some(vec![id.to_owned()]),
        ..DetailFilter::default()
    };
    Ok(full_details(c, &filter, 1)?.into_iter().next())
}

/// Requests the router stopped before they finished (a crash or a kill) are closed as such.
pub fn close_interrupted(c: &Connection) -> Result<usize, StoreError> {
    Ok(c.execute(
        "UPDATE request_details SET status = 0 WHERE status IS NULL",
        [],
    )?)
}
