import { useState, type FormEvent } from "react";
import { useAccessMutations, useAccessState, useAdminTokens, useAudit } from "../api/hooks";
import { ConfirmButton } from "../components/ConfirmButton";
import { CopyButton } from "../components/CopyButton";
import { EmptyState } from "../components/EmptyState";
import { ErrorNote } from "../components/ErrorNote";

/** Who may manage the router: the dashboard password and admin tokens for scripts. */
export function DashboardAccess() {
  const state = useAccessState();
  const m = useAccessMutations();
  const [password, setPassword] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    m.setPassword.mutate(password, { onSuccess: () => setPassword("") });
  };
  const s = state.data;
  return (
    <section className="card">
      <h2>Dashboard access</h2>
      <ErrorNote error={state.error} />
      {s && (
        <p data-testid="access-state">
          {s.passwordSet ? "A dashboard password is set." : "No dashboard password is set."}{" "}
          {s.required
            ? "Managing this router needs a login."
            : "On this machine the dashboard is open without one."}
          {s.actor && s.actor !== "local" && ` You are logged in (${s.actor}).`}
        </p>
      )}
      <form className="row" onSubmit={submit}>
        <input
          aria-label="New dashboard password"
          type="password"
          autoComplete="new-password"
          minLength={8}
          placeholder="8 characters or more"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          required
        />
        <button type="submit" disabled={m.setPassword.isPending}>
          {s?.passwordSet ? "Change password" : "Set password"}
        </button>
        {s?.passwordSet && (
          <ConfirmButton
            label="Remove password"
            question="Remove the dashboard password? On this machine the dashboard opens without a login again."
            onConfirm={() => m.removePassword.mutate()}
          />
        )}
        {s?.actor === "session" && (
          <button type="button" className="secondary" onClick={() => m.logout.mutate()}>
            Log out
          </button>
        )}
      </form>
      {m.setPassword.isSuccess && <p role="status">Password saved.</p>}
      <ErrorNote error={m.setPassword.error ?? m.removePassword.error} />
      <AdminTokens />
    </section>
  );
}

function AdminTokens() {
  const tokens = useAdminTokens();
  const m = useAccessMutations();
  const [name, setName] = useState("");
  const created = m.createToken.data;
  return (
    <>
      <h3>Admin tokens</h3>
      <p className="muted">
        For scripts that manage the router: send one as <code>Authorization: Bearer …</code> to <code>/api</code>.
      </p>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          m.createToken.mutate(name, { onSuccess: () => setName("") });
        }}
      >
        <input aria-label="Admin token name" placeholder="what it is for" value={name} onChange={(e) => setName(e.target.value)} required />
        <button type="submit" disabled={m.createToken.isPending}>
          Create admin token
        </button>
      </form>
      {created && (
        <p role="status">
          Copy it now, it is shown once: <code data-testid="new-admin-token">{created.token}</code>{" "}
          <CopyButton label="Copy admin token" text={created.token} />
        </p>
      )}
      <ErrorNote error={m.createToken.error ?? tokens.error} />
      <ul>
        {(tokens.data ?? []).map((t) => (
          <li key={t.id} className="row">
            {t.name} <code>{t.hint}</code>
            <ConfirmButton label="Delete" question={`Delete the admin token “${t.name}”?`} onConfirm={() => m.deleteToken.mutate(t.id)} />
          </li>
        ))}
      </ul>
    </>
  );
}

/** Every management change, newest first. */
export function AuditLog() {
  const audit = useAudit();
  return (
    <section className="card">
      <h2>Audit log</h2>
      <ErrorNote error={audit.error} />
      {audit.data?.length === 0 && <EmptyState title="No changes yet" />}
      {!!audit.data?.length && (
        <div className="scroll-x">
          <table>
            <thead>
              <tr>
                <th>When</th>
                <th>Who</th>
                <th>From</th>
                <th>What</th>
                <th>Status</th>
                <th>Change</th>
              </tr>
            </thead>
            <tbody>
              {audit.data.map((e) => (
                <tr key={e.seq} data-testid="audit-row">
                  <td>{new Date(e.atMs).toLocaleString()}</td>
                  <td>{e.actor}</td>
                  <td>{e.client}</td>
                  <td>{e.action}</td>
                  <td>{e.status}</td>
                  <td>
                    <code>{e.detail}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
