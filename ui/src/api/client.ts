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

// The management API needs an admin when the router has a dashboard password, requires keys or
// listens beyond loopback. The browser then holds an HttpOnly session cookie from the login
// form; a script's admin token may be used instead, kept for this browser session only.
// Proxy keys never open it.
const TOKEN = "ninerouter.admin-token";

export const savedToken = (): string | null => globalThis.sessionStorage?.getItem(TOKEN) ?? null;

export function saveToken(token: string | null): void {
  if (token) globalThis.sessionStorage?.setItem(TOKEN, token);
  else globalThis.sessionStorage?.removeItem(TOKEN);
}

/** `headers` with the saved admin token, if there is one. */
export function withToken(headers: Headers): Headers {
  const token = savedToken();
  if (token) headers.set("authorization", `Bearer ${token}`);
  return headers;
}

/** Whether the API asks for an admin login. */
export const needsLogin = (e: unknown): boolean =>
  e instanceof ApiError && e.status === 401 && e.code === "admin_login_required";

export async function api<T>(path: string, init?: RequestInit): Promise<T> {
  const headers = withToken(new Headers(init?.headers));
  if (init?.body !== undefined) headers.set("content-type", "application/json");
  const response = await fetch(`/api${path}`, { ...init, headers });
  if (!response.ok) throw await readError(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export const send = <T>(method: string, path: string, body?: unknown) =>
  api<T>(path, body === undefined ? { method } : { method, body: JSON.stringify(body) });
