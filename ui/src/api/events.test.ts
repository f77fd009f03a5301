import { describe, expect, it } from "vitest";
import { EVERY_REFRESHED_QUERY, eventNames } from "./events";
import { keys } from "./hooks";

describe("eventNames", () => {
  it("reads whole events' names and keeps a partial one for later", () => {
    const { names, rest } = eventNames(
      'event: request-started\ndata: {"id":"a"}\n\n: keep-alive\n\nevent: request-finished\r\ndata: {}\r\n\r\nevent: quota-up',
    );
    expect(names).toEqual(["request-started", "request-finished"]);
    expect(rest).toBe("event: quota-up");
  });
});

describe("EVERY_REFRESHED_QUERY", () => {
  it("names each query once, so a reconnect refetches it once", () => {
    const named = EVERY_REFRESHED_QUERY.map((q) => JSON.stringify(q));
    expect(new Set(named).size).toBe(named.length);
    expect(named.filter((q) => q === JSON.stringify(keys.status))).toHaveLength(1);
    expect(named).toContain(JSON.stringify(["connections"]));
  });
});
