//! Writing the `request_details` table: one row per request (a stream's row is completed at
//! its end), bodies stored as scrubbed bytes and rendered only when someone looks, and the
//! retention limits kept with counters so pruning runs only when a limit is passed.

use std::borrow::Cow;

use super::redact::Redactor;
use super::render;
use super::{Begin, Captured, DetailMessage, End};
use crate::catalog::ObservabilitySettings;
use crate::format::Usage;
use crate::providers::WireFormat;
use crate::store::sql::args;
use crate::store::{Sql, SqlExt, StoreError};

/// How many of the oldest requests one pruning step reads.
const PRUNE_CHUNK: i64 = 256;

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

/// How many requests and bytes the table holds, kept by the writer.
#[derive(Debug, Default)]
pub struct Retention {
    count: i64,
    bytes: i64,
    loaded: bool,
}

impl Retention {
    fn load(&mut self, c: &mut dyn Sql) -> Result<(), StoreError> {
        if !self.loaded {
            (self.count, self.bytes) = c
                .row(
                    "SELECT count(*), CAST(coalesce(sum(size), 0) AS BIGINT) FROM request_details",
                    args![],
                    |mut r| Ok((r.get(0)?, r.get(1)?)),
                )?
                .unwrap_or_default();
            self.loaded = true;
        }
        Ok(())
    }

    /// Drops the oldest requests beyond the count and byte budgets.
    pub fn enforce(&mut self, c: &mut dyn Sql, limits: Limits) -> Result<(), StoreError> {
        self.load(c)?;
        let over = self.count - i64::from(limits.max_requests);
        if over > 0 {
            let seq: Option<i64> = c.row(
                "SELECT seq FROM request_details ORDER BY seq LIMIT 1 OFFSET ?1",
                args![over - 1],
                |mut r| r.get(0),
            )?;
            if let Some(seq) = seq {
                self.delete_through(c, seq)?;
            }
        }
        let max_bytes = i64::try_from(limits.max_bytes).unwrap_or(i64::MAX);
        // The oldest requests, a chunk at a time, until enough bytes are freed: reading only
        // the front of the table, not all of it.
        while self.bytes > max_bytes {
            let oldest: Vec<(i64, i64)> = c.rows(
                "SELECT seq, size FROM request_details ORDER BY seq LIMIT ?1",
                args![PRUNE_CHUNK],
                |mut r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            let Some(&(last, _)) = oldest.last() else {
                break;
            };
            let mut freed = 0_i64;
            let through = oldest
                .iter()
                .find(|&&(_, size)| {
                    freed += size;
                    self.bytes - freed <= max_bytes
                })
                .map_or(last, |&(seq, _)| seq);
            self.delete_through(c, through)?;
        }
        Ok(())
    }

    /// Drops the oldest requests beyond the count and byte budgets of a table other hosts
    /// prune too. Counters read before deleting go stale as soon as another host deletes (two
    /// hosts each taking "the oldest until enough is freed" took everything between them), so
    /// each limit is one statement that keeps the newest requests within it: any number of
    /// hosts running it at once leave what one would. It reads the whole table's sizes, which
    /// is fine for an inspector of a thousand requests.
    pub fn enforce_shared(c: &mut dyn Sql, limits: Limits) -> Result<(), StoreError> {
        c.execute(
            "DELETE FROM request_details WHERE seq <= \
             (SELECT seq FROM request_details ORDER BY seq DESC LIMIT 1 OFFSET ?1)",
            args![i64::from(limits.max_requests)],
        )?;
        // The newest request whose running total, newest first, passes the budget goes, with
        // every older one.
        c.execute(
            "DELETE FROM request_details WHERE seq <= (SELECT max(seq) FROM \
             (SELECT seq, CAST(sum(size) OVER (ORDER BY seq DESC) AS BIGINT) AS newer \
              FROM request_details) AS newest_first WHERE newer > ?1)",
            args![i64::try_from(limits.max_bytes).unwrap_or(i64::MAX)],
        )?;
        Ok(())
    }

    fn delete_through(&mut self, c: &mut dyn Sql, seq: i64) -> Result<(), StoreError> {
        let sizes: Vec<i64> = c.rows(
            "DELETE FROM request_details WHERE seq <= ?1 RETURNING size",
            args![seq],
            |mut r| r.get(0),
        )?;
        self.count -= i64::try_from(sizes.len()).unwrap_or(0);
        self.bytes -= sizes.iter().sum::<i64>();
        Ok(())
    }
}

/// A layer as stored: its meta JSON and its scrubbed body.
type Stored<'a> = Option<(String, Cow<'a, [u8]>)>;

