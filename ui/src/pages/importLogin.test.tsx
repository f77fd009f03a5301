import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ImportLogin } from "./ImportLogin";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function renderImport() {
  return render(
    <QueryClientProvider client={new QueryClient()}>
      <ImportLogin provider="codex" cli="Codex CLI" />
    </QueryClientProvider>,
  );
}

describe("ImportLogin", () => {
  it("shows what it found and imports only after the user agrees", async () => {
    const fetch = vi.fn(async (url: string, init?: RequestInit) => {
      if (url === "/api/oauth/codex/import" && (init?.method ?? "GET") === "GET") {
        return Response.json({ found: { path: "/home/me/.codex/auth.json", account: "me@example.com", plan: "plus", expiresAtMs: 0 } });
      }
      if (url === "/api/oauth/codex/import" && init?.method === "POST") {
        return Response.json({ login: { status: "done", accountId: "a1", name: "me@example.com" } }, { status: 201 });
      }
      return Response.json({ error: { message: "unexpected", code: "x" } }, { status: 500 });
    });
    vi.stubGlobal("fetch", fetch);
    renderImport();
    fireEvent.click(screen.getByRole("button", { name: "Import from Codex CLI" }));
    expect(await screen.findByText("/home/me/.codex/auth.json")).toBeTruthy();
    expect(fetch).toHaveBeenCalledTimes(1);
    fireEvent.click(screen.getByRole("button", { name: "Import this login" }));
    expect(await screen.findByText("Imported me@example.com.")).toBeTruthy();
  });

  it("says when there is nothing to import", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(async () => Response.json({ error: { message: "no login found at /home/me/.codex/auth.json", code: "not_found" } }, { status: 404 })),
    );
    renderImport();
    fireEvent.click(screen.getByRole("button", { name: "Import from Codex CLI" }));
    expect((await screen.findByRole("alert")).textContent).toContain("no login found");
  });
});
