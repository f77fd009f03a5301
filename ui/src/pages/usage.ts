// Turning the usage API's points into chart rows.

import type { UsagePoint } from "../api/types";

export interface ChartRow {
  start: number;
  [group: string]: number;
}

/** One row per bucket with one column per group, for stacked charts; groups by total, largest first. */
export function chartRows(points: UsagePoint[], value: (p: UsagePoint) => number): { rows: ChartRow[]; groups: string[] } {
  const byStart = new Map<number, ChartRow>();
  const totals = new Map<string, number>();
  for (const p of points) {
    const group = groupLabel(p);
    const row = byStart.get(p.start) ?? { start: p.start };
    row[group] = (row[group] ?? 0) + value(p);
    byStart.set(p.start, row);
    totals.set(group, (totals.get(group) ?? 0) + value(p));
  }
  const groups = [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([g]) => g);
  const rows = [...byStart.values()].sort((a, b) => a.start - b.start);
  for (const row of rows) for (const g of groups) row[g] ??= 0;
  return { rows, groups };
}

/** A group as people call it: its name, else its key. */
export const groupLabel = (r: { key: string; name?: string }): string => r.name ?? (r.key || "(none)");

export const dollars = (v: number) => (v < 0.01 && v > 0 ? `$${v.toFixed(4)}` : `$${v.toFixed(2)}`);
export const count = (v: number) => new Intl.NumberFormat().format(v);
