import { useCallback, useRef, useState, type ReactNode } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { useRequestDetail, useRequestDetails } from "../api/hooks";
import type { Detail, DetailFilters, DetailSummary, Layer } from "../api/types";
import { CopyButton } from "../components/CopyButton";
import { Drawer } from "../components/Drawer";
import { EmptyState } from "../components/EmptyState";
import { ErrorNote } from "../components/ErrorNote";
import { JsonView } from "../components/JsonView";
import { layerNote } from "./inspectorLayer";

const NO_FILTERS: DetailFilters = { provider: "", model: "", connectionId: "", status: "", q: "", from: "", to: "" };
const PAGE_SIZES = [10, 20, 50, 1000] as const;
/** Beyond this many rows only those in view are in the page (a long list stays smooth). */
const VIRTUAL_FROM = 100;
/** A row's height, as the stylesheet draws it (the list measures the real ones as they show). */
const ROW_HEIGHT = 33;

export function InspectorPage() {
  const [filters, setFilters] = useState<DetailFilters>(NO_FILTERS);
  const [page, setPage] = useState(1);
  const [pageSize, setPageSize] = useState<number>(20);
  const [open, setOpen] = useState<string | null>(null);
  const list = useRequestDetails(filters, page, pageSize);
  const close = useCallback(() => setOpen(null), []);
  const setFilter = (name: keyof DetailFilters, value: string) => {
    setFilters((f) => ({ ...f, [name]: value }));
    setPage(1);
  };
  const data = list.data;
  const filtered = Object.values(filters).some(Boolean);
  return (
    <>
      <h1>Request inspector</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filters">
        <input aria-label="Search" placeholder="Search id, model, prompt…" value={filters.q} onChange={(e) => setFilter("q", e.target.value)} />
        <input aria-label="Provider" placeholder="provider" value={filters.provider} onChange={(e) => setFilter("provider", e.target.value)} />
        <input aria-label="Model" placeholder="model" value={filters.model} onChange={(e) => setFilter("model", e.target.value)} />
        <input aria-label="Account" placeholder="account id" value={filters.connectionId} onChange={(e) => setFilter("connectionId", e.target.value)} />
        <select aria-label="Status" value={filters.status} onChange={(e) => setFilter("status", e.target.value)}>
          <option value="">any status</option>
          <option value="ok">ok</option>
          <option value="error">errors</option>
          <option value="pending">in progress</option>
        </select>
        <label>
          from <input type="datetime-local" value={filters.from} onChange={(e) => setFilter("from", e.target.value)} />
        </label>
        <label>
          to <input type="datetime-local" value={filters.to} onChange={(e) => setFilter("to", e.target.value)} />
        </label>
        {filtered && (
          <button type="button" className="secondary" onClick={() => setFilters(NO_FILTERS)}>
            Clear
          </button>
        )}
      </form>
      <ErrorNote error={list.error} />
      {data && data.details.length === 0 ? (
        <EmptyState title={filtered ? "No request matches these filters" : "No requests yet"}>
          {filtered ? "Clear a filter to see more." : "Send a request through the router (see the Endpoint page); it appears here as it arrives."}
        </EmptyState>
      ) : (
        <RequestTable details={data?.details ?? []} onOpen={setOpen} />
      )}
      {data && data.pagination.totalItems > 0 && (
        <nav className="pager" aria-label="Pages">
          <button type="button" className="secondary" disabled={page <= 1} onClick={() => setPage((p) => p - 1)}>
            Previous
          </button>
          <span data-testid="page-info">
            Page {data.pagination.page} of {Math.max(1, data.pagination.totalPages)} · {data.pagination.totalItems} requests
          </span>
          <button
            type="button"
            className="secondary"
            disabled={page >= data.pagination.totalPages}
            onClick={() => setPage((p) => p + 1)}
          >
            Next
          </button>
          <label>
            per page{" "}
            <select
              value={pageSize}
              onChange={(e) => {
                setPageSize(Number(e.target.value));
                setPage(1);
              }}
            >
              {PAGE_SIZES.map((n) => (
                <option key={n}>{n}</option>
              ))}
            </select>
          </label>
          {data.dropped > 0 && <span className="muted">{data.dropped} dropped under load</span>}
        </nav>
      )}
      {data && data.unlisted > 0 && (
        <p className="muted" data-testid="unlisted">
          {data.unlisted} requests since this router started were not listed: more came in their second than the inspector
          lists (Settings). Usage counts them.
        </p>
      )}
      {open && <DetailDrawer id={open} onClose={close} />}
    </>
  );
}

const HEAD = (
  <thead>
    <tr>
      <th>Time</th>
      <th>Model</th>
      <th>Provider</th>
      <th>Account</th>
      <th>In / out</th>
      <th>TTFT / total</th>
      <th>Status</th>
    </tr>
  </thead>
);

/** The requests of a page: every row for a short page; for a long one, the rows in view. */
function RequestTable({ details, onOpen }: { details: DetailSummary[]; onOpen: (id: string) => void }) {
  if (details.length <= VIRTUAL_FROM) {
    return (
      <table className="requests">
        {HEAD}
        <tbody>
          {details.map((d) => (
            <Row key={d.id} d={d} onOpen={() => onOpen(d.id)} />
          ))}
        </tbody>
      </table>
    );
  }
  return <VirtualTable details={details} onOpen={onOpen} />;
}

