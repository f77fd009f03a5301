//! Versioned migrations. Append new steps; never edit a released one.

use rusqlite_migration::{M, Migrations};

const STEPS: &[&str] = &[
    r#"
CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE nodes (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    prefix     TEXT NOT NULL UNIQUE,
    kind       TEXT NOT NULL,
    base_url   TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE connections (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    provider   TEXT NOT NULL,
    name       TEXT NOT NULL,
    priority   INTEGER NOT NULL,
    enabled    INTEGER NOT NULL,
    base_url   TEXT,
    models     TEXT NOT NULL DEFAULT '[]',
    secret_ref TEXT,
    created_at INTEGER NOT NULL
);
CREATE TABLE combos (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT NOT NULL UNIQUE,
    models     TEXT NOT NULL,
    strategy   TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE aliases (
    alias  TEXT PRIMARY KEY,
    target TEXT NOT NULL
);
CREATE TABLE api_keys (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    hash       BLOB NOT NULL UNIQUE,
    hint       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE cooldowns (
    account_id TEXT NOT NULL,
    model      TEXT NOT NULL,
    until_ms   INTEGER NOT NULL,
    failures   INTEGER NOT NULL,
    reason     TEXT NOT NULL,
    PRIMARY KEY (account_id, model)
);
"#,
    r#"
CREATE TABLE usage_events (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    started_ms         INTEGER NOT NULL,
    api                TEXT NOT NULL,
    endpoint           TEXT NOT NULL,
    requested_model    TEXT NOT NULL,
    provider           TEXT,
    model              TEXT,
    account_id         TEXT,
    attempts           TEXT NOT NULL,
    status             INTEGER NOT NULL,
    input_tokens       INTEGER NOT NULL,
    cached_tokens      INTEGER NOT NULL,
    cache_write_tokens INTEGER NOT NULL,
    output_tokens      INTEGER NOT NULL,
    reasoning_tokens   INTEGER NOT NULL,
    cost               REAL NOT NULL,
    priced             INTEGER NOT NULL,
    billed             INTEGER NOT NULL,
    streamed           INTEGER NOT NULL,
    ttft_ms            INTEGER,
    latency_ms         INTEGER NOT NULL
);
CREATE INDEX usage_events_time ON usage_events (started_ms);
CREATE INDEX usage_events_provider ON usage_events (provider, started_ms);
CREATE INDEX usage_events_model ON usage_events (model, started_ms);
CREATE INDEX usage_events_account ON usage_events (account_id, started_ms);
CREATE INDEX usage_events_status ON usage_events (status, started_ms);
"#,
    r#"
ALTER TABLE usage_events ADD COLUMN request_id TEXT;
ALTER TABLE usage_events ADD COLUMN key_id TEXT;
ALTER TABLE usage_events ADD COLUMN combo TEXT;
-- Every usage query reads a time range and groups it: the time index serves them all, and
-- each further index costs every insert a page write.
DROP INDEX usage_events_provider;
DROP INDEX usage_events_model;
DROP INDEX usage_events_account;
DROP INDEX usage_events_status;
CREATE TABLE request_details (
    seq                INTEGER PRIMARY KEY AUTOINCREMENT,
    id                 TEXT NOT NULL UNIQUE,
    started_ms         INTEGER NOT NULL,
    api                TEXT NOT NULL,
    endpoint           TEXT NOT NULL,
    requested_model    TEXT NOT NULL,
    provider           TEXT,
    model              TEXT,
    account_id         TEXT,
    key_id             TEXT,
    combo              TEXT,
    attempts           TEXT NOT NULL,
    streamed           INTEGER NOT NULL,
    provider_wire      TEXT,
    status             INTEGER,
    input_tokens       INTEGER,
    cached_tokens      INTEGER,
    cache_write_tokens INTEGER,
    output_tokens      INTEGER,
    reasoning_tokens   INTEGER,
    ttft_ms            INTEGER,
    latency_ms         INTEGER,
    client_request          TEXT NOT NULL,
    client_request_body     BLOB NOT NULL,
    provider_request        TEXT,
    provider_request_body   BLOB,
    provider_response       TEXT,
    provider_response_body  BLOB,
    client_response         TEXT,
    client_response_body    BLOB,
    size                    INTEGER NOT NULL
);
CREATE INDEX request_details_time ON request_details (started_ms);
CREATE INDEX request_details_provider ON request_details (provider, seq);
CREATE INDEX request_details_model ON request_details (model, seq);
CREATE INDEX request_details_account ON request_details (account_id, seq);
CREATE INDEX request_details_status ON request_details (status, seq);
CREATE TABLE quota_snapshots (
    account_id TEXT PRIMARY KEY,
    windows    TEXT NOT NULL,
    source     TEXT NOT NULL,
    fetched_ms INTEGER NOT NULL,
    error      TEXT
);
CREATE TABLE price_overrides (
    provider     TEXT NOT NULL,
    model        TEXT NOT NULL,
    input        REAL NOT NULL,
    cached_input REAL NOT NULL,
    cache_write  REAL NOT NULL,
    output       REAL NOT NULL,
    reasoning    REAL,
    PRIMARY KEY (provider, model)
);
"#,
    r#"
-- Admin tokens open the management API for scripts; only their SHA-256 is kept.
CREATE TABLE admin_tokens (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    hash       BLOB NOT NULL UNIQUE,
    hint       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
-- Every management change: when, from where, by whom, what (never a secret value).
CREATE TABLE audit_log (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms   INTEGER NOT NULL,
    client  TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    detail  TEXT NOT NULL,
    status  INTEGER NOT NULL
);
CREATE INDEX audit_log_time ON audit_log (at_ms);
"#,
    // Needs-login is a state of its own, no longer a prefix of the cooldown's reason.
    r#"
ALTER TABLE cooldowns ADD COLUMN needs_login INTEGER NOT NULL DEFAULT 0;
UPDATE cooldowns SET needs_login = 1 WHERE reason LIKE 'needs login%';
"#,
    // Per-key limits (JSON, `{}` for none), which limit refused a request, and the secret
    // reference of an account's outbound proxy URL.
    r#"
ALTER TABLE api_keys ADD COLUMN limits TEXT NOT NULL DEFAULT '{}';
ALTER TABLE usage_events ADD COLUMN limited TEXT;
ALTER TABLE connections ADD COLUMN proxy_ref TEXT;
ALTER TABLE connections ADD COLUMN quota_reserve_pct INTEGER;
"#,
    // The inspector keeps a bounded number of requests (1,000 by default), read newest first
    // by `seq`: a filter on them needs no index of its own, and each index cost every insert,
    // every stream's end and every prune a page write (issue 19). The time index stays for
    // time ranges.
    DROP_DETAIL_INDEXES,
];

/// Shared with the PostgreSQL schema, where the same indexes were made.
pub const DROP_DETAIL_INDEXES: &str = r#"
DROP INDEX IF EXISTS request_details_provider;
DROP INDEX IF EXISTS request_details_model;
DROP INDEX IF EXISTS request_details_account;
DROP INDEX IF EXISTS request_details_status;
"#;

pub fn migrations() -> Migrations<'static> {
    Migrations::new(STEPS.iter().map(|s| M::up(s)).collect())
}

#[cfg(test)]
pub fn latest_version() -> i64 {
    i64::try_from(STEPS.len()).unwrap_or(i64::MAX)
}

/// The schema version just before the step whose text contains `marker` (for tests of a
/// migration over data written before it).
#[cfg(test)]
pub fn version_before(marker: &str) -> usize {
    STEPS
        .iter()
        .position(|s| s.contains(marker))
        .unwrap_or_else(|| panic!("no migration step mentions {marker}"))
}
