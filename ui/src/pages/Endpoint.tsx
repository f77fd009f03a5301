import { useState, type FormEvent } from "react";
import { useKeyMutations, useProxyKeys, useRequireKey, useRoutingSwitches, useStatus } from "../api/hooks";
import type { CreatedKey, ProxyKey } from "../api/types";
import { ConfirmButton } from "../components/ConfirmButton";
import { CopyButton } from "../components/CopyButton";
import { EmptyState } from "../components/EmptyState";
import { ErrorNote } from "../components/ErrorNote";
import { NO_LIMITS, describeLimits, formOf, limitsOf, limitsPatch, type LimitsForm } from "./keyLimits";
import { SNIPPETS } from "./snippets";

export function EndpointPage() {
  const status = useStatus();
  const base = window.location.origin;
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const { pause } = useRoutingSwitches();
  const keyForSnippets = created?.key ?? "sk-nr-…";
  return (
    <>
      <h1>Endpoint</h1>
      <section className="card">
        <h2>Base URL</h2>
        <div className="row">
          <code data-testid="base-url">{base}</code>
          <CopyButton text={base} />
        </div>
        {status.data && (
          <div className="row">
            <button type="button" className="secondary" disabled={pause.isPending} onClick={() => pause.mutate(!status.data.paused)}>
              {status.data.paused ? "Resume routing" : "Pause routing"}
            </button>
            <ErrorNote error={pause.error} />
          </div>
        )}
        {status.data && (
          <p className="muted" data-testid="server-status">
            {status.data.paused ? "Paused (clients get 503 until resumed)" : "Running"} · NineRouter {status.data.version} on {status.data.address}
            {status.data.loopbackOnly ? " (this machine only)" : " (reachable from the network)"} · secrets in{" "}
            {status.data.secretBackend.description}
          </p>
        )}
        <ErrorNote error={status.error} />
      </section>
      <Keys created={created} onCreated={setCreated} />
      <section className="card">
        <h2>Point your tools at it</h2>
        {SNIPPETS.map((s) => {
          const text = s.text(base, keyForSnippets);
          return (
            <details key={s.tool}>
              <summary>
                {s.tool} <span className="muted">— {s.where}</span>
              </summary>
              <div className="row top">
                <pre className="snippet">{text}</pre>
                <CopyButton text={text} />
              </div>
            </details>
          );
        })}
      </section>
    </>
  );
}

function Keys({ created, onCreated }: { created: CreatedKey | null; onCreated: (k: CreatedKey | null) => void }) {
  const list = useProxyKeys();
  const status = useStatus();
  const { create, revoke } = useKeyMutations();
  const requireKey = useRequireKey();
  const [name, setName] = useState("");
  const [limits, setLimits] = useState<LimitsForm>(NO_LIMITS);
  const [invalid, setInvalid] = useState<Error | null>(null);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    let input;
    try {
      input = { name: name.trim(), ...limitsOf(limits) };
    } catch (err) {
      setInvalid(err as Error);
      return;
    }
    setInvalid(null);
    create.mutate(input, {
      onSuccess: (k) => {
        onCreated(k);
        setName("");
        setLimits(NO_LIMITS);
      },
    });
  };
  const keys = list.data ?? [];
  return (
    <section className="card">
      <h2>Proxy API keys</h2>
      <label className="row">
        <input
          type="checkbox"
          checked={status.data?.requireApiKey ?? false}
          disabled={!status.data || requireKey.isPending}
          onChange={(e) => requireKey.mutate(e.target.checked)}
        />
        Require a key from clients on this machine too
      </label>
      <ErrorNote error={requireKey.error} />
      {created && (
        <div className="notice" role="status" data-testid="new-key">
          <p>
            Key <strong>{created.name}</strong> — shown this once; copy it now:
          </p>
          <div className="row">
            <code>{created.key}</code>
            <CopyButton text={created.key} />
            <button type="button" className="secondary" onClick={() => onCreated(null)}>
              Done
            </button>
          </div>
        </div>
      )}
      <form onSubmit={submit}>
        <div className="row">
          <label htmlFor="key-name">Name</label>
          <input
            id="key-name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="laptop, CI, …"
            required
            maxLength={80}
          />
          <button type="submit" disabled={create.isPending || !name.trim()}>
            {create.isPending ? "Creating…" : "Create key"}
          </button>
        </div>
        <details>
          <summary>Limits (optional)</summary>
          <LimitsFields value={limits} onChange={setLimits} idPrefix="new-key" />
        </details>
      </form>
      <ErrorNote error={invalid ?? create.error} />
      {list.isSuccess && keys.length === 0 ? (
        <EmptyState title="No proxy keys yet">
          Clients on this machine need none. Create one for each tool or machine that should be
          able to use the router when keys are required.
        </EmptyState>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Name</th>
              <th>Key</th>
              <th>Limits</th>
              <th>Created</th>
              <th aria-label="Actions" />
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => (
              <KeyRow key={k.id} k={k} onRevoke={() => revoke.mutate(k.id)} />
            ))}
          </tbody>
        </table>
      )}
      <ErrorNote error={revoke.error ?? list.error} />
    </section>
  );
}

