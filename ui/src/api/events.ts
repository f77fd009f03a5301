// Live updates: the engine's event stream invalidates what each event changes, so pages
// refresh without polling. Reconnects on its own (EventSource does).

import { useEffect } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { keys } from "./hooks";

/** What each event makes stale, and after how long (ms): a started request is written by the
 * engine's recorder within its 200 ms flush interval, so the list looks again a bit later. */
const REFRESHES: Record<string, { queries: readonly (readonly string[])[]; after: number }> = {
  "request-started": { queries: [keys.details], after: 300 },
  "request-finished": { queries: [keys.details, keys.usage], after: 0 },
  "quota-updated": { queries: [keys.quota], after: 0 },
  "account-cooled-down": { queries: [["connections"]], after: 0 },
  "account-recovered": { queries: [["connections"]], after: 0 },
  "config-changed": { queries: [keys.status, keys.proxyKeys, keys.settings, keys.quota, ["combos"], ["routable-models"], ["connections"], ["providers"]], after: 0 },
};

export function useEngineEvents(): void {
  const client = useQueryClient();
  useEffect(() => {
    if (typeof EventSource === "undefined") return;
    const source = new EventSource("/api/events");
    const timers = new Set<ReturnType<typeof setTimeout>>();
    const listeners = Object.entries(REFRESHES).map(([name, { queries, after }]) => {
      const listener = () => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          for (const queryKey of queries) void client.invalidateQueries({ queryKey });
        }, after);
        timers.add(timer);
      };
      source.addEventListener(name, listener);
      return [name, listener] as const;
    });
    return () => {
      for (const [name, listener] of listeners) source.removeEventListener(name, listener);
      for (const timer of timers) clearTimeout(timer);
      source.close();
    };
  }, [client]);
}
