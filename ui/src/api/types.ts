import type { AccountView, AdminTokenRecord, ApiKeyRecord, CooldownInfo, ProviderRow, StatusView, Summary, SummaryRow, TimePoint, WindowView } from "./generated";

// Shapes of the engine's API answers this UI reads. Those exported from ./generated are
// generated from the Rust types (`make types`); the rest are still written by hand.

export type Status = StatusView;
export type UsageRow = SummaryRow;
export type UsageSummary = Summary;
export type UsagePoint = TimePoint;
/** A quota window with a countdown to its reset. */
export type QuotaWindow = WindowView;
/** A proxy key as listed (the key itself is shown once, at creation: `CreatedKey`). */
export type ProxyKey = ApiKeyRecord;
/** An admin token as listed (the token itself is shown once: `CreatedAdminToken`). */
export type AdminToken = AdminTokenRecord;

export interface Tokens {
  input: number | null;
  cached: number | null;
  cacheWrite: number | null;
  output: number | null;
  reasoning: number | null;
}

export interface Attempt {
  target: string;
  accountId: string;
  class: string;
  status: number | null;
}

export interface DetailSummary {
  id: string;
  timestamp: number;
  api: string;
  endpoint: string;
  requestedModel: string;
  provider: string | null;
  /** The provider's (a node's) own name, when it is not its id. */
  providerName?: string;
  model: string | null;
  connectionId: string | null;
  /** The account's own name. */
  accountName?: string;
  keyId: string | null;
  combo: string | null;
  attempts: Attempt[];
  streamed: boolean;
  status: number | null;
  pending: boolean;
  tokens: Tokens;
  ttftMs: number | null;
  latencyMs: number | null;
}

export interface Layer {
  url?: string;
  status?: number;
  headers: Record<string, string>;
  body?: unknown;
  events?: unknown[];
  bytes: number;
  truncated: boolean;
}

export interface Answer {
  content: string;
  thinking: string | null;
  toolCalls: { id: string; name: string; arguments: unknown }[];
  finish: string;
}

export interface Detail extends DetailSummary {
  config: Record<string, unknown> | null;
  answer: Answer | null;
  clientRequest: Layer | null;
  providerRequest: Layer | null;
  providerResponse: Layer | null;
  clientResponse: Layer | null;
}

export interface DetailPage {
  details: DetailSummary[];
  pagination: { page: number; pageSize: number; totalItems: number; totalPages: number };
  dropped: number;
}

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

