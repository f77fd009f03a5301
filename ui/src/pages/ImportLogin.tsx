import { useState } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { api, send } from "../api/client";
import { invalidateAccounts } from "../api/hooks";
import type { Found, ImportedAnswer } from "../api/generated";
import { ErrorNote } from "../components/ErrorNote";

/**
 * Imports the login an official CLI already holds. The engine first says what it found (never
 * the tokens); only after the user agrees is an account made from it.
 */
export function ImportLogin({ provider, cli }: { provider: string; cli: string }) {
  const client = useQueryClient();
  const [found, setFound] = useState<Found | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const path = `/oauth/${encodeURIComponent(provider)}/import`;

  const look = async () => {
    setError(null);
    setDone(null);
    try {
      setFound((await api<{ found: Found }>(path)).found);
    } catch (e) {
      setError(e);
    }
  };

  const accept = async () => {
    setError(null);
    try {
      const r = await send<ImportedAnswer>("POST", path, {});
      if (r.login.status === "done") setDone(r.login.name);
      setFound(null);
      invalidateAccounts(client);
    } catch (e) {
      setError(e);
    }
  };

  if (found) {
    const who = [found.account, found.plan && `(${found.plan})`].filter(Boolean).join(" ");
    return (
      <div className="login" data-testid={`import-${provider}`}>
        <p>
          Found the {cli} login{who ? ` of ${who}` : ""} in <code>{found.path}</code>. {cli} keeps it too: when either of
          them renews the login, the other may have to log in again.
        </p>
        <button type="button" onClick={() => void accept()}>
          Import this login
        </button>{" "}
        <button type="button" className="secondary" onClick={() => setFound(null)}>
          Cancel
        </button>
        <ErrorNote error={error} />
      </div>
    );
  }
  return (
    <div className="login" data-testid={`import-${provider}`}>
      {done && <p role="status">Imported {done}.</p>}
      <ErrorNote error={error} />
      <button type="button" className="secondary" onClick={() => void look()}>
        Import from {cli}
      </button>
    </div>
  );
}
