import { Fragment, type ReactNode } from "react";

/** JSON, indented and coloured by token kind (keys, strings, numbers, literals). */
export function JsonView({ value }: { value: unknown }) {
  const text = JSON.stringify(value, null, 2) ?? "null";
  return <pre className="json">{highlight(text)}</pre>;
}

const TOKEN = /("(?:\\.|[^"\\])*")(\s*:)?|\b(true|false|null)\b|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g;

export function highlight(text: string): ReactNode[] {
  const out: ReactNode[] = [];
  let last = 0;
  for (const m of text.matchAll(TOKEN)) {
    const at = m.index ?? 0;
    if (at > last) out.push(text.slice(last, at));
    const [whole, string, colon, literal, number] = m;
    const kind = string !== undefined ? (colon ? "key" : "string") : literal !== undefined ? "literal" : number !== undefined ? "number" : "";
    out.push(
      <Fragment key={at}>
        <span className={`json-${kind}`}>{string ?? whole}</span>
        {colon}
      </Fragment>,
    );
    last = at + whole.length;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}
