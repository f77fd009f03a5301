// Generated from the Rust types of the management API (src/server/api/contract.rs).
// Do not edit: `make types` writes it again.

export type Tier = "subscription" | "cheap" | "free" | "api-key";

export type AuthKind = "api-key" | "oauth-pkce" | "device-code" | "imported";

export type WireFormat = "openai-chat" | "openai-responses" | "anthropic" | "gemini" | "gemini-cloudcode" | "kiro" | "ollama" | "native";

export type QuotaApi = "headers" | "openrouter-key" | "login";

export type FreeOffer = { "state": "none" } | { "state": "available" } | { "state": "ended", since: string, };

export type ProviderDef = { id: string, 
/**
 * Prefixes accepted in `prefix/model` strings; the first is the one `/v1/models` shows.
 */
aliases: Array<string>, name: string, tier: Tier, auth: AuthKind, format: WireFormat, baseUrl: string, models: Array<string>, 
/**
 * Where its quota comes from.
 */
quota: QuotaApi, 
/**
 * Shown in the dashboard next to the provider.
 */
freeOffer: FreeOffer, };

export type LoginMethod = { id: string, label: string, };

export type ProviderRow = { routable: boolean, 
/**
 * The engine can run this provider's login (`/api/oauth/{id}/start`).
 */
canLogIn: boolean, 
/**
 * The app whose saved login can be imported (`/api/oauth/{id}/import`).
 */
importsFrom: string | null, 
/**
 * The ways to log in, when the provider offers more than one (the first is the default).
 */
loginMethods: Array<LoginMethod>, id: string, 
/**
 * Prefixes accepted in `prefix/model` strings; the first is the one `/v1/models` shows.
 */
aliases: Array<string>, name: string, tier: Tier, auth: AuthKind, format: WireFormat, baseUrl: string, models: Array<string>, 
/**
 * Where its quota comes from.
 */
quota: QuotaApi, 
/**
 * Shown in the dashboard next to the provider.
 */
freeOffer: FreeOffer, };

export type Source = "api" | "file";

export type NodeKind = "openai-compatible" | "openai-responses" | "anthropic-compatible" | "gemini-compatible";

export type NodeRecord = { id: string, name: string, prefix: string, kind: NodeKind, baseUrl: string, source: Source, };

export type ProviderList = { providers: Array<ProviderRow>, nodes: Array<NodeRecord>, };

export type AccountStatus = "active" | "cooling-down" | "needs-login" | "secret-unavailable" | "disabled";

export type CooldownInfo = { model: string, untilMs: number, failures: number, reason: string, 
/**
 * The account's login was refused: it waits for a new login, not for time to pass.
 */
needsLogin: boolean, };

export type AccountView = { id: string, provider: string, providerName: string, name: string, priority: number, enabled: boolean, baseUrl: string, baseUrlOverridden: boolean, models: Array<string>, 
/**
 * Whether a key is stored; the key itself is never returned.
 */
hasApiKey: boolean, 
/**
 * The account's proxy, its password masked.
 */
proxy?: string, 
/**
 * The account's own quota reserve, when it has one.
 */
quotaReservePct?: number, source: Source, readOnly: boolean, state: AccountStatus, cooldowns: Array<CooldownInfo>, 
/**
 * The subscription plan of a login account, when the provider told it (ChatGPT's `plus`,
 * Claude Code's `max`).
 */
plan?: string, };

export type LoginStep = { "kind": "device", userCode: string, verificationUri: string, expiresInSecs: number, intervalSecs: number, } | { "kind": "authorize", authorizeUrl: string, redirectUri: string, expiresInSecs: number, listening: boolean, 
/**
 * Whether the page may open in an embedded window that catches the redirect itself
 * (the desktop app's login window); Google logins need the system browser.
 */
webview: boolean, notice?: string, };

export type LoginStart = { loginId: string, provider: string, } & ({ "kind": "device", userCode: string, verificationUri: string, expiresInSecs: number, intervalSecs: number, } | { "kind": "authorize", authorizeUrl: string, redirectUri: string, expiresInSecs: number, listening: boolean, 
/**
 * Whether the page may open in an embedded window that catches the redirect itself
 * (the desktop app's login window); Google logins need the system browser.
 */
webview: boolean, notice?: string, });

