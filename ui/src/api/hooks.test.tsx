import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { renderHook, waitFor } from "@testing-library/react";
import type { ReactNode } from "react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { useKeyMutations, useRequestDetails } from "./hooks";

afterEach(() => vi.unstubAllGlobals());

function wrapper() {
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return ({ children }: { children: ReactNode }) => <QueryClientProvider client={client}>{children}</QueryClientProvider>;
}

const page = { details: [], pagination: { page: 2, pageSize: 10, totalItems: 11, totalPages: 2 }, dropped: 0, unlisted: 0 };

describe("data hooks", () => {
  it("useRequestDetails asks for the page, size and filters it is given", async () => {
    const fetch = vi.fn(async () => Response.json(page));
    vi.stubGlobal("fetch", fetch);
    const filters = { provider: "", model: "gpt-4o", connectionId: "", status: "", q: "", from: "", to: "" };
    const { result } = renderHook(() => useRequestDetails(filters, 2, 10), { wrapper: wrapper() });
    await waitFor(() => expect(result.current.data).toEqual(page));
    expect(fetch).toHaveBeenCalledWith("/api/usage/request-details?page=2&pageSize=10&model=gpt-4o", expect.anything());
  });

  it("a failed mutation carries the server's message", async () => {
    vi.stubGlobal("fetch", async () =>
      Response.json({ error: { message: "name: must not be empty", code: "validation_error", field: "name" } }, { status: 400 }),
    );
    const { result } = renderHook(() => useKeyMutations(), { wrapper: wrapper() });
    result.current.create.mutate({ name: "" });
    await waitFor(() => expect(result.current.create.error?.message).toBe("name: must not be empty"));
  });
});
