import { describe, expect, it } from "vitest";
import type { AccountQuota, QuotaWindow } from "../api/types";
import { warnedAccounts } from "./quotaWarnings";

const window = (warning?: number): QuotaWindow => ({
  window: "weekly", metric: "requests", used: 90, limit: 100, remaining: 10, percentUsed: 90,
  resetsAtMs: null, resetsInSecs: null, ...(warning === undefined ? {} : { warning }),
});

const account = (id: string, windows: QuotaWindow[]): AccountQuota =>
  ({ accountId: id, accountName: id, provider: "claude", providerName: "Claude", windows, fetchedAt: 1, refreshable: true }) as unknown as AccountQuota;

describe("warnedAccounts", () => {
  it("counts accounts with a window past a threshold", () => {
    expect(warnedAccounts([account("a", [window(80), window()]), account("b", [window()]), account("c", [window(95)])])).toBe(2);
    expect(warnedAccounts([])).toBe(0);
  });
});
