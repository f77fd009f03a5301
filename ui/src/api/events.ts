// Live updates: the engine's event stream invalidates what each event changes, so pages
// refresh without polling. Read with fetch rather than EventSource, which cannot send the
// proxy key a router beyond loopback asks for; reconnects after a pause when it drops.

import { useEffect } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { withToken } from "./client";
import { keys } from "./hooks";

const RECONNECT_MS = 3000;

/** The `event:` names of the complete events in `buffer`, and what is left over. */
export function eventNames(buffer: string): { names: string[]; rest: string } {
  const blocks = buffer.replace(/\r\n/g, "\n").split("\n\n");
  const rest = blocks.pop() ?? "";
  const names = blocks.flatMap((b) => {
    const line = b.split("\n").find((l) => l.startsWith("event:"));
    return line ? [line.slice(6).trim()] : [];
  });
  return { names, rest };
}

/** Calls `on` with each event's name until `signal` aborts, and `connected` each time the
 * stream (re)opens: events may have been missed while it was down. */
async function follow(signal: AbortSignal, on: (name: string) => void, connected: () => void): Promise<void> {
  while (!signal.aborted) {
    try {
      const r = await fetch("/api/events", { headers: withToken(new Headers()), signal });
      const reader = r.ok ? r.body?.getReader() : undefined;
      if (reader) {
        connected();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          const { names, rest } = eventNames(buffer + decoder.decode(value, { stream: true }));
          buffer = rest;
          names.forEach(on);
        }
      }
    } catch {
      // Dropped or aborted: wait and try again (the loop ends once aborted).
    }
    await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
  }
}

type Queries = readonly (readonly string[])[];

/** What each event makes stale, and after how long (ms): a started request the inspector lists
 * is written by the engine's recorder within its 200 ms flush interval, so the list looks
 * again a bit later. */
const REFRESHES: Record<string, { queries: Queries; after: number }> = {
  "request-started": { queries: [keys.details], after: 300 },
  "request-finished": { queries: [keys.details, keys.usage], after: 0 },
  "quota-updated": { queries: [keys.quota], after: 0 },
  "routing-paused": { queries: [keys.status], after: 0 },
  "store-link": { queries: [keys.status], after: 0 },
  "provider-down": { queries: [keys.status], after: 0 },
  "provider-up": { queries: [keys.status], after: 0 },
  "account-cooled-down": { queries: [["connections"]], after: 0 },
  "account-recovered": { queries: [["connections"]], after: 0 },
  "config-changed": { queries: [keys.status, keys.proxyKeys, keys.settings, keys.quota, ["combos"], ["routable-models"], ["connections"], ["providers"]], after: 0 },
};

/** Each query some event refreshes, once: invalidating a query again while its refetch is in
 * flight cancels that refetch and starts another. */
const EVERY_REFRESHED_QUERY: Queries = [
  ...new Map(Object.values(REFRESHES).flatMap((r) => r.queries.map((q) => [JSON.stringify(q), q] as const))).values(),
];

/** The least time (ms) between two refreshes for one kind of event: under load the router
 * sends thousands of events a second, and each refresh would cancel the refetch the one
 * before started. */
export const REFRESH_SPACING_MS = 250;

/** Turns events into refreshes: each kind at most once per `REFRESH_SPACING_MS`, with the
 * events that came meanwhile taken by the one pending; a (re)connection refreshes every query
 * once, since events may have been missed while the stream was down. */
export function createRefresher(invalidate: (queries: Queries) => void) {
  const pending = new Map<string, ReturnType<typeof setTimeout>>();
  const last = new Map<string, number>();
  return {
    event(name: string) {
      const refresh = REFRESHES[name];
      if (!refresh || pending.has(name)) return;
      const since = Date.now() - (last.get(name) ?? -Infinity);
      const delay = Math.max(refresh.after, REFRESH_SPACING_MS - since);
      pending.set(
        name,
        setTimeout(() => {
          pending.delete(name);
          last.set(name, Date.now());
          invalidate(refresh.queries);
        }, delay),
      );
    },
    connected() {
      invalidate(EVERY_REFRESHED_QUERY);
    },
    stop() {
      for (const timer of pending.values()) clearTimeout(timer);
      pending.clear();
    },
  };
}

export function useEngineEvents(): void {
  const client = useQueryClient();
  useEffect(() => {
    if (typeof ReadableStream === "undefined") return;
    const stop = new AbortController();
    const refresher = createRefresher((queries) => {
      for (const queryKey of queries) void client.invalidateQueries({ queryKey });
    });
    void follow(
      stop.signal,
      (name) => refresher.event(name),
      () => refresher.connected(),
    );
    return () => {
      stop.abort();
      refresher.stop();
    };
  }, [client]);
}