fn stored<'a>(c: &'a Captured, r: &Redactor) -> Stored<'a> {
    Some((render::meta(c, r), r.scrub(c.body.bytes())))
}

fn size_of(layers: &[&Stored<'_>]) -> i64 {
    let n: usize = layers
        .iter()
        .filter_map(|l| l.as_ref())
        .map(|(m, b)| m.len() + b.len())
        .sum();
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn parts<'a>(layer: &'a Stored<'_>) -> (Option<&'a str>, Option<&'a [u8]>) {
    match layer {
        Some((m, b)) => (Some(m.as_str()), Some(&b[..])),
        None => (None, None),
    }
}

fn wire_name(w: WireFormat) -> Option<String> {
    serde_json::to_value(w)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
}

fn n(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Writes one batch of messages; `usage_of` reads an end's token counts.
pub fn apply(
    tx: &mut dyn Sql,
    messages: &[DetailMessage],
    r: &Redactor,
    usage_of: impl Fn(&End) -> Usage,
    retention: &mut Retention,
) -> Result<(), StoreError> {
    retention.load(tx)?;
    for m in messages {
        let added = match m {
            DetailMessage::Begin(b) => insert(tx, b, None, r)?,
            DetailMessage::Whole(b, e) => insert(tx, b, Some((e, usage_of(e))), r)?,
            DetailMessage::End(e) => {
                retention.bytes += finish(tx, e, r, usage_of(e))?;
                None
            }
        };
        if let Some(size) = added {
            retention.count += 1;
            retention.bytes += size;
        }
    }
    Ok(())
}

/// Inserts a request (with its end when it is over); returns its size, `None` if it was
/// already there.
fn insert(
    tx: &mut dyn Sql,
    b: &Begin,
    end: Option<(&End, Usage)>,
    r: &Redactor,
) -> Result<Option<i64>, StoreError> {
    let client_request = stored(&b.client_request, r);
    let provider_request = b.provider_request.as_ref().and_then(|p| stored(p, r));
    let provider_response = end
        .and_then(|(e, _)| e.provider_response.as_ref())
        .and_then(|p| stored(p, r));
    let client_response = end.and_then(|(e, _)| stored(&e.client_response, r));
    let size = size_of(&[
        &client_request,
        &provider_request,
        &provider_response,
        &client_response,
    ]);
    let attempts = serde_json::to_string(&b.attempts).unwrap_or_else(|_| "[]".into());
    let u = end.map(|(_, u)| u);
    let (creq_meta, creq_body) = parts(&client_request);
    let (preq_meta, preq_body) = parts(&provider_request);
    let (presp_meta, presp_body) = parts(&provider_response);
    let (cresp_meta, cresp_body) = parts(&client_response);
    let inserted = tx.execute(
        "INSERT INTO request_details (id, started_ms, api, endpoint,
                requested_model, provider, model, account_id, key_id, combo, attempts, streamed,
                provider_wire, status, ttft_ms, latency_ms, input_tokens, cached_tokens,
                cache_write_tokens, output_tokens, reasoning_tokens,
                client_request, client_request_body, provider_request, provider_request_body,
                provider_response, provider_response_body, client_response, client_response_body,
                size)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,
                ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30)
             ON CONFLICT (id) DO NOTHING",
        args![
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
            end.and_then(|(e, _)| e.provider_wire).and_then(wire_name),
            end.map(|(e, _)| e.status),
            end.and_then(|(e, _)| e.ttft_ms),
            end.map(|(e, _)| e.latency_ms),
            u.map(|u| n(u.input)),
            u.map(|u| n(u.cache_read)),
            u.map(|u| n(u.cache_write)),
            u.map(|u| n(u.output)),
            u.map(|u| n(u.reasoning)),
            creq_meta,
            creq_body,
            preq_meta,
            preq_body,
            presp_meta,
            presp_body,
            cresp_meta,
            cresp_body,
            size,
        ],
    )?;
    Ok((inserted > 0).then_some(size))
}

