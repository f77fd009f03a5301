import { useEffect, useState, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { saveToken } from "../api/client";
import { useAccessMutations } from "../api/hooks";
import { ErrorNote } from "./ErrorNote";

/** Shown when the management API asks for an admin: the dashboard password, or a script's
 * admin token. (The desktop window never sees this: the app logs it in.) */
export function AdminLogin() {
  const client = useQueryClient();
  const { login } = useAccessMutations();
  const [password, setPassword] = useState("");
  const [token, setToken] = useState("");
  const [withToken, setWithToken] = useState(false);
  // Shown only when the API refused this browser: a saved token, if any, was refused too.
  useEffect(() => saveToken(null), []);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (withToken) {
      saveToken(token.trim());
      void client.invalidateQueries();
    } else {
      login.mutate(password);
    }
  };
  return (
    <section className="card notice" role="alert">
      <h2>Log in to manage NineRouter</h2>
      <p>
        This router keeps its settings behind its dashboard password. Clients keep using their proxy keys; those do not
        open this page.
      </p>
      <form className="row" onSubmit={submit}>
        {withToken ? (
          <input aria-label="Admin token" type="password" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} required />
        ) : (
          <input
            aria-label="Dashboard password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
        )}
        <button type="submit" disabled={login.isPending}>
          {login.isPending ? "Logging in…" : "Log in"}
        </button>
        <button type="button" className="secondary" onClick={() => setWithToken((w) => !w)}>
          {withToken ? "Use the password" : "Use an admin token"}
        </button>
      </form>
      <ErrorNote error={login.error} />
    </section>
  );
}
