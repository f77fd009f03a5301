import { describe, expect, it } from "vitest";
import { toPatch } from "./Settings";

const form = {
  accountStrategy: "fill-first" as const,
  stickyLimit: "3",
  recordUsage: true,
  inspector: true,
  inspectorMaxRequests: "1000",
  inspectorMaxMiB: "256",
  inspectorMaxFieldKiB: "1024",
  inspectorRequestsPerSecond: "200",
  inspectorBodiesPerSecond: "50",
  quotaRefreshSecs: "300",
};

describe("toPatch", () => {
  it("converts units to the API's bytes", () => {
    const r = toPatch(form);
    expect("patch" in r && r.patch).toEqual({
      routing: { accountStrategy: "fill-first", stickyLimit: 3 },
      observability: {
        recordUsage: true,
        inspector: true,
        inspectorMaxRequests: 1000,
        inspectorMaxBytes: 256 * 1048576,
        inspectorMaxFieldBytes: 1024 * 1024,
        inspectorRequestsPerSecond: 200,
        inspectorBodiesPerSecond: 50,
        quotaRefreshSecs: 300,
      },
    });
  });

  it("names the field that is not a whole number of at least 1", () => {
    expect(toPatch({ ...form, stickyLimit: "0" })).toEqual({ field: "stickyLimit" });
    expect(toPatch({ ...form, quotaRefreshSecs: "1.5" })).toEqual({ field: "quotaRefreshSecs" });
  });
});
