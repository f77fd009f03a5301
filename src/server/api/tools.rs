//! `/api/tools`: the user's coding tools, pointed at the router and back.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};

use super::{ApiError, json_or_default};
use crate::manage::{self, ToolApplied, ToolPreview, ToolRestored};
use crate::setup::tools::ToolStatus;
use crate::state::Core;

type ApiResult<T> = Result<T, ApiError>;

pub async fn list(State(core): State<Arc<Core>>) -> ApiResult<Json<Vec<ToolStatus>>> {
    let core2 = core.clone();
    let list = tokio::task::spawn_blocking(move || manage::list_tools(&core2))
        .await
        .map_err(|e| manage::ManageError::Upstream(e.to_string()))??;
    Ok(Json(list))
}

pub async fn preview(
    State(core): State<Arc<Core>>,
    Path(tool): Path<String>,
    raw: axum::body::Bytes,
) -> ApiResult<Json<ToolPreview>> {
    let input = json_or_default(&raw)?;
    Ok(Json(manage::preview_tool(&core, &tool, input)?))
}

pub async fn apply(
    State(core): State<Arc<Core>>,
    Path(tool): Path<String>,
    raw: axum::body::Bytes,
) -> ApiResult<Json<ToolApplied>> {
    let input = json_or_default(&raw)?;
    Ok(Json(manage::apply_tool(&core, &tool, input).await?))
}

pub async fn restore(
    State(core): State<Arc<Core>>,
    Path(tool): Path<String>,
) -> ApiResult<Json<ToolRestored>> {
    Ok(Json(manage::restore_tool(&core, &tool).await?))
}
