//! The audit log: every management change, when, from where, by whom and what, with secret
//! values taken out before anything is written.

use serde_json::Value;

use super::ManageError;
use crate::admin::Actor;
use crate::clock::now_ms;
use crate::inspector::{REDACTED, Redactor};
use crate::state::Core;
use crate::store::{self, AuditEntry};

/// How much of a change's description is kept.
const MAX_DETAIL: usize = 2000;

/// Fields whose values are credentials in a management request though their names do not
/// say so (an OAuth code pasted back, a login's pasted callback address, an account's proxy
/// URL with its password, the proxy key a tool is given, an encrypted setup file).
const CREDENTIAL_FIELDS: [&str; 6] = ["code", "callbackUrl", "url", "proxy", "key", "file"];

/// A management request's body as the log keeps it: JSON with every secret field, every
/// known account secret and every credential field blanked; cut to a bounded length.
pub fn audit_detail(core: &Core, body: &[u8]) -> String {
    if body.is_empty() {
        return String::new();
    }
    let redactor = Redactor::new(core.known_secrets());
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(mut v) => {
            redactor.value(&mut v);
            blank_credentials(&mut v);
            // Tokens the router issues, in any field.
            redactor.text(&v.to_string())
        }
        Err(_) => format!("({} bytes, not JSON)", body.len()),
    };
    cut(text)
}

fn blank_credentials(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, inner) in map.iter_mut() {
                if CREDENTIAL_FIELDS.contains(&k.as_str()) && inner.is_string() {
                    *inner = Value::String(REDACTED.to_owned());
                } else {
                    blank_credentials(inner);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(blank_credentials),
        _ => {}
    }
}

fn cut(mut text: String) -> String {
    if text.len() > MAX_DETAIL {
        let mut end = MAX_DETAIL;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

/// Writes one entry. A failure to write is logged, never fatal to the change itself.
pub async fn record_change(
    core: &Core,
    client: String,
    actor: &Actor,
    action: String,
    detail: String,
    status: u16,
) {
    let entry = AuditEntry {
        seq: 0,
        at_ms: now_ms(),
        client,
        actor: actor.to_string(),
        action,
        detail,
        status,
    };
    if let Err(e) = core
        .store
        .call(move |c| store::insert_audit(c, &entry))
        .await
    {
        tracing::error!("cannot write the audit log: {e}");
    }
}

pub async fn list_audit(
    core: &Core,
    limit: u32,
    before: Option<i64>,
) -> Result<Vec<AuditEntry>, ManageError> {
    let limit = limit.clamp(1, 500);
    Ok(core
        .store
        .call(move |c| store::list_audit(c, limit, before))
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credential_fields_are_blanked_at_any_depth() {
        let mut v = serde_json::json!({"code": "abc#state", "name": "x",
            "inner": [{"url": "http://localhost:1455/cb?code=1"}], "models": ["a"]});
        blank_credentials(&mut v);
        assert_eq!(v["code"], REDACTED);
        assert_eq!(v["inner"][0]["url"], REDACTED);
        assert_eq!(v["name"], "x");
        assert_eq!(v["models"][0], "a");
    }

    #[test]
    fn long_details_are_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_DETAIL);
        let out = cut(long);
        assert!(out.len() <= MAX_DETAIL + '…'.len_utf8());
        assert!(out.ends_with('…'));
    }
}
