import { describe, expect, it } from "vitest";
import type { ImportItem, ToolStatus } from "../api/generated";
import { counts, itemText, stateText, toolInput } from "./tools";

const tool = (state: ToolStatus["state"], extra: Partial<ToolStatus> = {}): ToolStatus => ({
  id: "codex",
  name: "Codex CLI",
  installed: true,
  state,
  restorable: false,
  dir: "/home/u/.codex",
  ...extra,
});

describe("tools", () => {
  it("says where a tool points", () => {
    expect(stateText(tool("configured"))).toBe("Uses NineRouter");
    expect(stateText(tool("elsewhere", { baseUrl: "https://api.example.com" }))).toBe("Points at https://api.example.com");
    expect(stateText(tool("unreadable", { error: "bad TOML" }))).toContain("bad TOML");
  });

  it("leaves empty fields to the router", () => {
    expect(toolInput(" ", "", "")).toEqual({});
    expect(toolInput("http://127.0.0.1:1/", " k ", "work")).toEqual({ url: "http://127.0.0.1:1/", key: "k", model: "work" });
  });

  it("tells what an import does to each item, before and after", () => {
    const items: ImportItem[] = [
      { key: "account:openrouter · a", kind: "account", name: "openrouter · a", action: "create" },
      { key: "alias:x", kind: "alias", name: "x → y", action: "conflict", reason: "it points at z here" },
      { key: "account:kilo", kind: "account", name: "kilo", action: "skip", reason: "NineRouter has no 'kilocode' provider" },
    ];
    expect(itemText(items[0]!, false)).toBe("will be created");
    expect(itemText(items[0]!, true)).toBe("created");
    expect(itemText(items[1]!, false)).toBe("name taken here, left alone: it points at z here");
    expect(counts(items)).toEqual({ create: 1, present: 0, skip: 1, conflict: 1 });
  });
});
