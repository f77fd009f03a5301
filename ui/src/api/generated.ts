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
hasApiKey: boolean, source: Source, readOnly: boolean, state: AccountStatus, cooldowns: Array<CooldownInfo>, 
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
