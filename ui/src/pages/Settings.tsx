import { useEffect, useState, type FormEvent } from "react";
import { useMoveSecrets, useSettings, useSettingsPatch, useStatus } from "../api/hooks";
import type { ObservabilitySettings, RoutingSettings, Status } from "../api/types";
import { ConfirmButton } from "../components/ConfirmButton";
import { ErrorNote } from "../components/ErrorNote";
import { applyTheme, savedTheme, type Theme } from "../theme";
import { AuditLog, DashboardAccess } from "./Access";
import { StartAtLogin } from "./Desktop";
import { ExportSetup, ImportPeer, ImportSetupFile, SyncFolder } from "./MoveIn";

interface Form {
  accountStrategy: RoutingSettings["accountStrategy"];
  stickyLimit: string;
  recordUsage: boolean;
  inspector: boolean;
  inspectorMaxRequests: string;
  inspectorMaxMiB: string;
  inspectorMaxFieldKiB: string;
  inspectorRequestsPerSecond: string;
  inspectorBodiesPerSecond: string;
  quotaRefreshSecs: string;
}

const toForm = (r: RoutingSettings, o: ObservabilitySettings): Form => ({
  accountStrategy: r.accountStrategy,
  stickyLimit: String(r.stickyLimit),
  recordUsage: o.recordUsage,
  inspector: o.inspector,
  inspectorMaxRequests: String(o.inspectorMaxRequests),
  inspectorMaxMiB: String(Math.round(o.inspectorMaxBytes / 1048576)),
  inspectorMaxFieldKiB: String(Math.round(o.inspectorMaxFieldBytes / 1024)),
  inspectorRequestsPerSecond: String(o.inspectorRequestsPerSecond),
  inspectorBodiesPerSecond: String(o.inspectorBodiesPerSecond),
  quotaRefreshSecs: String(o.quotaRefreshSecs),
});

/** The patch for the API, or the field that is not a whole number of at least 1. */
export function toPatch(f: Form): { patch: Record<string, unknown> } | { field: string } {
  const numbers = {
    stickyLimit: f.stickyLimit,
    inspectorMaxRequests: f.inspectorMaxRequests,
    inspectorMaxMiB: f.inspectorMaxMiB,
    inspectorMaxFieldKiB: f.inspectorMaxFieldKiB,
    inspectorRequestsPerSecond: f.inspectorRequestsPerSecond,
    inspectorBodiesPerSecond: f.inspectorBodiesPerSecond,
    quotaRefreshSecs: f.quotaRefreshSecs,
  };
  const n: Record<string, number> = {};
  for (const [field, text] of Object.entries(numbers)) {
    const v = Number(text);
    if (!Number.isInteger(v) || v < 1) return { field };
    n[field] = v;
  }
  return {
    patch: {
      routing: { accountStrategy: f.accountStrategy, stickyLimit: n.stickyLimit },
      observability: {
        recordUsage: f.recordUsage,
        inspector: f.inspector,
        inspectorMaxRequests: n.inspectorMaxRequests,
        inspectorMaxBytes: (n.inspectorMaxMiB ?? 0) * 1048576,
        inspectorMaxFieldBytes: (n.inspectorMaxFieldKiB ?? 0) * 1024,
        inspectorRequestsPerSecond: n.inspectorRequestsPerSecond,
        inspectorBodiesPerSecond: n.inspectorBodiesPerSecond,
        quotaRefreshSecs: n.quotaRefreshSecs,
      },
    },
  };
}

/** Where secrets are, and the one way they change store: a move of every one of them. */
function SecretStore({ status }: { status: Status }) {
  const move = useMoveSecrets();
  const { kind, description, waiting } = status.secretBackend;
  const other = kind === "keychain" ? "file" : kind === "file" ? "keychain" : null;
  return (
    <>
      <p data-testid="secret-store">
        Secrets: {description}
        {waiting && " — NineRouter waits for it to answer; accounts whose keys it holds are not used meanwhile."}
      </p>
      {other && !waiting && (
        <div className="row">
          <ConfirmButton
            label={other === "file" ? "Move secrets to the owner-only file" : "Move secrets to the keychain"}
            question={`Move every key and login to the ${other}? They are removed from the ${kind} once copied.`}
            onConfirm={() => move.mutate(other)}
          />
          {move.isSuccess && <span role="status">Moved {move.data.moved} secrets.</span>}
        </div>
      )}
      <ErrorNote error={move.error} />
    </>
  );
}

