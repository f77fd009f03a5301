import { useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, send } from "../api/client";
import type { FirstRun, FirstRunDone } from "../api/generated";
import { ErrorNote } from "../components/ErrorNote";

const DISMISSED = "ninerouter.first-run-dismissed";

/**
 * On a router with no account yet: the CLI logins found on this machine and the tools
 * installed there, and one button to import the logins as a combo and point the tools at it.
 * Nothing is written before that click.
 */
export function FirstRunPanel() {
  const client = useQueryClient();
  const [hidden, setHidden] = useState(() => globalThis.localStorage?.getItem(DISMISSED) === "1");
  const offer = useQuery({ queryKey: ["first-run"], queryFn: () => api<FirstRun>("/setup/first-run"), enabled: !hidden });
  const [logins, setLogins] = useState<Set<string> | null>(null);
  const [tools, setTools] = useState<Set<string> | null>(null);
  const [done, setDone] = useState<FirstRunDone | null>(null);
  const [error, setError] = useState<unknown>(null);
  const data = offer.data;
  if (hidden || !data) return null;
  if (done) {
    return (
      <div className="card" data-testid="first-run">
        <p role="status">
          {done.imported.length ? `Imported ${done.imported.join(", ")}. ` : ""}
          {done.combo ? `Combo “${done.combo}” is active. ` : ""}
          {done.tools.length ? `${done.tools.join(", ")} now use NineRouter.` : ""}
        </p>
        {done.problems.map((p) => (
          <p key={p} role="alert" className="error">
            {p}
          </p>
        ))}
      </div>
    );
  }
  if (!data.empty || (data.logins.length === 0 && data.tools.length === 0)) return null;
  const chosenLogins = logins ?? new Set(data.logins.map((l) => l.provider));
  const chosenTools = tools ?? new Set(data.tools.map((t) => t.id));
  const toggle = (set: Set<string>, id: string, save: (s: Set<string>) => void) => {
    const next = new Set(set);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    save(next);
  };
  const go = async () => {
    setError(null);
    try {
      setDone(await send<FirstRunDone>("POST", "/setup/first-run", { logins: [...chosenLogins], tools: [...chosenTools] }));
      await client.invalidateQueries();
    } catch (e) {
      setError(e);
    }
  };
  const dismiss = () => {
    globalThis.localStorage?.setItem(DISMISSED, "1");
    setHidden(true);
  };
  return (
    <div className="card" data-testid="first-run">
      <h2>Set up in one step</h2>
      {data.logins.length > 0 && <p>Logins found on this machine:</p>}
      {data.logins.map((l) => (
        <label key={l.provider} className="row">
          <input type="checkbox" checked={chosenLogins.has(l.provider)} onChange={() => toggle(chosenLogins, l.provider, setLogins)} />
          {l.app}: {l.found.account ?? "a login"}
          {l.found.plan ? ` (${l.found.plan})` : ""}
        </label>
      ))}
      {data.tools.length > 0 && <p>Tools to point at NineRouter:</p>}
      {data.tools.map((t) => (
        <label key={t.id} className="row">
          <input type="checkbox" checked={chosenTools.has(t.id)} onChange={() => toggle(chosenTools, t.id, setTools)} />
          {t.name}
        </label>
      ))}
      <div className="row">
        <button type="button" onClick={() => void go()}>
          Import and set up
        </button>
        <button type="button" className="secondary" onClick={dismiss}>
          Not now
        </button>
      </div>
      <ErrorNote error={error} />
    </div>
  );
}
