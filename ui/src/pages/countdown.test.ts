import { describe, expect, it } from "vitest";
import { countdown } from "./countdown";

describe("countdown", () => {
  it("reads like a person would say it", () => {
    expect(countdown(null, 0)).toBe("no reset");
    expect(countdown(0, 5_000)).toBe("resetting now");
    expect(countdown(42_000, 0)).toBe("resets in 42 s");
    expect(countdown(125_000, 0)).toBe("resets in 2 min 05 s");
    expect(countdown(7_500_000, 0)).toBe("resets in 2 h 05 min");
    expect(countdown(3 * 86_400_000 + 3_600_000, 0)).toBe("resets in 3 d 1 h");
  });
});
