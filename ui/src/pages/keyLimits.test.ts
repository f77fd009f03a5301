import { describe, expect, it } from "vitest";
import { NO_LIMITS, describeLimits, formOf, limitsOf, limitsPatch } from "./keyLimits";

describe("key limits", () => {
  it("sends only what is limited for a new key", () => {
    expect(limitsOf({ ...NO_LIMITS, rpm: "3", models: "rb/*, stack" })).toEqual({
      rpm: 3,
      models: ["rb/*", "stack"],
    });
    expect(limitsOf(NO_LIMITS)).toEqual({});
  });

  it("lifts a cleared limit with null when editing", () => {
    expect(limitsPatch({ ...NO_LIMITS, tpm: "50000" })).toEqual({
      rpm: null,
      tpm: 50000,
      dailyCostLimitUsd: null,
      models: null,
      expiresAt: null,
    });
  });

  it("refuses what the API would refuse", () => {
    expect(() => limitsPatch({ ...NO_LIMITS, rpm: "0" })).toThrow(/whole number/);
    expect(() => limitsPatch({ ...NO_LIMITS, rpm: "1.5" })).toThrow(/whole number/);
    expect(() => limitsPatch({ ...NO_LIMITS, dailyCostLimitUsd: "-1" })).toThrow(/positive/);
  });

  it("round-trips an expiry through the form", () => {
    const at = new Date(2027, 0, 1, 9, 30).getTime();
    expect(limitsPatch(formOf({ expiresAt: at })).expiresAt).toBe(at);
  });

  it("describes limits in one line", () => {
    expect(describeLimits({})).toBe("none");
    expect(describeLimits({ rpm: 3, dailyCostLimitUsd: 5, models: ["rb/*"] })).toBe("3 req/min · $5.00/day · rb/*");
    expect(describeLimits({ expiresAt: 1 }, 2)).toMatch(/^expired /);
  });
});
