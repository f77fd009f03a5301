// Shapes of the engine's API answers this UI reads.

export interface Status {
  name: string;
  version: string;
  address: string;
  loopbackOnly: boolean;
  requireApiKey: boolean;
  secretBackend: { kind: string; description: string };
  configFile: string | null;
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
  model: string | null;
  connectionId: string | null;
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