export type LoginStatus = { "status": "waiting", userCode: string, verificationUri: string, expiresAtMs: number, } | { "status": "awaiting-code", authorizeUrl: string, expiresAtMs: number, listening: boolean, 
/**
 * Whether the page may open in an embedded window (Google refuses those).
 */
webview: boolean, notice?: string, } | { "status": "done", accountId: string, name: string, } | { "status": "failed", message: string, } | { "status": "cancelled" };

export type Found = { path: string, 
/**
 * Who the login is for, when the file says.
 */
account: string | null, plan: string | null, expiresAtMs: number, };

export type LoginAnswer = { loginId: string, login: LoginStatus, };

export type FoundAnswer = { found: Found, };

export type ImportedAnswer = { login: LoginStatus, };

export type BackendKind = "keychain" | "file" | "memory" | "database";

export type SecretBackendView = { kind: BackendKind, description: string, 
/**
 * The keychain is locked or not there yet; secrets wait for it.
 */
waiting: boolean, };

export type StoreView = { 
/**
 * `sqlite` (this machine's file) or `postgres` (shared by several hosts).
 */
kind: string, 
/**
 * False while a shared store is out of reach: routing goes on with the last
 * configuration, and usage waits.
 */
reachable: boolean, 
/**
 * Usage and inspector records waiting for the store.
 */
waiting: number, };

export type CircuitState = "closed" | "open" | "half-open";

export type CircuitInfo = { endpoint: string, provider: string, state: CircuitState, failures: number, openUntilMs: number | null, lastError: string | null, };

export type StatusView = { name: string, version: string, address: string, loopbackOnly: boolean, requireApiKey: boolean, secretBackend: SecretBackendView, configFile: string | null, dataDir: string | null, paused: boolean, activeCombo: string | null, 
/**
 * Provider endpoints that failed since they last answered: open circuits (nothing sent
 * until `openUntilMs`), half-open ones (a probe is out) and closed ones counting
 * failures.
 */
circuits: Array<CircuitInfo>, store: StoreView, };

export type Paused = { paused: boolean, };

export type ActiveCombo = { name: string | null, model: string, };

export type PasswordSet = { passwordSet: boolean, };

export type AccountStrategy = "fill-first" | "sticky-round-robin";

export type ComboStrategy = "fallback" | "round-robin";

export type ProviderStrategy = { strategy: AccountStrategy, stickyLimit: number | null, };

export type RoutingSettings = { accountStrategy: AccountStrategy, stickyLimit: number, 
/**
 * Per-provider overrides of the account strategy, keyed by provider id.
 */
providerStrategies: { [key in string]?: ProviderStrategy }, 
/**
 * How long to wait for an upstream's headers and first stream event before failing over.
 */
firstByteTimeoutMs: number, 
/**
 * How long a started stream may stay silent before the client gets an error event.
 */
streamIdleTimeoutMs: number, 
/**
 * Backoff base for rate limits and transient failures: base·2^(n−1), capped.
 */
cooldownBaseMs: number, cooldownMaxMs: number, 
/**
 * Cooldown after an authentication failure (the whole account, every model).
 */
authCooldownMs: number, 
/**
 * Cooldown of an account/model pair after the provider said the model does not exist.
 */
notFoundCooldownMs: number, 
/**
 * Context windows, in tokens, over the built-in table: keyed by `prefix/model`, or
 * `prefix/*` for every model of a provider or node.
 */
contextWindows: Record<string, number>, 
/**
 * Stop routing to an account when a quota window that resets has less than this many
 * percent left, so a subscription is not locked out for days; 0: off. An account's own
 * `quotaReservePct` overrides it.
 */
quotaReservePct: number, };

