/** `list` with the item at `from` moved to `to` (both clamped). */
export function moved<T>(list: readonly T[], from: number, to: number): T[] {
  const out = [...list];
  const last = out.length - 1;
  const [item] = out.splice(Math.max(0, Math.min(from, last)), 1);
  if (item === undefined) return out;
  out.splice(Math.max(0, Math.min(to, last)), 0, item);
  return out;
}
