//! Reading the `request_details` table for `/api/usage/request-details`: pages, filters,
//! and every layer rendered for display.

use rusqlite::{Connection, params_from_iter};
use serde::Serialize;
use serde_json::{Value, json};

use super::redact::Redactor;
use super::render;
use crate::format::Api;
use crate::providers::WireFormat;
use crate::store::StoreError;

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
                  OR client_request_body LIKE {a} ESCAPE '\\'
                  OR coalesce(provider_response_body, '') LIKE {a} ESCAPE '\\')"
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

/// Every layer of the requests that match (export), newest first, at most `limit`; rendered
/// with the secrets known now.
pub fn full_details(
    c: &Connection,
    filter: &DetailFilter,
    limit: u32,
    r: &Redactor,
) -> Result<Vec<Value>, StoreError> {
    let (clause, args) = filter.where_clause();
    let mut stmt = c.prepare(&format!(
        "SELECT {SUMMARY_COLUMNS}, provider_wire,
            client_request, client_request_body, provider_request, provider_request_body,
            provider_response, provider_response_body, client_response, client_response_body
         FROM request_details {clause} ORDER BY seq DESC LIMIT {limit}"
    ))?;
    let rows = stmt
        .query_map(params_from_iter(args.iter()), |row| {
            let mut v = summary_of(row)?;
            let layer = |at: usize| -> rusqlite::Result<(Option<String>, Vec<u8>)> {
                let body: Option<Vec<u8>> = row.get(at + 1)?;
                Ok((row.get(at)?, body.unwrap_or_default()))
            };
            let wire = row
                .get::<_, Option<String>>(20)?
                .and_then(|w| serde_json::from_value::<WireFormat>(Value::String(w)).ok());
            let layers = [
                ("clientRequest", layer(21)?),
                ("providerRequest", layer(23)?),
                ("providerResponse", layer(25)?),
                ("clientResponse", layer(27)?),
            ];
            if let Some(api) = v["api"].as_str().and_then(Api::from_name) {
                v["config"] = render::config(api, &layers[0].1.1);
                v["answer"] = render::answer(wire, &layers[2].1.1, api, &layers[3].1.1);
            }
            for (key, (meta, body)) in &layers {
                v[*key] = render::layer(meta.as_deref(), body, r);
            }
            Ok(v)
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

pub fn get_detail(c: &Connection, id: &str, r: &Redactor) -> Result<Option<Value>, StoreError> {
    let filter = DetailFilter {
        ids: Some(vec![id.to_owned()]),
        ..DetailFilter::default()
    };
    Ok(full_details(c, &filter, 1, r)?.into_iter().next())
}
