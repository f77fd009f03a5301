import { useState } from "react";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { api, send } from "../api/client";
import type { ToolApplied, ToolPreview, ToolRestored, ToolStatus } from "../api/generated";
import { ErrorNote } from "../components/ErrorNote";
import { stateText, toolInput } from "./tools";

const TOOLS_KEY = ["tools"] as const;

/** Each coding tool: where it points, and a way to point it here (after a diff) or back. */
export function ToolsPage() {
  const tools = useQuery({ queryKey: TOOLS_KEY, queryFn: () => api<ToolStatus[]>("/tools") });
  return (
    <section>
      <h1>Tools</h1>
      <p className="muted">
        NineRouter writes each tool&apos;s own config files, keeping your other settings and a backup of what it
        replaces; <em>Restore</em> puts the files back as they were.
      </p>
      <ErrorNote error={tools.error} />
      {tools.data?.map((t) => <ToolCard key={t.id} tool={t} />)}
    </section>
  );
}

function ToolCard({ tool }: { tool: ToolStatus }) {
  const client = useQueryClient();
  const [preview, setPreview] = useState<ToolPreview | null>(null);
  const [fields, setFields] = useState({ url: "", key: "", model: "" });
  const [note, setNote] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const path = `/tools/${encodeURIComponent(tool.id)}`;
  const input = () => toolInput(fields.url, fields.key, fields.model);
  const run = async (f: () => Promise<void>) => {
    setError(null);
    try {
      await f();
    } catch (e) {
      setError(e);
    }
  };
  const look = () =>
    run(async () => {
      setNote(null);
      setPreview(await send<ToolPreview>("POST", `${path}/preview`, input()));
    });
  const apply = () =>
    run(async () => {
      const done = await send<ToolApplied>("POST", `${path}/apply`, input());
      setPreview(null);
      setNote(
        `${done.tool.name} now uses NineRouter.` + (done.createdKey ? ` A key named “${done.createdKey}” was made for it.` : ""),
      );
      await client.invalidateQueries({ queryKey: TOOLS_KEY });
    });
  const restore = () =>
    run(async () => {
      const done = await send<ToolRestored>("POST", `${path}/restore`);
      setNote(
        `Restored ${done.files.length} file(s).` +
          (done.keptAside.length ? ` Your later changes were kept in ${done.keptAside.join(", ")}.` : "") +
          (done.revokedKey ? ` The key “${done.revokedKey}” made for it is revoked.` : ""),
      );
      await client.invalidateQueries({ queryKey: TOOLS_KEY });
    });
  return (
    <div className="card" data-testid={`tool-${tool.id}`}>
      <div className="row">
        <strong>{tool.name}</strong>
        <span className={`badge ${tool.state === "configured" ? "active" : ""}`} data-testid="tool-state">
          {stateText(tool)}
        </span>
        <code className="muted">{tool.dir}</code>
      </div>
      {tool.note && <p className="muted">{tool.note}</p>}
      <div className="row">
        <input aria-label="URL" placeholder="URL (this router)" value={fields.url} onChange={(e) => setFields({ ...fields, url: e.target.value })} />
        <input aria-label="Key" placeholder="Key (a new one)" value={fields.key} onChange={(e) => setFields({ ...fields, key: e.target.value })} />
        <input aria-label="Model" placeholder="Model (the active combo)" value={fields.model} onChange={(e) => setFields({ ...fields, model: e.target.value })} />
        <button type="button" onClick={() => void look()}>
          Preview
        </button>
        {tool.restorable && (
          <button type="button" className="secondary" onClick={() => void restore()}>
            Restore
          </button>
        )}
      </div>
      {preview && (
        <div data-testid="tool-preview">
          <p>
            {preview.tool.name} would use {preview.url}
            {preview.model ? ` and ask for ${preview.model}` : ""}, with{" "}
            {preview.key.kind === "new" ? `a new key named “${preview.key.name}”` : preview.key.kind === "kept" ? "the key it has" : "the key given"}.
          </p>
          {preview.files.map((f) => (
            <div key={f.path}>
              <p>
                <code>{f.path}</code> {f.created ? "(new file)" : f.changed ? "" : "(no change)"}
              </p>
              <pre className="diff">{f.diff}</pre>
            </div>
          ))}
          <button type="button" onClick={() => void apply()}>
            Apply
          </button>{" "}
          <button type="button" className="secondary" onClick={() => setPreview(null)}>
            Cancel
          </button>
        </div>
      )}
      {note && <p role="status">{note}</p>}
      <ErrorNote error={error} />
    </div>
  );
}