export type ObservabilitySettings = { 
/**
 * One usage record per request (tokens, cost, latency).
 */
recordUsage: boolean, 
/**
 * The inspector's four layers per request.
 */
inspector: boolean, 
/**
 * How many requests the inspector keeps (the oldest go first).
 */
inspectorMaxRequests: number, 
/**
 * The inspector's total size budget, in bytes.
 */
inspectorMaxBytes: number, 
/**
 * Each layer's body is cut at this many bytes.
 */
inspectorMaxFieldBytes: number, 
/**
 * Requests a second the inspector lists; past it in the same second a request is counted
 * in usage but not listed (and the inspector counts those), which keeps recording's cost
 * flat however fast requests come.
 */
inspectorRequestsPerSecond: number, 
/**
 * Requests a second whose bodies the inspector keeps; past it in the same second a
 * request is kept without its bodies (and says so), which is most of what recording
 * costs under load.
 */
inspectorBodiesPerSecond: number, 
/**
 * How often quota is fetched from the providers that publish it (and subscription logins
 * are looked at, to renew those due before the next round).
 */
quotaRefreshSecs: number, 
/**
 * Percent used at which a quota window warns (a notification and a badge).
 */
quotaWarnPct: Array<number>, };

export type Settings = { requireApiKey: boolean, routing: RoutingSettings, observability: ObservabilitySettings, };

export type Combo = { name: string, models: Array<string>, strategy: ComboStrategy, };

export type ComboView = { source: Source, readOnly: boolean, name: string, models: Array<string>, strategy: ComboStrategy, };

export type AliasView = { alias: string, target: string, source: Source, readOnly: boolean, };

export type ApiKeyRecord = { id: string, name: string, hint: string, createdAt: number, source: Source, rpm?: number, tpm?: number, dailyCostLimitUsd?: number, 
/**
 * Glob patterns (`*`, `?`) over the model strings, combo names and aliases a client
 * may ask for; empty: any.
 */
models?: Array<string>, 
/**
 * When the key stops working, in ms since the epoch (an RFC 3339 time in the config file).
 */
expiresAt?: number, };

export type CreatedKey = { 
/**
 * Shown this once.
 */
key: string, id: string, name: string, hint: string, createdAt: number, source: Source, rpm?: number, tpm?: number, dailyCostLimitUsd?: number, 
/**
 * Glob patterns (`*`, `?`) over the model strings, combo names and aliases a client
 * may ask for; empty: any.
 */
models?: Array<string>, 
/**
 * When the key stops working, in ms since the epoch (an RFC 3339 time in the config file).
 */
expiresAt?: number, };

export type KeyLimits = { rpm?: number, tpm?: number, dailyCostLimitUsd?: number, 
/**
 * Glob patterns (`*`, `?`) over the model strings, combo names and aliases a client
 * may ask for; empty: any.
 */
models?: Array<string>, 
/**
 * When the key stops working, in ms since the epoch (an RFC 3339 time in the config file).
 */
expiresAt?: number, };

export type Price = { input: number, cachedInput: number, cacheWrite: number, output: number, 
/**
 * Reasoning tokens are billed as output unless the model prices them apart.
 */
reasoning: number | null, };

export type ModelHealth = { ok: boolean, atMs: number, latencyMs: number, 
/**
 * The HTTP status the client would have got.
 */
status: number, 
/**
 * What went wrong, or which account answered.
 */
message: string, };

export type ModelView = { 
/**
 * `prefix/model`, as clients write it.
 */
model: string, provider: string, providerName: string, contextWindow: number | null, price: Price | null, health: ModelHealth | null, };

export type ModelTestInput = { models: Array<string>, };

export type ModelTested = { model: string, health: ModelHealth, };

export type KeyInput = { name: string, rpm?: number, tpm?: number, dailyCostLimitUsd?: number, 
/**
 * Glob patterns (`*`, `?`) over the model strings, combo names and aliases a client
 * may ask for; empty: any.
 */
models?: Array<string>, 
/**
 * When the key stops working, in ms since the epoch (an RFC 3339 time in the config file).
 */
expiresAt?: number, };

export type ToolState = "not-installed" | "not-configured" | "configured" | "elsewhere" | "drifted" | "unreadable";

