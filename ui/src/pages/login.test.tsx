import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ProviderLogin } from "./Login";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  delete (globalThis as { __TAURI__?: unknown }).__TAURI__;
});

const started = {
  loginId: "l1",
  provider: "github",
  kind: "device",
  userCode: "WDJB-MJHT",
  verificationUri: "https://github.com/login/device",
  expiresInSecs: 900,
  intervalSecs: 5,
};

function renderLogin(accountId?: string) {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return render(
    <QueryClientProvider client={client}>
      <ProviderLogin provider="github" label="GitHub Copilot" accountId={accountId} />
    </QueryClientProvider>,
  );
}

describe("ProviderLogin", () => {
  it("shows the code, opens the page in the desktop's browser, and reports the account", async () => {
    let polls = 0;
    const fetch = vi.fn(async (url: string, init?: RequestInit) => {
      if (url === "/api/oauth/github/start") return Response.json(started, { status: 202 });
      if (url === "/api/oauth/github/l1" && (init?.method ?? "GET") === "GET") {
        polls += 1;
        return Response.json({ loginId: "l1", login: polls < 2 ? { status: "waiting", ...started, expiresAtMs: Date.now() + 1e6 } : { status: "done", accountId: "a1", name: "octocat" } });
      }
      return Response.json({ error: { message: "unexpected", code: "x" } }, { status: 500 });
    });
    vi.stubGlobal("fetch", fetch);
    const invoke = vi.fn(async () => undefined);
    (globalThis as { __TAURI__?: unknown }).__TAURI__ = { core: { invoke } };
    renderLogin();
    fireEvent.click(screen.getByRole("button", { name: "Log in to GitHub Copilot" }));
    expect(await screen.findByText("WDJB-MJHT")).toBeTruthy();
    fireEvent.click(screen.getByRole("link", { name: "https://github.com/login/device" }));
    expect(invoke).toHaveBeenCalledWith("plugin:opener|open_url", { url: "https://github.com/login/device" });
    await waitFor(() => expect(screen.getByText("Logged in as octocat.")).toBeTruthy(), { timeout: 4000 });
    expect(fetch).toHaveBeenCalledWith("/api/oauth/github/start", expect.objectContaining({ method: "POST", body: "{}" }));
  });

  it("renews an account in place and shows why a login failed", async () => {
    const fetch = vi.fn(async (url: string) =>
      url.endsWith("/start")
        ? Response.json(started, { status: 202 })
        : Response.json({ loginId: "l1", login: { status: "failed", message: "the login was denied" } }),
    );
    vi.stubGlobal("fetch", fetch);
    renderLogin("a1");
    fireEvent.click(screen.getByRole("button", { name: "Log in again" }));
    await waitFor(() => expect(screen.getByRole("alert").textContent).toBe("the login was denied"), { timeout: 4000 });
    expect(fetch).toHaveBeenCalledWith("/api/oauth/github/start", expect.objectContaining({ body: JSON.stringify({ accountId: "a1" }) }));
  });

  it("opens the approval page and finishes with the pasted code", async () => {
    const fetch = vi.fn(async (url: string, init?: RequestInit) => {
      if (url === "/api/oauth/claude/start") {
        return Response.json(
          { loginId: "c1", provider: "claude", kind: "authorize", authorizeUrl: "https://claude.ai/oauth/authorize?x=1", redirectUri: "https://console.anthropic.com/oauth/code/callback", expiresInSecs: 600 },
          { status: 202 },
        );
      }
      if (url === "/api/oauth/claude/c1/complete" && init?.method === "POST") {
        return Response.json({ loginId: "c1", login: { status: "done", accountId: "a9", name: "dev@example.com" } });
      }
      return Response.json({ error: { message: "unexpected", code: "x" } }, { status: 500 });
    });
    vi.stubGlobal("fetch", fetch);
    const open = vi.fn();
    vi.stubGlobal("open", open);
    const client = new QueryClient();
    render(
      <QueryClientProvider client={client}>
        <ProviderLogin provider="claude" label="Claude" />
      </QueryClientProvider>,
    );
    fireEvent.click(screen.getByRole("button", { name: "Log in to Claude" }));
    await screen.findByRole("link", { name: "the Claude page" });
    expect(open).toHaveBeenCalledWith("https://claude.ai/oauth/authorize?x=1", "_blank", "noopener,noreferrer");
    fireEvent.change(screen.getByLabelText("Code"), { target: { value: " abc#st " } });
    fireEvent.click(screen.getByRole("button", { name: "Finish login" }));
    expect(await screen.findByText("Logged in as dev@example.com.")).toBeTruthy();
    expect(fetch).toHaveBeenCalledWith("/api/oauth/claude/c1/complete", expect.objectContaining({ body: JSON.stringify({ code: "abc#st" }) }));
  });

  it("waits for the redirect the engine catches, and says why it cannot when a port is taken", async () => {
    let polls = 0;
    const fetch = vi.fn(async (url: string) => {
      if (url === "/api/oauth/codex/start") {
        return Response.json(
          { loginId: "x1", provider: "codex", kind: "authorize", authorizeUrl: "https://auth.openai.com/oauth/authorize?x=1", redirectUri: "http://localhost:1457/auth/callback", expiresInSecs: 600, listening: true, notice: "port 1455 is in use by python3 (pid 42)" },
          { status: 202 },
        );
      }
      if (url === "/api/oauth/codex/x1") {
        polls += 1;
        return Response.json({ loginId: "x1", login: polls < 2 ? { status: "awaiting-code", authorizeUrl: "https://auth.openai.com/oauth/authorize?x=1", expiresAtMs: Date.now() + 1e6, listening: true } : { status: "done", accountId: "a2", name: "coder@example.com" } });
      }
      return Response.json({ error: { message: "unexpected", code: "x" } }, { status: 500 });
    });
    vi.stubGlobal("fetch", fetch);
    vi.stubGlobal("open", vi.fn());
    render(
      <QueryClientProvider client={new QueryClient()}>
        <ProviderLogin provider="codex" label="OpenAI Codex" />
      </QueryClientProvider>,
    );
    fireEvent.click(screen.getByRole("button", { name: "Log in to OpenAI Codex" }));
    expect(await screen.findByText("port 1455 is in use by python3 (pid 42)")).toBeTruthy();
    expect(screen.getByText("Waiting for the browser…")).toBeTruthy();
    expect(screen.getByLabelText("Code")).toBeTruthy();
    await waitFor(() => expect(screen.getByText("Logged in as coder@example.com.")).toBeTruthy(), { timeout: 4000 });
  });

  it("opens the approval page in the desktop app's login window, except Google's", async () => {
    const start = (provider: string, webview: boolean) =>
      Response.json(
        { loginId: "w1", provider, kind: "authorize", authorizeUrl: `https://${provider}.example/authorize`, redirectUri: "https://x.example/cb", expiresInSecs: 600, listening: false, webview },
        { status: 202 },
      );
    const fetch = vi.fn(async (url: string) => {
      if (url === "/api/oauth/claude/start") return start("claude", true);
      if (url === "/api/oauth/gemini-cli/start") return start("gemini-cli", false);
      return Response.json({ loginId: "w1", login: { status: "awaiting-code", authorizeUrl: "https://x", expiresAtMs: Date.now() + 1e6, listening: false, webview: true } });
    });
    vi.stubGlobal("fetch", fetch);
    const invoke = vi.fn(async () => undefined);
    (globalThis as { __TAURI__?: unknown }).__TAURI__ = { core: { invoke } };
    const client = new QueryClient();
    render(
      <QueryClientProvider client={client}>
        <ProviderLogin provider="claude" label="Claude" />
        <ProviderLogin provider="gemini-cli" label="Gemini CLI" />
      </QueryClientProvider>,
    );
    fireEvent.click(screen.getByRole("button", { name: "Log in to Claude" }));
    await waitFor(() =>
      expect(invoke).toHaveBeenCalledWith("open_login", { provider: "claude", loginId: "w1", authorizeUrl: "https://claude.example/authorize", redirectUri: "https://x.example/cb" }),
    );
    fireEvent.click(screen.getByRole("button", { name: "Log in to Gemini CLI" }));
    await waitFor(() => expect(invoke).toHaveBeenCalledWith("plugin:opener|open_url", { url: "https://gemini-cli.example/authorize" }));
    expect(invoke).toHaveBeenCalledTimes(2);
  });

  const kiroMethods = [
    { id: "builder-id", label: "AWS Builder ID" },
    { id: "google", label: "Google" },
    { id: "github", label: "GitHub" },
  ];

  it("starts a Kiro login for an IAM Identity Center organization", async () => {
    const fetch = vi.fn(async () => Response.json({ ...started, provider: "kiro" }, { status: 202 }));
    vi.stubGlobal("fetch", fetch);
    vi.stubGlobal("open", vi.fn());
    render(
      <QueryClientProvider client={new QueryClient()}>
        <ProviderLogin provider="kiro" label="Kiro (AWS)" methods={kiroMethods} />
      </QueryClientProvider>,
    );
    fireEvent.change(screen.getByLabelText("Start URL"), { target: { value: "https://acme.awsapps.com/start" } });
    fireEvent.change(screen.getByLabelText("Region"), { target: { value: "eu-west-1" } });
    fireEvent.click(screen.getByRole("button", { name: "Log in to Kiro (AWS) with AWS Builder ID" }));
    expect(await screen.findByText("WDJB-MJHT")).toBeTruthy();
    expect(fetch).toHaveBeenCalledWith(
      "/api/oauth/kiro/start",
      expect.objectContaining({ body: JSON.stringify({ method: "builder-id", startUrl: "https://acme.awsapps.com/start", region: "eu-west-1" }) }),
    );
  });

  it("offers each of a provider's login methods and sends the one chosen", async () => {
    const fetch = vi.fn(async () =>
      Response.json({ loginId: "s1", provider: "kiro", kind: "authorize", authorizeUrl: "https://kiro.example/login", redirectUri: "http://localhost:1/oauth/callback", expiresInSecs: 600, listening: true, webview: false }, { status: 202 }),
    );
    vi.stubGlobal("fetch", fetch);
    vi.stubGlobal("open", vi.fn());
    render(
      <QueryClientProvider client={new QueryClient()}>
        <ProviderLogin provider="kiro" label="Kiro (AWS)" methods={kiroMethods} />
      </QueryClientProvider>,
    );
    expect(screen.getByRole("button", { name: "Log in to Kiro (AWS) with GitHub" })).toBeTruthy();
    fireEvent.change(screen.getByLabelText("Start URL"), { target: { value: "https://acme.awsapps.com/start" } });
    fireEvent.click(screen.getByRole("button", { name: "Log in to Kiro (AWS) with Google" }));
    expect(await screen.findByText("Waiting for the browser…")).toBeTruthy();
    expect(fetch).toHaveBeenCalledWith("/api/oauth/kiro/start", expect.objectContaining({ body: JSON.stringify({ method: "google" }) }));
  });
});
