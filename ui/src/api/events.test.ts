import { afterEach, describe, expect, it, vi } from "vitest";
import { REFRESH_SPACING_MS, createRefresher, eventNames } from "./events";
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

describe("createRefresher", () => {
  afterEach(() => vi.useRealTimers());

  const refresher = () => {
    const calls: string[] = [];
    const r = createRefresher((queries) => queries.forEach((q) => calls.push(JSON.stringify(q))));
    return { r, calls };
  };

  it("refreshes each query once when the stream connects", () => {
    const { r, calls } = refresher();
    r.connected();
    expect(new Set(calls).size).toBe(calls.length);
    expect(calls.filter((q) => q === JSON.stringify(keys.status))).toHaveLength(1);
    expect(calls).toContain(JSON.stringify(["connections"]));
  });

  it("refreshes at once for a lone event, and once per spacing under a flood", () => {
    vi.useFakeTimers();
    const { r, calls } = refresher();
    r.event("quota-updated");
    vi.advanceTimersByTime(0);
    expect(calls).toEqual([JSON.stringify(keys.quota)]);
    calls.length = 0;
    // A thousand requests finishing over one second: four refreshes, not a thousand.
    for (let ms = 0; ms < 1000; ms++) {
      r.event("request-finished");
      vi.advanceTimersByTime(1);
    }
    vi.advanceTimersByTime(REFRESH_SPACING_MS);
    const details = calls.filter((q) => q === JSON.stringify(keys.details));
    expect(details.length).toBeGreaterThanOrEqual(4);
    expect(details.length).toBeLessThanOrEqual(5);
    r.stop();
  });

  it("waits for a started request to be written before looking", () => {
    vi.useFakeTimers();
    const { r, calls } = refresher();
    r.event("request-started");
    vi.advanceTimersByTime(299);
    expect(calls).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(calls).toEqual([JSON.stringify(keys.details)]);
    r.event("no-such-event");
    r.stop();
  });
});
