//! The management API's answers that are not a use-case's own type: typed, so that the
//! dashboard's types are generated from them (`contract.rs`).

use serde::Serialize;

use crate::auth::{Found, LoginStatus};
use crate::secrets::BackendKind;

/// `GET /api/status`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct StatusView {
    pub name: &'static str,
    pub version: &'static str,
    pub address: String,
    pub loopback_only: bool,
    pub require_api_key: bool,
    pub secret_backend: SecretBackendView,
    pub config_file: Option<String>,
    pub data_dir: Option<String>,
    pub paused: bool,
    pub active_combo: Option<String>,
    /// Provider endpoints that failed since they last answered: open circuits (nothing sent
    /// until `openUntilMs`), half-open ones (a probe is out) and closed ones counting
    /// failures.
    pub circuits: Vec<crate::routing::CircuitInfo>,
    pub store: StoreView,
}

/// Where the router keeps its state, and whether it reaches it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct StoreView {
    /// `sqlite` (this machine's file) or `postgres` (shared by several hosts).
    pub kind: &'static str,
    /// False while a shared store is out of reach: routing goes on with the last
    /// configuration, and usage waits.
    pub reachable: bool,
    /// Usage and inspector records waiting for the store.
    #[cfg_attr(test, ts(type = "number"))]
    pub waiting: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SecretBackendView {
    pub kind: BackendKind,
    pub description: String,
    /// The keychain is locked or not there yet; secrets wait for it.
    pub waiting: bool,
}

/// `POST /api/routing/pause` and `/resume`.
#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct Paused {
    pub paused: bool,
}

/// `GET /api/combos/active`: the combo the `active` model alias points at.
#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ActiveCombo {
    pub name: Option<String>,
    pub model: &'static str,
}

/// A login's state (`GET /api/oauth/{provider}/{id}`, `…/complete`).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct LoginAnswer {
    pub login_id: String,
    pub login: LoginStatus,
}

/// What an import would bring in (`GET /api/oauth/{provider}/import`).
#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct FoundAnswer {
    pub found: Found,
}

/// An import done (`POST /api/oauth/{provider}/import`).
#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ImportedAnswer {
    pub login: LoginStatus,
}

/// `PUT /api/admin/password`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct PasswordSet {
    pub password_set: bool,
}

/// Every management API error: what went wrong, a stable code, and the field at fault.
#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ErrorDetail {
    pub message: String,
    pub code: &'static str,
    pub field: Option<String>,
}