export type ToolStatus = { id: string, name: string, installed: boolean, state: ToolState, 
/**
 * The base URL its files name.
 */
baseUrl?: string, model?: string, 
/**
 * NineRouter holds a backup: `restore` puts the files back.
 */
restorable: boolean, 
/**
 * Its config directory.
 */
dir: string, error?: string, note?: string, };

export type ToolInput = { url?: string, key?: string, model?: string, };

export type FilePreview = { path: string, 
/**
 * The file does not exist yet.
 */
created: boolean, changed: boolean, 
/**
 * A unified diff; a key that would be created shows as `<new key>`.
 */
diff: string, };

export type KeyChoice = { "kind": "given" } | { "kind": "kept" } | { "kind": "new", name: string, };

export type ToolPreview = { tool: ToolStatus, url: string, model?: string, 
/**
 * Which key the tool would hold: the one given, the router's key it already has, or a new
 * one named after it.
 */
key: KeyChoice, files: Array<FilePreview>, };

export type ToolApplied = { tool: ToolStatus, files: Array<string>, 
/**
 * The proxy key made for the tool, if one was.
 */
createdKey?: string, };

export type ToolRestored = { tool: ToolStatus, files: Array<string>, 
/**
 * The proxy key the setup had made for the tool, revoked.
 */
revokedKey?: string, 
/**
 * Files changed since the setup, copied here before being put back.
 */
keptAside: Array<string>, };

export type Peer = "9router" | "cliproxyapi";

export type PeerImportInput = { source: Peer, path?: string, };

export type ItemAction = "create" | "present" | "skip" | "conflict";

export type ImportItem = { 
/**
 * `kind:name`, what a merge names to take the other side's version of a conflict.
 */
key: string, 
/**
 * `account`, `node`, `combo`, `alias`, `key`, `price`, `settings`, `login`, `usage`.
 */
kind: string, name: string, action: ItemAction, reason?: string, };

export type ImportReport = { 
/**
 * Who wrote what was read (`9Router`, `CLIProxyAPI`, `NineRouter 0.1.0`).
 */
source: string, path?: string, 
/**
 * Whether anything was written (`false` for a preview).
 */
applied: boolean, items: Array<ImportItem>, };

export type ExportInput = { passphrase: string, includeUsage: boolean, };

export type SetupFileInput = { passphrase: string, 
/**
 * The file's bytes, base64.
 */
file: string, };

export type FoundLogin = { provider: string, providerName: string, 
/**
 * The app the login comes from ("Codex CLI").
 */
app: string, found: Found, };

export type FirstRun = { 
/**
 * No account yet: the dashboard offers the first-run step.
 */
empty: boolean, logins: Array<FoundLogin>, 
/**
 * Tools installed here and not yet pointed at the router.
 */
tools: Array<ToolStatus>, };

export type FirstRunInput = { 
/**
 * Providers whose app login to import.
 */
logins: Array<string>, 
/**
 * Tools to point at the router.
 */
tools: Array<string>, };

export type FirstRunDone = { 
/**
 * The accounts made, `provider · name`.
 */
imported: Array<string>, combo?: string, tools: Array<string>, 
/**
 * What could not be done, one sentence each.
 */
problems: Array<string>, };

export type SyncInput = { folder: string, passphrase: string, 
/**
 * What the other machines call this one [default: its host name].
 */
name?: string, };

export type SyncPeer = { machine: string, name: string, modifiedMs: number, 
/**
 * What merging its copy would do here.
 */
items: Array<ImportItem>, error?: string, };

export type SyncStatus = { folder?: string, name?: string, 
/**
 * When this machine's copy was last written.
 */
writtenMs?: number, others: Array<SyncPeer>, };

export type MergeInput = { machine: string, take: Array<string>, };

export type Window = "minute" | "five-hour" | "daily" | "weekly" | "monthly" | "total";

export type QuotaWindow = { window: Window, 
/**
 * `requests`, `tokens`, `input-tokens`, `output-tokens`, `credits`…
 */
metric: string, 
/**
 * The models the limit counts, when not all of them: a model name contains this
 * (Claude's weekly `opus`, Antigravity's per-model quotas).
 */
model?: string, used: number | null, limit: number | null, remaining: number | null, 
/**
 * 0–100, when the provider gives a percentage or it follows from used/limit.
 */
percentUsed: number | null, resetsAtMs: number | null, };