function VirtualTable({ details, onOpen }: { details: DetailSummary[]; onOpen: (id: string) => void }) {
  const scroller = useRef<HTMLDivElement>(null);
  const rows = useVirtualizer({
    count: details.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });
  const shown = rows.getVirtualItems();
  const before = shown[0]?.start ?? 0;
  const after = rows.getTotalSize() - (shown[shown.length - 1]?.end ?? 0);
  return (
    <div ref={scroller} className="request-scroller" data-testid="request-scroller">
      <table className="requests">
        {HEAD}
        <tbody>
          {before > 0 && <tr aria-hidden="true" style={{ height: before }} />}
          {shown.map((v) => {
            const d = details[v.index];
            return d ? <Row key={d.id} d={d} onOpen={() => onOpen(d.id)} /> : null;
          })}
          {after > 0 && <tr aria-hidden="true" style={{ height: after }} />}
        </tbody>
      </table>
    </div>
  );
}

const ms = (v: number | null) => (v === null ? "–" : `${v} ms`);

function statusText(d: DetailSummary): string {
  if (d.pending) return "streaming…";
  if (d.status === 0) return "interrupted";
  return String(d.status);
}

function Row({ d, onOpen }: { d: DetailSummary; onOpen: () => void }) {
  const failed = (d.status ?? 0) >= 400;
  return (
    <tr
      tabIndex={0}
      className={failed ? "failed" : undefined}
      onClick={onOpen}
      onKeyDown={(e) => {
        if (e.key === "Enter" || e.key === " ") {
          e.preventDefault();
          onOpen();
        }
      }}
      data-testid="request-row"
    >
      <td>{new Date(d.timestamp).toLocaleTimeString()}</td>
      <td>{d.requestedModel}</td>
      <td title={d.provider ?? undefined}>{d.providerName ?? d.provider ?? "–"}</td>
      <td title={d.connectionId ?? undefined}>{d.accountName ?? d.connectionId ?? "–"}</td>
      <td>
        {d.tokens.input ?? "–"} / {d.tokens.output ?? "–"}
      </td>
      <td>
        {ms(d.ttftMs)} / {ms(d.latencyMs)}
      </td>
      <td>{statusText(d)}</td>
    </tr>
  );
}

function exportUrl(id: string) {
  return `/api/usage/request-details/export?ids=${encodeURIComponent(id)}`;
}

function DetailDrawer({ id, onClose }: { id: string; onClose: () => void }) {
  const detail = useRequestDetail(id);
  const d = detail.data;
  return (
    <Drawer title={`Request ${id}`} onClose={onClose}>
      <ErrorNote error={detail.error} />
      {!d ? (
        <p className="muted">Loading…</p>
      ) : (
        <>
          <p>
            <strong>{d.requestedModel}</strong> → {d.providerName ?? d.provider ?? "no provider"}/{d.model ?? "–"}
            {d.accountName && ` via ${d.accountName}`} · {statusText(d)} ·{" "}
            {ms(d.ttftMs)} to first token, {ms(d.latencyMs)} total
          </p>
          {d.attempts.length > 0 && (
            <p className="muted">
              Fell back after: {d.attempts.map((a) => `${a.target} (${a.class}${a.status ? ` ${a.status}` : ""})`).join(", ")}
            </p>
          )}
          <div className="row">
            <CopyButton text={JSON.stringify(d, null, 2)} label="Copy JSON" />
            <a className="button secondary" href={exportUrl(d.id)} download>
              Export
            </a>
          </div>
          <Answer d={d} />
          {d.config && (
            <Section title="Request settings" open>
              <JsonView value={d.config} />
            </Section>
          )}
          <LayerSection title="1 · Client request" layer={d.clientRequest} />
          <LayerSection title="2 · Provider request" layer={d.providerRequest} />
          <LayerSection title="3 · Provider response" layer={d.providerResponse} />
          <LayerSection title="4 · Client response" layer={d.clientResponse} />
        </>
      )}
    </Drawer>
  );
}

function Answer({ d }: { d: Detail }) {
  const a = d.answer;
  if (!a) return null;
  return (
    <>
      {a.thinking && (
        <Section title="Thinking">
          <pre className="text" data-testid="thinking">{a.thinking}</pre>
        </Section>
      )}
      <Section title="Answer" open>
        <pre className="text" data-testid="answer">{a.content || "(no text)"}</pre>
        {a.toolCalls.length > 0 && <JsonView value={a.toolCalls} />}
      </Section>
    </>
  );
}

function Section({ title, open = false, children }: { title: string; open?: boolean; children: ReactNode }) {
  return (
    <details className="section" open={open}>
      <summary>{title}</summary>
      {children}
    </details>
  );
}

function LayerSection({ title, layer }: { title: string; layer: Layer | null }) {
  if (!layer) return null;
  const { headers, body, events, ...meta } = layer;
  return (
    <Section title={title}>
      <p className="muted">{layerNote(meta)}</p>
      <JsonView value={headers} />
      <JsonView value={events ?? body ?? null} />
    </Section>
  );
}
