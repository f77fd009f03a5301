import type { KeyLimits } from "../api/types";

/** The limit fields as the key forms hold them: text, empty for "no limit". */
export interface LimitsForm {
  rpm: string;
  tpm: string;
  dailyCostLimitUsd: string;
  /** Comma-separated glob patterns. */
  models: string;
  /** A `datetime-local` value, in the browser's time zone. */
  expires: string;
}

export const NO_LIMITS: LimitsForm = { rpm: "", tpm: "", dailyCostLimitUsd: "", models: "", expires: "" };

function localInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

export function formOf(k: KeyLimits): LimitsForm {
  return {
    rpm: k.rpm?.toString() ?? "",
    tpm: k.tpm?.toString() ?? "",
    dailyCostLimitUsd: k.dailyCostLimitUsd?.toString() ?? "",
    models: (k.models ?? []).join(", "),
    expires: k.expiresAt === undefined ? "" : localInput(k.expiresAt),
  };
}

type Patch = { [F in keyof KeyLimits]-?: KeyLimits[F] | null };

/** The form as an API body: every field named, `null` lifting a limit. Throws on bad input. */
export function limitsPatch(f: LimitsForm): Patch {
  const whole = (text: string, label: string): number | null => {
    if (!text.trim()) return null;
    const n = Number(text);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`${label} must be a whole number above 0`);
    return n;
  };
  const usd = f.dailyCostLimitUsd.trim() ? Number(f.dailyCostLimitUsd) : null;
  if (usd !== null && !(usd > 0)) throw new Error("The daily cost limit must be a positive amount");
  const models = f.models.split(",").map((m) => m.trim()).filter(Boolean);
  const expiresAt = f.expires ? new Date(f.expires).getTime() : null;
  if (expiresAt !== null && Number.isNaN(expiresAt)) throw new Error("The expiry is not a date");
  return {
    rpm: whole(f.rpm, "Requests per minute"),
    tpm: whole(f.tpm, "Tokens per minute"),
    dailyCostLimitUsd: usd,
    models: models.length ? models : null,
    expiresAt,
  };
}

/** The same, leaving out what is not limited (for a new key). */
export function limitsOf(f: LimitsForm): KeyLimits {
  const out: KeyLimits = {};
  for (const [field, value] of Object.entries(limitsPatch(f))) {
    if (value !== null) Object.assign(out, { [field]: value });
  }
  return out;
}

/** One line for the key list: "3 req/min · $5.00/day · rb/*, fast · expires …". */
export function describeLimits(k: KeyLimits, now = Date.now()): string {
  const parts: string[] = [];
  if (k.rpm !== undefined) parts.push(`${k.rpm} req/min`);
  if (k.tpm !== undefined) parts.push(`${k.tpm.toLocaleString("en-US")} tokens/min`);
  if (k.dailyCostLimitUsd !== undefined) parts.push(`$${k.dailyCostLimitUsd.toFixed(2)}/day`);
  if (k.models?.length) parts.push(k.models.join(", "));
  if (k.expiresAt !== undefined) {
    parts.push(`${k.expiresAt <= now ? "expired" : "expires"} ${new Date(k.expiresAt).toLocaleString()}`);
  }
  return parts.length ? parts.join(" · ") : "none";
}