export type QuotaSource = "headers" | "api";

export type WindowView = { resetsInSecs: number | null, 
/**
 * The highest warning threshold (percent used) it has reached.
 */
warning?: number, window: Window, 
/**
 * `requests`, `tokens`, `input-tokens`, `output-tokens`, `credits`…
 */
metric: string, 
/**
 * The models the limit counts, when not all of them: a model name contains this
 * (Claude's weekly `opus`, Antigravity's per-model quotas).
 */
model?: string, used: number | null, limit: number | null, remaining: number | null, 
/**
 * 0–100, when the provider gives a percentage or it follows from used/limit.
 */
percentUsed: number | null, resetsAtMs: number | null, };

export type SnapshotView = { source?: QuotaSource, fetchedAt: number | null, ageSecs?: number, 
/**
 * Why the last fetch failed; the windows are then the last good ones.
 */
error?: string, windows: Array<WindowView>, };

export type AccountQuota = { accountId: string, accountName: string, provider: string, 
/**
 * The provider's (a node's) own name.
 */
providerName: string, 
/**
 * Whether the provider publishes a usage endpoint to fetch from.
 */
refreshable: boolean, 
/**
 * After a refresh: whether the usage endpoint was asked (else `note` says why not).
 */
refreshed?: boolean, note?: string, source?: QuotaSource, fetchedAt: number | null, ageSecs?: number, 
/**
 * Why the last fetch failed; the windows are then the last good ones.
 */
error?: string, windows: Array<WindowView>, };

export type QuotaList = { accounts: Array<AccountQuota>, };

export type SummaryRow = { key: string, 
/**
 * What people call the group (a node's or account's own name), when it is not the key.
 */
name?: string, requests: number, errors: number, 
/**
 * Requests a proxy key's limits refused (rate, tokens, cost, model, expiry).
 */
limited: number, inputTokens: number, cachedTokens: number, cacheWriteTokens: number, outputTokens: number, reasoningTokens: number, 
/**
 * What pay-per-token providers charged.
 */
cost: number, 
/**
 * What subscription and free providers' tokens would have cost at API prices.
 */
saved: number, avgLatencyMs: number, avgTtftMs: number | null, };

export type Summary = { from: number, to: number, total: SummaryRow, groups: Array<SummaryRow>, };

export type TimePoint = { start: number, key: string, 
/**
 * What people call the group (a node's or account's own name), when it is not the key.
 */
name?: string, requests: number, errors: number, 
/**
 * Requests a proxy key's limits refused (rate, tokens, cost, model, expiry).
 */
limited: number, inputTokens: number, cachedTokens: number, cacheWriteTokens: number, outputTokens: number, reasoningTokens: number, 
/**
 * What pay-per-token providers charged.
 */
cost: number, 
/**
 * What subscription and free providers' tokens would have cost at API prices.
 */
saved: number, avgLatencyMs: number, avgTtftMs: number | null, };

export type TimeSeries = { from: number, to: number, points: Array<TimePoint>, };

export type ErrorDetail = { message: string, code: string, field: string | null, };

export type ErrorBody = { error: ErrorDetail, };

export type Probe = { ok: boolean, 
/**
 * The provider's HTTP status, when it answered.
 */
status: number | null, latencyMs: number, models: Array<string>, message: string, };

export type AccessState = { 
/**
 * Whether the management API needs an admin session or token.
 */
required: boolean, passwordSet: boolean, 
/**
 * Who the caller is, when it presented a session or token.
 */
actor: string | null, };

export type AdminTokenRecord = { id: string, name: string, hint: string, createdAt: number, };

export type CreatedAdminToken = { 
/**
 * Shown once.
 */
token: string, id: string, name: string, hint: string, createdAt: number, };

export type AuditEntry = { seq: number, atMs: number, 
/**
 * The client's address (or `desktop`, `cli`).
 */
client: string, 
/**
 * Who acted: `local` (open dashboard on loopback), `session`, `token:<name>`, `desktop`.
 */
actor: string, 
/**
 * What was done (`POST /api/keys`, `set active combo`).
 */
action: string, 
/**
 * The change, with secret values removed.
 */
detail: string, status: number, };

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]?: JsonValue } | null;

