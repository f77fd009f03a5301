import { useState, type FormEvent } from "react";
import {
  useComboMutations,
  useCombos,
  useRequestDetails,
  useRoutableModels,
  useRoutingSwitches,
  useStatus,
} from "../api/hooks";
import type { ComboView } from "../api/types";
import { ConfirmButton } from "../components/ConfirmButton";
import { EmptyState } from "../components/EmptyState";
import { ErrorNote } from "../components/ErrorNote";
import { moved } from "./reorder";

export function CombosPage() {
  const combos = useCombos();
  const models = useRoutableModels();
  const { create } = useComboMutations();
  const [name, setName] = useState("");
  const [first, setFirst] = useState("");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      { name: name.trim(), models: [first.trim()] },
      {
        onSuccess: () => {
          setName("");
          setFirst("");
        },
      },
    );
  };
  const list = combos.data ?? [];
  return (
    <>
      <h1>Combos</h1>
      <datalist id="routable-models">
        {(models.data ?? []).map((m) => (
          <option key={m} value={m} />
        ))}
      </datalist>
      <form className="card row" onSubmit={submit} aria-label="Create a combo">
        <label htmlFor="combo-name">New combo</label>
        <input id="combo-name" placeholder="name, e.g. work" value={name} onChange={(e) => setName(e.target.value)} required />
        <input
          aria-label="First model"
          list="routable-models"
          placeholder="first model (search)"
          value={first}
          onChange={(e) => setFirst(e.target.value)}
          required
        />
        <button type="submit" disabled={create.isPending}>
          Create
        </button>
        <ErrorNote error={create.error} />
      </form>
      <ErrorNote error={combos.error ?? models.error} />
      {combos.isSuccess && list.length === 0 && (
        <EmptyState title="No combos yet">
          A combo is a named fallback chain: clients ask for its name and get the first member that
          answers. Create one above.
        </EmptyState>
      )}
      {list.map((c) => (
        <Combo key={c.name} c={c} />
      ))}
    </>
  );
}

function Combo({ c }: { c: ComboView }) {
  const { update, remove } = useComboMutations();
  const { activate } = useRoutingSwitches();
  const active = useStatus().data?.activeCombo === c.name;
  const [adding, setAdding] = useState("");
  const [dragged, setDragged] = useState<number | null>(null);
  const [renaming, setRenaming] = useState<string | null>(null);
  const setModels = (models: string[]) => update.mutate({ name: c.name, patch: { models } });
  const lastServed = useRequestDetails(
    { provider: "", model: c.name, connectionId: "", status: "", q: "", from: "", to: "" },
    1,
    5,
  );
  const ro = c.readOnly;
  return (
    <section className="card" data-testid={`combo-${c.name}`}>
      <div className="row">
        {renaming === null ? (
          <h2>{c.name}</h2>
        ) : (
          <form
            className="row"
            onSubmit={(e) => {
              e.preventDefault();
              update.mutate({ name: c.name, patch: { name: renaming.trim() } }, { onSuccess: () => setRenaming(null) });
            }}
          >
            <input aria-label="New combo name" value={renaming} onChange={(e) => setRenaming(e.target.value)} required />
            <button type="submit">Save</button>
          </form>
        )}
        {active ? (
          <span className="badge active" title="clients asking for the model `default` get this combo">
            active · model “default”
          </span>
        ) : (
          <button type="button" className="secondary" disabled={activate.isPending} onClick={() => activate.mutate(c.name)}>
            Make active
          </button>
        )}
        {ro ? (
          <span className="muted">from the config file (read-only)</span>
        ) : (
          <>
            <select
              aria-label={`Strategy of ${c.name}`}
              value={c.strategy}
              onChange={(e) => update.mutate({ name: c.name, patch: { strategy: e.target.value as ComboView["strategy"] } })}
            >
              <option value="fallback">fallback (in order)</option>
              <option value="round-robin">round-robin</option>
            </select>
            {renaming === null && (
              <button type="button" className="secondary" onClick={() => setRenaming(c.name)}>
                Rename
              </button>
            )}
            <ConfirmButton label="Delete" question={`Delete the combo “${c.name}”?`} onConfirm={() => remove.mutate(c.name)} />
          </>
        )}
      </div>
      <ol className="members">
        {c.models.map((m, i) => (
          <li
            key={`${m}-${i}`}
            draggable={!ro}
            onDragStart={() => setDragged(i)}
            onDragOver={(e) => e.preventDefault()}
            onDrop={() => {
              if (dragged !== null && dragged !== i) setModels(moved(c.models, dragged, i));
              setDragged(null);
            }}
          >
            <span className="grip" aria-hidden="true">
              ⋮⋮
            </span>
            <code>{m}</code>
            {!ro && (
              <span className="row">
                <button type="button" className="secondary" aria-label={`Move ${m} up`} disabled={i === 0} onClick={() => setModels(moved(c.models, i, i - 1))}>
                  ↑
                </button>
                <button
                  type="button"
                  className="secondary"
                  aria-label={`Move ${m} down`}
                  disabled={i === c.models.length - 1}
                  onClick={() => setModels(moved(c.models, i, i + 1))}
                >
                  ↓
                </button>
                <button
                  type="button"
                  className="secondary"
                  aria-label={`Remove ${m}`}
                  disabled={c.models.length === 1}
                  onClick={() => setModels(c.models.filter((_, j) => j !== i))}
                >
                  ✕
                </button>
              </span>
            )}
          </li>
        ))}
      </ol>
      {!ro && (
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            setModels([...c.models, adding.trim()]);
            setAdding("");
          }}
        >
          <input aria-label={`Add a model to ${c.name}`} list="routable-models" placeholder="add a model (search)" value={adding} onChange={(e) => setAdding(e.target.value)} required />
          <button type="submit" className="secondary">
            Add
          </button>
        </form>
      )}
      <ErrorNote error={update.error ?? remove.error ?? activate.error} />
      <p className="muted" data-testid={`served-${c.name}`}>
        Last served by:{" "}
        {lastServed.data && lastServed.data.details.length > 0
          ? lastServed.data.details.map((d) => (d.provider ? `${d.provider}/${d.model ?? ""}` : `failed (${d.status ?? "?"})`)).join(", ")
          : "no requests yet"}
      </p>
    </section>
  );
}
