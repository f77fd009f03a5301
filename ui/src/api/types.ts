// Shapes of the engine's API answers this UI reads.

export interface Status {
  name: string;
  version: string;
  address: string;
  loopbackOnly: boolean;
  requireApiKey: boolean;
  secretBackend: { kind: "keychain" | "file" | "memory"; description: string; waiting: boolean };
  configFile: string | null;
  dataDir: string | null;
  paused: boolean;
  activeCombo: string | null;
}

export interface ProxyKey {
  id: string;
  name: string;
  hint: string;
  createdAt: number;
  source: "api" | "file";
}

export interface CreatedKey extends ProxyKey {
  key: string;
}

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

export interface UsageRow {
  key: string;
  /** What people call the group (a node's, account's or key's own name), when it is not the key. */
  name?: string;
  requests: number;
  errors: number;
  inputTokens: number;
  cachedTokens: number;
  cacheWriteTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  cost: number;
  saved: number;
  avgLatencyMs: number;
  avgTtftMs: number | null;
}

export interface UsageSummary {
  from: number;
  to: number;
  total: UsageRow;
  groups: UsageRow[];
}

export interface UsagePoint extends UsageRow {
  start: number;
}

export type GroupBy = "provider" | "model" | "account" | "key" | "combo";

export interface QuotaWindow {
  window: "minute" | "five-hour" | "daily" | "weekly" | "monthly" | "total";
  metric: string;
  used: number | null;
  limit: number | null;
  remaining: number | null;
  percentUsed: number | null;
  resetsAtMs: number | null;
  resetsInSecs: number | null;
}

export interface AccountQuota {
  accountId: string;
  accountName: string;
  provider: string;
  /** The provider's (a node's) own name. */
  providerName: string;
  refreshable: boolean;
  source?: "headers" | "api";
  fetchedAt: number | null;
  ageSecs?: number;
  error?: string | null;
  windows: QuotaWindow[];
  refreshed?: boolean;
  note?: string;
}

export interface RoutingSettings {
  accountStrategy: "fill-first" | "sticky-round-robin";
  stickyLimit: number;
  firstByteTimeoutMs: number;
  streamIdleTimeoutMs: number;
  cooldownBaseMs: number;
  cooldownMaxMs: number;
  [other: string]: unknown;
}

export interface ObservabilitySettings {
  recordUsage: boolean;
  inspector: boolean;
  inspectorMaxRequests: number;
  inspectorMaxBytes: number;
  inspectorMaxFieldBytes: number;
  quotaRefreshSecs: number;
}

export interface Settings {
  requireApiKey: boolean;
  routing: RoutingSettings;
  observability: ObservabilitySettings;
}

export interface ComboView {
  name: string;
  models: string[];
  strategy: "fallback" | "round-robin";
  source: "api" | "file";
  readOnly: boolean;
}

export type Tier = "subscription" | "cheap" | "free" | "api-key";

export interface LoginMethod {
  id: string;
  label: string;
}

export interface ProviderDef {
  id: string;
  aliases: string[];
  name: string;
  tier: Tier;
  auth: "api-key" | "oauth-pkce" | "device-code" | "imported";
  format: string;
  baseUrl: string;
  models: string[];
  routable: boolean;
  /** The engine can run this provider's login (`/api/oauth/{id}/start`). */
  canLogIn: boolean;
  /** The official CLI whose saved login can be imported (`/api/oauth/{id}/import`). */
  importsFrom: string | null;
  /** The ways to log in, when the provider offers more than one (the first is the default). */
  loginMethods: LoginMethod[];
  /** Whether the provider gives something for free, as far as known. */
  freeOffer: { state: "none" } | { state: "available" } | { state: "ended"; since: string };
}

/** A login's first step: a code to enter on the provider's page (`device`), or a page to
 * approve on (`authorize`). After approval the engine catches the redirect itself when
 * `listening`; the user can always paste the code or the address the browser lands on.
 * `notice` says why the redirect cannot be caught. */
export type LoginStart = { loginId: string; provider: string } & (
  | { kind: "device"; userCode: string; verificationUri: string; expiresInSecs: number; intervalSecs: number }
  | { kind: "authorize"; authorizeUrl: string; redirectUri: string; expiresInSecs: number; listening: boolean; webview: boolean; notice?: string }
);

export type LoginStatus =
  | { status: "waiting"; userCode: string; verificationUri: string; expiresAtMs: number }
  | { status: "awaiting-code"; authorizeUrl: string; expiresAtMs: number; listening: boolean; webview: boolean; notice?: string }
  | { status: "done"; accountId: string; name: string }
  | { status: "failed"; message: string }
  | { status: "cancelled" };

export interface NodeRecord {
  id: string;
  name: string;
  prefix: string;
  kind: string;
  baseUrl: string;
  source: "api" | "file";
}

export interface Cooldown {
  model: string;
  untilMs: number;
  failures: number;
  reason: string;
}

export interface Connection {
  id: string;
  provider: string;
  providerName: string;
  name: string;
  priority: number;
  enabled: boolean;
  baseUrl: string;
  baseUrlOverridden: boolean;
  models: string[];
  hasApiKey: boolean;
  source: "api" | "file";
  readOnly: boolean;
  state: "active" | "cooling-down" | "needs-login" | "secret-unavailable" | "disabled";
  cooldowns: Cooldown[];
  /** A login account's subscription plan, when the provider told it. */
  plan?: string;
}

export interface Probe {
  ok: boolean;
  status: number | null;
  latencyMs: number;
  models: string[];
  message: string;
}

export interface AccessState {
  /** Whether managing the router needs a login (password, admin token or the desktop app). */
  required: boolean;
  passwordSet: boolean;
  /** Who this browser is to the router, when logged in. */
  actor: string | null;
}

export interface AdminToken {
  id: string;
  name: string;
  hint: string;
  createdAt: number;
}

export interface CreatedAdminToken extends AdminToken {
  token: string;
}

export interface AuditEntry {
  seq: number;
  atMs: number;
  client: string;
  actor: string;
  action: string;
  detail: string;
  status: number;
}