export type TokenCounts = { input: number | null, cached: number | null, cacheWrite: number | null, output: number | null, reasoning: number | null, };

export type AttemptView = { target: string, accountId: string, class: string, status: number | null, };

export type DetailSummary = { id: string, timestamp: number, api: string, endpoint: string, requestedModel: string, provider: string | null, 
/**
 * The provider's (a node's) own name, when it is not its id.
 */
providerName?: string, model: string | null, 
/**
 * The account's id (named as 9Router's API names it).
 */
connectionId: string | null, 
/**
 * The account's own name.
 */
accountName?: string, keyId: string | null, combo: string | null, attempts: Array<AttemptView>, streamed: boolean, status: number | null, pending: boolean, tokens: TokenCounts, ttftMs: number | null, latencyMs: number | null, };

export type Pagination = { page: number, pageSize: number, totalItems: number, totalPages: number, };

export type DetailPage = { details: Array<DetailSummary>, pagination: Pagination, 
/**
 * Requests whose detail the inspector refused because its writer fell behind.
 */
dropped: number, 
/**
 * Requests not listed because more came in their second than the inspector lists
 * (`inspector_requests_per_second`); usage counts them.
 */
unlisted: number, };

export type Layer = { url?: string, status?: number, headers: { [key in string]?: string }, body?: JsonValue, events?: Array<JsonValue>, bytes: number, truncated: boolean, 
/**
 * The body was not kept: more requests came that second than the inspector keeps
 * bodies of (`inspector_bodies_per_second`).
 */
skipped?: boolean, };

export type ToolCallView = { id: string, name: string, 
/**
 * The arguments as JSON, or as the text the model wrote when that is not JSON.
 */
arguments: JsonValue, };

export type AnswerView = { content: string, thinking: string | null, toolCalls: Array<ToolCallView>, finish: string, };

export type Detail = { config: JsonValue | null, answer: AnswerView | null, clientRequest: Layer | null, providerRequest: Layer | null, providerResponse: Layer | null, clientResponse: Layer | null, id: string, timestamp: number, api: string, endpoint: string, requestedModel: string, provider: string | null, 
/**
 * The provider's (a node's) own name, when it is not its id.
 */
providerName?: string, model: string | null, 
/**
 * The account's id (named as 9Router's API names it).
 */
connectionId: string | null, 
/**
 * The account's own name.
 */
accountName?: string, keyId: string | null, combo: string | null, attempts: Array<AttemptView>, streamed: boolean, status: number | null, pending: boolean, tokens: TokenCounts, ttftMs: number | null, latencyMs: number | null, };

export type Exported = { exportedAt: number, requests: Array<Detail>, };

export type AccountInput = { 
/**
 * Registry id or alias, or a custom node's id or prefix.
 */
provider: string, name: string, apiKey?: string, priority?: number, enabled?: boolean, baseUrl?: string, models?: Array<string>, 
/**
 * The proxy this account's calls go through (`http://`, `https://`, `socks5://`); kept
 * in the secret store, since it may carry a password.
 */
proxy?: string, 
/**
 * Stop routing to it when a quota window has less than this many percent left.
 */
quotaReservePct?: number, };

export type SecretsMoved = { kind: BackendKind, moved: number, };

export type AccountPatch = { name?: string, apiKey?: string, priority?: number, enabled?: boolean, 
/**
 * `null` goes back to the provider's default URL.
 */
baseUrl?: string | null, models?: Array<string>, 
/**
 * `null` goes back to the environment's proxy settings.
 */
proxy?: string | null, 
/**
 * `null` goes back to the routing setting.
 */
quotaReservePct?: number | null, };

export type ComboInput = { name: string, models: Array<string>, strategy?: ComboStrategy, };

export type ComboPatch = { name?: string, models?: Array<string>, strategy?: ComboStrategy, };

export type NodeInput = { name: string, prefix: string, kind?: NodeKind, baseUrl: string, };
