use std::convert::Infallible;
use std::sync::Arc;

use crate::auth::{Approval, LoginMethod};
use crate::catalog::NodeRecord;
use crate::providers::ProviderDef;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::answers::{ActiveCombo, Paused, SecretBackendView, StatusView, StoreView};
use super::{ApiError, ApiJson};
use crate::manage::{
    self, AccountInput, AccountPatch, ComboInput, ComboPatch, NodeInput, NodePatch,
};
use crate::providers;
use crate::state::Core;

type ApiResult<T> = Result<T, ApiError>;

pub async fn status(State(core): State<Arc<Core>>) -> Json<StatusView> {
    let catalog = core.catalog();
    Json(StatusView {
        name: "NineRouter",
        version: env!("CARGO_PKG_VERSION"),
        address: core.listen.addr.to_string(),
        loopback_only: core.listen.is_loopback(),
        require_api_key: catalog.settings.require_api_key,
        secret_backend: SecretBackendView {
            kind: core.secrets.kind(),
            description: crate::state::secret_backend_text(&core),
            waiting: core.secrets.is_waiting(),
        },
        config_file: core.file.path.as_ref().map(|p| p.display().to_string()),
        data_dir: Some(core.places.data_dir.display().to_string()),
        paused: core.is_paused(),
        active_combo: core.active_combo(),
        circuits: core.proxy.routing.circuits.all(crate::clock::now_ms()),
        store: StoreView {
            kind: core.store.kind(),
            reachable: !core.store_link.is_down(),
            waiting: core.store_link.backlog(),
        },
    })
}

/// A registry row as the dashboard sees it: the row, and what the engine can do with it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ProviderRow {
    #[serde(flatten)]
    pub def: ProviderDef,
    pub routable: bool,
    /// The engine can run this provider's login (`/api/oauth/{id}/start`).
    pub can_log_in: bool,
    /// The app whose saved login can be imported (`/api/oauth/{id}/import`).
    pub imports_from: Option<String>,
    /// The ways to log in, when the provider offers more than one (the first is the default).
    pub login_methods: Vec<LoginMethod>,
}

#[derive(Serialize)]
#[cfg_attr(test, derive(ts_rs::TS))]
pub struct ProviderList {
    pub providers: Vec<ProviderRow>,
    pub nodes: Vec<NodeRecord>,
}

pub async fn providers(State(core): State<Arc<Core>>) -> Json<ProviderList> {
    let providers = providers::registry()
        .iter()
        .map(|p| {
            let login = core.proxy.tokens.login(p.id);
            ProviderRow {
                def: p.clone(),
                routable: p.format.is_routable(),
                can_log_in: login.is_some_and(|l| l.approval(None) != Approval::ImportOnly),
                imports_from: login
                    .and_then(|l| l.import_source())
                    .map(|s| s.app.to_owned()),
                login_methods: login.map(|l| l.methods().to_vec()).unwrap_or_default(),
            }
        })
        .collect();
    let nodes = manage::list_nodes(&core).await.unwrap_or_default();
    Json(ProviderList { providers, nodes })
}

pub async fn list_accounts(State(core): State<Arc<Core>>) -> ApiResult<Response> {
    Ok(Json(manage::list_accounts(&core).await?).into_response())
}

pub async fn get_account(
    State(core): State<Arc<Core>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(manage::get_account(&core, &id).await?).into_response())
}

