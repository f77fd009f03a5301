import { useState, type FormEvent } from "react";
import { useConnectionMutations, useConnections, useProviders, useStatus } from "../api/hooks";
import type { Account, NodeKind, NodeRecord, ProviderDef, Tier } from "../api/types";
import { ConfirmButton } from "../components/ConfirmButton";
import { EmptyState } from "../components/EmptyState";
import { ErrorNote } from "../components/ErrorNote";
import { useNow } from "../useNow";
import { countdown } from "./countdown";
import { ImportLogin } from "./ImportLogin";
import { ProviderLogin } from "./Login";

const TIERS: { tier: Tier; title: string }[] = [
  { tier: "subscription", title: "Subscriptions" },
  { tier: "cheap", title: "Cheap" },
  { tier: "free", title: "Free" },
  { tier: "api-key", title: "API key" },
];
const NODE_KINDS: NodeKind[] = ["openai-compatible", "openai-responses", "anthropic-compatible", "gemini-compatible"];


export function ProvidersPage() {
  const providers = useProviders();
  const connections = useConnections();
  const now = useNow();
  const accountsOf = (id: string) =>
    (connections.data ?? []).filter((c) => c.provider === id).sort((a, b) => a.priority - b.priority);
  const registry = providers.data?.providers ?? [];
  const nodes = providers.data?.nodes ?? [];
  return (
    <>
      <h1>Providers</h1>
      <ErrorNote error={providers.error ?? connections.error} />
      {TIERS.map(({ tier, title }) => {
        const rows = registry.filter((p) => p.tier === tier);
        if (rows.length === 0) return null;
        return (
          <section key={tier} className="card">
            <h2>{title}</h2>
            {rows.map((p) => (
              <ProviderRow key={p.id} p={p} accounts={accountsOf(p.id)} now={now} />
            ))}
          </section>
        );
      })}
      <section className="card">
        <h2>Custom nodes</h2>
        <p className="muted">Any OpenAI-, Anthropic- or Gemini-compatible endpoint, under a prefix of your choice.</p>
        {nodes.length === 0 && <EmptyState title="No custom nodes">Add one below; then add its accounts.</EmptyState>}
        {nodes.map((n) => (
          <NodeRow key={n.id} n={n} accounts={accountsOf(n.id)} now={now} />
        ))}
        <NewNode />
      </section>
    </>
  );
}

function ProviderRow({ p, accounts, now }: { p: ProviderDef; accounts: Account[]; now: number }) {
  const canAdd = p.auth === "api-key" && p.routable;
  return (
    <div className="provider" data-testid={`provider-${p.id}`}>
      <div className="row">
        <strong>{p.name}</strong>
        <span className="muted">
          {p.aliases.map((a) => `${a}/…`).join(" ")}
        </span>
        <FreeOfferBadge offer={p.freeOffer} />
      </div>
      <Health provider={p.id} now={now} />
      <Accounts accounts={accounts} now={now} login={p.canLogIn ? p : undefined} />
      {canAdd && <AddAccount provider={p.id} defaultBaseUrl={p.baseUrl} label={p.name} />}
      {p.canLogIn && <ProviderLogin provider={p.id} label={p.name} methods={p.loginMethods} />}
      {p.importsFrom && <ImportLogin provider={p.id} cli={p.importsFrom} />}
      {!canAdd && !p.canLogIn && !p.importsFrom && (
        <p className="muted">Signing in to {p.name} is not supported yet; it cannot be added.</p>
      )}
    </div>
  );
}

/** A provider whose endpoint stopped answering: its circuit, and why. */
function Health({ provider, now }: { provider: string; now: number }) {
  const status = useStatus();
  const circuit = status.data?.circuits.find((c) => c.provider === provider && c.state !== "closed");
  if (!circuit) return null;
  const when =
    circuit.state === "half-open" || circuit.openUntilMs === null || circuit.openUntilMs <= now
      ? "probing it now"
      : `next try in ${countdown(circuit.openUntilMs, now)}`;
  return (
    <p className="error" role="status" data-testid={`health-${provider}`}>
      <span className="badge needs-login">down</span> {circuit.failures} failures in a row; {when}.
      {circuit.lastError && <> Last error: {circuit.lastError}</>}
    </p>
  );
}

function FreeOfferBadge({ offer }: { offer: ProviderDef["freeOffer"] }) {
  if (offer.state === "available") return <span className="badge active">free offer</span>;
  if (offer.state === "ended") return <span className="badge disabled">free offer ended {offer.since}</span>;
  return null;
}

