import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiError, api, readError } from "./client";
import { detailQuery } from "./hooks";

afterEach(() => vi.unstubAllGlobals());

describe("api", () => {
  it("turns the engine's error body into an ApiError naming the field", async () => {
    const body = { error: { message: "must not be empty", code: "validation_error", field: "name" } };
    const e = await readError(new Response(JSON.stringify(body), { status: 400 }));
    expect(e).toBeInstanceOf(ApiError);
    expect([e.status, e.message, e.code, e.field]).toEqual([400, "must not be empty", "validation_error", "name"]);
  });

  it("falls back to the status line when the body is not JSON", async () => {
    const e = await readError(new Response("<html>", { status: 502, statusText: "Bad Gateway" }));
    expect(e.message).toBe("502 Bad Gateway");
  });

  it("sends JSON and reads JSON, and nothing for 204", async () => {
    const fetch = vi.fn(async (_: string, init?: RequestInit) =>
      init?.method === "DELETE" ? new Response(null, { status: 204 }) : Response.json({ ok: true }),
    );
    vi.stubGlobal("fetch", fetch);
    expect(await api("/keys", { method: "POST", body: "{}" })).toEqual({ ok: true });
    const [path, init] = fetch.mock.calls[0] ?? [];
    expect(path).toBe("/api/keys");
    expect(new Headers(init?.headers).get("content-type")).toBe("application/json");
    expect(await api("/keys/x", { method: "DELETE" })).toBeUndefined();
  });
});

describe("detailQuery", () => {
  it("leaves out empty filters and sends dates as epoch milliseconds", () => {
    const q = new URLSearchParams(
      detailQuery(
        { provider: "openai", model: "", connectionId: "", status: "error", q: "", from: "2026-11-21T10:00:00Z", to: "" },
        2,
        50,
      ),
    );
    expect(Object.fromEntries(q)).toEqual({
      page: "2",
      pageSize: "50",
      provider: "openai",
      status: "error",
      from: String(Date.parse("2026-11-21T10:00:00Z")),
    });
  });
});

describe("admin access", () => {
  it("sends a saved admin token, and only an admin-login 401 asks for the login", async () => {
    const { saveToken, needsLogin } = await import("./client");
    const fetch = vi.fn(async () => Response.json({ ok: true }));
    vi.stubGlobal("fetch", fetch);
    saveToken("nra-abc");
    await api("/status");
    const init = (fetch.mock.calls[0] as unknown[] | undefined)?.[1] as RequestInit | undefined;
    expect(new Headers(init?.headers).get("authorization")).toBe("Bearer nra-abc");
    saveToken(null);
    expect(needsLogin(new ApiError(401, "log in", "admin_login_required"))).toBe(true);
    expect(needsLogin(new ApiError(401, "wrong password", "wrong_password"))).toBe(false);
    expect(needsLogin(new ApiError(400, "bad"))).toBe(false);
  });
});
