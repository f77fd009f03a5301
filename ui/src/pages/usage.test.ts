import { describe, expect, it } from "vitest";
import type { UsagePoint } from "../api/types";
import { chartRows, dollars } from "./usage";

const point = (start: number, key: string, requests: number): UsagePoint => ({
  start, key, requests, errors: 0, limited: 0, inputTokens: 0, cachedTokens: 0, cacheWriteTokens: 0,
  outputTokens: 0, reasoningTokens: 0, cost: 0, saved: 0, avgLatencyMs: 0, avgTtftMs: null,
});

describe("chartRows", () => {
  it("pivots points into one row per bucket, zero-filled, biggest group first", () => {
    const { rows, groups } = chartRows(
      [point(2, "openai", 1), point(1, "openai", 2), point(1, "", 5)],
      (p) => p.requests,
    );
    expect(groups).toEqual(["(none)", "openai"]);
    expect(rows).toEqual([
      { start: 1, openai: 2, "(none)": 5 },
      { start: 2, openai: 1, "(none)": 0 },
    ]);
  });

  it("labels groups by the name people gave them", () => {
    const named = { ...point(1, "file-node-wo", 3), name: "work-openai" };
    const { groups } = chartRows([named, point(1, "openai", 1)], (p) => p.requests);
    expect(groups).toEqual(["work-openai", "openai"]);
  });

  it("prints small costs with enough digits", () => {
    expect(dollars(0.0032)).toBe("$0.0032");
    expect(dollars(12.5)).toBe("$12.50");
  });
});
