//! The management API's contract with the dashboard: the TypeScript types in
//! `ui/src/api/generated.ts` are generated from the Rust structs the API answers with. The
//! test fails when the file is stale; `make types` writes it again.

use std::path::Path;

use ts_rs::TS;

/// One declaration per type, in an order a reader can follow (each names only types above it
/// or in the same file).
fn declarations() -> Vec<String> {
    vec![
        crate::providers::Tier::decl(),
        crate::providers::AuthKind::decl(),
        crate::format::WireFormat::decl(),
        crate::providers::QuotaApi::decl(),
        crate::providers::FreeOffer::decl(),
        crate::providers::ProviderDef::decl(),
        crate::auth::LoginMethod::decl(),
        super::handlers::ProviderRow::decl(),
        crate::catalog::Source::decl(),
        crate::catalog::NodeKind::decl(),
        crate::catalog::NodeRecord::decl(),
        super::handlers::ProviderList::decl(),
        crate::state::AccountStatus::decl(),
        crate::routing::CooldownInfo::decl(),
        crate::manage::AccountView::decl(),
        crate::auth::LoginStep::decl(),
        crate::auth::LoginStart::decl(),
        crate::auth::LoginStatus::decl(),
        crate::auth::Found::decl(),
        super::answers::LoginAnswer::decl(),
        super::answers::FoundAnswer::decl(),
        super::answers::ImportedAnswer::decl(),
        crate::secrets::BackendKind::decl(),
        super::answers::SecretBackendView::decl(),
        super::answers::StoreView::decl(),
        crate::routing::CircuitState::decl(),
        crate::routing::CircuitInfo::decl(),
        super::answers::StatusView::decl(),
        super::answers::Paused::decl(),
        super::answers::ActiveCombo::decl(),
        super::answers::PasswordSet::decl(),
        crate::catalog::AccountStrategy::decl(),
        crate::catalog::ComboStrategy::decl(),
        crate::catalog::ProviderStrategy::decl(),
        crate::catalog::RoutingSettings::decl(),
        crate::catalog::ObservabilitySettings::decl(),
        crate::catalog::Settings::decl(),
        crate::catalog::Combo::decl(),
        crate::manage::ComboView::decl(),
        crate::manage::AliasView::decl(),
        crate::catalog::ApiKeyRecord::decl(),
        crate::manage::CreatedKey::decl(),
        crate::catalog::KeyLimits::decl(),
        crate::catalog::Price::decl(),
        crate::state::ModelHealth::decl(),
        crate::manage::ModelView::decl(),
        crate::manage::ModelTestInput::decl(),
        crate::manage::ModelTested::decl(),
        crate::manage::KeyInput::decl(),
        crate::setup::tools::ToolState::decl(),
        crate::setup::tools::ToolStatus::decl(),
        crate::manage::ToolInput::decl(),
        crate::manage::FilePreview::decl(),
        crate::manage::KeyChoice::decl(),
        crate::manage::ToolPreview::decl(),
        crate::manage::ToolApplied::decl(),
        crate::manage::ToolRestored::decl(),
        crate::setup::peers::Peer::decl(),
        crate::manage::PeerImportInput::decl(),
        crate::manage::ItemAction::decl(),
        crate::manage::ImportItem::decl(),
        crate::manage::ImportReport::decl(),
        crate::manage::ExportInput::decl(),
        super::setup::SetupFileInput::decl(),
        crate::manage::FoundLogin::decl(),
        crate::manage::FirstRun::decl(),
        crate::manage::FirstRunInput::decl(),
        crate::manage::FirstRunDone::decl(),
        crate::manage::SyncInput::decl(),
        crate::manage::SyncPeer::decl(),
        crate::manage::SyncStatus::decl(),
        crate::manage::MergeInput::decl(),
        crate::quota::Window::decl(),
        crate::quota::QuotaWindow::decl(),
        crate::quota::QuotaSource::decl(),
        crate::quota::WindowView::decl(),
        crate::quota::SnapshotView::decl(),
        super::quota::AccountQuota::decl(),
        super::quota::QuotaList::decl(),
        crate::usage::SummaryRow::decl(),
        crate::usage::Summary::decl(),
        crate::usage::TimePoint::decl(),
        crate::usage::TimeSeries::decl(),
        super::answers::ErrorDetail::decl(),
        super::answers::ErrorBody::decl(),
        crate::proxy::Probe::decl(),
        crate::manage::admin::AccessState::decl(),
        crate::store::AdminTokenRecord::decl(),
        crate::manage::admin::CreatedAdminToken::decl(),
        crate::store::AuditEntry::decl(),
        serde_json::Value::decl(),
        crate::inspector::TokenCounts::decl(),
        crate::inspector::AttemptView::decl(),
        crate::inspector::DetailSummary::decl(),
        crate::inspector::Pagination::decl(),
        crate::inspector::DetailPage::decl(),
        crate::inspector::Layer::decl(),
        crate::inspector::ToolCallView::decl(),
        crate::inspector::AnswerView::decl(),
        crate::inspector::Detail::decl(),
        super::usage::Exported::decl(),
        crate::manage::AccountInput::decl(),
        crate::manage::SecretsMoved::decl(),
        crate::manage::AccountPatch::decl(),
        crate::manage::ComboInput::decl(),
        crate::manage::ComboPatch::decl(),
        crate::manage::NodeInput::decl(),
    ]
}

fn generated() -> String {
    let mut out = String::from(
        "// Generated from the Rust types of the management API (src/server/api/contract.rs).\n\
         // Do not edit: `make types` writes it again.\n\n",
    );
    for declaration in declarations() {
        out.push_str("export ");
        out.push_str(&declaration);
        out.push_str("\n\n");
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

#[test]
fn the_dashboards_api_types_are_generated_from_the_rust_ones() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/src/api/generated.ts");
    let fresh = generated();
    if std::env::var_os("NINEROUTER_WRITE_TYPES").is_some() {
        std::fs::write(&path, &fresh).unwrap_or_else(|e| panic!("{e}"));
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "ui/src/api/generated.ts is stale: run `make types`\n--- generated ---\n{fresh}"
    );
}