/// Completes a streamed request; returns the bytes it added.
fn finish(tx: &mut dyn Sql, e: &End, r: &Redactor, u: Usage) -> Result<i64, StoreError> {
    let provider_response = e.provider_response.as_ref().and_then(|p| stored(p, r));
    let client_response = stored(&e.client_response, r);
    let size = size_of(&[&provider_response, &client_response]);
    let (presp_meta, presp_body) = parts(&provider_response);
    let (cresp_meta, cresp_body) = parts(&client_response);
    let updated = tx.execute(
        "UPDATE request_details SET status = ?2, ttft_ms = ?3, latency_ms = ?4,
                input_tokens = ?5, cached_tokens = ?6, cache_write_tokens = ?7,
                output_tokens = ?8, reasoning_tokens = ?9, provider_wire = ?10,
                provider_response = ?11, provider_response_body = ?12,
                client_response = ?13, client_response_body = ?14, size = size + ?15
             WHERE id = ?1",
        args![
            e.id,
            e.status,
            e.ttft_ms,
            e.latency_ms,
            n(u.input),
            n(u.cache_read),
            n(u.cache_write),
            n(u.output),
            n(u.reasoning),
            e.provider_wire.and_then(wire_name),
            presp_meta,
            presp_body,
            cresp_meta,
            cresp_body,
            size,
        ],
    )?;
    Ok(if updated > 0 { size } else { 0 })
}

/// Requests the router stopped before they finished (a crash or kill) are closed as such.
pub fn close_interrupted(c: &mut dyn Sql) -> Result<usize, StoreError> {
    c.execute(
        "UPDATE request_details SET status = 0 WHERE status IS NULL",
        args![],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    /// A store holding requests of the given sizes, oldest first.
    fn table(sizes: &[i64]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db")).unwrap();
        store
            .call_blocking(|c| {
                for (i, size) in sizes.iter().enumerate() {
                    c.execute(
                        "INSERT INTO request_details (id, started_ms, api, endpoint,
                            requested_model, attempts, streamed, client_request,
                            client_request_body, size)
                         VALUES (?1, ?2, 'openai', '/v1/chat/completions', 'm', '[]', 0, '{}',
                            x'', ?3)",
                        args![format!("r{i}"), i64::try_from(i).unwrap(), *size],
                    )?;
                }
                Ok(())
            })
            .unwrap();
        (dir, store)
    }

    fn kept(store: &Store) -> Vec<String> {
        store
            .call_blocking(|c| {
                c.rows(
                    "SELECT id FROM request_details ORDER BY seq",
                    args![],
                    |mut r| r.get(0),
                )
            })
            .unwrap()
    }

    #[test]
    fn hosts_pruning_a_shared_table_at_once_keep_what_the_limits_allow() {
        let limits = Limits {
            max_requests: 3,
            max_bytes: 2500,
        };
        // Two hosts read the counters before either deletes: between them, stale counters
        // take more than the limits ask (this is why a shared table is pruned otherwise).
        let (_dir, store) = table(&[1000; 6]);
        let (mut a, mut b) = (Retention::default(), Retention::default());
        store
            .call_blocking(|c| {
                a.load(c)?;
                b.load(c)?;
                a.enforce(c, limits)?;
                b.enforce(c, limits)
            })
            .unwrap();
        assert!(kept(&store).len() < 2, "{:?}", kept(&store));

        // The shared statements, run by any number of hosts, keep the newest two (three fit
        // the count, two the 2,500 bytes).
        let (_dir, store) = table(&[1000; 6]);
        for _ in 0..3 {
            store
                .call_blocking(|c| Retention::enforce_shared(c, limits))
                .unwrap();
        }
        assert_eq!(kept(&store), ["r4", "r5"]);
        // Within both limits nothing goes.
        let (_dir, store) = table(&[100, 200]);
        store
            .call_blocking(|c| Retention::enforce_shared(c, limits))
            .unwrap();
        assert_eq!(kept(&store), ["r0", "r1"]);
    }
}