export function SettingsPage() {
  const settings = useSettings();
  const status = useStatus();
  const save = useSettingsPatch();
  const [form, setForm] = useState<Form | null>(null);
  const [invalid, setInvalid] = useState<string | null>(null);
  const [theme, setTheme] = useState<Theme>(savedTheme);
  useEffect(() => {
    if (settings.data && form === null) setForm(toForm(settings.data.routing, settings.data.observability));
  }, [settings.data, form]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (!form) return;
    const result = toPatch(form);
    if ("field" in result) {
      setInvalid(result.field);
      return;
    }
    setInvalid(null);
    save.mutate(result.patch);
  };
  const set = <K extends keyof Form>(k: K, v: Form[K]) => setForm((f) => (f ? { ...f, [k]: v } : f));
  const number = (k: keyof Form, label: string, unit?: string) => (
    <label className="field">
      {label}
      <input
        inputMode="numeric"
        value={String(form?.[k] ?? "")}
        onChange={(e) => set(k, e.target.value as never)}
        aria-invalid={invalid === k}
      />
      {unit && <span className="muted">{unit}</span>}
      {invalid === k && <span className="error">a whole number, 1 or more</span>}
    </label>
  );
  return (
    <>
      <h1>Settings</h1>
      <ErrorNote error={settings.error} />
      {form && (
        <form onSubmit={submit}>
          <section className="card">
            <h2>Routing</h2>
            <label className="field">
              Accounts of one provider
              <select value={form.accountStrategy} onChange={(e) => set("accountStrategy", e.target.value as Form["accountStrategy"])}>
                <option value="fill-first">fill first (highest priority until it fails)</option>
                <option value="sticky-round-robin">sticky round-robin</option>
              </select>
            </label>
            {number("stickyLimit", "Requests per account before moving on (sticky)")}
          </section>
          <section className="card">
            <h2>Recording</h2>
            <label className="field">
              <input type="checkbox" checked={form.recordUsage} onChange={(e) => set("recordUsage", e.target.checked)} />
              Record usage (tokens, cost, latency)
            </label>
            <label className="field">
              <input type="checkbox" checked={form.inspector} onChange={(e) => set("inspector", e.target.checked)} />
              Keep each request's four layers for the inspector
            </label>
            {number("inspectorMaxRequests", "Requests the inspector keeps")}
            {number("inspectorMaxMiB", "Inspector size limit", "MiB")}
            {number("inspectorMaxFieldKiB", "Each body cut at", "KiB")}
            {number("inspectorRequestsPerSecond", "Lists at most", "requests a second (usage counts the others)")}
            {number("inspectorBodiesPerSecond", "Bodies kept for at most", "requests a second (the others keep headers and outcome)")}
            {number("quotaRefreshSecs", "Fetch quota every", "seconds")}
          </section>
          <div className="row">
            <button type="submit" disabled={save.isPending}>
              {save.isPending ? "Saving…" : "Save"}
            </button>
            {save.isSuccess && <span role="status">Saved.</span>}
          </div>
          <ErrorNote error={save.error} />
        </form>
      )}
      <DashboardAccess />
      <StartAtLogin />
      <section className="card">
        <h2>Appearance</h2>
        <label className="field">
          Theme
          <select
            aria-label="Theme"
            value={theme}
            onChange={(e) => {
              const t = e.target.value as Theme;
              setTheme(t);
              applyTheme(t);
            }}
          >
            <option value="system">system</option>
            <option value="light">light</option>
            <option value="dark">dark</option>
          </select>
        </label>
      </section>
      {status.data && (
        <section className="card">
          <h2>Storage</h2>
          <p>
            Data directory: <code data-testid="data-dir">{status.data.dataDir ?? "–"}</code>
          </p>
          {status.data.store.kind === "postgres" && (
            <p data-testid="shared-store">
              Settings, accounts, keys and usage are in a PostgreSQL database shared with the other router hosts;
              secrets there are sealed with the master key.
            </p>
          )}
          <SecretStore status={status.data} />
          {status.data.configFile && (
            <p>
              Config file: <code>{status.data.configFile}</code> (its entries are read-only here)
            </p>
          )}
        </section>
      )}
      <ImportPeer />
      <ExportSetup />
      <ImportSetupFile />
      <SyncFolder />
      <AuditLog />
    </>
  );
}