pub async fn create_account(
    State(core): State<Arc<Core>>,
    ApiJson(input): ApiJson<AccountInput>,
) -> ApiResult<Response> {
    let view = manage::create_account(&core, input).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

pub async fn update_account(
    State(core): State<Arc<Core>>,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<AccountPatch>,
) -> ApiResult<Response> {
    Ok(Json(manage::update_account(&core, &id, patch).await?).into_response())
}

pub async fn delete_account(
    State(core): State<Arc<Core>>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    manage::delete_account(&core, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn test_account(
    State(core): State<Arc<Core>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(manage::test_account(&core, &id).await?).into_response())
}

pub async fn reset_account(
    State(core): State<Arc<Core>>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    Ok(Json(manage::reset_account(&core, &id).await?).into_response())
}

pub async fn list_nodes(State(core): State<Arc<Core>>) -> ApiResult<Response> {
    Ok(Json(manage::list_nodes(&core).await?).into_response())
}

pub async fn create_node(
    State(core): State<Arc<Core>>,
    ApiJson(input): ApiJson<NodeInput>,
) -> ApiResult<Response> {
    let node = manage::create_node(&core, input).await?;
    Ok((StatusCode::CREATED, Json(node)).into_response())
}

pub async fn update_node(
    State(core): State<Arc<Core>>,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<NodePatch>,
) -> ApiResult<Response> {
    Ok(Json(manage::update_node(&core, &id, patch).await?).into_response())
}

pub async fn delete_node(
    State(core): State<Arc<Core>>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    manage::delete_node(&core, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_combos(State(core): State<Arc<Core>>) -> Json<Vec<manage::ComboView>> {
    Json(manage::list_combos(&core))
}

pub async fn get_combo(
    State(core): State<Arc<Core>>,
    Path(name): Path<String>,
) -> ApiResult<Response> {
    manage::list_combos(&core)
        .into_iter()
        .find(|c| c.combo.name == name)
        .map(|c| Json(c).into_response())
        .ok_or_else(|| ApiError::NotFound(format!("no combo '{name}'")))
}

pub async fn create_combo(
    State(core): State<Arc<Core>>,
    ApiJson(input): ApiJson<ComboInput>,
) -> ApiResult<Response> {
    let combo = manage::create_combo(&core, input).await?;
    Ok((StatusCode::CREATED, Json(combo)).into_response())
}

pub async fn update_combo(
    State(core): State<Arc<Core>>,
    Path(name): Path<String>,
    ApiJson(patch): ApiJson<ComboPatch>,
) -> ApiResult<Response> {
    Ok(Json(manage::update_combo(&core, &name, patch).await?).into_response())
}

pub async fn delete_combo(
    State(core): State<Arc<Core>>,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    manage::delete_combo(&core, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_aliases(State(core): State<Arc<Core>>) -> Json<Vec<manage::AliasView>> {
    Json(manage::list_aliases(&core))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AliasBody {
    target: String,
}

pub async fn put_alias(
    State(core): State<Arc<Core>>,
    Path(alias): Path<String>,
    ApiJson(body): ApiJson<AliasBody>,
) -> ApiResult<Response> {
    Ok(Json(manage::put_alias(&core, &alias, &body.target).await?).into_response())
}

pub async fn delete_alias(
    State(core): State<Arc<Core>>,
    Path(alias): Path<String>,
) -> ApiResult<StatusCode> {
    manage::delete_alias(&core, &alias).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_prices(State(core): State<Arc<Core>>) -> Json<manage::PriceList> {
    Json(manage::list_prices(&core))
}

pub async fn put_price(
    State(core): State<Arc<Core>>,
    Path((provider, model)): Path<(String, String)>,
    ApiJson(price): ApiJson<crate::catalog::Price>,
) -> ApiResult<Response> {
    Ok(Json(manage::put_price(&core, &provider, &model, price).await?).into_response())
}

pub async fn delete_price(
    State(core): State<Arc<Core>>,
    Path((provider, model)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    manage::delete_price(&core, &provider, &model).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn list_keys(State(core): State<Arc<Core>>) -> ApiResult<Response> {
    Ok(Json(manage::list_keys(&core).await?).into_response())
}

pub async fn create_key(
    State(core): State<Arc<Core>>,
    ApiJson(body): ApiJson<manage::KeyInput>,
) -> ApiResult<Response> {
    let created = manage::create_key(&core, body).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

pub async fn update_key(
    State(core): State<Arc<Core>>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> ApiResult<Response> {
    Ok(Json(manage::update_key(&core, &id, body).await?).into_response())
}

pub async fn delete_key(
    State(core): State<Arc<Core>>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    manage::delete_key(&core, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn get_settings(State(core): State<Arc<Core>>) -> Json<crate::catalog::Settings> {
    Json(manage::get_settings(&core))
}

pub async fn patch_settings(
    State(core): State<Arc<Core>>,
    ApiJson(patch): ApiJson<Value>,
) -> ApiResult<Response> {
    Ok(Json(manage::patch_settings(&core, patch).await?).into_response())
}

/// Engine events as SSE, for the dashboard. A subscriber that falls behind is told how many
/// events it missed.
pub async fn events(
    State(core): State<Arc<Core>>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    // The stream ends after the engine says it is stopping: an open dashboard must not hold
    // the shutdown for the drain that requests in flight get.
    let rx = Some(core.events().subscribe());
    let stream = futures_util::stream::unfold(rx, |rx| async move {
        let mut rx = rx?;
        let (event, stopping) = match rx.recv().await {
            Ok(event) => {
                let stopping = matches!(event, crate::events::EngineEvent::Stopping);
                let data = serde_json::to_value(&event).unwrap_or_default();
                let name = data["type"].as_str().unwrap_or("message").to_owned();
                let event = Event::default()
                    .event(name)
                    .json_data(&data)
                    .unwrap_or_else(|_| Event::default());
                (event, stopping)
            }
            Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                (Event::default().event("lagged").data(n.to_string()), false)
            }
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
        };
        Some((Ok(event), (!stopping).then_some(rx)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

pub async fn pause_routing(State(core): State<Arc<Core>>) -> Json<Paused> {
    core.set_paused(true);
    Json(Paused { paused: true })
}

pub async fn resume_routing(State(core): State<Arc<Core>>) -> Json<Paused> {
    core.set_paused(false);
    Json(Paused { paused: false })
}

pub async fn get_active_combo(State(core): State<Arc<Core>>) -> Json<ActiveCombo> {
    Json(ActiveCombo {
        name: core.active_combo(),
        model: crate::state::ACTIVE_COMBO_ALIAS,
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActiveComboBody {
    name: String,
}

pub async fn put_active_combo(
    State(core): State<Arc<Core>>,
    ApiJson(body): ApiJson<ActiveComboBody>,
) -> ApiResult<Json<ActiveCombo>> {
    manage::set_active_combo(&core, &body.name).await?;
    Ok(get_active_combo(State(core)).await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MoveSecrets {
    to: crate::secrets::BackendKind,
}

/// `POST /api/secrets/move {"to": "keychain" | "file"}`.
pub async fn move_secrets(
    State(core): State<Arc<Core>>,
    ApiJson(body): ApiJson<MoveSecrets>,
) -> ApiResult<Response> {
    Ok(Json(manage::move_secrets(&core, body.to).await?).into_response())
}

/// `POST /api/models/test {"models": [...]}`: a one-line request to each, a few at a time.
pub async fn test_models(
    State(core): State<Arc<Core>>,
    ApiJson(input): ApiJson<crate::manage::ModelTestInput>,
) -> ApiResult<Json<Vec<crate::manage::ModelTested>>> {
    Ok(Json(crate::manage::test_models(&core, input).await?))
}