function NodeRow({ n, accounts, now }: { n: NodeRecord; accounts: Account[]; now: number }) {
  return (
    <div className="provider" data-testid={`node-${n.prefix}`}>
      <div className="row">
        <strong>{n.name}</strong>
        <span className="muted">
          {n.prefix}/… · {n.kind} · {n.baseUrl}
          {n.source === "file" ? " · from the config file" : ""}
        </span>
      </div>
      <Health provider={n.id} now={now} />
      <Accounts accounts={accounts} now={now} />
      {n.source !== "file" && <AddAccount provider={n.id} defaultBaseUrl={n.baseUrl} label={n.name} />}
    </div>
  );
}

function stateText(c: Account, now: number): { text: string; error: string | null } {
  if (c.state === "disabled") return { text: "disabled", error: null };
  if (c.state === "secret-unavailable") {
    return { text: "secret unavailable", error: "its key cannot be read now (is the keychain locked?); it is not used meanwhile" };
  }
  if (c.state === "needs-login") {
    return { text: "needs login", error: c.cooldowns[0]?.reason ?? null };
  }
  const cooling = c.cooldowns.filter((cd) => cd.untilMs > now);
  if (cooling.length === 0) return { text: "active", error: null };
  const last = cooling.reduce((a, b) => (a.untilMs > b.untilMs ? a : b));
  return { text: `cooling down · ${countdown(last.untilMs, now)}`, error: last.reason };
}

/** `login`: the provider whose accounts are renewed by logging in again. */
function Accounts({ accounts, now, login }: { accounts: Account[]; now: number; login?: ProviderDef | undefined }) {
  const m = useConnectionMutations();
  if (accounts.length === 0) return null;
  const swap = (a: Account, b: Account | undefined) => {
    if (!b) return;
    // Equal priorities would not order anything: give them distinct ones.
    const [pa, pb] = a.priority === b.priority ? [b.priority + 1, a.priority] : [b.priority, a.priority];
    m.update.mutate({ id: a.id, patch: { priority: pa } });
    m.update.mutate({ id: b.id, patch: { priority: pb } });
  };
  return (
    <ul className="accounts">
      {accounts.map((c, i) => {
        const s = stateText(c, now);
        return (
          <li key={c.id} data-testid={`account-${c.name}`}>
            <div className="row">
              <span className={`badge ${c.state}`}>{s.text}</span>
              <strong>{c.name}</strong>
              {c.plan && <span className="badge">{c.plan} plan</span>}
              <span className="muted">priority {c.priority}</span>
              {!c.readOnly && (
                <span className="row">
                  <button type="button" className="secondary" aria-label={`Move ${c.name} up`} disabled={i === 0} onClick={() => swap(c, accounts[i - 1])}>
                    ↑
                  </button>
                  <button
                    type="button"
                    className="secondary"
                    aria-label={`Move ${c.name} down`}
                    disabled={i === accounts.length - 1}
                    onClick={() => swap(c, accounts[i + 1])}
                  >
                    ↓
                  </button>
                  <button type="button" className="secondary" onClick={() => m.update.mutate({ id: c.id, patch: { enabled: !c.enabled } })}>
                    {c.enabled ? "Disable" : "Enable"}
                  </button>
                </span>
              )}
              <TestButton id={c.id} />
              {c.cooldowns.length > 0 && (
                <button type="button" className="secondary" onClick={() => m.reset.mutate(c.id)}>
                  Clear cooldown
                </button>
              )}
              {!c.readOnly && (
                <ConfirmButton label="Delete" question={`Delete the account “${c.name}”? Its key is removed from the keychain.`} onConfirm={() => m.remove.mutate(c.id)} />
              )}
            </div>
            {s.error && <p className="error">Last error: {s.error}</p>}
            <AccountProxy account={c} />
            {login && <ProviderLogin provider={login.id} label={login.name} accountId={c.id} methods={login.loginMethods} />}
          </li>
        );
      })}
      <ErrorNote error={m.update.error ?? m.remove.error ?? m.reset.error} />
    </ul>
  );
}

