//! What NineRouter can route to: the built-in provider table and user-defined nodes. A
//! provider is a row of the table; a subscription provider's login, request conventions and
//! usage endpoint are one module here behind `auth::LoginProvider`, which its row points at.

pub mod claude;
pub mod codex;
pub mod copilot;
pub mod cursor;
pub mod google;
pub mod iflow;
pub mod kiro;
pub mod qwen;
mod registry;
mod windows;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

pub use registry::{
    AuthKind, FreeOffer, ProviderDef, QuotaApi, Tier, WireFormat, find, registry, wire_for,
};
pub use windows::context_window;

use crate::auth::{AuthEndpoints, LoginProvider};

/// Every subscription provider's login, built from its `[auth.<id>]` section.
pub fn logins(
    auth: &BTreeMap<String, AuthEndpoints>,
) -> HashMap<&'static str, Arc<dyn LoginProvider>> {
    registry()
        .iter()
        .filter_map(|p| Some((p.id, (p.login?)(auth.get(p.id)))))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::auth::ImportError;

    fn write(dir: &Path, name: &str, body: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap_or_else(|e| panic!("{e}"));
        path
    }

    #[test]
    fn each_cli_file_becomes_a_token_set() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let id_token = codex::id_token_for("a@b.c", "acct-9", "pro");
        let codex_file = write(
            dir.path(),
            "auth.json",
            &serde_json::json!({"OPENAI_API_KEY": null, "tokens": {"id_token": id_token,
                "access_token": "x.eyJleHAiOjE3OTUwMDAwMDB9.y", "refresh_token": "r1", "account_id": "acct-9"},
                "last_refresh": "2026-11-20T10:00:00Z"}).to_string(),
        );
        let (set, found) = codex::login(None)
            .read_import(&codex_file)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            set.extra.get("accountId"),
            Some(&serde_json::json!("acct-9"))
        );
        assert_eq!(set.expires_at_ms, 1_795_000_000_000);
        assert_eq!(found.account.as_deref(), Some("a@b.c"));
        assert_eq!(found.plan.as_deref(), Some("pro"));

        let claude_file = write(
            dir.path(),
            "credentials.json",
            r#"{"claudeAiOauth":{"accessToken":"sk-ant-oat01-a","refreshToken":"sk-ant-ort01-r","expiresAt":1795000000000,"scopes":["user:inference"],"subscriptionType":"max"}}"#,
        );
        let (set, found) = claude::login(None)
            .read_import(&claude_file)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(set.refresh_token, "sk-ant-ort01-r");
        assert_eq!(found.plan.as_deref(), Some("max"));

        let gemini_file = write(
            dir.path(),
            "oauth_creds.json",
            r#"{"access_token":"ya29.a","refresh_token":"1//r","scope":"x","token_type":"Bearer","expiry_date":1795000000000}"#,
        );
        let (set, _) = google::gemini_cli(None)
            .read_import(&gemini_file)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(set.expires_at_ms, 1_795_000_000_000);

        assert!(matches!(
            codex::login(None).read_import(&dir.path().join("none.json")),
            Err(ImportError::Missing(_))
        ));
        let empty = write(
            dir.path(),
            "empty.json",
            r#"{"claudeAiOauth":{"accessToken":"a"}}"#,
        );
        assert!(matches!(
            claude::login(None).read_import(&empty),
            Err(ImportError::Unreadable { .. })
        ));
    }
}