/** Requests and tokens per minute, a daily budget, allowed models and an expiry. */
function LimitsFields({
  value,
  onChange,
  idPrefix,
}: {
  value: LimitsForm;
  onChange: (v: LimitsForm) => void;
  idPrefix: string;
}) {
  const field = (key: keyof LimitsForm, label: string, props: Record<string, string>) => (
    <label className="row" htmlFor={`${idPrefix}-${key}`}>
      {label}
      <input
        id={`${idPrefix}-${key}`}
        value={value[key]}
        onChange={(e) => onChange({ ...value, [key]: e.target.value })}
        {...props}
      />
    </label>
  );
  return (
    <div className="limits">
      {field("rpm", "Requests per minute", { inputMode: "numeric", placeholder: "no limit" })}
      {field("tpm", "Tokens per minute", { inputMode: "numeric", placeholder: "no limit" })}
      {field("dailyCostLimitUsd", "Daily cost limit (USD, resets at midnight UTC)", { inputMode: "decimal", placeholder: "no limit" })}
      {field("models", "Models (glob patterns, comma-separated)", { placeholder: "any, e.g. cc/*, my-combo" })}
      {field("expires", "Expires", { type: "datetime-local" })}
    </div>
  );
}

function KeyRow({ k, onRevoke }: { k: ProxyKey; onRevoke: () => void }) {
  const { update } = useKeyMutations();
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(k.name);
  const [limits, setLimits] = useState<LimitsForm>(() => formOf(k));
  const [invalid, setInvalid] = useState<Error | null>(null);
  const fromFile = k.source === "file";
  const save = (e: FormEvent) => {
    e.preventDefault();
    let patch;
    try {
      patch = { name: name.trim(), ...limitsPatch(limits) };
    } catch (err) {
      setInvalid(err as Error);
      return;
    }
    setInvalid(null);
    update.mutate({ id: k.id, patch }, { onSuccess: () => setEditing(false) });
  };
  return (
    <tr data-testid={`key-${k.name}`}>
      <td>
        {editing ? (
          <form onSubmit={save}>
            <input aria-label="New name" value={name} onChange={(e) => setName(e.target.value)} required />
            <LimitsFields value={limits} onChange={setLimits} idPrefix={`key-${k.id}`} />
            <div className="row">
              <button type="submit">Save</button>
              <button type="button" className="secondary" onClick={() => setEditing(false)}>
                Cancel
              </button>
            </div>
            <ErrorNote error={invalid ?? update.error} />
          </form>
        ) : (
          k.name
        )}
      </td>
      <td>
        <code>{k.hint}</code>
      </td>
      <td data-testid="key-limits">{describeLimits(k)}</td>
      <td>{fromFile ? "config file" : new Date(k.createdAt).toLocaleString()}</td>
      <td className="actions">
        {!fromFile && !editing && (
          <>
            <button
              type="button"
              className="secondary"
              onClick={() => {
                setName(k.name);
                setLimits(formOf(k));
                setEditing(true);
              }}
            >
              Edit
            </button>
            <ConfirmButton label="Revoke" question={`Revoke the key “${k.name}”? Clients using it stop working.`} onConfirm={onRevoke} />
          </>
        )}
      </td>
    </tr>
  );
}
