import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { savedToken, saveToken } from "../api/client";
import { AdminLogin } from "./AdminLogin";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  saveToken(null);
});

const renderLogin = () =>
  render(
    <QueryClientProvider client={new QueryClient()}>
      <AdminLogin />
    </QueryClientProvider>,
  );

describe("AdminLogin", () => {
  it("posts the password and shows why a login was refused", async () => {
    const fetch = vi.fn(async () =>
      Response.json({ error: { message: "wrong password", code: "wrong_password" } }, { status: 401 }),
    );
    vi.stubGlobal("fetch", fetch);
    renderLogin();
    fireEvent.change(screen.getByLabelText("Dashboard password"), { target: { value: "hunter22" } });
    fireEvent.click(screen.getByRole("button", { name: "Log in" }));
    await waitFor(() => expect(screen.getByText("wrong password")).toBeTruthy());
    const [path, init] = (fetch.mock.calls[0] ?? []) as unknown as [string, RequestInit];
    expect(path).toBe("/api/auth/login");
    expect(init.method).toBe("POST");
    expect(JSON.parse(String(init.body))).toEqual({ password: "hunter22" });
  });

  it("keeps an admin token for this browser session instead", () => {
    vi.stubGlobal("fetch", vi.fn());
    renderLogin();
    fireEvent.click(screen.getByRole("button", { name: "Use an admin token" }));
    fireEvent.change(screen.getByLabelText("Admin token"), { target: { value: " nra-xyz " } });
    fireEvent.click(screen.getByRole("button", { name: "Log in" }));
    expect(savedToken()).toBe("nra-xyz");
  });
});
