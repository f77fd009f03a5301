//! Cursor (Pro/Business): the login the Cursor IDE holds, imported from its state database
//! (`state.vscdb`, the IDE's key-value table), and Cursor's own chat protocol — protobuf in
//! Connect envelopes — spoken by `codec`. Cursor has no public token refresh: the IDE renews
//! its login, and a refused token asks the user to import it again.

mod codec;
mod proto;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use bytes::Bytes;
use sha2::{Digest as _, Sha256};

use crate::auth::tokens::TokenSet;
use crate::auth::{
    Approval, AuthEndpoints, Found, ImportError, ImportSource, LoginProvider, Minted, NativeCodec,
    Renewal,
};
use crate::format::Request;
use crate::format::codec::{Framer, StreamDecoder};

const API_URL: &str = "https://api2.cursor.sh";
const CHAT_PATH: &str = "/aiserver.v1.ChatService/StreamUnifiedChatWithTools";
/// The IDE version requests present; Cursor refuses clients it considers outdated.
const CLIENT_VERSION: &str = "3.1.0";
/// What a Cursor login keeps besides its token.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Extras {
    /// The IDE's machine id (the checksum header ends with it).
    machine_id: Option<String>,
}

/// Where the IDE keeps its state, under the home directory.
const STATE_DB: &str = if cfg!(target_os = "macos") {
    "Library/Application Support/Cursor/User/globalStorage/state.vscdb"
} else if cfg!(windows) {
    "AppData/Roaming/Cursor/User/globalStorage/state.vscdb"
} else {
    ".config/Cursor/User/globalStorage/state.vscdb"
};

pub struct Cursor {
    api: String,
}

pub fn login(config: Option<&AuthEndpoints>) -> Arc<dyn LoginProvider> {
    let api = config.and_then(|c| c.api_url.as_deref()).unwrap_or(API_URL);
    Arc::new(Cursor {
        api: api.trim_end_matches('/').to_owned(),
    })
}

#[async_trait]
impl LoginProvider for Cursor {
    fn approval(&self, _method: Option<&str>) -> Approval {
        Approval::ImportOnly
    }

    fn import_source(&self) -> Option<ImportSource> {
        Some(ImportSource {
            app: "Cursor",
            file: STATE_DB,
        })
    }

    fn read_import(&self, path: &Path) -> Result<(TokenSet, Found), ImportError> {
        let state = IdeState::read(path)?;
        let unreadable = |reason: &str| crate::auth::import::unreadable(path, reason);
        let token = state
            .first(&["cursorAuth/accessToken", "cursorAuth/token"])
            .map(|t| session_token(&t).to_owned())
            .ok_or_else(|| unreadable("Cursor is not logged in (no cursorAuth/accessToken)"))?;
        let machine_id = state
            .first(&[
                "storage.serviceMachineId",
                "storage.machineId",
                "telemetry.machineId",
            ])
            .ok_or_else(|| unreadable("it names no machine id"))?;
        let mut set = crate::auth::import::empty_set();
        set.expires_at_ms = crate::auth::import::jwt_expiry_ms(&token).unwrap_or(0);
        set.access_token = token;
        set.refresh_token = state
            .first(&["cursorAuth/refreshToken"])
            .unwrap_or_default();
        set.email = state.first(&["cursorAuth/cachedEmail"]);
        set.plan = state.first(&["cursorAuth/stripeMembershipType"]);
        set.put_extras(&Extras {
            machine_id: Some(machine_id),
        });
        let found = Found {
            path: path.display().to_string(),
            account: set.email.clone(),
            plan: set.plan.clone(),
            expires_at_ms: set.expires_at_ms,
        };
        Ok((set, found))
    }

    fn renewal(&self) -> Renewal {
        Renewal::Never
    }

    fn api_base(&self, _set: &TokenSet, _account_base: &str) -> String {
        self.api.clone()
    }

    fn authorize(
        &self,
        request: reqwest::RequestBuilder,
        minted: &Minted,
    ) -> reqwest::RequestBuilder {
        let token = minted.token.expose();
        let machine_id = minted
            .set
            .as_ref()
            .and_then(|s| s.extras::<Extras>().machine_id)
            .unwrap_or_default();
        let session = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_DNS, token.as_bytes());
        let timezone = jiff::tz::TimeZone::system()
            .iana_name()
            .unwrap_or("UTC")
            .to_owned();
        request
            .bearer_auth(token)
            .header(
                "x-cursor-checksum",
                checksum(crate::clock::now_ms(), &machine_id),
            )
            .header(
                "x-client-key",
                hex::encode(Sha256::digest(token.as_bytes())),
            )
            .header("x-cursor-client-version", CLIENT_VERSION)
            .header("x-cursor-client-type", "ide")
            .header("x-cursor-client-os", client_os())
            .header(
                "x-cursor-client-arch",
                if cfg!(target_arch = "aarch64") {
                    "aarch64"
                } else {
                    "x64"
                },
            )
            .header("x-cursor-client-device-type", "desktop")
            .header("x-cursor-config-version", uuid::Uuid::new_v4().to_string())
            .header("x-cursor-timezone", timezone)
            .header("x-ghost-mode", "true")
            .header("x-session-id", session.to_string())
            .header("x-request-id", uuid::Uuid::new_v4().to_string())
            .header("x-amzn-trace-id", format!("Root={}", uuid::Uuid::new_v4()))
            .header(http::header::USER_AGENT, "connect-es/1.6.1")
    }

    fn native(&self) -> Option<&dyn NativeCodec> {
        Some(&ConnectChat)
    }
}

/// Cursor's chat service over Connect.
struct ConnectChat;

