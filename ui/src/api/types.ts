import type { AccountView, AdminTokenRecord, AnswerView, AttemptView, TokenCounts, ApiKeyRecord, CooldownInfo, ProviderRow, StatusView, Summary, SummaryRow, TimePoint, WindowView } from "./generated";

// Shapes of the engine's API answers this UI reads. Those exported from ./generated are
// generated from the Rust types (`make types`); the rest are still written by hand.

export type Status = StatusView;
export type Tokens = TokenCounts;
export type Attempt = AttemptView;
export type Answer = AnswerView;
export type UsageRow = SummaryRow;
export type UsageSummary = Summary;
export type UsagePoint = TimePoint;
/** A quota window with a countdown to its reset. */
export type QuotaWindow = WindowView;
/** A proxy key as listed (the key itself is shown once, at creation: `CreatedKey`). */
export type ProxyKey = ApiKeyRecord;
/** An admin token as listed (the token itself is shown once: `CreatedAdminToken`). */
export type AdminToken = AdminTokenRecord;

export interface DetailFilters {
  provider: string;
  model: string;
  connectionId: string;
  status: string;
  q: string;
  from: string;
  to: string;
}

export type GroupBy = "provider" | "model" | "account" | "key" | "combo";

// The provider list, accounts and logins come from the Rust types (generated.ts).
export type {
  Detail,
  DetailPage,
  DetailSummary,
  Exported,
  Layer,
  AccessState,
  AuditEntry,
  CreatedAdminToken,
  Probe,
  AccountQuota,
  AccountStatus,
  AccountStrategy,
  ActiveCombo,
  AliasView,
  ComboStrategy,
  ComboView,
  CreatedKey,
  KeyInput,
  ModelView,
  ModelTested,
  KeyLimits,
  LoginAnswer,
  ObservabilitySettings,
  Paused,
  ProviderStrategy,
  RoutingSettings,
  TimeSeries,
  Settings,
  AuthKind,
  FreeOffer,
  LoginMethod,
  LoginStart,
  LoginStatus,
  NodeKind,
  NodeRecord,
  ProviderList,
  Source,
  Tier,
  WireFormat,
} from "./generated";

/** A registry row with what the engine can do with it (log in, import, which methods). */
export type ProviderDef = ProviderRow;
export type Cooldown = CooldownInfo;
/** An account of a provider (`/api/connections`, the path 9Router's clients know). */
export type Account = AccountView;

