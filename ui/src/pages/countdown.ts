// "resets in 2 h 05 min" from a reset time.

export function countdown(resetsAtMs: number | null, nowMs: number): string {
  if (resetsAtMs === null) return "no reset";
  const secs = Math.max(0, Math.ceil((resetsAtMs - nowMs) / 1000));
  if (secs === 0) return "resetting now";
  const d = Math.floor(secs / 86_400);
  const h = Math.floor((secs % 86_400) / 3600);
  const m = Math.floor((secs % 3600) / 60);
  const s = secs % 60;
  if (d > 0) return `resets in ${d} d ${h} h`;
  if (h > 0) return `resets in ${h} h ${String(m).padStart(2, "0")} min`;
  if (m > 0) return `resets in ${m} min ${String(s).padStart(2, "0")} s`;
  return `resets in ${s} s`;
}
