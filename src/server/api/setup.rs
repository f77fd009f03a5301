//! `/api/import` (another router's setup) and `/api/setup` (the encrypted setup file): a
//! preview first, then the change.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde::Deserialize;

use super::{ApiError, ApiJson};
use crate::manage::{self, ExportInput, ImportReport, PeerImportInput, invalid};
use crate::state::Core;

type ApiResult<T> = Result<T, ApiError>;

/// The largest setup file taken (base64 in the body adds a third).
pub const MAX_SETUP_BODY: usize = 64 << 20;

pub async fn preview_peer(
    State(core): State<Arc<Core>>,
    ApiJson(input): ApiJson<PeerImportInput>,
) -> ApiResult<Json<ImportReport>> {
    let (doc, path) = read(&core, input).await?;
    let items = manage::plan_setup(&core, &doc).await?;
    Ok(Json(ImportReport {
        source: doc.made_by,
        path: Some(path.display().to_string()),
        applied: false,
        items,
    }))
}

pub async fn apply_peer(
    State(core): State<Arc<Core>>,
    ApiJson(input): ApiJson<PeerImportInput>,
) -> ApiResult<Json<ImportReport>> {
    let (doc, path) = read(&core, input).await?;
    let source = doc.made_by.clone();
    let items = manage::apply_setup(&core, doc).await?;
    Ok(Json(ImportReport {
        source,
        path: Some(path.display().to_string()),
        applied: true,
        items,
    }))
}

async fn read(
    core: &Arc<Core>,
    input: PeerImportInput,
) -> Result<(crate::setup::doc::SetupDoc, std::path::PathBuf), ApiError> {
    let core = core.clone();
    Ok(
        tokio::task::spawn_blocking(move || manage::read_peer(&core, &input))
            .await
            .map_err(|e| manage::ManageError::Upstream(e.to_string()))??,
    )
}

pub async fn export(
    State(core): State<Arc<Core>>,
    ApiJson(input): ApiJson<ExportInput>,
) -> ApiResult<Response> {
    let bytes = manage::export_file(&core, input).await?;
    let name = format!(
        "attachment; filename=\"ninerouter-setup-{}.age\"",
        jiff::Zoned::now().strftime("%Y%m%d-%H%M")
    );
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if let Ok(v) = HeaderValue::from_str(&name) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// `POST /api/setup/preview` and `…/import`: the file (base64) and its passphrase.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct SetupFileInput {
    pub passphrase: String,
    /// The file's bytes, base64.
    pub file: String,
}

async fn open(input: SetupFileInput) -> Result<crate::setup::doc::SetupDoc, ApiError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(input.file.trim())
        .map_err(|_| invalid("file", "not base64"))?;
    Ok(manage::open_file(bytes, input.passphrase).await?)
}

pub async fn preview_file(
    State(core): State<Arc<Core>>,
    ApiJson(input): ApiJson<SetupFileInput>,
) -> ApiResult<Json<ImportReport>> {
    let doc = open(input).await?;
    let items = manage::plan_setup(&core, &doc).await?;
    Ok(Json(ImportReport {
        source: doc.made_by,
        path: None,
        applied: false,
        items,
    }))
}

pub async fn import_file(
    State(core): State<Arc<Core>>,
    ApiJson(input): ApiJson<SetupFileInput>,
) -> ApiResult<Json<ImportReport>> {
    let doc = open(input).await?;
    let source = doc.made_by.clone();
    let items = manage::apply_setup(&core, doc).await?;
    Ok(Json(ImportReport {
        source,
        path: None,
        applied: true,
        items,
    }))
}

pub async fn first_run(State(core): State<Arc<Core>>) -> ApiResult<Json<manage::FirstRun>> {
    let core2 = core.clone();
    let found = tokio::task::spawn_blocking(move || manage::first_run(&core2))
        .await
        .map_err(|e| manage::ManageError::Upstream(e.to_string()))?;
    Ok(Json(found))
}

pub async fn complete_first_run(
    State(core): State<Arc<Core>>,
    ApiJson(input): ApiJson<manage::FirstRunInput>,
) -> ApiResult<Json<manage::FirstRunDone>> {
    Ok(Json(manage::complete_first_run(&core, input).await?))
}

pub async fn sync_status(State(core): State<Arc<Core>>) -> ApiResult<Json<manage::SyncStatus>> {
    Ok(Json(manage::sync_status(&core).await?))
}

pub async fn set_sync(
    State(core): State<Arc<Core>>,
    ApiJson(input): ApiJson<manage::SyncInput>,
) -> ApiResult<Json<manage::SyncStatus>> {
    Ok(Json(manage::set_sync(&core, input).await?))
}

pub async fn stop_sync(State(core): State<Arc<Core>>) -> ApiResult<axum::http::StatusCode> {
    manage::stop_sync(&core).await?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}

pub async fn merge_sync(
    State(core): State<Arc<Core>>,
    ApiJson(input): ApiJson<manage::MergeInput>,
) -> ApiResult<Json<Vec<manage::ImportItem>>> {
    Ok(Json(manage::merge_sync(&core, input).await?))
}
