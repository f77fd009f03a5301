import { describe, expect, it } from "vitest";
import type { ModelView } from "../api/types";
import { matching, priceText, windowText } from "./models";

const model = (id: string, providerName: string): ModelView => ({
  model: id, provider: providerName, providerName, contextWindow: null, price: null, health: null,
});

describe("models view", () => {
  it("says windows the way people do", () => {
    expect(windowText(128_000)).toBe("128k");
    expect(windowText(1_048_576)).toBe("1.05M");
    expect(windowText(null)).toBe("–");
  });

  it("prices input and output per million", () => {
    expect(priceText({ input: 2.5, cachedInput: 1.25, cacheWrite: 0, output: 10, reasoning: null })).toBe("$2.50 / $10.00");
    expect(priceText(null)).toBe("–");
  });

  it("filters by model or provider", () => {
    const all = [model("cc/claude-sonnet-4-5", "Claude"), model("oa/gpt-4o", "OpenAI")];
    expect(matching(all, "openai").map((m) => m.model)).toEqual(["oa/gpt-4o"]);
    expect(matching(all, " CLAUDE ").length).toBe(1);
    expect(matching(all, "").length).toBe(2);
  });
});
