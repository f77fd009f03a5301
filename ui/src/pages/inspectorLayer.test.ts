import { describe, expect, it } from "vitest";
import { layerNote } from "./inspectorLayer";

describe("layerNote", () => {
  it("gives the size, and says when a body was cut", () => {
    expect(layerNote({ status: 200, bytes: 12, truncated: false })).toBe("200 · 12 bytes");
    expect(layerNote({ url: "https://api.example/v1/messages", bytes: 2000, truncated: true })).toBe(
      "https://api.example/v1/messages · 2000 bytes (cut at the size limit)",
    );
  });

  it("says when a body was not kept at all", () => {
    expect(layerNote({ status: 200, bytes: 0, truncated: false, skipped: true })).toBe(
      "200 · body not kept: more requests came that second than the inspector keeps bodies of (Settings → Recording)",
    );
  });
});
