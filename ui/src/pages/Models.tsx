import { useState } from "react";
import { useModelCatalog, useModelTest } from "../api/hooks";
import type { ModelView } from "../api/types";
import { EmptyState } from "../components/EmptyState";
import { ErrorNote } from "../components/ErrorNote";
import { useNow } from "../useNow";
import { matching, priceText, windowText } from "./models";

export function ModelsPage() {
  const catalog = useModelCatalog();
  const test = useModelTest();
  const now = useNow();
  const [filter, setFilter] = useState("");
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const shown = matching(catalog.data ?? [], filter);
  const toggle = (model: string) =>
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(model)) next.delete(model);
      else next.add(model);
      return next;
    });
  const testing = test.isPending ? new Set(test.variables) : new Set<string>();
  return (
    <>
      <h1>Models</h1>
      <p className="muted">Every model the router can serve now, with its context window, its price per million tokens and how its last test went.</p>
      <ErrorNote error={catalog.error ?? test.error} />
      {catalog.isSuccess && shown.length === 0 && !filter && (
        <EmptyState title="No models yet">Add a provider account; its models show here.</EmptyState>
      )}
      <div className="row">
        <input aria-label="Filter models" placeholder="filter: model or provider" value={filter} onChange={(e) => setFilter(e.target.value)} />
        <button type="button" disabled={selected.size === 0 || test.isPending} onClick={() => test.mutate([...selected])}>
          {test.isPending ? "Testing…" : `Test selected (${selected.size})`}
        </button>
        <button type="button" className="secondary" disabled={shown.length === 0} onClick={() => setSelected(new Set(shown.map((m) => m.model)))}>
          Select all shown
        </button>
      </div>
      <table data-testid="models">
        <thead>
          <tr>
            <th aria-label="Selected" />
            <th>Model</th>
            <th>Provider</th>
            <th>Context</th>
            <th title="USD per million tokens, input / output">Price in / out</th>
            <th>Last test</th>
            <th aria-label="Actions" />
          </tr>
        </thead>
        <tbody>
          {shown.map((m) => (
            <ModelRow
              key={m.model}
              m={m}
              now={now}
              selected={selected.has(m.model)}
              onToggle={() => toggle(m.model)}
              testing={testing.has(m.model)}
              onTest={() => test.mutate([m.model])}
            />
          ))}
        </tbody>
      </table>
    </>
  );
}

function ModelRow(props: {
  m: ModelView;
  now: number;
  selected: boolean;
  onToggle: () => void;
  testing: boolean;
  onTest: () => void;
}) {
  const { m, now } = props;
  const h = m.health;
  return (
    <tr data-testid={`model-${m.model}`}>
      <td>
        <input type="checkbox" aria-label={`Select ${m.model}`} checked={props.selected} onChange={props.onToggle} />
      </td>
      <td>
        <code>{m.model}</code>
      </td>
      <td>{m.providerName}</td>
      <td>{windowText(m.contextWindow)}</td>
      <td>{priceText(m.price)}</td>
      <td data-testid="health" title={h?.message}>
        {props.testing
          ? "testing…"
          : h === null
            ? "not tested"
            : `${h.ok ? "ok" : `failed (${h.status})`} · ${h.latencyMs} ms · ${Math.max(0, Math.round((now - h.atMs) / 1000))} s ago`}
        {h && !h.ok && !props.testing && <div className="error">{h.message}</div>}
      </td>
      <td>
        <button type="button" className="secondary" disabled={props.testing} onClick={props.onTest}>
          Test
        </button>
      </td>
    </tr>
  );
}
