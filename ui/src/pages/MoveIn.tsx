import { useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, readError, send, withToken } from "../api/client";
import type { ImportItem, ImportReport, Peer, SyncStatus } from "../api/generated";
import { ErrorNote } from "../components/ErrorNote";
import { counts, itemText } from "./tools";

/** An import's items and what happens to each, then the counts. */
function Report({ report }: { report: ImportReport }) {
  const c = counts(report.items);
  return (
    <div data-testid="import-report">
      <p>
        {report.applied ? "Imported" : "Found"} from {report.source}
        {report.path ? ` at ${report.path}` : ""}: {c.create} {report.applied ? "created" : "to create"}, {c.present}{" "}
        already here, {c.conflict} conflicts, {c.skip} skipped.
      </p>
      <table>
        <tbody>
          {report.items.map((i, n) => (
            <tr key={n} className={i.action}>
              <td>{i.kind}</td>
              <td>{i.name}</td>
              <td>{itemText(i, report.applied)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Everything a setup change touches is shown again afterwards. */
function useRefreshAll() {
  const client = useQueryClient();
  return () => client.invalidateQueries();
}

/**
 * A preview, then the import: `call` sends one of the two steps and answers the report; what
 * it finds is shown, and an applied import refreshes every view.
 */
function usePreviewThenImport(call: (apply: boolean) => Promise<ImportReport>) {
  const refresh = useRefreshAll();
  const [report, setReport] = useState<ImportReport | null>(null);
  const [error, setError] = useState<unknown>(null);
  const run = async (apply: boolean) => {
    setError(null);
    try {
      setReport(await call(apply));
      if (apply) await refresh();
    } catch (e) {
      setError(e);
    }
  };
  return { report, setReport, error, run };
}

/** The preview button, and the import button once a preview has something to bring in. */
function PreviewImportButtons({ report, run }: { report: ImportReport | null; run: (apply: boolean) => Promise<void> }) {
  return (
    <>
      <button type="button" onClick={() => void run(false)}>
        Preview
      </button>
      {report && !report.applied && counts(report.items).create > 0 && (
        <button type="button" onClick={() => void run(true)}>
          Import
        </button>
      )}
    </>
  );
}

/** 9Router's or CLIProxyAPI's setup: a preview, then the import. */
export function ImportPeer() {
  const [source, setSource] = useState<Peer>("9router");
  const [path, setPath] = useState("");
  const body = () => ({ source, ...(path.trim() ? { path: path.trim() } : {}) });
  const { report, setReport, error, run } = usePreviewThenImport((apply) =>
    send<ImportReport>("POST", `/import/${apply ? "apply" : "preview"}`, body()),
  );
  return (
    <div className="card" data-testid="import-peer">
      <h2>Import from another router</h2>
      <div className="row">
        <select aria-label="Router" value={source} onChange={(e) => { setSource(e.target.value as Peer); setReport(null); }}>
          <option value="9router">9Router</option>
          <option value="cliproxyapi">CLIProxyAPI</option>
        </select>
        <input
          aria-label="Where"
          placeholder={source === "9router" ? "~/.9router (its data dir)" : "~/.cli-proxy-api/config.yaml"}
          value={path}
          onChange={(e) => setPath(e.target.value)}
        />
        <PreviewImportButtons report={report} run={run} />
      </div>
      <ErrorNote error={error} />
      {report && <Report report={report} />}
    </div>
  );
}

/** The whole setup in a passphrase-encrypted file, downloaded by the browser. */
export function ExportSetup() {
  const [passphrase, setPassphrase] = useState("");
  const [again, setAgain] = useState("");
  const [usage, setUsage] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [done, setDone] = useState<string | null>(null);
  const save = async () => {
    setError(null);
    setDone(null);
    if (passphrase !== again) return setError(new Error("the two passphrases differ"));
    try {
      const headers = withToken(new Headers({ "content-type": "application/json" }));
      const response = await fetch("/api/setup/export", {
        method: "POST",
        headers,
        body: JSON.stringify({ passphrase, includeUsage: usage }),
      });
      if (!response.ok) throw await readError(response);
      const name = /filename="([^"]+)"/.exec(response.headers.get("content-disposition") ?? "")?.[1] ?? "ninerouter-setup.age";
      const url = URL.createObjectURL(await response.blob());
      const a = document.createElement("a");
      a.href = url;
      a.download = name;
      a.click();
      // Some browsers read the blob after click() returns.
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      setDone(name);
    } catch (e) {
      setError(e);
    }
  };
  return (
    <div className="card" data-testid="export-setup">
      <h2>Export the setup</h2>
      <p className="muted">Accounts with their keys and logins, nodes, combos, aliases, proxy keys and prices, encrypted with a passphrase (age). Keep the passphrase: it cannot be recovered.</p>
      <div className="row">
        <input type="password" aria-label="Passphrase" placeholder="Passphrase (8+ characters)" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} />
        <input type="password" aria-label="Passphrase again" placeholder="Again" value={again} onChange={(e) => setAgain(e.target.value)} />
        <label>
          <input type="checkbox" checked={usage} onChange={(e) => setUsage(e.target.checked)} /> with usage history
        </label>
        <button type="button" onClick={() => void save()}>
          Export
        </button>
      </div>
      {done && <p role="status">Saved {done}.</p>}
      <ErrorNote error={error} />
    </div>
  );
}

/** The largest setup file the router takes (it travels base64 in a 64 MiB body). */
const MAX_SETUP_FILE = 46 * 1024 * 1024;

const toBase64 = async (file: File): Promise<string> => {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
};

/** A setup file from another machine: its passphrase, a preview, then the import. */
export function ImportSetupFile() {
  const [file, setFile] = useState<File | null>(null);
  const [passphrase, setPassphrase] = useState("");
  const { report, setReport, error, run } = usePreviewThenImport(async (apply) => {
    if (!file) throw new Error("choose a setup file");
    if (file.size > MAX_SETUP_FILE) throw new Error("this file is larger than a setup file can be");
    const body = { passphrase, file: await toBase64(file) };
    return send<ImportReport>("POST", `/setup/${apply ? "import" : "preview"}`, body);
  });
  return (
    <div className="card" data-testid="import-setup">
      <h2>Bring in a setup file</h2>
      <div className="row">
        <input type="file" aria-label="Setup file" accept=".age" onChange={(e) => { setFile(e.target.files?.[0] ?? null); setReport(null); }} />
        <input type="password" aria-label="File passphrase" placeholder="Its passphrase" value={passphrase} onChange={(e) => setPassphrase(e.target.value)} />
        <PreviewImportButtons report={report} run={run} />
      </div>
      <ErrorNote error={error} />
      {report && <Report report={report} />}
    </div>
  );
}

/** A folder a sync service keeps the same on each machine: this machine's copy is kept there,
 * the others' are offered here item by item; a conflict is settled only when ticked. */
export function SyncFolder() {
  const refresh = useRefreshAll();
  const status = useQuery({ queryKey: ["sync"], queryFn: () => api<SyncStatus>("/sync") });
  const [form, setForm] = useState({ folder: "", passphrase: "", name: "" });
  // Conflicts to settle the other machine's way, per machine.
  const [take, setTake] = useState<Record<string, Set<string>>>({});
  const takenFrom = (machine: string) => take[machine] ?? new Set<string>();
  const [merged, setMerged] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const run = async (f: () => Promise<void>) => {
    setError(null);
    try {
      await f();
      await refresh();
    } catch (e) {
      setError(e);
    }
  };
  const data = status.data;
  return (
    <div className="card" data-testid="sync-folder">
      <h2>Sync folder</h2>
      {!data?.folder ? (
        <>
          <p className="muted">Point each machine at the same folder of a sync service (Dropbox, iCloud Drive, Syncthing) with the same passphrase: each keeps its setup there, encrypted, and offers the others&apos; changes to merge.</p>
          <div className="row">
            <input aria-label="Sync folder" placeholder="/home/you/Dropbox/NineRouter" value={form.folder} onChange={(e) => setForm({ ...form, folder: e.target.value })} />
            <input type="password" aria-label="Sync passphrase" placeholder="Passphrase (8+ characters)" value={form.passphrase} onChange={(e) => setForm({ ...form, passphrase: e.target.value })} />
            <input aria-label="This machine's name" placeholder="Name (host name)" value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
            <button type="button" onClick={() => void run(async () => { await send<SyncStatus>("PUT", "/sync", { folder: form.folder, passphrase: form.passphrase, ...(form.name.trim() ? { name: form.name.trim() } : {}) }); })}>
              Start syncing
            </button>
          </div>
        </>
      ) : (
        <>
          <p>
            This machine ({data.name}) keeps its setup in <code>{data.folder}</code>
            {data.writtenMs ? `, last written ${new Date(data.writtenMs).toLocaleString()}` : ""}.{" "}
            <button type="button" className="secondary" onClick={() => void run(async () => { await send("DELETE", "/sync"); })}>
              Stop syncing
            </button>
          </p>
          {data.others.length === 0 && <p className="muted">No other machine has a copy there yet.</p>}
          {data.others.map((o) => (
            <div key={o.machine} data-testid={`sync-${o.name}`}>
              <h3>{o.name || o.machine}</h3>
              {o.error ? (
                <p className="error">{o.error}</p>
              ) : (
                <>
                  <table>
                    <tbody>
                      {o.items
                        .filter((i) => i.action === "create" || i.action === "conflict")
                        .map((i) => (
                          <tr key={i.key} className={i.action}>
                            <td>{i.kind}</td>
                            <td>{i.name}</td>
                            <td>
                              {i.action === "conflict" ? (
                                <label>
                                  <input type="checkbox" checked={takenFrom(o.machine).has(i.key)} onChange={() => setTake({ ...take, [o.machine]: toggled(takenFrom(o.machine), i.key) })} /> take {o.name}&apos;s ({i.reason})
                                </label>
                              ) : (
                                "new"
                              )}
                            </td>
                          </tr>
                        ))}
                    </tbody>
                  </table>
                  <button type="button" onClick={() => void run(async () => { const items = await send<ImportItem[]>("POST", "/sync/merge", { machine: o.machine, take: [...takenFrom(o.machine)] }); setMerged(`Merged ${counts(items).create} item(s) from ${o.name}.`); setTake({ ...take, [o.machine]: new Set() }); })}>
                    Merge from {o.name}
                  </button>
                </>
              )}
            </div>
          ))}
        </>
      )}
      {merged && <p role="status">{merged}</p>}
      <ErrorNote error={error} />
    </div>
  );
}

function toggled(set: Set<string>, key: string): Set<string> {
  const next = new Set(set);
  if (next.has(key)) next.delete(key);
  else next.add(key);
  return next;
}