impl NativeCodec for ConnectChat {
    fn endpoint(&self, base_url: &str) -> String {
        format!("{}{CHAT_PATH}", base_url.trim_end_matches('/'))
    }

    fn encode(&self, request: &Request, model: &str) -> Result<(Bytes, Vec<String>), String> {
        codec::encode(request, model)
    }

    fn framer(&self) -> Box<dyn Framer> {
        Box::new(codec::EnvelopeFramer::default())
    }

    fn decoder(&self) -> Box<dyn StreamDecoder> {
        Box::new(codec::Decoder::default())
    }

    fn headers(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        request
            .header(http::header::CONTENT_TYPE, "application/connect+proto")
            .header("connect-protocol-version", "1")
            .header("connect-accept-encoding", "gzip")
    }
}

fn client_os() -> &'static str {
    match std::env::consts::OS {
        "macos" => "macos",
        "windows" => "windows",
        _ => "linux",
    }
}

/// The IDE's session token: an older form prefixes it with the user id and `::`.
fn session_token(stored: &str) -> &str {
    stored
        .split_once("::")
        .or_else(|| stored.split_once("%3A%3A"))
        .map_or(stored, |(_, token)| token)
}

/// `x-cursor-checksum`: the time in units of 10^6 ms as six obfuscated bytes, base64url,
/// then the machine id. The byte order is the IDE's (its high bytes repeat the low ones, the
/// way a 32-bit shift wraps).
fn checksum(now_ms: i64, machine_id: &str) -> String {
    let t = u64::try_from(now_ms / 1_000_000).unwrap_or(0);
    let byte = |shift: u32| (t >> shift) as u8;
    let mut bytes = [byte(8), byte(0), byte(24), byte(16), byte(8), byte(0)];
    let mut key: u8 = 165;
    for (i, b) in (0u8..).zip(bytes.iter_mut()) {
        *b = (*b ^ key).wrapping_add(i);
        key = *b;
    }
    let mut out = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    out.push_str(machine_id);
    out
}

/// The IDE's key-value table, opened read-only (the IDE may be running).
struct IdeState {
    db: rusqlite::Connection,
}

impl IdeState {
    fn read(path: &Path) -> Result<Self, ImportError> {
        if !path.is_file() {
            return Err(ImportError::Missing(path.display().to_string()));
        }
        let flags =
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let db = rusqlite::Connection::open_with_flags(path, flags)
            .map_err(|e| crate::auth::import::unreadable(path, &e.to_string()))?;
        db.busy_timeout(std::time::Duration::from_secs(2))
            .map_err(|e| crate::auth::import::unreadable(path, &e.to_string()))?;
        Ok(Self { db })
    }

    /// The first of `keys` with a value; a value written as a JSON string is unquoted.
    fn first(&self, keys: &[&str]) -> Option<String> {
        keys.iter().find_map(|key| {
            let value: rusqlite::types::Value = self
                .db
                .query_row(
                    "SELECT value FROM ItemTable WHERE key = ?1 LIMIT 1",
                    [key],
                    |row| row.get(0),
                )
                .ok()?;
            let text = match value {
                rusqlite::types::Value::Text(t) => t,
                rusqlite::types::Value::Blob(b) => String::from_utf8(b).ok()?,
                _ => return None,
            };
            let text = match serde_json::from_str::<serde_json::Value>(&text) {
                Ok(serde_json::Value::String(s)) => s,
                _ => text,
            };
            let text = text.trim();
            (!text.is_empty()).then(|| text.to_owned())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_checksum_matches_the_ides() {
        assert_eq!(checksum(1_796_486_000_000, "MID"), "zEtNWTS3MID");
        assert_eq!(checksum(1_700_000_000_000, "MID"), "Vfb45Bi9MID");
    }

    #[test]
    fn the_ides_login_is_read_from_its_state_database() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("state.vscdb");
        let db = rusqlite::Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
        db.execute_batch(
            "CREATE TABLE ItemTable (key TEXT UNIQUE ON CONFLICT REPLACE, value BLOB);",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let put = |k: &str, v: &str| {
            db.execute("INSERT INTO ItemTable VALUES (?1, ?2)", [k, v])
                .unwrap_or_else(|e| panic!("{e}"));
        };
        let cursor = login(None);
        assert!(matches!(
            cursor.read_import(&path),
            Err(ImportError::Unreadable { .. })
        ));
        // eyJleHAiOjE3OTUwMDAwMDB9 = {"exp":1795000000}
        put(
            "cursorAuth/accessToken",
            "user_01::x.eyJleHAiOjE3OTUwMDAwMDB9.y",
        );
        put(
            "cursorAuth/refreshToken",
            "\"x.eyJleHAiOjE3OTUwMDAwMDB9.r\"",
        );
        put("cursorAuth/cachedEmail", "dev@example.com");
        put("cursorAuth/stripeMembershipType", "pro");
        put(
            "storage.serviceMachineId",
            "\"0b6e5f0e-1111-4a4a-9b9b-123456789abc\"",
        );
        let (set, found) = cursor.read_import(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(set.access_token, "x.eyJleHAiOjE3OTUwMDAwMDB9.y");
        assert_eq!(set.refresh_token, "x.eyJleHAiOjE3OTUwMDAwMDB9.r");
        assert_eq!(set.expires_at_ms, 1_795_000_000_000);
        assert_eq!(
            set.extras::<Extras>().machine_id.as_deref(),
            Some("0b6e5f0e-1111-4a4a-9b9b-123456789abc")
        );
        assert_eq!(found.account.as_deref(), Some("dev@example.com"));
        assert_eq!(found.plan.as_deref(), Some("pro"));
        assert!(matches!(
            cursor.read_import(&dir.path().join("none.vscdb")),
            Err(ImportError::Missing(_))
        ));
    }
}
