// The engine's JSON API. Errors come back as {"error":{"message","code","field"}}; they are
// turned into ApiError so forms can show the server's message next to the field it names.

export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;
  readonly field: string | undefined;

  constructor(status: number, message: string, code?: string, field?: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

interface ErrorBody {
  error?: { message?: string; code?: string; field?: string | null };
}

export async function readError(response: Response): Promise<ApiError> {
  let body: ErrorBody = {};
  try {
    body = (await response.json()) as ErrorBody;
  } catch {
    // Not JSON: the status line is all there is.
  }
  const e = body.error;
  return new ApiError(
    response.status,
    e?.message ?? `${response.status} ${response.statusText}`,
    e?.code,
    e?.field ?? undefined,
  );
}

// Beyond loopback the engine's API needs a proxy key; the dashboard asks for it once and keeps
// it for this browser session only.
const KEY = "ninerouter.key";

export const savedKey = (): string | null => globalThis.sessionStorage?.getItem(KEY) ?? null;

export function saveKey(key: string | null): void {
  if (key) globalThis.sessionStorage?.setItem(KEY, key);
  else globalThis.sessionStorage?.removeItem(KEY);
}

/** `headers` with the saved key, if there is one. */
export function withKey(headers: Headers): Headers {
  const key = savedKey();
  if (key) headers.set("authorization", `Bearer ${key}`);
  return headers;
}

export const needsKey = (e: unknown): boolean => e instanceof ApiError && e.status === 401;

export async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const headers = withKey(new Headers(init?.headers));
  if (init?.body !== undefined) headers.set("content-type", "application/json");
  const response = await fetch(`/api${path}`, { ...init, headers });
  if (!response.ok) throw await readError(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export const send = <T>(method: string, path: string, body?: unknown) =>
  api<T>(path, body === undefined ? { method } : { method, body: JSON.stringify(body) });
