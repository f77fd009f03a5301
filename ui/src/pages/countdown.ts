// "resets in 2 h 05 min" from a reset time.

/** "2 h 05 min", "15 min 01 s", "4 s" until `atMs` (0 s once it has passed). */
export function timeLeft(atMs: number, nowMs: number): string {
  const secs = Math.max(0, Math.ceil((atMs - nowMs) / 1000));
  const d = Math.floor(secs / 86_400);
  const h = Math.floor((secs % 86_400) / 3600);
  const m = Math.floor((secs % 3600) / 60);
  const s = secs % 60;
  if (d > 0) return `${d} d ${h} h`;
  if (h > 0) return `${h} h ${String(m).padStart(2, "0")} min`;
  if (m > 0) return `${m} min ${String(s).padStart(2, "0")} s`;
  return `${s} s`;
}

export function countdown(resetsAtMs: number | null, nowMs: number): string {
  if (resetsAtMs === null) return "no reset";
  if (resetsAtMs - nowMs <= 0) return "resetting now";
  return `resets in ${timeLeft(resetsAtMs, nowMs)}`;
}