/** The proxy an account's calls go through: shown with its password masked; set or cleared. */
function AccountProxy({ account }: { account: Account }) {
  const { update } = useConnectionMutations();
  const [editing, setEditing] = useState(false);
  const [url, setUrl] = useState("");
  if (editing) {
    return (
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          update.mutate({ id: account.id, patch: { proxy: url.trim() || null } }, { onSuccess: () => setEditing(false) });
        }}
      >
        <input aria-label={`Proxy for ${account.name}`} placeholder="http://user:password@host:3128 or socks5://host:1080 (empty: none)" value={url} onChange={(e) => setUrl(e.target.value)} />
        <button type="submit">Save proxy</button>
        <button type="button" className="secondary" onClick={() => setEditing(false)}>
          Cancel
        </button>
        <ErrorNote error={update.error} />
      </form>
    );
  }
  return (
    <p className="muted row">
      {account.proxy ? <>via proxy <code>{account.proxy}</code></> : "direct (or the system proxy)"}
      {!account.readOnly && (
        <button
          type="button"
          className="secondary"
          onClick={() => {
            setUrl("");
            setEditing(true);
          }}
        >
          {account.proxy ? "Change proxy" : "Use a proxy"}
        </button>
      )}
    </p>
  );
}

function TestButton({ id }: { id: string }) {
  const { test } = useConnectionMutations();
  const r = test.data;
  return (
    <>
      <button type="button" className="secondary" disabled={test.isPending} onClick={() => test.mutate(id)}>
        {test.isPending ? "Testing…" : "Test"}
      </button>
      {r && (
        <span role="status" className={r.ok ? "ok" : "error"}>
          {r.message} ({r.latencyMs} ms)
          {r.models.length > 0 && (
            <details>
              <summary>Models</summary>
              <ul className="models">
                {r.models.map((model) => (
                  <li key={model}>
                    <code>{model}</code>
                  </li>
                ))}
              </ul>
            </details>
          )}
        </span>
      )}
      <ErrorNote error={test.error} />
    </>
  );
}

function AddAccount({ provider, defaultBaseUrl, label }: { provider: string; defaultBaseUrl: string; label: string }) {
  const { create } = useConnectionMutations();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  const [apiKey, setApiKey] = useState("");
  const [baseUrl, setBaseUrl] = useState("");
  const [proxy, setProxy] = useState("");
  if (!open) {
    return (
      <button type="button" className="secondary" onClick={() => setOpen(true)}>
        Add account to {label}
      </button>
    );
  }
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      {
        provider,
        name: name.trim(),
        apiKey: apiKey.trim(),
        ...(baseUrl.trim() ? { baseUrl: baseUrl.trim() } : {}),
        ...(proxy.trim() ? { proxy: proxy.trim() } : {}),
      },
      { onSuccess: () => setOpen(false) },
    );
  };
  return (
    <form className="row" onSubmit={submit} aria-label={`New ${label} account`}>
      <input aria-label="Account name" placeholder="account name" value={name} onChange={(e) => setName(e.target.value)} required />
      <input aria-label="API key" type="password" autoComplete="off" placeholder="API key" value={apiKey} onChange={(e) => setApiKey(e.target.value)} required />
      <input aria-label="Base URL (optional)" placeholder={defaultBaseUrl} value={baseUrl} onChange={(e) => setBaseUrl(e.target.value)} />
      <input aria-label="Proxy (optional)" placeholder="socks5://host:1080" value={proxy} onChange={(e) => setProxy(e.target.value)} />
      <button type="submit" disabled={create.isPending}>
        {create.isPending ? "Adding…" : "Add"}
      </button>
      <button type="button" className="secondary" onClick={() => setOpen(false)}>
        Cancel
      </button>
      <ErrorNote error={create.error} />
    </form>
  );
}

function NewNode() {
  const { createNode } = useConnectionMutations();
  const [form, setForm] = useState<{ name: string; prefix: string; kind: NodeKind; baseUrl: string }>({ name: "", prefix: "", kind: "openai-compatible", baseUrl: "" });
  const set = (k: keyof typeof form, v: string) => setForm((f) => ({ ...f, [k]: v }));
  return (
    <form
      className="row"
      aria-label="New custom node"
      onSubmit={(e) => {
        e.preventDefault();
        createNode.mutate(form, { onSuccess: () => setForm((f) => ({ ...f, name: "", prefix: "", baseUrl: "" })) });
      }}
    >
      <input aria-label="Node name" placeholder="name" value={form.name} onChange={(e) => set("name", e.target.value)} required />
      <input aria-label="Prefix" placeholder="prefix" value={form.prefix} onChange={(e) => set("prefix", e.target.value)} required />
      <select aria-label="Format" value={form.kind} onChange={(e) => set("kind", e.target.value as NodeKind)}>
        {NODE_KINDS.map((k) => (
          <option key={k}>{k}</option>
        ))}
      </select>
      <input aria-label="Node base URL" placeholder="https://host/v1" value={form.baseUrl} onChange={(e) => set("baseUrl", e.target.value)} required />
      <button type="submit" disabled={createNode.isPending}>
        Add node
      </button>
      <ErrorNote error={createNode.error} />
    </form>
  );
}
