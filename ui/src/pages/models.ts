import type { ModelView } from "../api/types";

/** "128k", "1M", "–": a context window as people say it. */
export function windowText(tokens: number | null): string {
  if (tokens === null) return "–";
  if (tokens >= 1_000_000) return `${+(tokens / 1_000_000).toFixed(2)}M`;
  if (tokens >= 1_000) return `${Math.round(tokens / 1_000)}k`;
  return String(tokens);
}

/** "$2.50 / $10.00": input and output per million tokens. */
export function priceText(price: ModelView["price"]): string {
  if (!price) return "–";
  return `$${price.input.toFixed(2)} / $${price.output.toFixed(2)}`;
}

/** The models whose id or provider contains `filter` (case-insensitive). */
export function matching(models: ModelView[], filter: string): ModelView[] {
  const f = filter.trim().toLowerCase();
  if (!f) return models;
  return models.filter((m) => m.model.toLowerCase().includes(f) || m.providerName.toLowerCase().includes(f));
}
